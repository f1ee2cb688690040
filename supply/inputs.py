"""Build ``SupplyInputs`` from the matcher's plain records (what the database holds now).

Pure: takes ``matcher.problem`` objects and a forecast table, no database access. Choices:

* waiting list: every waiting youth counts once, in their gemeente, for their most preferred
  accepted type (``accepted_types[0]``);
* capacity: the places (``Option.capacity``) per gemeente x type x corporation of all options
  given; options in ``occupied`` count as fully occupied now. Provider-owned options (no
  corporation) go to the pseudo-corporation ``PROVIDER`` ("-"), which has no contingent;
* length of stay: given per type, or uniform between the type's ``stay_min_months`` and
  ``stay_max_months``;
* contingents: amounts per corporation x gemeente x year; a year without agreements repeats the
  last known year (a default to verify). Typed contingents become per-type shares (constant over
  the years); an untyped amount beside typed ones is spread evenly over the types that use the
  contingent. ``used`` of the first year is what is already used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from matcher.problem import Contingent, HousingType, Option, Youth
from supply.model import (
    FloatArray,
    PipelineProject,
    SupplyInputError,
    SupplyInputs,
    los_uniform,
    month_at,
    month_index,
    parse_month,
)

PROVIDER = "-"


@dataclass(frozen=True, slots=True)
class ForecastRow:
    """Expected care leavers in one month for one gemeente and housing type."""

    month: date
    gemeente: str
    type_code: str
    expected: float


def inputs_from_records(
    *,
    start: date | str,
    months: int,
    types: Sequence[HousingType],
    options: Sequence[Option],
    youths: Sequence[Youth],
    contingents: Sequence[Contingent],
    forecast: Sequence[ForecastRow],
    occupied: Sequence[str] = (),
    gemeenten: Sequence[str] | None = None,
    corporations: Sequence[str] | None = None,
    los: Mapping[str, Sequence[float] | FloatArray] | None = None,
    turnover: float | Mapping[str, float] = 0.0,
    pipeline: Sequence[PipelineProject] = (),
    moving_on_uses_contingent: bool = False,
    moving_on_types: Sequence[str] | None = None,
) -> SupplyInputs:
    """The projection inputs for what the records say now.

    ``occupied`` lists option codes occupied now; ``turnover`` is a monthly move-out share of
    the current occupants (one figure or per type code); ``moving_on_types`` lists the types whose
    leavers need a regular dwelling (default: all).
    """
    start_month = parse_month(start, "start")
    if months < 1:
        raise SupplyInputError("months: minstens één maand")
    type_codes = tuple(t.code for t in types)
    known_types = set(type_codes)
    g_codes = tuple(
        gemeenten
        if gemeenten is not None
        else sorted(
            {o.gemeente_code for o in options}
            | {y.gemeente_code for y in youths}
            | {c.gemeente_code for c in contingents}
            | {f.gemeente for f in forecast}
        )
    )
    c_codes = tuple(
        corporations
        if corporations is not None
        else sorted(
            {o.corporation or PROVIDER for o in options} | {c.corporation for c in contingents}
        )
    )
    gi = {code: i for i, code in enumerate(g_codes)}
    ti = {code: i for i, code in enumerate(type_codes)}
    ci = {code: i for i, code in enumerate(c_codes)}
    n_g, n_t, n_c = len(g_codes), len(type_codes), len(c_codes)

    def index(table: dict[str, int], code: str, what: str, where: str) -> int:
        if code not in table:
            raise SupplyInputError(f"{where}: onbekende {what} {code!r}")
        return table[code]

    waiting = np.zeros((n_g, n_t), np.int64)
    for y in youths:
        first = y.accepted_types[0]
        if first not in known_types:
            raise SupplyInputError(f"jongere {y.code}: onbekend woningtype {first!r}")
        waiting[index(gi, y.gemeente_code, "gemeente", f"jongere {y.code}"), ti[first]] += 1

    capacity = np.zeros((n_g, n_t, n_c), np.int64)
    occupancy = np.zeros((n_g, n_t, n_c), np.int64)
    busy = set(occupied)
    for o in options:
        where = f"woning {o.code}"
        key = (
            index(gi, o.gemeente_code, "gemeente", where),
            index(ti, o.type_code, "woningtype", where),
            index(ci, o.corporation or PROVIDER, "corporatie", where),
        )
        capacity[key] += o.capacity
        if o.code in busy:
            occupancy[key] += o.capacity

    inflow = np.zeros((months, n_g, n_t))
    for row in forecast:
        m = month_index(start_month, parse_month(row.month, "forecast.month"))
        if not 0 <= m < months:
            continue
        if row.expected < 0:
            raise SupplyInputError(f"forecast {row.gemeente}/{row.type_code}: negatieve instroom")
        where = f"forecast {row.month}"
        inflow[
            m,
            index(gi, row.gemeente, "gemeente", where),
            index(ti, row.type_code, "woningtype", where),
        ] += row.expected

    stay = _los_table(types, los)
    if isinstance(turnover, Mapping):
        rates = np.array([float(turnover.get(code, 0.0)) for code in type_codes])
    else:
        rates = np.full(n_t, float(turnover))
    turnover_arr = np.broadcast_to(rates[None, :, None], (n_g, n_t, n_c)).copy()

    first_year = start_month.year
    n_years = month_at(start_month, months - 1).year - first_year + 1
    amounts = np.zeros((n_years, n_g, n_t + 1, n_c))  # last type slot: untyped
    used = np.zeros((n_g, n_c), np.int64)
    known_years: dict[tuple[int, int], set[int]] = {}
    for c in contingents:
        where = f"contingent {c.corporation}/{c.gemeente_code}/{c.year}"
        g = index(gi, c.gemeente_code, "gemeente", where)
        k = index(ci, c.corporation, "corporatie", where)
        t = n_t if c.type_code is None else index(ti, c.type_code, "woningtype", where)
        known_years.setdefault((g, k), set()).add(c.year)
        if first_year <= c.year < first_year + n_years:
            amounts[c.year - first_year, g, t, k] += c.amount
        if c.year == first_year:
            used[g, k] += c.used
    for (g, k), years in known_years.items():  # carry the last known year forward
        for yi in range(n_years):
            if first_year + yi not in years:
                earlier = [yr for yr in years if yr < first_year + yi]
                if earlier and max(earlier) >= first_year:
                    amounts[yi, g, :, k] = amounts[max(earlier) - first_year, g, :, k]
    uses = np.array([t.uses_contingent for t in types])
    total = amounts.sum(axis=2).astype(np.int64)
    share = None
    if amounts[:, :, :n_t, :].sum() > 0:
        typed = amounts[:, :, :n_t, :].sum(axis=0)
        untyped = amounts[:, :, n_t, :].sum(axis=0)
        spread = uses / max(int(uses.sum()), 1)
        weight = typed + untyped[:, None, :] * spread[None, :, None]
        sums = weight.sum(axis=1, keepdims=True)
        even = np.broadcast_to(spread[None, :, None], weight.shape)
        share = np.where(sums > 0, weight / np.where(sums > 0, sums, 1), even)
        if uses.sum() == 0:
            share = np.full(weight.shape, 1.0 / n_t)
    moving = (
        np.ones(n_t, bool)
        if moving_on_types is None
        else np.array([code in set(moving_on_types) for code in type_codes])
    )
    return SupplyInputs(
        start=start_month,
        gemeenten=g_codes,
        types=type_codes,
        corporations=c_codes,
        inflow=inflow,
        waiting=waiting,
        capacity=capacity,
        occupancy=occupancy,
        turnover=turnover_arr,
        los=stay,
        contingent=total,
        contingent_used=used,
        contingent_share=share,
        uses_contingent=uses,
        moving_on=moving,
        pipeline=tuple(pipeline),
        moving_on_uses_contingent=moving_on_uses_contingent,
    )


def _los_table(
    types: Sequence[HousingType], given: Mapping[str, Sequence[float] | FloatArray] | None
) -> np.ndarray:
    rows: list[np.ndarray] = []
    for t in types:
        if given is not None and t.code in given:
            rows.append(np.asarray(given[t.code], dtype=np.float64))
        elif t.stay_min_months is not None or t.stay_max_months is not None:
            lo = t.stay_min_months or 1
            hi = t.stay_max_months or lo
            rows.append(los_uniform(max(1, lo), max(1, lo, hi)))
        else:
            raise SupplyInputError(
                f"los[{t.code}]: geen verblijfsduur bekend (geef een verdeling of "
                "stay_min_months/stay_max_months)"
            )
    width = max(len(r) for r in rows)
    return np.stack([np.pad(r, (0, width - len(r))) for r in rows])
