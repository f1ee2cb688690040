"""Supply inputs from the database and stored scenarios (migration 0003) on both databases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from store import models as m
from store.supply_inputs import get_scenario, list_scenarios, save_scenario, supply_inputs_from_db
from supply.scenario import ScenarioError
from tests.supply_helpers import BAD_CHANGES, load_region, placed_gemeente_type, scenario_count


def test_migration_creates_the_scenario_table(engine: Engine) -> None:
    from store.migrate import current

    assert "supply_scenarios" in inspect(engine).get_table_names()
    # 0003 created it; later migrations (0004 ...) leave it in place
    revision = current(engine.url.render_as_string(hide_password=False))
    assert revision is not None and revision >= "0003"


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    return load_region(db_url, tmp_path)


def test_inputs_start_from_what_the_database_holds(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        inputs = supply_inputs_from_db(s, start="2027-01", months=24)
        waiting = s.scalar(select(func.count()).where(m.Youth.status == "waiting"))
        places = s.scalar(
            select(func.sum(m.HousingOption.capacity)).where(m.HousingOption.status != "withdrawn")
        )
        corporations = set(
            s.scalars(select(m.Organisation.code).where(m.Organisation.kind == "corporatie"))
        )
    assert inputs.waiting.sum() == waiting
    assert inputs.capacity.sum() == places
    assert corporations <= set(inputs.corporations)
    assert len(inputs.gemeenten) == 11
    # Default forecast: as many a year as wait now.
    assert np.isclose(inputs.inflow.sum(), waiting * 24 / 12)


GOOD = {
    "name": "meer KmA in Oss",
    "description": "test",
    "changes": [
        {"kind": "add_places", "gemeente": "GM0828", "type_code": "kma", "places": 10,
         "month": "2027-03"},
        {"kind": "inflow_factor", "factor": 1.2},
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        *BAD_CHANGES,
        ({"kind": "teleport"}, "kind"),
        ({"kind": "stay_shift", "type_code": "kma"}, "months"),
    ],
)
def test_bad_scenario_is_refused_and_nothing_stored(
    region: str, session_factory: sessionmaker[Session], change: dict, field: str
) -> None:
    with session_factory() as s:
        base = supply_inputs_from_db(s, start="2027-01", months=12)
        with pytest.raises(ScenarioError, match=field):
            save_scenario(s, {"name": "slecht", "changes": [GOOD["changes"][0], change]}, base)
        s.commit()
    with session_factory() as s:
        assert scenario_count(s) == 0


def test_scenario_round_trip_and_unique_name(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        # A gemeente x type that has places now (places are split over its corporations).
        gemeente, type_code = placed_gemeente_type(s)
        record = dict(GOOD)
        record["changes"] = [
            dict(GOOD["changes"][0], gemeente=gemeente, type_code=type_code),
            GOOD["changes"][1],
        ]
        base = supply_inputs_from_db(s, start="2027-01", months=12)
        save_scenario(s, record, base)
        s.commit()
        with pytest.raises(ScenarioError, match="bestaat al"):
            save_scenario(s, record, base)
        with pytest.raises(ScenarioError, match="gereserveerd"):
            save_scenario(s, {"name": "base", "changes": []}, base)
    with session_factory() as s:
        stored = list_scenarios(s)
        assert [x.name for x in stored] == ["meer KmA in Oss"]
        scenario = get_scenario(s, "meer KmA in Oss")
        assert len(scenario.changes) == 2
        applied = scenario.apply(base)
        assert applied.capacity_added is not None and applied.capacity_added.sum() == 10
        assert get_scenario(s, "base").changes == ()
        with pytest.raises(ScenarioError, match="onbekend scenario"):
            get_scenario(s, "nope")
