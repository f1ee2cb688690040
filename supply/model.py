"""The validated input container of the supply projection.

``SupplyInputs`` holds every figure the stock-flow model reads as read-only NumPy arrays with
named axes. Public axis order is always gemeente (G), type (T), corporation (C); months (M) count
from ``start`` (the first day of the first projected month). Validation happens once, here, with
Dutch messages that name the field; the engine trusts what it gets.

Axes and shapes
---------------
* ``inflow``            (M, G, T) float  expected care leavers per month (the forecast table)
* ``waiting``           (G, T)    int    people waiting now
* ``capacity``          (G, T, C) int    places per group now
* ``occupancy``         (G, T, C) int    occupied places now (<= capacity)
* ``turnover``          (G, T, C) float  monthly share of the current occupants that move out
* ``los``               (T, L)    float  length-of-stay distribution: ``los[t, d]`` = P(stay = d
                                         months); ``los[:, 0]`` must be 0, rows sum to 1 (1e-9)
* ``contingent``        (Y, G, C) int    contingent per year ``start.year + y``
* ``contingent_used``   (G, C)    int    already used in the first year
* ``contingent_share``  (G, T, C) float  optional: share of a corporation's contingent per type
* ``capacity_added``    (M, G, T, C) int places added from month m on (scenarios)
* ``uses_contingent``   (T,) bool        a placement in this type counts against the contingent
* ``moving_on``         (T,) bool        people leaving this type need a regular dwelling
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from numpy.typing import NDArray

LOS_TOLERANCE = 1e-9

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


class SupplyInputError(ValueError):
    """Invalid projection input; the message (Dutch) names the field."""


def month_index(start: date, month: date) -> int:
    """Months from ``start`` to ``month`` (both read as their month; may be negative)."""
    return (month.year - start.year) * 12 + (month.month - start.month)


def month_at(start: date, index: int) -> date:
    """The first day of the month ``index`` months after ``start``."""
    total = start.year * 12 + (start.month - 1) + index
    return date(total // 12, total % 12 + 1, 1)


def parse_month(value: str | date, field_name: str) -> date:
    """A month as ``YYYY-MM`` (or ``YYYY-MM-DD`` / a ``date``) -> its first day."""
    if isinstance(value, date):
        return date(value.year, value.month, 1)
    text = str(value).strip()
    parts = text.split("-")
    try:
        if len(parts) not in (2, 3) or len(parts[0]) != 4:
            raise ValueError
        year, month = int(parts[0]), int(parts[1])
        day = date(year, month, int(parts[2]) if len(parts) == 3 else 1)
    except ValueError:
        raise SupplyInputError(
            f"{field_name}: ongeldige maand {text!r} (verwacht JJJJ-MM, bijv. 2027-03)"
        ) from None
    return date(day.year, day.month, 1)


@dataclass(frozen=True, slots=True)
class PipelineProject:
    """Places in the pipeline: ``places`` of a group opening in ``start_month`` unless delayed.

    With probability ``delay_probability`` the opening slips; the slip in months is then drawn
    from ``delay_pmf`` (``delay_pmf[k]`` = P(slip = k + 1 months | delayed)).
    """

    gemeente: str
    type_code: str
    corporation: str
    start_month: date
    places: int
    delay_probability: float = 0.0
    delay_pmf: tuple[float, ...] = (1.0,)
    name: str = ""


def _readonly(array: NDArray[Any]) -> NDArray[Any]:
    array = np.array(array, copy=True)
    array.flags.writeable = False
    return array


def _shape(name: str, array: NDArray[Any], shape: tuple[int, ...]) -> None:
    if array.shape != shape:
        raise SupplyInputError(f"{name}: vorm {array.shape}, verwacht {shape}")


def _nonnegative_int(name: str, value: Any, shape: tuple[int, ...]) -> IntArray:
    raw = np.asarray(value)
    _shape(name, raw, shape)
    if raw.size and not np.all(np.isfinite(raw.astype(np.float64))):
        raise SupplyInputError(f"{name}: bevat geen getal (NaN of oneindig)")
    as_int = raw.astype(np.int64)
    if raw.size and not np.array_equal(as_int, raw):
        raise SupplyInputError(f"{name}: alleen hele aantallen toegestaan")
    if raw.size and as_int.min() < 0:
        where = np.unravel_index(int(np.argmin(as_int)), shape)
        raise SupplyInputError(f"{name}: negatief aantal {int(as_int.min())} op positie {where}")
    return as_int


def _nonnegative_float(name: str, value: Any, shape: tuple[int, ...]) -> FloatArray:
    raw = np.asarray(value, dtype=np.float64)
    _shape(name, raw, shape)
    if raw.size and not np.all(np.isfinite(raw)):
        raise SupplyInputError(f"{name}: bevat geen getal (NaN of oneindig)")
    if raw.size and raw.min() < 0:
        raise SupplyInputError(f"{name}: negatieve waarde {float(raw.min())}")
    return raw


def _codes(name: str, codes: Sequence[str]) -> tuple[str, ...]:
    out = tuple(codes)
    if not out:
        raise SupplyInputError(f"{name}: lijst is leeg")
    if len(set(out)) != len(out):
        raise SupplyInputError(f"{name}: dubbele codes")
    return out


@dataclass(frozen=True)
class SupplyInputs:
    """Everything one projection reads; immutable and validated on construction."""

    start: date
    gemeenten: tuple[str, ...]
    types: tuple[str, ...]
    corporations: tuple[str, ...]
    inflow: FloatArray
    waiting: IntArray
    capacity: IntArray
    occupancy: IntArray
    turnover: FloatArray
    los: FloatArray
    contingent: IntArray
    contingent_used: IntArray
    uses_contingent: BoolArray
    moving_on: BoolArray
    contingent_share: FloatArray | None = None
    capacity_added: IntArray | None = None
    pipeline: tuple[PipelineProject, ...] = ()
    moving_on_uses_contingent: bool = False
    meta: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "start", parse_month(self.start, "start"))
        put(self, "gemeenten", _codes("gemeenten", self.gemeenten))
        put(self, "types", _codes("types", self.types))
        put(self, "corporations", _codes("corporations", self.corporations))
        inflow = np.asarray(self.inflow, dtype=np.float64)
        if inflow.ndim != 3 or inflow.shape[0] < 1:
            raise SupplyInputError("inflow: verwacht een tabel (maanden, gemeenten, typen)")
        g, t, c, m = len(self.gemeenten), len(self.types), len(self.corporations), inflow.shape[0]
        put(self, "inflow", _readonly(_nonnegative_float("inflow", inflow, (m, g, t))))
        put(self, "waiting", _readonly(_nonnegative_int("waiting", self.waiting, (g, t))))
        cap = _nonnegative_int("capacity", self.capacity, (g, t, c))
        occ = _nonnegative_int("occupancy", self.occupancy, (g, t, c))
        if np.any(occ > cap):
            where = np.unravel_index(int(np.argmax(occ - cap)), occ.shape)
            raise SupplyInputError(f"occupancy: bezetting groter dan capaciteit op {where}")
        put(self, "capacity", _readonly(cap))
        put(self, "occupancy", _readonly(occ))
        turnover = _nonnegative_float("turnover", self.turnover, (g, t, c))
        if turnover.size and turnover.max() > 1:
            raise SupplyInputError("turnover: een maandkans ligt tussen 0 en 1")
        put(self, "turnover", _readonly(turnover))
        put(self, "los", _readonly(validate_los(self.los, self.types)))
        years = month_at(self.start, m - 1).year - self.start.year + 1
        cont = np.asarray(self.contingent)
        if cont.ndim != 3 or cont.shape[0] < years:
            raise SupplyInputError(
                f"contingent: verwacht (jaren >= {years}, gemeenten, corporaties), "
                f"kreeg vorm {cont.shape}"
            )
        put(self, "contingent", _readonly(_nonnegative_int("contingent", cont, cont.shape)[:years]))
        used = _nonnegative_int("contingent_used", self.contingent_used, (g, c))
        put(self, "contingent_used", _readonly(used))
        put(self, "uses_contingent", _readonly(_bools("uses_contingent", self.uses_contingent, t)))
        put(self, "moving_on", _readonly(_bools("moving_on", self.moving_on, t)))
        if self.contingent_share is not None:
            share = _nonnegative_float("contingent_share", self.contingent_share, (g, t, c))
            sums = share.sum(axis=1)
            if np.any(np.abs(sums - 1) > 1e-6):
                raise SupplyInputError(
                    "contingent_share: aandelen per corporatie en gemeente tellen niet op tot 1"
                )
            put(self, "contingent_share", _readonly(share))
        added = (
            np.zeros((m, g, t, c), np.int64) if self.capacity_added is None else self.capacity_added
        )
        put(
            self,
            "capacity_added",
            _readonly(_nonnegative_int("capacity_added", added, (m, g, t, c))),
        )
        put(self, "pipeline", tuple(self.pipeline))
        for i, project in enumerate(self.pipeline):
            self._check_project(i, project)

    def _check_project(self, i: int, p: PipelineProject) -> None:
        label = f"pipeline[{i}]{' ' + p.name if p.name else ''}"
        if p.gemeente not in self.gemeenten:
            raise SupplyInputError(f"{label}: onbekende gemeente {p.gemeente!r}")
        if p.type_code not in self.types:
            raise SupplyInputError(f"{label}: onbekend woningtype {p.type_code!r}")
        if p.corporation not in self.corporations:
            raise SupplyInputError(f"{label}: onbekende corporatie {p.corporation!r}")
        if p.places < 0:
            raise SupplyInputError(f"{label}: negatief aantal plaatsen {p.places}")
        if not 0 <= p.delay_probability <= 1:
            raise SupplyInputError(f"{label}: kans op vertraging moet tussen 0 en 1 liggen")
        pmf = np.asarray(p.delay_pmf, dtype=np.float64)
        if pmf.ndim != 1 or pmf.size == 0 or pmf.min() < 0 or abs(pmf.sum() - 1) > LOS_TOLERANCE:
            raise SupplyInputError(f"{label}: vertragingsverdeling telt niet op tot 1")

    # Convenience -------------------------------------------------------------------------
    @property
    def months(self) -> int:
        return int(self.inflow.shape[0])

    @property
    def shape(self) -> tuple[int, int, int]:
        """(gemeenten, types, corporations)."""
        return len(self.gemeenten), len(self.types), len(self.corporations)

    @property
    def groups(self) -> int:
        g, t, c = self.shape
        return g * t * c

    def month_dates(self) -> list[date]:
        return [month_at(self.start, i) for i in range(self.months)]

    def mean_stay(self) -> FloatArray:
        """Mean length of stay per type in months."""
        d = np.arange(self.los.shape[1], dtype=np.float64)
        return np.asarray(self.los @ d, dtype=np.float64)


def _bools(name: str, value: Any, n: int) -> BoolArray:
    raw = np.asarray(value)
    _shape(name, raw, (n,))
    return raw.astype(bool)


def validate_los(los: Any, types: Sequence[str]) -> FloatArray:
    """Check a length-of-stay table (T, L): non-negative, no zero-month stays, rows sum to 1."""
    arr = np.asarray(los, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(types) or arr.shape[1] < 2:
        raise SupplyInputError(
            f"los: verwacht (typen={len(types)}, maanden >= 2), kreeg vorm {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise SupplyInputError("los: verblijfsduurverdeling bevat een negatieve of ongeldige kans")
    for i, code in enumerate(types):
        if arr[i, 0] != 0:
            raise SupplyInputError(
                f"los[{code}]: verblijf van 0 maanden kan niet (kans op index 0 moet 0 zijn)"
            )
        total = float(arr[i].sum())
        if abs(total - 1.0) > LOS_TOLERANCE:
            raise SupplyInputError(
                f"los[{code}]: verblijfsduurverdeling telt op tot {total:.12g}, niet tot 1"
            )
    return arr


def los_uniform(min_months: int, max_months: int, length: int | None = None) -> FloatArray:
    """A uniform stay of ``min_months`` .. ``max_months`` (inclusive) as a probability vector."""
    if not 1 <= min_months <= max_months:
        raise SupplyInputError(f"los: ongeldige verblijfsduur {min_months}-{max_months} maanden")
    size = max(max_months + 1, length or 0)
    pmf = np.zeros(size)
    pmf[min_months : max_months + 1] = 1.0 / (max_months - min_months + 1)
    return pmf
