"""Setup shared by the supply tests at three layers (store, CLI, API): a generated region
loaded into the test database, a gemeente x type that has places, the scenario count, and
the bad scenario changes every layer must refuse naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api.cli import load_demo
from fixtures.generate import generate_region, write_region
from store import models as m

# (change, the field the error must name): refused by the store, the CLI and the API alike.
BAD_CHANGES: list[tuple[dict[str, Any], str]] = [
    ({"kind": "add_places", "gemeente": "GM9999", "type_code": "kma", "places": 1,
      "month": "2027-03"}, "gemeente"),
    ({"kind": "add_places", "gemeente": "GM0828", "type_code": "kma", "places": -1,
      "month": "2027-03"}, "places"),
    ({"kind": "contingent_change", "corporation": "corp-onbekend", "delta": 2}, "corporatie"),
]  # fmt: skip


def load_region(db_url: str, tmp_path: Path) -> str:
    """Write the small generated region (40 youths, 60 options, seed 3) and load it."""
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


def placed_gemeente_type(conn: Session | Connection) -> tuple[str, str]:
    """The first gemeente x type (by option code) that has places with a corporation now."""
    row = conn.execute(
        select(m.HousingOption.gemeente_code, m.HousingType.code)
        .join(m.HousingType, m.HousingOption.type_id == m.HousingType.id)
        .where(m.HousingOption.corporation_id.is_not(None))
        .order_by(m.HousingOption.code)
        .limit(1)
    ).one()
    return row[0], row[1]


def scenario_count(conn: Session | Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(m.SupplyScenario)).scalar_one())
