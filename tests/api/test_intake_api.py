"""The JSON API for the same records as the intake and stock forms (issue 15 items 1, 2, 5):
``POST/PUT /api/v1/youths`` and ``POST /api/v1/options`` validate through ``matcher.records``
with the same Dutch messages per field, write nothing when refused, and keep the scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.geometry import from_wkb
from tests.api.intake_helpers import inside_point


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    write_region(generate_region(30, 40, seed=4), tmp_path / "region")
    load_demo(db_url, tmp_path / "region")
    with TestClient(create_app(Settings(database_url=db_url))) as c:
        yield c


def _token(client: TestClient, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _count(factory: sessionmaker[Session], model: Any) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _youth_body(session: Session) -> dict[str, Any]:
    gemeente = session.scalars(
        select(m.Area.code).where(m.Area.level == "gemeente").order_by(m.Area.code)
    ).first()
    wijk, x, y = inside_point(session)
    types = list(session.scalars(select(m.HousingType.code).order_by(m.HousingType.code)))
    square = shapely.box(x - 400, y - 400, x + 400, y + 400)
    return {
        "birth_date": "2006-05-01",
        "gemeente_code": gemeente,
        "income": 1345.0,
        "support_need": 1,
        "accepted_types": types[:2],
        "preferred_areas": [wijk],
        "anchors": [{"label": "school", "x": x, "y": y}],
        "no_go_wkt": [square.wkt],
    }


def test_a_regisseur_registers_and_changes_a_youth_through_the_api(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        email = s.scalars(
            select(m.User.email)
            .join(m.Youth, m.Youth.regisseur_id == m.User.id)
            .order_by(m.User.email)
        ).first()
        assert email is not None
        body = _youth_body(s)
        theirs = s.scalars(
            select(m.Youth.code)
            .join(m.User, m.Youth.regisseur_id == m.User.id)
            .where(m.User.email != email)
        ).first()
    headers = _token(client, email)
    done = client.post("/api/v1/youths", json={**body, "code": "J-GEKOZEN"}, headers=headers)
    assert done.status_code == 201, done.text
    out = done.json()
    assert out["view"] == "regisseur" and out["code"].startswith("J-")
    assert out["code"] != "J-GEKOZEN"  # the server sets the code
    assert out["preferred_areas"] == body["preferred_areas"]
    assert len(out["no_go_areas"]) == 1 and out["no_go_areas"][0]["wkt"].startswith("POLYGON")
    with session_factory() as s:
        youth = s.scalars(select(m.Youth).where(m.Youth.code == out["code"])).one()
        assert youth.regisseur.email == email
        stored = from_wkb(youth.no_go_areas[0].geometry)  # type: ignore[arg-type]
        assert stored.equals(shapely.from_wkt(body["no_go_wkt"][0]))
    changed = client.put(
        f"/api/v1/youths/{out['code']}", json={**body, "income": 1500.0}, headers=headers
    )
    assert changed.status_code == 200 and changed.json()["income"] == 1500.0
    with session_factory() as s:
        actions = set(
            s.scalars(select(m.AuditEntry.action).where(m.AuditEntry.entity_id == out["code"]))
        )
        assert {"youth.create", "youth.update"} <= actions
    # another caseload's youth is unknown here
    assert client.put(f"/api/v1/youths/{theirs}", json=body, headers=headers).status_code == 404


YOUTH_REFUSALS: list[tuple[dict[str, Any], str, str]] = [
    ({"birth_date": "2999-01-01"}, "birth_date", "toekomst"),
    ({"birth_date": "1980-01-01"}, "birth_date", "tussen 14 en 30"),
    ({"income": -1}, "income", "niet negatief"),
    ({"gemeente_code": "GM9999"}, "gemeente_code", "onbekend gebied"),
    ({"accepted_types": ["geen_type"]}, "accepted_types", "onbekend woningtype"),
    ({"preferred_areas": ["WK999999"]}, "preferred_areas", "onbekend gebied"),
    (
        {
            "no_go_wkt": [
                "POLYGON ((150000 410000, 151000 411000, 151000 410000, "
                "150000 411000, 150000 410000))"
            ]
        },
        "no_go_wkt",
        "snijdt zichzelf",
    ),
    (
        {"no_go_wkt": ["POLYGON ((233000 582000, 234000 582000, 234000 583000, 233000 582000))"]},
        "no_go_wkt",
        "buiten de regio",
    ),
    ({"companions": ["J-999999"]}, "companions", "caseload"),
    ({"anchors": [{"label": "school", "x": 4.5, "y": 52.1}]}, "anchors", "Nederland"),
    ({"onbekend": 1}, "onbekend", "onbekend veld"),
]


def test_a_refused_youth_record_names_the_field_in_dutch_and_writes_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        email = s.scalars(
            select(m.User.email).where(m.User.role == "regisseur").order_by(m.User.email)
        ).first()
        assert email is not None
        good = _youth_body(s)
    headers = _token(client, email)
    before = _count(session_factory, m.Youth), _count(session_factory, m.AuditEntry)
    for change, field, text in YOUTH_REFUSALS:
        answer = client.post("/api/v1/youths", json={**good, **change}, headers=headers)
        assert answer.status_code == 422, answer.text
        detail = {tuple(d["loc"]): d["msg"] for d in answer.json()["detail"]}
        assert text in detail[("body", field)], detail
    after = _count(session_factory, m.Youth), _count(session_factory, m.AuditEntry)
    assert after == before


def test_a_corporation_registers_a_vacancy_through_the_api(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        email, org = s.execute(
            select(m.User.email, m.User.organisation_id)
            .where(m.User.role == "corporatie")
            .order_by(m.User.email)
        ).first()  # type: ignore[misc]
        buurt, x, y = inside_point(s, "buurt")
        kind = s.scalars(
            select(m.HousingType.code)
            .where(m.HousingType.persons_max == 1)
            .order_by(m.HousingType.code)
        ).first()
        regisseur = s.scalars(select(m.User.email).where(m.User.role == "regisseur")).first()
    body = {
        "type_code": kind,
        "x": x,
        "y": y,
        "kale_huur": 480.0,
        "available_from": "2026-12-01",
        "address": "API-straat 3 (synthetisch)",
    }
    headers = _token(client, email)
    done = client.post("/api/v1/options", json=body, headers=headers)
    assert done.status_code == 201, done.text
    assert done.json()["buurt_code"] == buurt and done.json()["status"] == "available"
    with session_factory() as s:
        option = s.scalars(
            select(m.HousingOption).where(m.HousingOption.code == done.json()["code"])
        ).one()
        assert option.corporation_id == org
    before = _count(session_factory, m.HousingOption)
    for change, field, text in (
        ({"kale_huur": -5}, "kale_huur", "niet negatief"),
        ({"type_code": "paleis"}, "type_code", "onbekend woningtype"),
        ({"x": 233000.0, "y": 582000.0}, "location", "gemeente"),
        ({"capacity": 4}, "capacity", "meer dan"),
    ):
        answer = client.post("/api/v1/options", json={**body, **change}, headers=headers)
        assert answer.status_code == 422, answer.text
        detail = {tuple(d["loc"]): d["msg"] for d in answer.json()["detail"]}
        assert text in detail[("body", field)], detail
    assert _count(session_factory, m.HousingOption) == before
    # a regisseur registers no vacancies
    assert regisseur is not None
    refused = client.post("/api/v1/options", json=body, headers=_token(client, regisseur))
    assert refused.status_code == 403
    assert _count(session_factory, m.HousingOption) == before
