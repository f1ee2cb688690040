"""load_round: the matcher's Round from the database (policy by date, statuses, contingents)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from import_builders import seed_all
from sqlalchemy import insert, update
from sqlalchemy.orm import Session, sessionmaker

from matcher.policy_table import POLICY_ROWS, default_policies
from store.db import unit_of_work
from store.models import HousingOption, PolicyRow, Youth
from store.repository import count_by_kind, load_round, policies, policy_at

Factory = sessionmaker[Session]


@pytest.fixture
def region(session_factory: Factory, tmp_path: Path) -> Factory:
    with unit_of_work(session_factory) as session:
        seed_all(session, tmp_path)
    return session_factory


def test_policies_are_the_seeded_table(session_factory: Factory) -> None:
    with session_factory() as session:
        assert policies(session) == default_policies()
        assert count_by_kind(session) == dict.fromkeys(count_by_kind(session), 0)


def test_policy_in_force_by_date(session_factory: Factory) -> None:
    mid_year = {**POLICY_ROWS[-1], "valid_from": date(2026, 7, 1), "kwaliteitskortingsgrens": 500.0}
    with unit_of_work(session_factory) as session:
        session.execute(insert(PolicyRow), [mid_year])
    with session_factory() as session:
        assert policy_at(session, date(2025, 12, 31)).valid_from == date(2025, 1, 1)
        assert policy_at(session, date(2026, 6, 30)).valid_from == date(2026, 1, 1)
        assert policy_at(session, date(2026, 7, 1)).kwaliteitskortingsgrens == 500.0
        with pytest.raises(LookupError, match="2023-05-01"):
            policy_at(session, date(2023, 5, 1))


def test_round_contents(region: Factory) -> None:
    with region() as session:
        rnd = load_round(
            session,
            date(2026, 3, 17),
            seed=7,
            fixed_pairs=[("J-0002", "OPT-002"), ("J-0001", "OPT-001")],
            forbidden_pairs=[("J-0003", "OPT-004")],
        )
    assert rnd.month == rnd.move_in == date(2026, 3, 1)
    assert rnd.policy.valid_from == date(2026, 1, 1) and rnd.policy.young_tenant_max_age == 20
    assert [t.code for t in rnd.types] == ["friends", "hf", "kma"]
    assert [o.code for o in rnd.options] == ["OPT-001", "OPT-002", "OPT-003", "OPT-004"]
    assert [y.code for y in rnd.youths] == ["J-0001", "J-0002", "J-0003"]
    assert [(c.corporation, c.gemeente_code, c.type_code, c.left) for c in rnd.contingents] == [
        ("CORP1", "GM0796", None, 8),
        ("CORP1", "GM0796", "kma", 3),
        ("CORP2", "GM0828", None, 5),
    ]
    assert rnd.fixed_pairs == (("J-0001", "OPT-001"), ("J-0002", "OPT-002"))
    assert rnd.forbidden_pairs == (("J-0003", "OPT-004"),) and rnd.seed == 7
    kma = next(t for t in rnd.types if t.code == "kma")
    assert (kma.min_age, kma.max_age, kma.zelfstandig, kma.stay_min_months) == (18, 23, False, 12)


def test_round_of_another_year_uses_that_years_policy_and_contingents(region: Factory) -> None:
    with region() as session:
        rnd = load_round(session, date(2025, 11, 1))
    assert rnd.policy.valid_from == date(2025, 1, 1)
    assert [(c.year, c.amount, c.used) for c in rnd.contingents] == [(2025, 8, 8)]


def test_only_waiting_youths_and_available_options(region: Factory) -> None:
    with unit_of_work(region) as session:
        session.execute(update(Youth).where(Youth.code == "J-0003").values(status="placed"))
        session.execute(
            update(HousingOption).where(HousingOption.code == "OPT-001").values(status="withdrawn")
        )
    with region() as session:
        rnd = load_round(session, date(2026, 3, 1))
    assert [y.code for y in rnd.youths] == ["J-0001", "J-0002"]
    assert [o.code for o in rnd.options] == ["OPT-002", "OPT-003", "OPT-004"]
    # Relations to people outside the round are dropped: the matcher cannot act on them.
    j1 = rnd.youths[0]
    assert j1.conflicts == () and j1.companions == ("J-0002",)


def test_load_round_is_deterministic(region: Factory) -> None:
    with region() as session:
        assert load_round(session, date(2026, 3, 1)) == load_round(session, date(2026, 3, 1))
