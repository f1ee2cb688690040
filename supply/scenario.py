"""Scenarios: the base inputs plus named changes, and paired comparison of two projections.

A scenario is validated as a whole before anything is applied: any unknown gemeente, type or
corporation, negative count or malformed month raises ``ScenarioError`` naming the change and the
field, and the base inputs stay as they are (they are immutable anyway; ``apply`` returns new
inputs). Changes apply in the order given.

Change semantics
----------------
* ``AddPlaces``: ``places`` extra places of a type in a gemeente from ``month`` (``YYYY-MM``) on,
  for one corporation or, without one, split over the corporations in proportion to their
  current places of that gemeente x type (cumulative rounding).
* ``ContingentChange``: a corporation's contingent ``delta`` a year (may be negative) in every
  projected year, in one gemeente or, without one, split over its gemeenten in proportion to its
  current contingent (the largest holder first when rounding). A result below zero is an error.
* ``InflowFactor``: expected inflow times ``factor`` (1.2 = +20 %), overall or for one gemeente
  and/or type, from ``month`` on (default: every month).
* ``StayShift``: the length-of-stay distribution of a type shifted by ``months`` (-3 = three
  months shorter). Probability that would fall on a stay below one month is put on one month,
  so the distribution keeps summing to one (renormalised against float drift); a longer shift
  extends the distribution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from supply.engine import prepare
from supply.model import (
    LOS_TOLERANCE,
    IntArray,
    SupplyInputError,
    SupplyInputs,
    month_at,
    month_index,
    parse_month,
)
from supply.projection import CellGuard, ProjectionSettings, accumulate, as_is, write_rows_csv
from supply.stats import LevelStats, level_cells


class ScenarioError(SupplyInputError):
    """A scenario that cannot be applied; the message (Dutch) names the change and field."""


@dataclass(frozen=True)
class AddPlaces:
    gemeente: str
    type_code: str
    places: int
    month: str | date
    corporation: str | None = None


@dataclass(frozen=True)
class ContingentChange:
    corporation: str
    delta: int
    gemeente: str | None = None


@dataclass(frozen=True)
class InflowFactor:
    factor: float
    gemeente: str | None = None
    type_code: str | None = None
    month: str | date | None = None


@dataclass(frozen=True)
class StayShift:
    type_code: str
    months: int


Change = AddPlaces | ContingentChange | InflowFactor | StayShift


@dataclass(frozen=True)
class Scenario:
    """The base plus named changes."""

    name: str
    changes: tuple[Change, ...] = ()
    description: str = ""
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def apply(self, base: SupplyInputs) -> SupplyInputs:
        """New inputs with every change applied; raises ``ScenarioError`` before changing
        anything when one change is invalid."""
        for i, change in enumerate(self.changes):
            _check(base, change, f"wijziging {i + 1} ({type(change).__name__})")
        inputs = base
        for i, change in enumerate(self.changes):
            label = f"wijziging {i + 1} ({type(change).__name__})"
            try:
                inputs = _apply(inputs, change, label)
            except ScenarioError:
                raise
            except SupplyInputError as exc:
                raise ScenarioError(f"{label}: {exc}") from None
        return inputs


def _known(label: str, field_name: str, value: str | None, codes: Sequence[str], what: str) -> None:
    if value is not None and value not in codes:
        raise ScenarioError(f"{label}, veld {field_name}: onbekende {what} {value!r}")


def _check(base: SupplyInputs, change: Change, label: str) -> None:
    if isinstance(change, AddPlaces):
        _known(label, "gemeente", change.gemeente, base.gemeenten, "gemeente")
        _known(label, "type", change.type_code, base.types, "woningtype")
        _known(label, "corporatie", change.corporation, base.corporations, "corporatie")
        if not isinstance(change.places, int | np.integer) or change.places < 0:
            raise ScenarioError(f"{label}, veld places: geen geldig aantal {change.places!r}")
        _month(base, change.month, label)
    elif isinstance(change, ContingentChange):
        _known(label, "corporatie", change.corporation, base.corporations, "corporatie")
        _known(label, "gemeente", change.gemeente, base.gemeenten, "gemeente")
        if not isinstance(change.delta, int | np.integer):
            raise ScenarioError(f"{label}, veld delta: geen heel getal {change.delta!r}")
    elif isinstance(change, InflowFactor):
        _known(label, "gemeente", change.gemeente, base.gemeenten, "gemeente")
        _known(label, "type", change.type_code, base.types, "woningtype")
        if not np.isfinite(change.factor) or change.factor < 0:
            raise ScenarioError(f"{label}, veld factor: negatieve of ongeldige factor")
        if change.month is not None:
            _month(base, change.month, label)
    elif isinstance(change, StayShift):
        _known(label, "type", change.type_code, base.types, "woningtype")
        if not isinstance(change.months, int | np.integer):
            raise ScenarioError(f"{label}, veld months: geen heel aantal maanden")
    else:
        raise ScenarioError(f"{label}: onbekend soort wijziging")


def _month(base: SupplyInputs, value: str | date, label: str) -> int:
    try:
        month = parse_month(value, "month")
    except SupplyInputError as exc:
        raise ScenarioError(f"{label}, veld month: {exc}") from None
    return max(0, month_index(base.start, month))


def _split(amount: int, weights: IntArray) -> IntArray:
    """Whole shares of ``amount`` in proportion to ``weights`` (cumulative rounding)."""
    total = weights.sum()
    if total <= 0:
        raise ScenarioError("geen bestaande verdeling om over te verdelen")
    cum = np.rint(np.cumsum(weights) * (amount / total)).astype(np.int64)
    return np.diff(cum, prepend=0)


def _apply(inputs: SupplyInputs, change: Change, label: str) -> SupplyInputs:
    if isinstance(change, AddPlaces):
        gi, ti = inputs.gemeenten.index(change.gemeente), inputs.types.index(change.type_code)
        m = _month(inputs, change.month, label)
        added = np.array(inputs.capacity_added, copy=True)
        if m >= inputs.months:
            return inputs
        if change.corporation is not None:
            added[m, gi, ti, inputs.corporations.index(change.corporation)] += change.places
        else:
            try:
                added[m, gi, ti] += _split(change.places, inputs.capacity[gi, ti])
            except ScenarioError:
                raise ScenarioError(
                    f"{label}, veld corporatie: {change.gemeente}/{change.type_code} heeft nog "
                    "geen plaatsen; noem de corporatie"
                ) from None
        return replace(inputs, capacity_added=added)
    if isinstance(change, ContingentChange):
        ci = inputs.corporations.index(change.corporation)
        cont = np.array(inputs.contingent, copy=True)
        if change.gemeente is not None:
            cont[:, inputs.gemeenten.index(change.gemeente), ci] += change.delta
        else:
            for y in range(cont.shape[0]):  # a few years, not groups
                try:
                    cont[y, :, ci] += _split(change.delta, cont[y, :, ci])
                except ScenarioError:
                    raise ScenarioError(
                        f"{label}, veld gemeente: corporatie {change.corporation} heeft geen "
                        "contingent om te verdelen; noem de gemeente"
                    ) from None
        if cont.min() < 0:
            raise ScenarioError(f"{label}, veld delta: contingent wordt negatief")
        return replace(inputs, contingent=cont)
    if isinstance(change, InflowFactor):
        inflow = np.array(inputs.inflow, copy=True)
        m = 0 if change.month is None else _month(inputs, change.month, label)
        gsel = slice(None) if change.gemeente is None else inputs.gemeenten.index(change.gemeente)
        tsel = slice(None) if change.type_code is None else inputs.types.index(change.type_code)
        inflow[m:, gsel, tsel] *= change.factor
        return replace(inputs, inflow=inflow)
    if isinstance(change, StayShift):
        ti = inputs.types.index(change.type_code)
        return replace(inputs, los=shift_los(inputs.los, ti, change.months))
    raise ScenarioError(f"{label}: onbekend soort wijziging")


def shift_los(los: np.ndarray, type_index: int, months: int) -> np.ndarray:
    """Shift one type's stay distribution by ``months``; mass below one month goes to one."""
    length = los.shape[1] + max(0, months)
    out = np.zeros((los.shape[0], length))
    out[:, : los.shape[1]] = los
    row = np.zeros(length)
    for d in range(1, los.shape[1]):  # over stay lengths of one type
        row[max(1, d + months)] += los[type_index, d]
    row /= row.sum()
    if abs(row.sum() - 1) > LOS_TOLERANCE:
        raise ScenarioError("verblijfsduurverdeling na verschuiving telt niet op tot 1")
    out[type_index] = row
    return out


