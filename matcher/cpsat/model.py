"""The CP-SAT model of the side rules over a candidate set, built by a recipe.

One small named function per constraint family, applied in the order of ``RECIPE``:
``add_assignment``, ``add_capacity``, ``add_contingents``, ``add_gemeente_caps``,
``add_shared_houses``, ``add_conflicts``, ``add_age_gap``, ``add_companions``,
``add_fixed_and_forbidden``. Each reads and extends a ``SideModel`` (the model, one boolean per
candidate pair, the pairs by youth, option and house, and the places, contingent units and caps
left after the placements held outside the model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from matcher.cpsat.candidates import Candidates
from matcher.instance import NO_LIMIT, BoolArray, Instance, IntArray

__all__ = [
    "RECIPE",
    "SideModel",
    "add_age_gap",
    "add_assignment",
    "add_capacity",
    "add_companions",
    "add_conflicts",
    "add_contingents",
    "add_fixed_and_forbidden",
    "add_gemeente_caps",
    "add_shared_houses",
    "build_side_model",
]


@dataclass
class SideModel:
    """A CP-SAT model over candidate pairs, with the lookups the recipe functions share."""

    inst: Instance
    pairs: IntArray
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    by_youth: dict[int, list[int]]  # youth -> local var indices
    by_option: dict[int, list[int]]
    by_house: dict[int, list[int]]
    fixed_literals: list[tuple[int, cp_model.IntVar]] = field(default_factory=list)
    complete: bool = True  # the candidate set holds every eligible pair
    option_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    contingent_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    gemeente_left: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    house_open: dict[int, cp_model.IntVar] = field(default_factory=dict)
    house_age: dict[tuple[int, int], cp_model.IntVar] = field(default_factory=dict)

    def hint(self, chosen: BoolArray) -> None:
        """Hint every variable from the chosen candidates (local mask), auxiliaries included:
        a complete hint spares CP-SAT the search for their values."""
        self.model.clear_hints()
        for k, v in enumerate(self.x):
            self.model.add_hint(v, bool(chosen[k]))
        houses = self.inst.option_house[self.inst.pair_option[self.pairs[chosen]]].tolist()
        ages = self.inst.youth_age[self.inst.pair_youth[self.pairs[chosen]]].tolist()
        used = set(houses)
        present = set(zip(houses, ages, strict=True))
        for h, var in self.house_open.items():
            self.model.add_hint(var, h in used)
        for key, var in self.house_age.items():
            self.model.add_hint(var, key in present)

    def house_literal(self, youth: int, house: int) -> Any:
        """Sum of a youth's variables in a house (0/1 since a youth is placed at most once)."""
        vs = [
            self.x[k]
            for k in self.by_youth.get(youth, [])
            if self.inst.option_house[self.inst.pair_option[self.pairs[k]]] == house
        ]
        return cp_model.LinearExpr.sum(vs) if vs else None


def add_assignment(sm: SideModel) -> None:
    """Each youth at most one option."""
    for _y, ks in sm.by_youth.items():
        if len(ks) > 1:
            sm.model.add_at_most_one(sm.x[k] for k in ks)


def add_capacity(sm: SideModel) -> None:
    """Places per option."""
    for o, ks in sm.by_option.items():
        cap = int(sm.option_left[o])
        if len(ks) > cap:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= cap)


def add_contingents(sm: SideModel) -> None:
    """A placement in an option with a contingent uses one unit of Contingent.left."""
    oc = sm.inst.option_contingent[sm.inst.pair_option[sm.pairs]]
    for c in np.unique(oc[oc >= 0]):
        ks = np.nonzero(oc == c)[0]
        left = int(sm.contingent_left[c])
        if len(ks) > left:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= left)


def add_gemeente_caps(sm: SideModel) -> None:
    """Cross-corporation caps: placements in options located in a gemeente."""
    og = sm.inst.option_gemeente[sm.inst.pair_option[sm.pairs]]
    for g in np.nonzero(sm.inst.gemeente_cap != NO_LIMIT)[0]:
        ks = np.nonzero(og == g)[0]
        cap = int(sm.gemeente_left[g])
        if len(ks) > cap:
            sm.model.add(cp_model.LinearExpr.sum([sm.x[k] for k in ks]) <= cap)


def add_shared_houses(sm: SideModel) -> None:
    """Per house: placements <= persons_max, and >= persons_min when the house is used."""
    for h, ks in sm.by_house.items():
        pmin, pmax = int(sm.inst.house_pmin[h]), int(sm.inst.house_pmax[h])
        total = cp_model.LinearExpr.sum([sm.x[k] for k in ks])
        if pmin > 1:
            # x <= open per placement (not only the sum): the LP relaxation then needs
            # persons_min units of residents for any one of them, which is what makes the
            # bound of a Friends house (2-3 persons) close to the integer optimum.
            used = sm.model.new_bool_var(f"open_{h}")
            sm.house_open[h] = used
            sm.model.add(total >= pmin * used)
            sm.model.add(total <= min(pmax, len(ks)) * used)
            for k in ks:
                sm.model.add(sm.x[k] <= used)
        elif len(ks) > pmax:
            sm.model.add(total <= pmax)


