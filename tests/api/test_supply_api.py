"""The supply API on both databases: roles and scoping, scenarios, comparison, CSV, fan chart."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import supply as svc
from api.settings import Settings
from store import models as m
from tests.supply_helpers import BAD_CHANGES, load_region, placed_gemeente_type, scenario_count

SMALL = {"months": 6, "runs": 30, "seed": 2, "start": "2027-01"}


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    load_region(db_url, tmp_path)
    svc.CACHE.clear()
    return db_url


@pytest.fixture
def client(region: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=region)))


def _headers(client: TestClient, factory: sessionmaker[Session], role: str) -> dict[str, str]:
    with factory() as s:
        email = s.scalars(select(m.User.email).where(m.User.role == role).order_by(m.User.email))
        first = email.first()
    assert first is not None
    response = client.post("/api/v1/auth/token", json={"email": first, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _own_corporation(factory: sessionmaker[Session]) -> str:
    with factory() as s:
        return (
            s.execute(
                select(m.Organisation.code)
                .join(m.User, m.User.organisation_id == m.Organisation.id)
                .where(m.User.role == "corporatie")
                .order_by(m.User.email)
            )
            .scalars()
            .first()
            or ""
        )


def test_projection_per_level_and_role(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    planner = _headers(client, session_factory, "planner")
    r = client.get(
        "/api/v1/supply/projection", params={**SMALL, "level": "gemeente"}, headers=planner
    )
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len({row["cell"] for row in rows}) == 11 and len(rows) == 11 * 6
    shown = [row for row in rows if not row["hidden"]]
    assert all(row["p10"] <= row["p50"] <= row["p90"] for row in shown)
    total = client.get("/api/v1/supply/projection", params=SMALL, headers=planner).json()
    # Group sums equal totals in every run, so the means add up too -- where small-cell
    # protection hid nothing; where it hid a gemeente, it hid at least one more entry of the
    # sum, and a hidden row gives no figure at all.
    hidden_somewhere = False
    for month in {row["month"] for row in rows}:
        parts = [row for row in rows if row["month"] == month]
        (t,) = [row for row in total if row["month"] == month]
        hidden = [row for row in (*parts, t) if row["hidden"]]
        assert len(hidden) != 1, month
        for row in hidden:
            assert {row[k] for k in ("mean", "p10", "p50", "p90")} == {None}
        if hidden:
            hidden_somewhere = True
            continue
        assert sum(row["mean"] for row in parts) == pytest.approx(t["mean"], abs=1e-3)
        for row in parts:
            assert not 0 < row["p10"] < 5 and not 0 < row["mean"] < 5, row
    assert hidden_somewhere  # the demo's small gemeenten do have small figures

    corp = _headers(client, session_factory, "corporatie")
    own = _own_corporation(session_factory)
    r = client.get("/api/v1/supply/projection", params=SMALL, headers=corp)
    assert r.status_code == 403
    r = client.get(
        "/api/v1/supply/projection",
        params={**SMALL, "output": "contingent_used", "level": "gemeente_corporation"},
        headers=corp,
    )
    assert r.status_code == 200, r.text
    assert r.json() and {row["cell"].split("|")[1] for row in r.json()} == {own}

    regisseur = _headers(client, session_factory, "regisseur")
    r = client.get("/api/v1/supply/projection", params=SMALL, headers=regisseur)
    assert r.status_code == 403
    assert client.get("/api/v1/supply/projection", params=SMALL).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"scenario": "bestaat-niet"}, "scenario"),
        ({"output": "waiting", "level": "corporation"}, "level"),
        ({"level": "gemeente", "group": "GM9999"}, "group"),
        ({"start": "2027-13"}, "start"),
    ],
)
def test_bad_projection_request_is_422_naming_the_field(
    client: TestClient, session_factory: sessionmaker[Session], params: dict, field: str
) -> None:
    planner = _headers(client, session_factory, "planner")
    r = client.get("/api/v1/supply/projection", params={**SMALL, **params}, headers=planner)
    assert r.status_code == 422, r.text
    assert field in r.text


def _count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return scenario_count(s)


def _place(factory: sessionmaker[Session]) -> tuple[str, str]:
    with factory() as s:
        return placed_gemeente_type(s)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        *BAD_CHANGES,
        ({"kind": "stay_shift", "type_code": "onbekend", "months": -3}, "type"),
        ({"kind": "add_places", "gemeente": "GM0828"}, "type_code"),
    ],
)
def test_bad_scenario_is_422_and_stores_nothing(
    client: TestClient, session_factory: sessionmaker[Session], change: dict, field: str
) -> None:
    admin = _headers(client, session_factory, "admin")
    r = client.post(
        "/api/v1/supply/scenarios", json={"name": "slecht", "changes": [change]}, headers=admin
    )
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]
    assert _count(session_factory) == 0


def test_scenario_create_list_compare_csv_and_fanchart(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    planner = _headers(client, session_factory, "planner")
    gemeente, type_code = _place(session_factory)
    body = {
        "name": "meer plekken",
        "changes": [
            {"kind": "add_places", "gemeente": gemeente, "type_code": type_code, "places": 25,
             "month": "2027-01"},
        ],
    }  # fmt: skip
    r = client.post("/api/v1/supply/scenarios", json=body, headers=planner)
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/supply/scenarios", json=body, headers=planner).status_code == 422
    corp = _headers(client, session_factory, "corporatie")
    assert client.post("/api/v1/supply/scenarios", json=body, headers=corp).status_code == 403
    listed = client.get("/api/v1/supply/scenarios", headers=planner).json()
    assert [s["name"] for s in listed] == ["meer plekken"]
    assert listed[0]["changes"][0]["places"] == 25

    params = {**SMALL, "scenario": "meer plekken", "level": "gemeente"}
    r = client.get("/api/v1/supply/compare", params=params, headers=planner)
    assert r.status_code == 200, r.text
    rows = [row for row in r.json() if row["cell"] == gemeente]
    # More places never raise the median shortfall of that gemeente.
    assert rows and all(row["diff_of_medians"] <= 0 for row in rows)
    doubled = {"name": "dubbele instroom", "changes": [{"kind": "inflow_factor", "factor": 2}]}
    assert client.post("/api/v1/supply/scenarios", json=doubled, headers=planner).is_success
    r = client.get(
        "/api/v1/supply/compare",
        params={**SMALL, "scenario": "dubbele instroom", "output": "waiting"},
        headers=planner,
    )
    assert r.status_code == 200 and r.json()[-1]["diff_of_medians"] > 0
    assert all(row["diff_p10"] <= row["diff_p50"] <= row["diff_p90"] for row in r.json())
    csv_response = client.get("/api/v1/supply/compare.csv", params=params, headers=planner)
    assert csv_response.status_code == 200
    assert csv_response.headers["content-type"].startswith("text/csv")
    assert csv_response.text.splitlines()[0].startswith("output;level;cell;month")

    png = client.get(
        "/api/v1/supply/fanchart.png",
        params={**SMALL, "level": "gemeente", "group": gemeente},
        headers=planner,
    )
    assert png.status_code == 200, png.text
    assert png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_projection_is_cached_per_inputs(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    planner = _headers(client, session_factory, "planner")
    svc.CACHE.clear()
    first = client.get("/api/v1/supply/projection", params=SMALL, headers=planner).json()
    again = client.get(
        "/api/v1/supply/projection", params={**SMALL, "level": "type"}, headers=planner
    )
    assert again.status_code == 200
    assert (svc.CACHE.misses, svc.CACHE.hits) == (1, 1)
    # A change in the data is a new fingerprint: recomputed, never stale.
    with session_factory() as s:
        option = s.scalars(
            select(m.HousingOption).where(m.HousingOption.status == "available").limit(1)
        ).one()
        option.status = "withdrawn"
        s.commit()
    client.get("/api/v1/supply/projection", params=SMALL, headers=planner)
    assert svc.CACHE.misses == 2
    assert first


@pytest.mark.parametrize("level", ["total", "gemeente", "type", "gemeente_type"])
def test_no_projection_answer_reveals_a_small_count_about_young_people(
    client: TestClient, session_factory: sessionmaker[Session], level: str
) -> None:
    """Small-cell protection over HTTP (docs/privacy.md): every output about young people, as
    JSON and as CSV, holds no figure between 0 and the threshold (5)."""
    planner = _headers(client, session_factory, "planner")
    outputs = ("waiting", "shortfall", "inflow", "placements", "occupancy", "move_outs")
    for output in outputs:
        params = {**SMALL, "level": level, "output": output}
        rows = client.get("/api/v1/supply/projection", params=params, headers=planner).json()
        assert rows, (output, level)
        for row in rows:
            figures = [row[k] for k in ("mean", "p10", "p50", "p90")]
            if row["hidden"]:
                assert figures == [None] * 4
            else:
                assert not any(0 < f < 5 for f in figures), row
        text = client.get("/api/v1/supply/projection.csv", params=params, headers=planner).text
        for line in text.splitlines()[1:]:
            for field in line.split(";")[4:8]:
                assert field == "" or not 0 < float(field) < 5, line