# -- comparison ---------------------------------------------------------------------------------
COMPARISON_FIGURES = (
    "base_p50",
    "scenario_p50",
    "diff_of_medians",
    "diff_p10",
    "diff_p50",
    "diff_p90",
    "diff_mean",
)


@dataclass(frozen=True)
class Comparison:
    """Scenario against base with common random numbers (same seed, paired runs).

    Per output and level: ``base`` and ``scenario`` statistics and ``difference`` = statistics
    of the per-run paired difference (scenario minus base). The band of the difference of
    medians is the P10-P90 of the paired difference.
    """

    base_name: str
    scenario_name: str
    start: date
    months: int
    runs: int
    base: dict[tuple[str, str], LevelStats]
    scenario: dict[tuple[str, str], LevelStats]
    difference: dict[tuple[str, str], LevelStats]

    def median_difference(self, output: str, level: str) -> np.ndarray:
        """Scenario median minus base median (cells, M)."""
        return (
            self.scenario[(output, level)].quantiles[0.5]
            - self.base[(output, level)].quantiles[0.5]
        )

    def rows(self) -> Iterator[dict[str, Any]]:
        for key in sorted(self.difference):
            b, s, d = self.base[key], self.scenario[key], self.difference[key]
            for ci, cell in enumerate(d.cells):
                for mi in range(self.months):
                    row: dict[str, Any] = {
                        "output": key[0],
                        "level": key[1],
                        "cell": "|".join(cell) or "totaal",
                        "month": month_at(self.start, mi).strftime("%Y-%m"),
                    }
                    if not d.shown(ci, mi):  # small-cell protection (supply.disclosure)
                        yield {**row, **dict.fromkeys(COMPARISON_FIGURES), "hidden": True}
                        continue
                    yield {
                        **row,
                        "base_p50": int(b.quantiles[0.5][ci, mi]),
                        "scenario_p50": int(s.quantiles[0.5][ci, mi]),
                        "diff_of_medians": int(s.quantiles[0.5][ci, mi] - b.quantiles[0.5][ci, mi]),
                        "diff_p10": int(d.quantiles[0.1][ci, mi]),
                        "diff_p50": int(d.quantiles[0.5][ci, mi]),
                        "diff_p90": int(d.quantiles[0.9][ci, mi]),
                        "diff_mean": round(float(d.mean[ci, mi]), 4),
                        "hidden": False,
                    }


