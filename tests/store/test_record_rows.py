"""File rows read into the shared records: the file's syntax here, the field rules the record's."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from matcher.records import (
    ContingentRecord,
    HousingTypeRecord,
    OptionRecord,
    RecordContext,
    YouthRecord,
    field_errors,
)
from store.csvio import RowErrors, RowReader
from store.record_rows import QUOTE_LIMIT, csv_value, read_record


def _reader(values: dict[str, str]) -> tuple[RowReader, RowErrors]:
    errors = RowErrors()
    return RowReader(7, values, errors), errors


@pytest.mark.parametrize(
    ("annotation", "text", "value"),
    [
        (float, "452,50", 452.5),
        (float | None, "452.50", 452.5),
        (int, "3,0", 3),
        (bool, "ja", True),
        (bool, "ONWAAR", False),
        (date, "01-02-2027", date(2027, 2, 1)),
        (date | None, "2027-02-01", date(2027, 2, 1)),
        (list[str], "kma| friends ||", ["kma", "friends"]),
        (str, " tekst ", " tekst "),
    ],
)
def test_file_syntax(annotation: object, text: str, value: object) -> None:
    assert csv_value(annotation, text) == value


@pytest.mark.parametrize(
    ("annotation", "text", "message"),
    [
        (float, "1.234,50", "geen getal"),
        (int, "2,5", "geen geheel getal"),
        (bool, "misschien", "geen ja/nee-waarde"),
        (date, "2026-02-30", "bestaat niet als datum"),
    ],
)
def test_file_syntax_refused(annotation: object, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        csv_value(annotation, text)


OPTION_COLUMNS = {
    "option_id": "code",
    "type": "type_code",
    "x": "x",
    "y": "y",
    "kale_huur": "kale_huur",
    "capacity": "capacity",
    "available_from": "available_from",
}
GOOD_OPTION = {
    "option_id": "OPT-1",
    "type": "kma",
    "x": "150000",
    "y": "410000",
    "kale_huur": "450,25",
    "capacity": "1",
    "available_from": "01-01-2027",
}


def test_a_good_row_becomes_the_record() -> None:
    reader, errors = _reader(GOOD_OPTION)
    rec = read_record(reader, OptionRecord, OPTION_COLUMNS)
    assert not errors
    assert rec == OptionRecord(
        code="OPT-1",
        type_code="kma",
        x=150000.0,
        y=410000.0,
        kale_huur=450.25,
        capacity=1,
        available_from=date(2027, 1, 1),
    )


def test_the_row_and_the_form_give_the_same_message() -> None:
    """One rule, two entry paths: a negative rent and a capacity above the type's maximum."""
    ctx = RecordContext(type_codes=frozenset({"kma"}), persons_max={"kma": 1})
    bad = {**GOOD_OPTION, "kale_huur": "-12", "capacity": "2"}
    reader, errors = _reader(bad)
    assert read_record(reader, OptionRecord, OPTION_COLUMNS, context=ctx) is None
    by_column = {e.field: e.message for e in errors.kept()}
    with pytest.raises(ValidationError) as form:
        OptionRecord.model_validate(
            {OPTION_COLUMNS[c]: v for c, v in bad.items()} | {"kale_huur": -12.0}, context=ctx
        )
    on_form = field_errors(form.value)
    assert by_column["kale_huur"] == f"{on_form['kale_huur']} (in het bestand: -12)"
    # The capacity message names the value itself: not repeated.
    assert by_column["capacity"] == on_form["capacity"]
    assert on_form["capacity"].startswith("capaciteit 2 is meer dan de 1 personen")
    assert all(e.row == 7 for e in errors.kept())


def test_a_syntax_error_is_reported_once_and_a_missing_column_as_required() -> None:
    reader, errors = _reader({**GOOD_OPTION, "kale_huur": "veel", "available_from": ""})
    assert read_record(reader, OptionRecord, OPTION_COLUMNS) is None
    assert [(e.field, e.message) for e in errors.kept()] == [
        ("available_from", "dit veld is verplicht"),
        ("kale_huur", "geen getal: 'veel' (gebruik bijvoorbeeld 452,50 of 452.50)"),
    ]


def test_cross_field_rule_and_long_values_given_by_length() -> None:
    columns = {name: name for name in HousingTypeRecord.model_fields}
    long_name = "x" * 300
    reader, errors = _reader(
        {
            "code": "kma",
            "name": long_name,
            "min_age": "23",
            "max_age": "18",
            "persons_min": "1",
            "persons_max": "1",
            "support_min": "0",
            "support_max": "2",
        }
    )
    assert read_record(reader, HousingTypeRecord, columns) is None
    messages = {e.field: e.message for e in errors.kept()}
    assert messages["max_age"] == (
        "mag niet lager zijn dan de minimumleeftijd (23) (in het bestand: 18)"
    )
    assert messages["name"] == "te lang (hoogstens 200 tekens) (in het bestand: 300 tekens)"
    short = "x" * QUOTE_LIMIT
    reader, errors = _reader({"code": short + "!"})
    assert read_record(reader, HousingTypeRecord, {"code": "code"}) is None
    assert {e.field: e.message for e in errors.kept()}["code"] == (
        "te lang (hoogstens 40 tekens) (in het bestand: 41 tekens)"
    )


def test_values_read_by_the_caller_are_checked_by_the_record() -> None:
    """Anchors come in the file's own ``label@x,y`` form; where they lie is the record's rule."""
    row = {
        "youth_code": "J-1",
        "birth_date": "2006-01-01",
        "gemeentecode": "GM0796",
        "income": "900",
        "support_need": "1",
        "accepted_types": "kma",
    }
    reader, errors = _reader(row)
    columns = {
        "youth_code": "code",
        "birth_date": "birth_date",
        "gemeentecode": "gemeente_code",
        "income": "income",
        "support_need": "support_need",
        "accepted_types": "accepted_types",
    }
    rec = read_record(
        reader,
        YouthRecord,
        columns,
        values={"anchors": [{"label": "school", "x": 5.3, "y": 51.7}]},
        context=RecordContext(today=date(2026, 3, 1)),
    )
    assert rec is None
    assert [(e.field, e.message) for e in errors.kept()] == [
        ("anchors", "het ankerpunt ligt niet in Nederland")
    ]


def test_unknown_code_from_the_context() -> None:
    columns = {
        "corporatie": "corporation",
        "gemeentecode": "gemeente_code",
        "year": "year",
        "amount": "amount",
    }
    reader, errors = _reader(
        {"corporatie": "corp 1", "gemeentecode": "GM796", "year": "2026", "amount": "1e3"}
    )
    assert read_record(reader, ContingentRecord, columns) is None
    assert {e.field: e.message for e in errors.kept()} == {
        "corporatie": "heeft niet de juiste vorm (in het bestand: corp 1)",
        "gemeentecode": "heeft niet de juiste vorm (GM gevolgd door vier cijfers) (in het "
        "bestand: GM796)",
        "amount": "geen geheel getal: '1e3'",
    }
