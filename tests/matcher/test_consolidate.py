"""Consolidation moves residents of broken houses where they fit and never unplaces anybody."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import HealthCheck, given, settings

from matcher.consolidate import age_window_pairs, consolidate, second_flow_scope
from matcher.flow import solve_flow
from matcher.flownet import flow_input, flow_pairs
from matcher.instance import Instance
from matcher.problem import Round
from matcher.repair import repair, side_violations
from matcher.solve import (
    assignment_of,
    large_round_hint,
    mended,
    pairs_of_assignment,
)
from matcher.verifier import verify
from tests.matcher.strategies import (
    assignment_of_codes,
    instance_of,
    make_option,
    make_round,
    make_youth,
    placed_codes,
    rounds,
)


def _flow_assignment(inst: Instance) -> np.ndarray:
    """The min-cost flow's assignment (house rules ignored), fixed pairs included."""
    fin, keep = flow_input(inst)
    return assignment_of(inst, flow_pairs(inst, keep, solve_flow(fin).pair_used))


def _friends(code: str) -> object:
    return make_option(code, type_code="friends", capacity=3, kale_huur=300.0)


def test_lone_residents_of_two_friends_houses_move_in_together() -> None:
    rnd = make_round([make_youth("J-1"), make_youth("J-2")], [_friends("F-1"), _friends("F-2")])
    inst = instance_of(rnd)
    before = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-2"})
    assert side_violations(inst, before)[0]  # both houses below persons_min 2
    after = consolidate(inst, before)
    placed = placed_codes(inst, after)
    assert sorted(placed) == ["J-1", "J-2"]
    assert placed["J-1"] == placed["J-2"]
    assert side_violations(inst, after) == (set(), set())
    assert verify(inst.round, placed) == []


def test_split_companions_move_into_one_house() -> None:
    youths = [
        make_youth("J-1", companions=("J-2",)),
        make_youth("J-2", companions=("J-1",)),
        make_youth("J-3"),
    ]
    rnd = make_round(youths, [_friends("F-1"), _friends("F-2")])
    inst = instance_of(rnd)
    before = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-2", "J-3": "F-2"})
    assert side_violations(inst, before)[1]
    after = consolidate(inst, before)
    placed = placed_codes(inst, after)
    assert placed["J-1"] == placed["J-2"]
    assert len(placed) == 3  # J-3 is still housed
    assert side_violations(inst, after) == (set(), set())


def test_resident_outside_the_age_window_moves_to_a_free_option() -> None:
    youths = [
        make_youth("J-1", birth_date=make_youth().birth_date.replace(year=2007)),  # 18
        make_youth("J-2", birth_date=make_youth().birth_date.replace(year=2006)),  # 19
        make_youth("J-3", birth_date=make_youth().birth_date.replace(year=1999)),  # 26
    ]
    rnd = make_round(youths, [_friends("F-1"), make_option("U-1")])
    inst = instance_of(rnd)
    before = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-1", "J-3": "F-1"})
    assert side_violations(inst, before)[0]  # age gap 8 > 5
    after = consolidate(inst, before)
    placed = placed_codes(inst, after)
    assert placed == {"J-1": "F-1", "J-2": "F-1", "J-3": "U-1"}
    assert verify(inst.round, placed) == []


def test_a_move_that_does_not_fit_is_undone() -> None:
    # J-1, alone in F-2, may not join F-1 (a conflict with J-2): nothing moves, the repair
    # decides.
    youths = [make_youth("J-1", conflicts=("J-2",)), make_youth("J-2"), make_youth("J-3")]
    rnd = make_round(youths, [_friends("F-1"), _friends("F-2")])
    inst = instance_of(rnd)
    before = assignment_of_codes(inst, {"J-1": "F-2", "J-2": "F-1", "J-3": "F-1"})
    after = consolidate(inst, before)
    assert placed_codes(inst, after) == {"J-1": "F-2", "J-2": "F-1", "J-3": "F-1"}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=10, max_options=8, shared=True))
