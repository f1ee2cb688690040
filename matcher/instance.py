"""A round in array form (``Instance``): what the flow, the repair, CP-SAT and the exact path share.

``build_instance`` turns a round and its scored eligible pairs into arrays per pair (youth,
option, value), per youth (urgency weight, age on the move-in day), per option (capacity, house,
contingent, gemeente), per house (persons_min / persons_max, age gap, contingent), per
contingent and per gemeente (caps), with the companion groups, conflicts and fixed pairs as
index lists. A house mixing housing types takes the strictest figures of its types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from matcher import scoring
from matcher.groups import companion_groups
from matcher.policy import age_on
from matcher.problem import ConflictingFixedPairs, Round

__all__ = [
    "NO_LIMIT",
    "BoolArray",
    "Instance",
    "Int32Array",
    "IntArray",
    "build_instance",
    "pair_index",
]

IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

NO_LIMIT = -1  # no cap (gemeente cap, age gap)


@dataclass
class Instance:
    """A round in array form, in the round's own (canonical) order of youths and options."""

    round: Round
    youth_codes: list[str]
    option_codes: list[str]
    pair_youth: Int32Array
    pair_option: Int32Array
    pair_value: IntArray
    youth_weight: IntArray  # urgency weight per youth
    youth_age: IntArray
    option_capacity: IntArray
    option_house: Int32Array  # house index of every option (a lone option is its own house)
    house_codes: list[str]
    house_pmin: IntArray
    house_pmax: IntArray
    house_gap: IntArray  # max age gap, NO_LIMIT when none
    house_contingent: Int32Array  # contingent of all options in the house, or -2 when mixed
    option_contingent: Int32Array
    contingent_left: IntArray
    contingent_gemeente: Int32Array
    option_gemeente: Int32Array
    gemeente_codes: list[str]
    gemeente_cap: IntArray  # NO_LIMIT when none
    companion_groups: list[list[int]]  # youth indices, groups of >= 2
    conflicts: list[tuple[int, int]]  # youth index pairs (a < b)
    fixed: list[tuple[int, int]]  # (youth index, option index)
    fixed_pair_idx: list[int] = field(default_factory=list)  # pair index per fixed pair
    youth_pairs_start: IntArray = field(default_factory=lambda: np.zeros(1, np.int64))
    housing_scale: int = 1  # pair_value = housing_scale * youth_weight + preference part

    @property
    def n_youths(self) -> int:
        return len(self.youth_codes)

    @property
    def n_options(self) -> int:
        return len(self.option_codes)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_youth)

    def pairs_of(self, youth: int) -> range:
        """Pair indices of a youth (pairs are sorted by youth)."""
        return range(int(self.youth_pairs_start[youth]), int(self.youth_pairs_start[youth + 1]))

    def house_places(self) -> IntArray:
        """Places per house: the capacities of its options summed."""
        return np.bincount(
            self.option_house, weights=self.option_capacity, minlength=len(self.house_codes)
        ).astype(np.int64)

    def house_is_side(self) -> BoolArray:
        """Houses where a rule beyond the flow can bind: >1 person possible, or persons_min > 1."""
        cap = self.house_places()
        return (self.house_pmin > 1) | ((self.house_pmax > 1) & (cap > 1))


