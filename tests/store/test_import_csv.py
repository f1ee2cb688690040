"""CSV reading rules of docs/file-formats.md: separators, decimals, dates, booleans, header."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.csvio import (
    FIELD_LIMIT,
    ImportFailed,
    RowError,
    RowErrors,
    RowReader,
    format_date,
    format_decimal,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_int,
    parse_list,
    read_table,
    safe_csv_text,
    spreadsheet_safe,
    spreadsheet_unsafe,
)

money = st.decimals(
    min_value=-100000, max_value=100000, places=2, allow_nan=False, allow_infinity=False
)


@given(money)
def test_decimal_comma_and_point_read_the_same(value: object) -> None:
    text = f"{value:.2f}"
    assert parse_decimal(text) == parse_decimal(text.replace(".", ",")) == float(text)


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9))
def test_format_decimal_round_trips_exactly(value: float) -> None:
    text = format_decimal(value)
    assert "e" not in text.lower() and "," not in text
    assert parse_decimal(text) == value


@pytest.mark.parametrize("text", ["1.234,56", "1,234.56", "12a", "", "--1", "1e5", "nan", "€ 12"])
def test_ambiguous_or_bad_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="geen getal"):
        parse_decimal(text)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_iso_and_dutch_dates_read_the_same(day: date) -> None:
    dutch = f"{day.day:02d}-{day.month:02d}-{day.year}"
    short = f"{day.day}-{day.month}-{day.year}"
    assert parse_date(format_date(day)) == parse_date(dutch) == parse_date(short) == day


@pytest.mark.parametrize("text", ["2026-02-30", "31-04-2026", "2026/01/01", "01-01-26", "morgen"])
def test_bad_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_date(text)


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_integers_with_or_without_decimals(value: int) -> None:
    assert parse_int(str(value)) == parse_int(f"{value},0") == parse_int(f"{value}.0") == value


def test_integer_with_fraction_is_refused() -> None:
    with pytest.raises(ValueError, match="geen geheel getal"):
        parse_int("2,5")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ja", True),
        ("JA", True),
        ("nee", False),
        ("true", True),
        ("False", False),
        ("1", True),
        ("0", False),
        ("WAAR", True),
        ("onwaar", False),
    ],
)
def test_booleans(text: str, value: bool) -> None:
    assert parse_bool(text) is value


def test_bad_boolean() -> None:
    with pytest.raises(ValueError, match="ja/nee"):
        parse_bool("misschien")


def test_lists_split_on_pipe_and_drop_empties() -> None:
    assert parse_list(" kma | friends||") == ["kma", "friends"]
    assert parse_list("") == []


def test_semicolon_decimal_comma_and_bom() -> None:
    data = "\ufeffCode;Bedrag;Extra\nA;452,50;x\n".encode()
    table = read_table(data, ["code", "bedrag"])
    assert table.separator == ";"
    assert table.header[0] == "code"  # BOM stripped, header lower-cased
    row, values = next(iter(table.rows))
    assert row == 2 and values == {"code": "A", "bedrag": "452,50"}  # extra column ignored
    errors: list[RowError] = []
    assert RowReader(row, values, errors).decimal("bedrag") == 452.5 and not errors


def test_comma_separator_with_quoted_decimal_comma() -> None:
    table = read_table(b'code,bedrag\r\nA,"452,50"\r\n', ["code", "bedrag"])
    assert table.separator == ","
    assert list(table.rows) == [(2, {"code": "A", "bedrag": "452,50"})]


def test_missing_required_columns_are_all_named() -> None:
    with pytest.raises(ImportFailed) as info:
        read_table(b"code;naam\nA;B\n", ["code", "kale_huur", "type"])
    assert [(e.row, e.field) for e in info.value.errors] == [(1, "kale_huur"), (1, "type")]
    assert "rij 1, veld kale_huur: verplichte kolom ontbreekt" in str(info.value)


def test_rows_with_wrong_field_count_are_errors_with_excel_row_numbers() -> None:
    # An unquoted decimal comma in a comma file shifts the columns: row 3 has one field too many.
    table = read_table(b"code,bedrag\nA,12\nB,452,50\n\nC,1\n", ["code", "bedrag"])
    assert [r for r, _ in table.rows] == [2, 5]  # the empty row 4 is skipped but still counted
    assert [e.row for e in table.errors] == [3]


def test_not_utf8_names_the_line() -> None:
    with pytest.raises(ImportFailed, match="UTF-8") as info:
        read_table("code\nA\nCafé\n".encode("latin-1"), ["code"])
    assert info.value.errors[0].row == 3


def test_negative_amount_message_is_dutch() -> None:
    errors: list[RowError] = []
    RowReader(7, {"kale_huur": "-12"}, errors).decimal("kale_huur")
    assert [str(e) for e in errors] == ["rij 7, veld kale_huur: negatief bedrag (-12,00)"]


def test_excel_separator_hint_line() -> None:
    table = read_table(b"sep=,\r\ncode;x,bedrag\r\nA;1,2\r\n", ["code;x", "bedrag"])
    assert table.separator == ","
    assert list(table.rows) == [(2, {"code;x": "A;1", "bedrag": "2"})]


def test_empty_file() -> None:
    with pytest.raises(ImportFailed, match="leeg"):
        read_table(b"", ["code"])


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=12
).map(str.strip)


@given(
    st.lists(st.lists(cell, min_size=3, max_size=3), max_size=8),
    st.sampled_from([";", ","]),
    st.booleans(),
    st.sampled_from(["\n", "\r\n"]),
)
def test_any_excel_style_table_reads_back(
    rows: list[list[str]], separator: str, bom: bool, newline: str
) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=separator, lineterminator=newline)
    # The header decides the separator: one column name holds the other separator character.
    header = ["code", "naam", "a,b" if separator == ";" else "a;b"]
    writer.writerow(header)
    writer.writerows(rows)
    data = (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode()
    table = read_table(data, header)
    expected = [(i + 2, dict(zip(header, r, strict=True))) for i, r in enumerate(rows) if any(r)]
    assert table.separator == separator and not table.errors
    assert list(table.rows) == expected


# --- issue 13: formula guard, bounded errors, long fields ----------------------------------------


@given(st.text(max_size=30))
def test_spreadsheet_guard_round_trips_any_text(value: str) -> None:
    guarded = spreadsheet_safe(value)
    assert spreadsheet_unsafe(guarded) == value
    assert guarded == value or guarded == "'" + value
    if guarded[:1] in ("=", "+", "-", "@", "\t", "\r"):
        parse_decimal(guarded)  # only a plain number may still start like a formula


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+31 6 1234", "'+31 6 1234"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'=1", "''=1"),
        ("-5", "-5"),
        ("+3,5", "+3,5"),
        ("-0.25", "-0.25"),
        ("OPT-001", "OPT-001"),
        ("", ""),
    ],
)
def test_spreadsheet_guard_examples(value: str, written: str) -> None:
    assert spreadsheet_safe(value) == written
    text = safe_csv_text(["a"], [[value]])
    assert text == f"a\n{written}\n" or text.startswith(f'a\n"{written}')


def test_guard_taken_off_when_reading() -> None:
    table = read_table(b"code;naam\n'=1+1;''=2\n-5;'-5\n", ["code", "naam"])
    assert list(table.rows) == [
        (2, {"code": "=1+1", "naam": "'=2"}),
        (3, {"code": "-5", "naam": "'-5"}),
    ]


def test_row_errors_keep_the_first_by_row_and_count_all() -> None:
    errors = RowErrors(limit=3)
    for row in range(10_000, 1, -1):  # worst order: the kept ones come last
        errors.append(RowError(row, "x", "fout"))
    errors.count_more(5)
    assert len(errors) == 10_004 and bool(errors)
    assert [e.row for e in errors.kept()] == [2, 3, 4]
    failed = ImportFailed(errors)
    assert failed.total == 10_004 and failed.more == 10_001
    assert failed.summary().endswith("… en 10001 andere fouten")


def test_table_rows_stream_and_can_be_read_twice() -> None:
    table = read_table(b"code\nA\nB\n\nC\n", ["code"])
    assert len(table.rows) == 3
    assert (
        list(table.rows)
        == list(table.rows)
        == [
            (2, {"code": "A"}),
            (3, {"code": "B"}),
            (5, {"code": "C"}),
        ]
    )


def test_field_longer_than_pythons_default_is_read() -> None:
    long = "x" * 200_000  # over csv's default field_size_limit (131,072)
    table = read_table(f"code;naam\nA;{long}\n".encode(), ["code", "naam"])
    assert list(table.rows) == [(2, {"code": "A", "naam": long})]


def test_field_over_the_limit_names_the_row() -> None:
    long = "x" * (FIELD_LIMIT + 1)
    data = f"code;naam\nA;b\nB;{long}\n".encode()
    with pytest.raises(ImportFailed) as info:
        read_table(data, ["code", "naam"])
    assert [str(e) for e in info.value.errors] == [
        f"rij 3: een veld is langer dan {FIELD_LIMIT} tekens"
    ]


def test_nul_character_names_its_line() -> None:
    with pytest.raises(ImportFailed, match="NUL-teken") as info:
        read_table(b"code\nA\nB\x00\n", ["code"])
    assert info.value.errors[0].row == 3


def test_utf8_error_found_across_read_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    import store.csvio as csvio

    monkeypatch.setattr(csvio, "_READ_CHUNK", 4)
    with pytest.raises(ImportFailed, match="byte 12") as info:
        read_table(b"code\nCaf\xc3\xa9\nA\xff\n", ["code"])  # the 2-byte e-acute spans chunks
    assert info.value.errors[0].row == 3
