"""Affordability by policy date: the boundary cases of DOMAIN.md and the array form."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.dutch import euro, percent
from matcher.policy import (
    AFF_OK,
    Affordability,
    affordability,
    affordability_arrays,
    age_on,
    huurtoeslag,
    rekenhuur,
)
from matcher.policy_table import default_policies, policy_at
from matcher.problem import HousingType, Policy
from tests.matcher.strategies import TYPES, make_option, make_youth

TYPE = {t.code: t for t in TYPES}
ZELFSTANDIG: HousingType = TYPE["urgentie"]
ROOM: HousingType = TYPE["kma"]
JAN_2025 = date(2025, 1, 1)
JAN_2026 = date(2026, 1, 1)


def born_aged(age: int, on: date) -> date:
    """A birth date giving exactly ``age`` on ``on`` (birthday a few months earlier)."""
    return date(on.year - age, 1, 1) if on.month > 1 else date(on.year - age - 1, 9, 1)


def afford(
    age: int, move_in: date, kale: float, service: float = 0.0, **youth_kw: Any
) -> Affordability:
    """Affordability of a zelfstandige dwelling for a youth of ``age`` on ``move_in``."""
    youth_kw.setdefault("income", 3000.0)
    youth = make_youth(birth_date=born_aged(age, move_in), **youth_kw)
    option = make_option(kale_huur=kale, servicekosten=service)
    return affordability(policy_at(move_in), youth, ZELFSTANDIG, option, move_in)


# --- age ----------------------------------------------------------------------------------------


def test_age_on_counts_the_birthday_itself() -> None:
    assert age_on(date(2006, 3, 1), date(2026, 3, 1)) == 20
    assert age_on(date(2006, 3, 1), date(2026, 2, 28)) == 19
    assert age_on(date(2006, 3, 1), date(2026, 3, 2)) == 20


def test_age_on_29_february_turns_older_on_1_march_in_common_years() -> None:
    assert age_on(date(2004, 2, 29), date(2025, 2, 28)) == 20
    assert age_on(date(2004, 2, 29), date(2025, 3, 1)) == 21
    assert age_on(date(2004, 2, 29), date(2024, 2, 29)) == 20


# --- young tenants --------------------------------------------------------------------------------


def test_age_20_in_2026_is_young_tenant_limited_to_kwaliteitskortingsgrens() -> None:
    a = afford(20, JAN_2026, kale=612.0)
    assert a.young_tenant
    assert a.reason is not None
    assert a.reason.code == "above_kwaliteitskortingsgrens"
    assert a.reason.figures["limit"] == pytest.approx(498.20)
    assert a.reason.figures["age"] == 20
    msg = a.reason.message
    assert "€ 612,00" in msg and "€ 498,20" in msg and "2026" in msg and "18 t/m 20" in msg
    assert "(leeftijd 20)" in msg
    assert a.toeslag == 0.0


def test_age_20_in_2026_at_exactly_the_kwaliteitskortingsgrens_is_allowed_with_toeslag() -> None:
    p = policy_at(JAN_2026)
    a = afford(20, JAN_2026, kale=p.kwaliteitskortingsgrens)
    assert a.reason is None
    assert a.toeslag == pytest.approx(p.kwaliteitskortingsgrens - p.basishuur)
    assert a.net_rent == pytest.approx(p.basishuur)


def test_age_21_in_2026_is_not_young_tenant_and_gets_toeslag_up_to_maximale_huurgrens() -> None:
    p = policy_at(JAN_2026)
    a = afford(21, JAN_2026, kale=612.0)
    assert not a.young_tenant
    assert a.reason is None
    expected = (p.kwaliteitskortingsgrens - p.basishuur) + p.share_above_kwaliteitskorting * (
        612.0 - p.kwaliteitskortingsgrens
    )
    assert a.toeslag == pytest.approx(expected)
    assert a.net_rent == pytest.approx(612.0 - expected)
    # Up to the maximale huurgrens 932.93 is allowed; the toeslag stops at the aftoppingsgrens.
    top = afford(21, JAN_2026, kale=932.93)
    assert top.reason is None and top.toeslag > 0
    capped = (p.kwaliteitskortingsgrens - p.basishuur) + p.share_above_kwaliteitskorting * (
        p.aftoppingsgrens_1_2 - p.kwaliteitskortingsgrens
    )
    assert top.toeslag == pytest.approx(capped)
    over = afford(21, JAN_2026, kale=932.94)
    assert over.reason is not None and over.reason.code == "above_maximale_huurgrens"
    assert "€ 932,93" in over.reason.message


def test_age_22_in_2025_is_young_tenant_with_limit_477_20() -> None:
    a = afford(22, JAN_2025, kale=490.0)
    assert a.young_tenant
    assert a.reason is not None and a.reason.code == "above_kwaliteitskortingsgrens"
    assert a.reason.figures["limit"] == pytest.approx(477.20)
    assert "€ 477,20" in a.reason.message and "18 t/m 22" in a.reason.message


def test_age_22_in_2026_is_not_young_tenant() -> None:
    a = afford(22, JAN_2026, kale=490.0)
    assert not a.young_tenant
    assert a.reason is None
    assert a.toeslag > 0


def test_aftoppingsgrens_for_three_persons_gives_more_toeslag() -> None:
    one = afford(25, JAN_2025, kale=720.0, household_size=1)
    three = afford(25, JAN_2025, kale=720.0, household_size=3)
    p = policy_at(JAN_2025)
    assert three.toeslag - one.toeslag == pytest.approx(
        p.share_above_kwaliteitskorting * (720.0 - p.aftoppingsgrens_1_2)
    )


# --- rooms, servicekosten -------------------------------------------------------------------------


def test_room_gets_no_toeslag_but_a_zelfstandige_dwelling_does() -> None:
    p = policy_at(JAN_2026)
    youth = make_youth(birth_date=born_aged(21, JAN_2026), income=3000.0)
    option = make_option(kale_huur=450.0, servicekosten=30.0)
    room = affordability(p, youth, ROOM, option, JAN_2026)
    own = affordability(p, youth, ZELFSTANDIG, option, JAN_2026)
    assert room.toeslag == 0.0 and room.net_rent == pytest.approx(480.0)
    assert own.toeslag == pytest.approx(450.0 - p.basishuur)
    assert huurtoeslag(p, 21, ROOM, option) == 0.0
    assert huurtoeslag(p, 21, ZELFSTANDIG, option) == pytest.approx(own.toeslag)


def test_room_above_kwaliteitskortingsgrens_is_not_limited_for_young_tenants() -> None:
    # The young-tenant limit is a huurtoeslag rule: a room gets no toeslag, so only the income
    # share and the personal maximum apply.
    p = policy_at(JAN_2026)
    youth = make_youth(birth_date=born_aged(19, JAN_2026), income=3000.0)
    a = affordability(p, youth, ROOM, make_option(kale_huur=520.0), JAN_2026)
    assert a.reason is None


def test_servicekosten_count_in_rekenhuur_before_2026() -> None:
    option = make_option(kale_huur=470.0, servicekosten=20.0)
    assert rekenhuur(policy_at(JAN_2025), option) == pytest.approx(490.0)
    # A 22-year-old young tenant in 2025: 470 + 20 = 490 lies above 477.20.
    a = afford(22, JAN_2025, kale=470.0, service=20.0)
    assert a.reason is not None and a.reason.code == "above_kwaliteitskortingsgrens"
    assert "Kale huur plus servicekosten € 490,00" in a.reason.message
    # Without the servicekosten the same kale huur would be allowed.
    assert afford(22, JAN_2025, kale=470.0).reason is None


def test_servicekosten_do_not_count_in_rekenhuur_from_2026() -> None:
    option = make_option(kale_huur=490.0, servicekosten=20.0)
    assert rekenhuur(policy_at(JAN_2026), option) == pytest.approx(490.0)
    a = afford(19, JAN_2026, kale=490.0, service=20.0)
    assert a.reason is None
    assert a.rekenhuur == pytest.approx(490.0)
    # The youth still pays the servicekosten.
    assert a.net_rent == pytest.approx(490.0 + 20.0 - a.toeslag)


# --- minors, income share, personal maximum -------------------------------------------------------


def test_minor_gets_no_toeslag_and_passes_without_income_because_the_provider_pays() -> None:
    p = policy_at(JAN_2026)
    mentor = TYPE["mentorhuis"]
    youth = make_youth(birth_date=born_aged(17, JAN_2026), income=0.0)
    a = affordability(p, youth, mentor, make_option(kale_huur=400.0), JAN_2026)
    assert a.reason is None and a.toeslag == 0.0 and math.isinf(a.limit)
    # Zelfstandig but under 18: still no toeslag.
    hf = affordability(p, youth, TYPE["housingfirst"], make_option(kale_huur=400.0), JAN_2026)
    assert hf.toeslag == 0.0


def test_minor_with_income_is_checked_against_the_income_share() -> None:
    p = policy_at(JAN_2026)
    youth = make_youth(birth_date=born_aged(17, JAN_2026), income=500.0)
    a = affordability(p, youth, TYPE["mentorhuis"], make_option(kale_huur=300.0), JAN_2026)
    assert a.reason is not None and a.reason.code == "above_income_share"
    assert a.limit == pytest.approx(p.max_rent_share_of_income * 500.0)


def test_net_rent_above_income_share_names_the_figures() -> None:
    a = afford(25, JAN_2026, kale=612.0, income=700.0)
    assert a.reason is not None and a.reason.code == "above_income_share"
    msg = a.reason.message
    assert euro(a.net_rent) in msg and "€ 700,00" in msg and "35 %" in msg
    assert "€ 245,00" in msg  # the maximum: 35 % of 700


def test_personal_max_rent_lower_than_the_computed_limit_wins() -> None:
    # Income 3000 allows a net rent of 1050; the regisseur's 400 is lower and wins.
    a = afford(25, JAN_2026, kale=450.0, max_rent=400.0)
    assert a.reason is not None and a.reason.code == "above_personal_max_rent"
    assert "€ 400,00" in a.reason.message and "€ 450,00" in a.reason.message
    assert afford(25, JAN_2026, kale=450.0, max_rent=450.0).reason is None
    # Without it the same pair is affordable.
    assert afford(25, JAN_2026, kale=450.0).reason is None


def test_personal_max_rent_counts_servicekosten_even_from_2026() -> None:
    a = afford(25, JAN_2026, kale=440.0, service=20.0, max_rent=450.0)
    assert a.reason is not None and a.reason.code == "above_personal_max_rent"


# --- formatting -----------------------------------------------------------------------------------


def test_euro_and_percent_use_dutch_notation() -> None:
    assert euro(612) == "€ 612,00"
    assert euro(1345.5) == "€ 1.345,50"
    assert euro(498.2) == "€ 498,20"
    assert euro(-3.456) == "-€ 3,46"
    assert percent(0.35) == "35 %"
    assert percent(0.325) == "32,5 %"


# --- array form == scalar form --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(default_policies()),
    st.lists(
        st.tuples(
            st.integers(15, 28),  # age
            st.booleans(),  # zelfstandig
            st.one_of(st.sampled_from([454.47, 477.2, 498.2, 900.07, 932.93]), st.floats(0, 1200)),
            st.floats(0, 100),  # servicekosten
            st.floats(0, 3000),  # income
            st.one_of(st.none(), st.floats(0, 1000)),  # max_rent
            st.integers(1, 4),  # household size
        ),
        min_size=1,
        max_size=20,
    ),
)
def test_array_form_batch_equals_one_at_a_time(policy: Policy, rows: list[tuple[Any, ...]]) -> None:
    cols = list(zip(*rows, strict=True))
    max_rent = [math.nan if m is None else m for m in cols[5]]
    batch = affordability_arrays(
        policy, cols[0], cols[1], cols[2], cols[3], cols[4], max_rent, cols[6]
    )
    for i, row in enumerate(rows):
        age, zelf, kale, serv, income, mrent, hh = row
        one = affordability_arrays(
            policy, [age], [zelf], [kale], [serv], [income], [math.nan if mrent is None else mrent],
            [hh],
        )  # fmt: skip
        assert batch.code[i] == one.code[0]
        assert batch.toeslag[i] == one.toeslag[0]
        assert batch.net_rent[i] == one.net_rent[0]
        # Invariants of the formula.
        assert 0.0 <= batch.toeslag[i] <= max(0.0, batch.rekenhuur[i])
        if not zelf or age < 18:
            assert batch.toeslag[i] == 0.0
        if batch.code[i] == AFF_OK and mrent is not None:
            assert kale + serv <= mrent
    assert np.all(batch.net_rent == np.asarray(cols[2]) + np.asarray(cols[3]) - batch.toeslag)
