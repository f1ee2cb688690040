"""Integer pair values for the allocation objective (see docs/objective.md).

The value of placing youth ``y`` in option ``o`` is::

    value(y, o) = housing_scale * urgency_weight(y) + PREF_UNIT * preference(y, o) + tie(y, o)

* ``urgency_weight`` in [URGENCY_BASE, URGENCY_MAX]: housing somebody at all, weighted by the
  gemeente's urgency level, how close (or how long past) the end of care is, and months waiting.
* ``preference`` in [0, PREF_MAX]: area rank, type rank, distance to the nearest anchor, rent share.
* ``tie`` in [0, PREF_UNIT): a seeded hash of (seed, youth code, option code).
* ``housing_scale = n_youths * (PREF_UNIT * PREF_MAX + PREF_UNIT - 1) + 1``: one more unit of
  urgency-weighted housing outweighs every preference and tie-break part of any assignment.

Everything is int64 and vectorised over the eligible pairs of a ``Screening``.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from matcher.problem import AreaLevel, Option, Round, Youth, area_level

if TYPE_CHECKING:
    from matcher.rules import Screening

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Urgency weight (per youth).
URGENCY_BASE = 1000  # housing anybody at all
URGENCY_PER_LEVEL = 200  # per urgency level above 1 (youth.urgency 1..5)
CARE_END_MAX = 150  # care ended on or before move-in; linear down to 0 at 365 days ahead
CARE_END_HORIZON_DAYS = 365
WAITING_MAX_MONTHS = 49  # one point per full month waiting, capped
URGENCY_MAX = URGENCY_BASE + 4 * URGENCY_PER_LEVEL + CARE_END_MAX + WAITING_MAX_MONTHS  # 1999

# Preference points (per pair), summing to at most PREF_MAX.
AREA_MAX = 400
TYPE_MAX = 300
DISTANCE_MAX = 200
RENT_MAX = 100
PREF_MAX = AREA_MAX + TYPE_MAX + DISTANCE_MAX + RENT_MAX  # 1000
AREA_LEVEL_PERCENT = {AreaLevel.BUURT: 100, AreaLevel.WIJK: 80, AreaLevel.GEMEENTE: 60}
AREA_RANK_STEPS = 8  # rank r scores (8 - min(r, 7)) / 8 of the level's points
TYPE_RANK_STEPS = 4  # type rank t scores (4 - min(t, 4)) / 4 of TYPE_MAX
DISTANCE_HALF_M = 5000.0  # distance points halve at 5 km: DISTANCE_MAX * 5000 / (5000 + d)
RENT_SHARE_ZERO = 0.5  # rent points fall linearly from RENT_MAX at share 0 to 0 at this share

# Tie-break resolution: preference is counted in units of PREF_UNIT, the tie-break below it.
PREF_UNIT = 16
TIE_MAX = PREF_UNIT - 1


def housing_scale(n_youths: int) -> int:
    """The factor that makes urgency-weighted housing dominate preference (docs/objective.md)."""
    return max(1, n_youths) * (PREF_UNIT * PREF_MAX + TIE_MAX) + 1


def _whole_months(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return months


def urgency_parts(youth: Youth, move_in: date) -> tuple[int, int, int]:
    """(level points, care-end points, waiting points) of a youth's urgency weight."""
    level = URGENCY_PER_LEVEL * (youth.urgency - 1)
    care = 0
    if youth.care_end_date is not None:
        days = (youth.care_end_date - move_in).days
        if days <= 0:
            care = CARE_END_MAX
        elif days < CARE_END_HORIZON_DAYS:
            care = CARE_END_MAX * (CARE_END_HORIZON_DAYS - days) // CARE_END_HORIZON_DAYS
    waiting = 0
    if youth.waiting_since is not None:
        waiting = min(WAITING_MAX_MONTHS, max(0, _whole_months(youth.waiting_since, move_in)))
    return level, care, waiting


def urgency_weight(youth: Youth, move_in: date) -> int:
    """Urgency weight of housing this youth, in [URGENCY_BASE, URGENCY_MAX]."""
    return URGENCY_BASE + sum(urgency_parts(youth, move_in))


