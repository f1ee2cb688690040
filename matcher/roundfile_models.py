"""The round file's records: the shared record of each kind, with what a round file adds.

A round file is what a month's round was solved on, for audit and reproduction. Its youths,
options, housing types, contingents and policy row are the records of ``matcher.records`` —
the same field rules as the forms, the JSON API and the CSV/XLSX importers — with the fields
a round adds (an option's corporation, areas and shared house; a youth's regisseur; a
contingent's use and monthly budget) and without the rules that only hold at entry (a youth's
age on the day of intake, an option's location inside the region, the entry forms' tighter
amounts): a round keeps the people and dwellings it had, however long ago they were entered.

``RoundFile`` validates a parsed round file; :func:`generated_schema` is the JSON Schema that
ships as ``matcher/round-file.schema.json`` (generated from these models, see
``python -m matcher.roundfile_models``). What needs the whole file — known type codes, a
capacity within its type's persons_max, birth dates not after the month, unique codes, pairs
naming known youths and options — is checked by ``matcher.roundfile.round_from_data``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matcher.records import (
    BUURT_CODE,
    GEMEENTE_CODE,
    WIJK_CODE,
    Code,
    ContingentFields,
    HousingTypeRecord,
    IsoDate,
    OptionFields,
    PolicyRecord,
    YouthFields,
)

__all__ = [
    "GemeenteCap",
    "Pair",
    "RoundContingent",
    "RoundFile",
    "RoundOption",
    "RoundYouth",
    "field_bounds",
    "generated_schema",
]

SCHEMA_ID = "https://stek.example/round-file.schema.json"
SCHEMA_DESCRIPTION = (
    "A complete allocation round for the stek matcher: housing types (menukaart), options, "
    "youths, contingents, caps, fixed and forbidden pairs. Coordinates are RD New (EPSG:28992) "
    "metres, money is euros per month, dates are ISO (YYYY-MM-DD) calendar dates, area codes "
    "are CBS codes. The file is UTF-8 JSON without NaN or Infinity, without a key given twice "
    "in one object, nested at most 32 levels. Beyond this schema the loader checks: real "
    "calendar dates, month on the first day, birth dates not after the month, valid (not "
    "self-intersecting) no-go polygons, capacity at most the type's persons_max, known codes. "
    "Generated from matcher.roundfile_models (the records of matcher.records); read by "
    "matcher.roundfile.load_round_file, written by dump_round_file. Shipped as "
    "matcher/round-file.schema.json; docs/round-file.schema.json is a copy."
)

_CLOSED = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class RoundOption(OptionFields):
    """A housing option in a round: the shared option record with its owner and areas."""

    corporation: str | None = Field(
        default=None, max_length=40, description="Owning corporation; null or absent: provider."
    )
    gemeente_code: str = Field(pattern=GEMEENTE_CODE)
    wijk_code: str | None = Field(default=None, pattern=WIJK_CODE)
    buurt_code: str | None = Field(default=None, pattern=BUURT_CODE)
    shared_house_id: str | None = Field(
        default=None, max_length=40, description="Options with the same id form one house."
    )


class RoundYouth(YouthFields):
    """A young person in a round (code pseudonymous), with their regisseur."""

    regisseur: str | None = Field(default=None, max_length=200)


class RoundContingent(ContingentFields):
    """A contingent in a round: what is left of it and the month's budget."""

    type_code: str | None = Field(default=None, max_length=40)
    used: int = Field(default=0, ge=0, le=100_000)
    month_budget: int | None = Field(
        default=None,
        ge=0,
        le=100_000,
        description="Pacing: at most this many units of the contingent in this round "
        "(null or absent: no monthly limit).",
    )


class GemeenteCap(BaseModel):
    """Maximum placements in options located in a gemeente, across corporations."""

    model_config = _CLOSED

    gemeente_code: str = Field(pattern=GEMEENTE_CODE)
    max_placements: int = Field(ge=0, le=100_000)


class Pair(BaseModel):
    """A youth and an option (a fixed or a forbidden pair)."""

    model_config = _CLOSED

    youth: Code
    option: Code


class RoundFile(BaseModel):
    """A complete allocation round (the top of a round file)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        str_strip_whitespace=True,
        title="stek round file",
        json_schema_extra={"$id": SCHEMA_ID, "description": SCHEMA_DESCRIPTION},
    )

    format: Literal["stek-round"] = "stek-round"
    version: Literal[1] = 1
    month: IsoDate = Field(
        description="First day of the round's month (YYYY-MM-01); birth dates must not lie "
        "after it."
    )
    move_in: IsoDate | None = Field(
        default=None, description="Move-in date for age and availability checks (default: month)."
    )
    seed: int = Field(default=0, ge=0, le=2**31 - 1, description="Seed of the tie-break.")
    policy_date: IsoDate | None = Field(
        default=None,
        description="Use the built-in policy table row in force on this date (default: "
        "month). Ignored when policy is given.",
    )
    policy: PolicyRecord | None = None
    corporations: list[Code] = Field(
        default_factory=list,
        description="Corporations taking part; owners of options count too. A contingent must "
        "name one of them.",
    )
    types: list[HousingTypeRecord] = Field(min_length=1)
    options: list[RoundOption]
    youths: list[RoundYouth]
    contingents: list[RoundContingent] = Field(default_factory=list)
    gemeente_caps: list[GemeenteCap] = Field(default_factory=list)
    fixed_pairs: list[Pair] = Field(
        default_factory=list, description="Accepted pairs that every proposal keeps."
    )
    forbidden_pairs: list[Pair] = Field(
        default_factory=list, description="Rejected pairs no proposal uses."
    )
    meta: dict[str, str] = Field(default_factory=dict)

    @field_validator("month")
    @classmethod
    def _first_day(cls, month: Any) -> Any:
        if month.day != 1:
            raise ValueError(f"{month} is niet de eerste dag van een maand (verwacht JJJJ-MM-01)")
        return month

    @field_validator("corporations")
    @classmethod
    def _unique(cls, codes: list[str]) -> list[str]:
        if len(set(codes)) != len(codes):
            raise ValueError("de lijst bevat een waarde twee keer")
        return codes


def field_bounds(loc: Sequence[str | int]) -> str:
    """What a numeric field at ``loc`` (a pydantic error location in a round file) allows:
    ``minimaal 0, hoogstens 100``; empty when the location names no bounded field."""
    model: Any = RoundFile
    said = (("ge", "minimaal"), ("gt", "meer dan"), ("le", "hoogstens"), ("lt", "minder dan"))
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        found = [
            f"{word} {getattr(m, key)}"
            for key, word in said
            for m in field.metadata
            if getattr(m, key, None) is not None
        ]
        if found:
            return ", ".join(found)
        inner = [a for a in get_args(field.annotation) if isinstance(a, type)] or [field.annotation]
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if model is None:
            return ""
    return ""


def generated_schema() -> dict[str, Any]:
    """The round file's JSON Schema (draft 2020-12), generated from :class:`RoundFile`."""
    schema = RoundFile.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as it ships: indented, keys in the generated order, a final newline."""
    return json.dumps(generated_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m matcher.roundfile_models > matcher/round-file.schema.json
    sys.stdout.write(schema_text())