def compare(
    base: SupplyInputs,
    scenario: Scenario,
    settings: ProjectionSettings | None = None,
    base_name: str = "basis",
) -> Comparison:
    """Project base and base + scenario with common random numbers and pair their runs."""
    return compare_inputs(base, scenario.apply(base), settings, base_name, scenario.name)


def compare_inputs(
    base: SupplyInputs,
    other: SupplyInputs,
    settings: ProjectionSettings | None = None,
    base_name: str = "basis",
    other_name: str = "scenario",
) -> Comparison:
    """Compare any two inputs over the same gemeenten, types, corporations and months (e.g. two
    scenarios applied to one base) with common random numbers."""
    if (base.gemeenten, base.types, base.corporations, base.start, base.months) != (
        other.gemeenten,
        other.types,
        other.corporations,
        other.start,
        other.months,
    ):
        raise ScenarioError("vergelijken kan alleen over dezelfde gemeenten, typen en maanden")
    settings = settings or ProjectionSettings()
    qs = tuple(sorted({0.1, 0.5, 0.9, *settings.quantiles}))
    settings = replace(settings, quantiles=qs)
    preps = [
        (prepare(base, settings.mode, settings.dispersion), base.waiting),
        (prepare(other, settings.mode, settings.dispersion), other.waiting),
    ]
    cells = {
        lv: level_cells(lv, base.gemeenten, base.types, base.corporations) for lv in settings.levels
    }
    counts = {k: len(v) for k, v in cells.items()}
    accs, runs = accumulate(preps, settings, counts, base.months)
    return Comparison(
        base_name=base_name,
        scenario_name=other_name,
        start=base.start,
        months=base.months,
        runs=runs,
        base=accs[0].stats(qs, cells),
        scenario=accs[1].stats(qs, cells),
        difference=accs[2].stats(qs, cells),
    )