def test_consolidating_the_flow_keeps_everybody_housed_and_every_place_rule(rnd: Round) -> None:
    inst = instance_of(rnd)
    before = _flow_assignment(inst)
    after = consolidate(inst, before)
    # Nobody loses a place but a resident who gave way to a companion group that is now whole
    # in the house they left; nobody placed is left out; the fixed pairs stay.
    assert not ((before < 0) & (after >= 0) & ~_in_a_group(inst)).any()
    for y in np.nonzero((before >= 0) & (after < 0))[0].tolist():
        assert not _in_a_group(inst)[y]
        house = inst.option_house[before[y]]
        assert any(
            all(after[m] >= 0 and inst.option_house[after[m]] == house for m in g)
            and any(before[m] < 0 for m in g)
            for g in inst.companion_groups
        )
    assert all(after[y] == o for y, o in inst.fixed)
    assert np.array_equal(consolidate(inst, before), after)  # deterministic
    # Capacity, contingents and caps hold: after the repair the verifier accepts it.
    repaired = repair(inst, after)
    if side_violations(inst, repaired) == (set(), set()):
        assert verify(inst.round, placed_codes(inst, repaired)) == []


def _in_a_group(inst: Instance) -> np.ndarray:
    grouped = np.zeros(inst.n_youths, dtype=bool)
    for g in inst.companion_groups:
        grouped[list(g)] = True
    return grouped


def test_a_resident_gives_way_to_a_companion_when_the_repair_would_lose_more() -> None:
    # M-1 (two places) holds J-A and J-Z; J-A's companion J-B has no place, nor has J-Z
    # anywhere else. Left split, the repair would drop J-A (urgency 5) and nobody waits for the
    # place; J-Z (urgency 3) giving way to J-B (urgency 2) loses less.
    young = make_youth().birth_date.replace(year=2006)
    youths = [
        make_youth("J-A", companions=("J-B",), urgency=5, birth_date=young),
        make_youth("J-B", companions=("J-A",), urgency=2, birth_date=young),
        make_youth("J-Z", urgency=3, birth_date=young),
    ]
    mentor = make_option("M-1", type_code="mentorhuis", corporation=None, capacity=2)
    inst = instance_of(make_round(youths, [mentor]))
    before = assignment_of_codes(inst, {"J-A": "M-1", "J-Z": "M-1"})
    assert side_violations(inst, before)[1]
    after = consolidate(inst, before)
    assert placed_codes(inst, after) == {"J-A": "M-1", "J-B": "M-1"}


def _ages_round() -> Round:
    birth = make_youth().birth_date
    youths = [
        make_youth("J-1", birth_date=birth.replace(year=2007)),  # 18
        make_youth("J-2", birth_date=birth.replace(year=2006)),  # 19
        make_youth("J-3", birth_date=birth.replace(year=1999)),  # 26
        make_youth("J-4", birth_date=birth.replace(year=2000)),  # 25
    ]
    options = [_friends("F-1"), _friends("F-2"), make_option("U-1"), make_option("U-2")]
    return make_round(youths, options)


def test_age_window_pairs_close_a_broken_house_to_ages_outside_its_best_window() -> None:
    inst = instance_of(_ages_round())
    ix = inst.option_codes.index
    broken = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-1", "J-3": "F-1"})
    allowed = age_window_pairs(inst, broken)
    shut = {
        (inst.youth_codes[int(inst.pair_youth[p])], inst.option_codes[int(inst.pair_option[p])])
        for p in np.nonzero(~allowed)[0].tolist()
    }
    # The window of J-1 and J-2 (18-23) weighs most: the 25- and 26-year-olds may not enter.
    assert shut == {("J-3", "F-1"), ("J-4", "F-1")}
    assert allowed[inst.pair_option == ix("F-2")].all()
    # A house that keeps its age gap closes nothing.
    fine = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-1", "J-3": "F-2", "J-4": "F-2"})
    assert age_window_pairs(inst, fine).all()


