"""The reference records (matcher/records.py): every bad field is named in Dutch, several at
once; NaN, infinity, huge numbers, impossible dates and unknown fields are refused."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.records import (
    ContingentRecord,
    HousingTypeRecord,
    OrganisationRecord,
    PolicyRecord,
    RecordInvalid,
    UserRecord,
)

POLICY = {
    "valid_from": "2027-01-01",
    "kwaliteitskortingsgrens": 510.0,
    "aftoppingsgrens_1_2": 700.0,
    "aftoppingsgrens_3plus": 750.0,
    "maximale_huurgrens": 950.0,
    "young_tenant_min_age": 18,
    "young_tenant_max_age": 20,
    "basishuur": 200.0,
    "share_above_kwaliteitskorting": 0.65,
    "max_rent_share_of_income": 0.35,
}
TYPE = {
    "code": "kma",
    "name": "Kamers met Aandacht",
    "min_age": 18,
    "max_age": 23,
    "persons_min": 1,
    "persons_max": 1,
    "support_min": 0,
    "support_max": 2,
}
CONTINGENT = {"corporation": "corp-a", "gemeente_code": "GM0796", "year": 2026, "amount": 5}


def _errors(cls: Any, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RecordInvalid) as caught:
        cls.parse(data)
    return caught.value.by_field()


def test_valid_records_parse() -> None:
    assert PolicyRecord.parse(POLICY).valid_from.isoformat() == "2027-01-01"
    assert HousingTypeRecord.parse(TYPE).max_age == 23
    assert ContingentRecord.parse(CONTINGENT).housing_type is None
    user = UserRecord.parse(
        {"email": " A@B.nl ", "name": "A", "role": "planner", "organisation": "regio"}
    )
    assert user.email == "a@b.nl"


@pytest.mark.parametrize(
    ("cls", "base", "bad", "field", "message"),
    [
        (
            PolicyRecord,
            POLICY,
            {"kwaliteitskortingsgrens": float("nan")},
            "kwaliteitskortingsgrens",
            "eindig",
        ),
        (PolicyRecord, POLICY, {"basishuur": float("inf")}, "basishuur", "eindig"),
        (
            PolicyRecord,
            POLICY,
            {"maximale_huurgrens": 1e308},
            "maximale_huurgrens",
            "hoogstens 10000",
        ),
        (PolicyRecord, POLICY, {"valid_from": "2027-02-30"}, "valid_from", "bestaande datum"),
        (
            PolicyRecord,
            POLICY,
            {"valid_from": "2027-02-02"},
            "valid_from",
            "eerste dag van een maand",
        ),
        (
            PolicyRecord,
            POLICY,
            {"aftoppingsgrens_1_2": 400.0},
            "aftoppingsgrens_1_2",
            "kwaliteitskortingsgrens",
        ),
        (
            PolicyRecord,
            POLICY,
            {"young_tenant_max_age": 17},
            "young_tenant_max_age",
            "beginleeftijd",
        ),
        (HousingTypeRecord, TYPE, {"persons_max": 0}, "persons_max", "minstens 1"),
        (HousingTypeRecord, TYPE, {"support_max": 4}, "support_max", "hoogstens 3"),
        (HousingTypeRecord, TYPE, {"code": "met spatie"}, "code", "juiste vorm"),
        (ContingentRecord, CONTINGENT, {"amount": 10**30}, "amount", "hoogstens 100000"),
        (ContingentRecord, CONTINGENT, {"amount": 2.5}, "amount", "geheel getal"),
        (
            ContingentRecord,
            CONTINGENT,
            {"gemeente_code": "WK079601"},
            "gemeente_code",
            "GM gevolgd door vier cijfers",
        ),
        (ContingentRecord, CONTINGENT, {"extra": 1}, "extra", "onbekend veld"),
    ],
)
def test_bad_fields_are_named(
    cls: Any, base: dict[str, Any], bad: dict[str, Any], field: str, message: str
) -> None:
    errors = _errors(cls, {**base, **bad})
    assert field in errors, errors
    assert message in errors[field]
    assert errors[field].startswith(cls.LABELS.get(field, field))


def test_every_bad_field_at_once() -> None:
    errors = _errors(OrganisationRecord, {"code": "", "name": "", "kind": "bank"})
    assert set(errors) == {"code", "name", "kind"}
    assert errors["kind"] == (
        "soort: kies een waarde uit de lijst (gemeente, corporatie, zorgaanbieder of regio)"
    )


def test_form_values_empty_means_missing_and_checkboxes() -> None:
    form = {**{k: str(v) for k, v in TYPE.items()}, "stay_min_months": "", "zelfstandig": "on"}
    record = HousingTypeRecord.parse_form(form)
    assert record.stay_min_months is None and record.zelfstandig and not record.uses_contingent