def write_comparison_csv(comparison: Comparison, path: Path, cell: CellGuard = as_is) -> int:
    """Export a comparison (medians, difference of medians, paired band) as CSV."""
    return write_rows_csv(comparison.rows(), path, cell)


# -- plain records (storage, API, CLI) ---------------------------------------------------------
CHANGE_KINDS: dict[str, type] = {
    "add_places": AddPlaces,
    "contingent_change": ContingentChange,
    "inflow_factor": InflowFactor,
    "stay_shift": StayShift,
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "add_places": ("gemeente", "type_code", "places", "month"),
    "contingent_change": ("corporation", "delta"),
    "inflow_factor": ("factor",),
    "stay_shift": ("type_code", "months"),
}
_INTEGER_FIELDS = {"places", "delta", "months"}


def change_to_record(change: Change) -> dict[str, Any]:
    """A change as a JSON-ready dict with a ``kind``."""
    kind = next(k for k, cls in CHANGE_KINDS.items() if isinstance(change, cls))
    record: dict[str, Any] = {"kind": kind}
    for name, value in change.__dict__.items():
        if isinstance(value, date):
            value = value.strftime("%Y-%m")
        if value is not None:
            record[name] = value
    return record


def change_from_record(record: Any, index: int) -> Change:
    """A change from a dict (JSON); ``ScenarioError`` names the change number and field."""
    label = f"wijziging {index + 1}"
    if not isinstance(record, dict):
        raise ScenarioError(f"{label}: verwacht een object met 'kind'")
    kind = record.get("kind")
    if kind not in CHANGE_KINDS:
        raise ScenarioError(
            f"{label}, veld kind: onbekende soort {kind!r} (kies uit {', '.join(CHANGE_KINDS)})"
        )
    cls = CHANGE_KINDS[kind]
    allowed = {f.name for f in fields(cls)}
    values = {k: v for k, v in record.items() if k != "kind"}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ScenarioError(f"{label} ({kind}), veld {unknown[0]}: onbekend veld")
    for name in _REQUIRED[kind]:
        if values.get(name) is None:
            raise ScenarioError(f"{label} ({kind}), veld {name}: ontbreekt")
    for name in _INTEGER_FIELDS & set(values):
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{label} ({kind}), veld {name}: geen heel getal {value!r}")
    if "factor" in values:
        factor = values["factor"]
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise ScenarioError(f"{label} ({kind}), veld factor: geen getal {factor!r}")
        values["factor"] = float(factor)
    for name in ("gemeente", "type_code", "corporation", "month"):
        if name in values and values[name] is not None and not isinstance(values[name], str):
            raise ScenarioError(f"{label} ({kind}), veld {name}: verwacht tekst")
    change: Change = cls(**values)
    return change


def scenario_to_record(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "description": scenario.description,
        "changes": [change_to_record(c) for c in scenario.changes],
    }


def scenario_from_record(record: Any) -> Scenario:
    """A scenario from ``{"name", "description"?, "changes": [...]}`` (shape checked only; call
    ``check_scenario`` against the base inputs for unknown codes)."""
    if not isinstance(record, dict):
        raise ScenarioError("scenario: verwacht een object met name en changes")
    name = record.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError("scenario, veld name: ontbreekt of is leeg")
    if len(name) > 100:
        raise ScenarioError("scenario, veld name: langer dan 100 tekens")
    changes = record.get("changes", [])
    if not isinstance(changes, list):
        raise ScenarioError("scenario, veld changes: verwacht een lijst")
    description = record.get("description") or ""
    if not isinstance(description, str):
        raise ScenarioError("scenario, veld description: verwacht tekst")
    return Scenario(
        name=name.strip(),
        changes=tuple(change_from_record(c, i) for i, c in enumerate(changes)),
        description=description,
    )


def check_scenario(base: SupplyInputs, scenario: Scenario) -> None:
    """Raise ``ScenarioError`` naming the change and field when a change does not fit ``base``
    (unknown gemeente, type or corporation, negative count, bad month)."""
    scenario.apply(base)