def test_second_flow_scope_frees_the_youths_around_closed_houses_only() -> None:
    inst = instance_of(_ages_round())
    broken = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-1", "J-3": "F-1"})
    allowed = age_window_pairs(inst, broken)
    pairs, held = second_flow_scope(inst, broken, allowed)
    # Every youth here is a resident of F-1 or eligible for it: nobody is held, and the closed
    # pairs stay closed.
    assert held == []
    assert not (pairs & ~allowed).any()
    assert pairs[inst.pair_youth == inst.youth_codes.index("J-4")].any()


def test_second_flow_scope_holds_youths_elsewhere() -> None:
    birth = make_youth().birth_date
    friends_only = ("friends",)
    youths = [
        make_youth("J-1", birth_date=birth.replace(year=2007), accepted_types=friends_only),
        make_youth("J-2", birth_date=birth.replace(year=2006), accepted_types=friends_only),
        make_youth("J-3", birth_date=birth.replace(year=1999), accepted_types=friends_only),
        make_youth("J-9", accepted_types=("urgentie",)),
    ]
    options = [_friends("F-1"), _friends("F-2"), make_option("U-1"), make_option("U-2")]
    inst = instance_of(make_round(youths, options))
    broken = assignment_of_codes(inst, {"J-1": "F-1", "J-2": "F-1", "J-3": "F-1", "J-9": "U-2"})
    allowed = age_window_pairs(inst, broken)
    assert not allowed.all()
    pairs, held = second_flow_scope(inst, broken, allowed)
    # The residents of F-1 reach only the Friends houses: J-9 keeps U-2 and none of its pairs
    # is in the second flow; the residents may move between the Friends houses.
    j9 = inst.youth_codes.index("J-9")
    assert held == [(j9, inst.option_codes.index("U-2"))]
    assert not pairs[inst.pair_youth == j9].any()
    scoped = {inst.option_codes[int(o)] for o in inst.pair_option[pairs].tolist()}
    assert scoped == {"F-1", "F-2"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=10, max_options=8, shared=True))
def test_large_round_hint_keeps_the_rules_and_never_does_worse_than_one_consolidation(
    rnd: Round,
) -> None:
    inst = instance_of(rnd)
    start = _flow_assignment(inst)
    once = mended(inst, consolidate(inst, start), {})
    seconds: dict[str, float] = {}
    hint = large_round_hint(inst, start, seconds)
    if side_violations(inst, once) == (set(), set()):
        assert side_violations(inst, hint) == (set(), set())
        value = inst.pair_value[pairs_of_assignment(inst, hint)].sum()
        assert value >= inst.pair_value[pairs_of_assignment(inst, once)].sum()
        assert verify(inst.round, placed_codes(inst, hint)) == []
        assert "sides.regions" in seconds  # the areas were given to the exact path
    assert "sides.consolidate" in seconds


def test_a_group_nodes_units_are_dealt_to_its_members() -> None:
    """A group node may send both units over one member's pairs: ``flow_pairs`` gives each
    member a pair of their own in the same options (J-2 can only take O-2)."""
    rooms = [_friends("O-1"), replace(_friends("O-2"), x=150_100.0)]
    rooms = [replace(o, shared_house_id="H-1", capacity=1) for o in rooms]
    youths = [make_youth("J-1", companions=("J-2",)), make_youth("J-2", companions=("J-1",))]
    rnd = make_round(youths, rooms, forbidden_pairs=(("J-2", "O-1"),))
    inst = instance_of(rnd)
    j1 = inst.youth_codes.index("J-1")
    used = inst.pair_youth == j1  # both units over J-1's two pairs
    assert used.sum() == 2
    dealt = flow_pairs(inst, np.ones(inst.n_pairs, dtype=bool), used)
    assert placed_codes(inst, assignment_of(inst, dealt)) == {"J-1": "O-1", "J-2": "O-2"}