def code_hash(seed: int, kind: str, code: str) -> int:
    """A 64-bit hash of a youth (``kind`` "y") or option ("o") code under ``seed``, for ties."""
    digest = hashlib.blake2b(f"{seed}|{kind}|{code}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def mix_hashes(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """splitmix64 finaliser of a combination of two hashes (wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        z = a ^ (b * np.uint64(0x9E3779B97F4A7C15))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return z


def tie_breaks(
    seed: int, youth_codes: list[str], option_codes: list[str], yi: npt.NDArray, oi: npt.NDArray
) -> IntArray:
    """Per-pair tie-break in [0, TIE_MAX] from a hash of (seed, youth code, option code).

    It depends on the codes only, never on input order, so shuffled input gives the same values.
    """
    hy = np.array([code_hash(seed, "y", c) for c in youth_codes], dtype=np.uint64)
    ho = np.array([code_hash(seed, "o", c) for c in option_codes], dtype=np.uint64)
    if len(yi) == 0:
        return np.zeros(0, dtype=np.int64)
    mixed = mix_hashes(hy[yi], ho[oi])
    return (mixed % np.uint64(PREF_UNIT)).astype(np.int64)


def _rank_lookup(
    pair_keys: npt.NDArray[np.int64], table_keys: npt.NDArray[np.int64], table_ranks: IntArray
) -> IntArray:
    """Rank of each pair key in a (key -> rank) table; -1 where absent. Keys sorted, unique."""
    if len(table_keys) == 0:
        return np.full(len(pair_keys), -1, dtype=np.int64)
    pos = np.searchsorted(table_keys, pair_keys)
    pos_c = np.minimum(pos, len(table_keys) - 1)
    found = table_keys[pos_c] == pair_keys
    return np.where(found, table_ranks[pos_c], -1)


def _keyed_table(entries: list[tuple[int, int, int]], width: int) -> tuple[IntArray, IntArray]:
    """(youth, item, rank) triples -> sorted unique keys youth*width+item with the best rank."""
    if not entries:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    arr = np.array(entries, dtype=np.int64)
    keys = arr[:, 0] * width + arr[:, 1]
    order = np.lexsort((arr[:, 2], keys))
    keys, ranks = keys[order], arr[order, 2]
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first], ranks[first]


@dataclass(frozen=True)
class PairValues:
    """Objective value and its parts for every eligible pair of a screening (same order)."""

    value: IntArray  # the objective coefficient
    urgency: IntArray  # per YOUTH: urgency weight
    area: IntArray
    type: IntArray
    distance: IntArray
    rent: IntArray
    tie: IntArray
    housing_scale: int

    @property
    def preference(self) -> IntArray:
        return self.area + self.type + self.distance + self.rent

    def subset(self, keep: npt.NDArray[np.bool_]) -> PairValues:
        """The values of the pairs in ``keep`` (per-youth urgency unchanged)."""
        return PairValues(
            value=self.value[keep],
            urgency=self.urgency,
            area=self.area[keep],
            type=self.type[keep],
            distance=self.distance[keep],
            rent=self.rent[keep],
            tie=self.tie[keep],
            housing_scale=self.housing_scale,
        )


def area_points_of_rank(level: AreaLevel, rank: int) -> int:
    """Points for the option lying in the youth's preferred area of this level and rank."""
    steps = AREA_RANK_STEPS - min(rank, AREA_RANK_STEPS - 1)
    return AREA_MAX * AREA_LEVEL_PERCENT[level] * steps // (100 * AREA_RANK_STEPS)


def type_points_of_rank(rank: int) -> int:
    """Points for the option's type being the youth's accepted type of this rank (0 first)."""
    return TYPE_MAX * (TYPE_RANK_STEPS - min(rank, TYPE_RANK_STEPS)) // TYPE_RANK_STEPS


def distance_points(distance_m: FloatArray) -> IntArray:
    """Points for the distance to the nearest anchor; no anchors (nan) scores half."""
    d = np.asarray(distance_m, dtype=np.float64)
    pts = np.floor(DISTANCE_MAX * DISTANCE_HALF_M / (DISTANCE_HALF_M + np.maximum(d, 0.0)))
    return np.where(np.isnan(d), DISTANCE_MAX // 2, pts).astype(np.int64)


def rent_points(net_rent: FloatArray, income: FloatArray) -> IntArray:
    """Mild term: a lower net rent share of income scores higher; no income scores half."""
    net = np.asarray(net_rent, dtype=np.float64)
    inc = np.asarray(income, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(inc > 0, net / np.where(inc > 0, inc, 1.0), np.nan)
    pts = np.floor(RENT_MAX * np.clip(1.0 - share / RENT_SHARE_ZERO, 0.0, 1.0))
    return np.where(np.isnan(share), RENT_MAX // 2, pts).astype(np.int64)


def pair_values(round: Round, screening: Screening, seed: int | None = None) -> PairValues:
    """Objective values of all eligible pairs, vectorised (no loop over pairs)."""
    seed = round.seed if seed is None else seed
    yi = np.asarray(screening.youth_idx, dtype=np.int64)
    oi = np.asarray(screening.option_idx, dtype=np.int64)
    youths, options = round.youths, round.options

    urgency = np.array([urgency_weight(y, round.move_in) for y in youths], dtype=np.int64)

    # Areas: each pair looks up the rank of the option's buurt, wijk and gemeente among the
    # youth's preferred areas via sorted keys (youth * n_areas + area).
    area_ids: dict[str, int] = {}
    for o in options:
        for c in o.area_codes:
            area_ids.setdefault(c, len(area_ids))
    for y in youths:
        for c in y.preferred_areas:
            area_ids.setdefault(c, len(area_ids))
    width = max(1, len(area_ids))
    per_level: dict[AreaLevel, list[tuple[int, int, int]]] = {lv: [] for lv in AreaLevel}
    for i, y in enumerate(youths):
        for r, c in enumerate(y.preferred_areas):
            try:
                lv = area_level(c)
            except ValueError:
                continue
            per_level[lv].append((i, area_ids[c], r))
    area = np.zeros(len(yi), dtype=np.int64)
    for lv in AreaLevel:
        codes = [
            {
                AreaLevel.GEMEENTE: o.gemeente_code,
                AreaLevel.WIJK: o.wijk_code,
                AreaLevel.BUURT: o.buurt_code,
            }[lv]
            for o in options
        ]
        opt_area = np.array([area_ids[c] if c else -1 for c in codes], dtype=np.int64)
        keys, ranks = _keyed_table(per_level[lv], width)
        pa = opt_area[oi]
        rank = _rank_lookup(yi * width + np.maximum(pa, 0), keys, ranks)
        rank = np.where(pa >= 0, rank, -1)
        table = np.array(
            [area_points_of_rank(lv, r) for r in range(AREA_RANK_STEPS)], dtype=np.int64
        )
        pts = np.where(rank >= 0, table[np.clip(rank, 0, AREA_RANK_STEPS - 1)], 0)
        area = np.maximum(area, pts)
    no_pref = np.array([not y.preferred_areas for y in youths], dtype=bool)
    area = np.where(no_pref[yi], AREA_MAX // 2, area) if len(yi) else area

    # Types: rank of the option's type among the youth's accepted types.
    type_ids: dict[str, int] = {}
    for o in options:
        type_ids.setdefault(o.type_code, len(type_ids))
    for y in youths:
        for c in y.accepted_types:
            type_ids.setdefault(c, len(type_ids))
    twidth = max(1, len(type_ids))
    tkeys, tranks = _keyed_table(
        [(i, type_ids[c], r) for i, y in enumerate(youths) for r, c in enumerate(y.accepted_types)],
        twidth,
    )
    opt_type = np.array([type_ids[o.type_code] for o in options], dtype=np.int64)
    trank = _rank_lookup(yi * twidth + opt_type[oi], tkeys, tranks) if len(yi) else yi
    ttable = np.array([type_points_of_rank(r) for r in range(TYPE_RANK_STEPS + 1)], np.int64)
    typ = np.where(trank >= 0, ttable[np.clip(trank, 0, TYPE_RANK_STEPS)], 0).astype(np.int64)

    dist = distance_points(np.asarray(screening.distance_m, dtype=np.float64))
    income = np.array([y.income for y in youths], dtype=np.float64)
    rent = rent_points(np.asarray(screening.net_rent, dtype=np.float64), income[yi])

    tie = tie_breaks(seed, [y.code for y in youths], [o.code for o in options], yi, oi)
    scale = housing_scale(len(youths))
    value = scale * urgency[yi] + PREF_UNIT * (area + typ + dist + rent) + tie
    return PairValues(
        value=value.astype(np.int64),
        urgency=urgency,
        area=area.astype(np.int64),
        type=typ,
        distance=dist,
        rent=rent,
        tie=tie,
        housing_scale=scale,
    )


@dataclass(frozen=True)
class PairScore:
    """The score of one pair, part by part, for explanations and suggestions."""

    youth: str
    option: str
    value: int
    urgency_weight: int
    urgency_level_points: int
    care_end_points: int
    waiting_points: int
    area_points: int
    matched_area: str | None  # the preferred area code that scored, if any
    matched_area_rank: int | None  # its rank among the youth's preferred areas (0 = first)
    type_points: int
    type_rank: int | None  # rank of the option's type among accepted types (0 = first)
    distance_points: int
    distance_per_anchor_m: dict[str, float]  # anchor label -> metres (RD New)
    nearest_anchor_m: float | None
    rent_points: int
    net_rent: float  # per month, after huurtoeslag
    toeslag: float  # huurtoeslag per month
    rent_share_of_income: float | None  # None when the youth has no income
    tie_break: int

    def as_dict(self) -> dict[str, object]:
        """Plain dict (JSON-ready) of the breakdown."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _best_area(youth: Youth, option: Option) -> tuple[int, str | None, int | None]:
    best: tuple[int, str | None, int | None] = (0, None, None)
    for r, code in enumerate(youth.preferred_areas):
        if code not in option.area_codes:
            continue
        try:
            pts = area_points_of_rank(area_level(code), r)
        except ValueError:
            continue
        if pts > best[0]:
            best = (pts, code, r)
    if not youth.preferred_areas:
        return AREA_MAX // 2, None, None
    return best


def score_breakdown(
    round: Round,
    youth: Youth,
    option: Option,
    net_rent: float,
    toeslag: float,
    seed: int | None = None,
) -> PairScore:
    """The score of one pair, part by part (net rent and toeslag come from the screening).

    Agrees with ``pair_values`` for eligible pairs; it does not check eligibility itself.
    """
    seed = round.seed if seed is None else seed
    level, care, waiting = urgency_parts(youth, round.move_in)
    weight = URGENCY_BASE + level + care + waiting
    area_pts, matched, matched_rank = _best_area(youth, option)
    trank = (
        youth.accepted_types.index(option.type_code)
        if option.type_code in youth.accepted_types
        else None
    )
    type_pts = type_points_of_rank(trank) if trank is not None else 0
    per_anchor = {a.label: float(math.hypot(a.x - option.x, a.y - option.y)) for a in youth.anchors}
    nearest = min(per_anchor.values()) if per_anchor else None
    dist_pts = int(distance_points(np.array([np.nan if nearest is None else nearest]))[0])
    rent_pts = int(rent_points(np.array([net_rent]), np.array([youth.income]))[0])
    share = net_rent / youth.income if youth.income > 0 else None
    tie = int(tie_breaks(seed, [youth.code], [option.code], np.array([0]), np.array([0]))[0])
    scale = housing_scale(len(round.youths))
    value = scale * weight + PREF_UNIT * (area_pts + type_pts + dist_pts + rent_pts) + tie
    return PairScore(
        youth=youth.code,
        option=option.code,
        value=value,
        urgency_weight=weight,
        urgency_level_points=level,
        care_end_points=care,
        waiting_points=waiting,
        area_points=area_pts,
        matched_area=matched,
        matched_area_rank=matched_rank,
        type_points=type_pts,
        type_rank=trank,
        distance_points=dist_pts,
        distance_per_anchor_m=per_anchor,
        nearest_anchor_m=nearest,
        rent_points=rent_pts,
        net_rent=float(net_rent),
        toeslag=float(toeslag),
        rent_share_of_income=share,
        tie_break=tie,
    )
