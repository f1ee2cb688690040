"""The independent verifier: every violation kind on a hand-made bad assignment."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.problem import Contingent, Option, Round, Youth
from matcher.rules import screen
from matcher.verifier import VIOLATION_KINDS, Violation, companion_groups, verify
from tests.matcher.strategies import make_option, make_round, make_youth, rounds


def kinds(violations: list[Violation]) -> list[str]:
    return sorted(v.kind for v in violations)


def friends_youth(code: str, age: int = 21, **kw: Any) -> Youth:
    """A youth who fits a Friends house on 2026-01-01."""
    return make_youth(code, birth_date=date(2025 - age, 6, 1), **kw)


def friends_house(house: str, n: int, capacity: int = 1) -> list[Option]:
    return [
        make_option(
            f"{house}-{k}",
            type_code="friends",
            shared_house_id=house,
            kale_huur=300.0,
            capacity=capacity,
        )
        for k in range(n)
    ]


def test_empty_assignment_is_valid_without_fixed_pairs() -> None:
    rnd = make_round([make_youth("J-1")], [make_option("O-1")])
    assert verify(rnd, {}) == []


def test_a_valid_assignment_has_no_violations() -> None:
    youths = [friends_youth("J-1", companions=("J-2",)), friends_youth("J-2", companions=("J-1",))]
    rnd = make_round([*youths, make_youth("J-3")], [*friends_house("H", 2), make_option("O-1")])
    assert verify(rnd, {"J-1": "H-0", "J-2": "H-1", "J-3": "O-1"}) == []


def test_capacity() -> None:
    rnd = make_round([make_youth("J-1"), make_youth("J-2")], [make_option("O-1")])
    v = verify(rnd, {"J-1": "O-1", "J-2": "O-1"})
    assert "capacity" in kinds(v)
    assert next(x for x in v if x.kind == "capacity").option == "O-1"


def test_contingent_left_per_contingent() -> None:
    options = [make_option("O-1"), make_option("O-2")]
    youths = [make_youth("J-1"), make_youth("J-2")]
    rnd = make_round(youths, options, contingents=[Contingent("WC-A", "GM0796", 2026, 3, used=2)])
    assert kinds(verify(rnd, {"J-1": "O-1", "J-2": "O-2"})) == ["contingent"]
    assert verify(rnd, {"J-1": "O-1"}) == []


def test_gemeente_cap_across_corporations() -> None:
    options = [make_option("O-1", corporation="WC-A"), make_option("O-2", corporation="WC-B")]
    youths = [make_youth("J-1"), make_youth("J-2")]
    rnd = make_round(youths, options, gemeente_caps=(("GM0796", 1),))
    assert kinds(verify(rnd, {"J-1": "O-1", "J-2": "O-2"})) == ["gemeente_cap"]


def test_persons_max_and_persons_min_per_house() -> None:
    youths = [friends_youth(f"J-{k}") for k in range(4)]
    rnd = make_round(youths, friends_house("H", 2, capacity=2))
    assert kinds(verify(rnd, {"J-0": "H-0", "J-1": "H-0", "J-2": "H-1", "J-3": "H-1"})) == [
        "persons_max"
    ]
    assert kinds(verify(rnd, {"J-0": "H-0"})) == ["persons_min"]
    assert verify(rnd, {"J-0": "H-0", "J-1": "H-1"}) == []


def test_conflict_in_one_house() -> None:
    youths = [friends_youth("J-1", conflicts=("J-2",)), friends_youth("J-2")]
    rnd = make_round(youths, friends_house("H", 2))
    assert kinds(verify(rnd, {"J-1": "H-0", "J-2": "H-1"})) == ["conflict"]


def test_age_gap_between_housemates() -> None:
    youths = [friends_youth("J-1", age=19), friends_youth("J-2", age=26)]
    rnd = make_round(youths, friends_house("H", 2))
    v = verify(rnd, {"J-1": "H-0", "J-2": "H-1"})
    assert kinds(v) == ["age_gap"]
    assert "7 jaar" in v[0].message


def test_companions_split_over_houses_or_partly_placed() -> None:
    youths = [
        make_youth("J-1", companions=("J-2",)),
        make_youth("J-2", companions=("J-1",)),
    ]
    rnd = make_round(youths, [make_option("O-1"), make_option("O-2")])
    assert kinds(verify(rnd, {"J-1": "O-1", "J-2": "O-2"})) == ["companions_split"]
    assert kinds(verify(rnd, {"J-1": "O-1"})) == ["companions_split"]
    assert verify(rnd, {}) == []


def test_companion_groups_are_connected_components_ignoring_unknown_codes() -> None:
    youths = [
        make_youth("J-1", companions=("J-2",)),
        make_youth("J-2", companions=("J-3",)),
        make_youth("J-3"),
        make_youth("J-4", companions=("J-9",)),  # J-9 is not in this round
    ]
    assert companion_groups(make_round(youths, [])) == [("J-1", "J-2", "J-3")]


def test_fixed_pair_missing() -> None:
    rnd = make_round([make_youth("J-1")], [make_option("O-1")], fixed_pairs=(("J-1", "O-1"),))
    assert kinds(verify(rnd, {})) == ["fixed_missing"]
    assert verify(rnd, {"J-1": "O-1"}) == []


def test_forbidden_pair() -> None:
    rnd = make_round([make_youth("J-1")], [make_option("O-1")], forbidden_pairs=(("J-1", "O-1"),))
    assert kinds(verify(rnd, {"J-1": "O-1"})) == ["forbidden_pair"]


def test_ineligible_pair_names_the_reason() -> None:
    rnd = make_round([make_youth("J-1", accepted_types=("kma",))], [make_option("O-1")])
    v = verify(rnd, {"J-1": "O-1"})
    assert kinds(v) == ["ineligible"]
    assert "Urgentiewoning" in v[0].message


def test_youth_twice_and_unknown_codes() -> None:
    rnd = make_round([make_youth("J-1")], [make_option("O-1"), make_option("O-2")])
    assert kinds(verify(rnd, [("J-1", "O-1"), ("J-1", "O-2")])) == ["youth_twice"]
    assert kinds(verify(rnd, {"J-9": "O-1", "J-1": "O-9"})) == ["unknown_option", "unknown_youth"]


def test_every_kind_is_listed() -> None:
    assert len(set(VIOLATION_KINDS)) == len(VIOLATION_KINDS) == 14


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=6), st.data())
def test_verifier_pair_checks_agree_with_screen(rnd: Round, data: st.DataObject) -> None:
    """A pair is reported ineligible or forbidden by the verifier exactly when screen drops it."""
    s = screen(rnd)
    eligible = {
        (rnd.youths[y].code, rnd.options[o].code)
        for y, o in zip(s.youth_idx.tolist(), s.option_idx.tolist(), strict=True)
    }
    for y in rnd.youths:
        if not rnd.options:
            break
        o = data.draw(st.sampled_from(rnd.options))
        v = verify(rnd, {y.code: o.code})
        pair_kinds = {x.kind for x in v} & {"ineligible", "forbidden_pair"}
        assert bool(pair_kinds) == ((y.code, o.code) not in eligible)