def add_conflicts(sm: SideModel) -> None:
    """Two youths who declared a conflict never share a house."""
    for a, b in sm.inst.conflicts:
        ha = {
            int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
            for k in sm.by_youth.get(a, [])
        }
        hb = {
            int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
            for k in sm.by_youth.get(b, [])
        }
        for h in sorted(ha & hb):
            la, lb = sm.house_literal(a, h), sm.house_literal(b, h)
            if la is not None and lb is not None:
                sm.model.add(la + lb <= 1)


def add_age_gap(sm: SideModel) -> None:
    """Housemates' ages (whole years on move-in) differ at most the type's max_age_gap.

    Per house one boolean per candidate age ("someone of age t lives here"): a placement implies
    its age boolean, and two ages further apart than the gap exclude each other. Binary clauses
    only, which CP-SAT presolves far better than enforced linear bounds on a minimum age.
    """
    inst = sm.inst
    for h, ks in sm.by_house.items():
        gap = int(inst.house_gap[h])
        if gap == NO_LIMIT or len(ks) < 2:
            continue
        ages = inst.youth_age[inst.pair_youth[sm.pairs[ks]]]
        if int(ages.max() - ages.min()) <= gap:
            continue
        lits = {int(t): sm.model.new_bool_var(f"age_{h}_{int(t)}") for t in np.unique(ages)}
        for t, lit in lits.items():
            sm.house_age[(h, t)] = lit
        for k, age in zip(ks, ages.tolist(), strict=True):
            sm.model.add_implication(sm.x[k], lits[age])
        for t, lt in lits.items():
            for t2, lt2 in lits.items():
                if t2 > t + gap:
                    sm.model.add_bool_or([lt.Not(), lt2.Not()])


def add_companions(sm: SideModel) -> None:
    """Youths who applied together live in the same house, or none of them is placed."""
    for group in sm.inst.companion_groups:
        houses: set[int] = set()
        for y in group:
            houses |= {
                int(sm.inst.option_house[sm.inst.pair_option[sm.pairs[k]]])
                for k in sm.by_youth.get(y, [])
            }
        for h in sorted(houses):
            lits = [sm.house_literal(y, h) for y in group]
            if any(lit is None for lit in lits):
                for lit in lits:
                    if lit is not None:
                        sm.model.add(lit == 0)
                continue
            first = lits[0]
            for lit in lits[1:]:
                sm.model.add(first == lit)  # type: ignore[operator]


def add_fixed_and_forbidden(sm: SideModel) -> None:
    """Fixed pairs hold (as assumptions, so a conflict names them); forbidden pairs never occur.

    Forbidden pairs are already absent from the screening; a forbidden candidate is a bug.
    """
    forbidden = set(sm.inst.round.forbidden_pairs)
    pos = {int(p): k for k, p in enumerate(sm.pairs)}
    for p in sm.inst.fixed_pair_idx:
        k = pos.get(p)
        if k is None:
            continue  # pinned outside the model (a neighbourhood): placed as a constant
        sm.fixed_literals.append((p, sm.x[k]))
    sm.model.add_assumptions([lit for _, lit in sm.fixed_literals])
    for k, p in enumerate(sm.pairs):
        code = (
            sm.inst.youth_codes[sm.inst.pair_youth[p]],
            sm.inst.option_codes[sm.inst.pair_option[p]],
        )
        if code in forbidden:
            sm.model.add(sm.x[k] == 0)


RECIPE: tuple[Callable[[SideModel], None], ...] = (
    add_assignment,
    add_capacity,
    add_contingents,
    add_gemeente_caps,
    add_shared_houses,
    add_conflicts,
    add_age_gap,
    add_companions,
    add_fixed_and_forbidden,
)


def build_side_model(inst: Instance, candidates: Candidates) -> SideModel:
    """The CP-SAT model of the candidate pairs, built by the recipe functions in order."""
    pairs = candidates.pairs
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{int(p)}") for p in pairs]
    by_youth: dict[int, list[int]] = {}
    by_option: dict[int, list[int]] = {}
    by_house: dict[int, list[int]] = {}
    py = inst.pair_youth[pairs].tolist()
    po = inst.pair_option[pairs].tolist()
    ph = inst.option_house[inst.pair_option[pairs]].tolist()
    for k in range(len(pairs)):
        by_youth.setdefault(py[k], []).append(k)
        by_option.setdefault(po[k], []).append(k)
        by_house.setdefault(ph[k], []).append(k)
    sm = SideModel(inst, pairs, model, x, by_youth, by_option, by_house)
    sm.complete = candidates.complete
    out_opts = inst.pair_option[candidates.outside]
    sm.option_left = inst.option_capacity - np.bincount(out_opts, minlength=inst.n_options)
    oc = inst.option_contingent[out_opts]
    sm.contingent_left = inst.contingent_left - np.bincount(
        oc[oc >= 0], minlength=len(inst.contingent_left)
    )
    used_gem = np.bincount(inst.option_gemeente[out_opts], minlength=len(inst.gemeente_cap))
    sm.gemeente_left = np.where(
        inst.gemeente_cap == NO_LIMIT, NO_LIMIT, inst.gemeente_cap - used_gem
    )
    for add in RECIPE:
        add(sm)
    return sm