def build_instance(
    round: Round,
    pair_youth: npt.NDArray,
    pair_option: npt.NDArray,
    pair_value: IntArray,
    youth_weight: IntArray,
    option_contingent: npt.NDArray,
    housing_scale: int | None = None,
) -> Instance:
    """Array form of a round. Pairs must be sorted by youth (as ``Screening`` guarantees)."""
    types = {t.code: t for t in round.types}
    youth_index = {y.code: i for i, y in enumerate(round.youths)}
    option_index = {o.code: j for j, o in enumerate(round.options)}

    house_ix: dict[str, int] = {}
    option_house = np.empty(len(round.options), dtype=np.int32)
    for j, o in enumerate(round.options):
        option_house[j] = house_ix.setdefault(o.house_id, len(house_ix))
    nh = len(house_ix)
    pmin = np.ones(nh, dtype=np.int64)
    pmax = np.full(nh, np.iinfo(np.int64).max // 4, dtype=np.int64)
    gap = np.full(nh, NO_LIMIT, dtype=np.int64)
    hcont = np.full(nh, -3, dtype=np.int32)  # -3: not seen yet
    ocont = np.asarray(option_contingent, dtype=np.int32)
    for j, o in enumerate(round.options):
        h = option_house[j]
        t = types.get(o.type_code)
        if t is not None:
            # A house mixing types takes the strictest figures of its types.
            pmin[h] = max(pmin[h], t.persons_min)
            pmax[h] = min(pmax[h], t.persons_max)
            if t.max_age_gap is not None:
                gap[h] = t.max_age_gap if gap[h] == NO_LIMIT else min(gap[h], t.max_age_gap)
        if hcont[h] == -3:
            hcont[h] = ocont[j]
        elif hcont[h] != ocont[j]:
            hcont[h] = -2

    gem_ix: dict[str, int] = {}
    option_gemeente = np.array(
        [gem_ix.setdefault(o.gemeente_code, len(gem_ix)) for o in round.options], dtype=np.int32
    )
    contingent_gemeente = np.array(
        [gem_ix.setdefault(c.gemeente_code, len(gem_ix)) for c in round.contingents],
        dtype=np.int32,
    )
    gem_cap = np.full(len(gem_ix), NO_LIMIT, dtype=np.int64)
    for code, cap in round.gemeente_caps:
        g = gem_ix.setdefault(code, len(gem_ix))
        if g >= len(gem_cap):
            gem_cap = np.append(gem_cap, NO_LIMIT)
        gem_cap[g] = cap if gem_cap[g] == NO_LIMIT else min(gem_cap[g], cap)

    conflicts: set[tuple[int, int]] = set()
    for i, y in enumerate(round.youths):
        for c in y.conflicts:
            k = youth_index.get(c)
            if k is not None and k != i:
                conflicts.add((min(i, k), max(i, k)))

    py = np.asarray(pair_youth, dtype=np.int32)
    po = np.asarray(pair_option, dtype=np.int32)
    start = np.searchsorted(py, np.arange(len(round.youths) + 1)).astype(np.int64)

    fixed: list[tuple[int, int]] = []
    for yc, oc in round.fixed_pairs:
        if yc not in youth_index or oc not in option_index:
            raise ConflictingFixedPairs(
                "vaste koppeling met onbekende jongere of woning", [(yc, oc)]
            )
        fixed.append((youth_index[yc], option_index[oc]))
    fixed = sorted(set(fixed))

    inst = Instance(
        round=round,
        youth_codes=[y.code for y in round.youths],
        option_codes=[o.code for o in round.options],
        pair_youth=py,
        pair_option=po,
        pair_value=np.asarray(pair_value, dtype=np.int64),
        youth_weight=np.asarray(youth_weight, dtype=np.int64),
        youth_age=np.array([age_on(y.birth_date, round.move_in) for y in round.youths], np.int64),
        option_capacity=np.array([o.capacity for o in round.options], dtype=np.int64),
        option_house=option_house,
        house_codes=list(house_ix),
        house_pmin=pmin,
        house_pmax=pmax,
        house_gap=gap,
        house_contingent=hcont,
        option_contingent=ocont,
        contingent_left=np.array([c.left for c in round.contingents], dtype=np.int64),
        contingent_gemeente=contingent_gemeente,
        option_gemeente=option_gemeente,
        gemeente_codes=list(gem_ix),
        gemeente_cap=gem_cap,
        companion_groups=companion_groups(round),
        conflicts=sorted(conflicts),
        fixed=fixed,
        youth_pairs_start=start,
        housing_scale=scoring.housing_scale(len(round.youths))
        if housing_scale is None
        else housing_scale,
    )
    inst.fixed_pair_idx = [pair_index(inst, y, o) for y, o in fixed]
    return inst


def pair_index(inst: Instance, youth: int, option: int) -> int:
    """Index of the eligible pair (youth, option), or -1 when not eligible."""
    r = inst.pairs_of(youth)
    opts = inst.pair_option[r.start : r.stop]
    hit = np.nonzero(opts == option)[0]
    return r.start + int(hit[0]) if len(hit) else -1
