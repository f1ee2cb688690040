"""Youths, imports, exports, users and the audit log over HTTP, on SQLite and PostgreSQL.

What each role sees is checked on the response (fields present or absent, rows in or out of
scope) and every sensitive read or change is checked in the audit log.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.csvio import HEADERS
from store.exporters import export_csv


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def client(region: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=region)))


def _login(client: TestClient, email: str, password: str = "demo") -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _user(factory: sessionmaker[Session], **where: object) -> m.User:
    with factory() as s:
        stmt = select(m.User).order_by(m.User.email)
        for key, value in where.items():
            stmt = stmt.where(getattr(m.User, key) == value)
        user = s.scalars(stmt).first()
        assert user is not None
        return user


def _audit(factory: sessionmaker[Session], action: str) -> list[m.AuditEntry]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.AuditEntry).where(m.AuditEntry.action == action).order_by(m.AuditEntry.id)
            )
        )


def _youth_with_no_go(factory: sessionmaker[Session]) -> tuple[m.Youth, m.User, m.User]:
    """A youth with a no-go area and a regisseur, that regisseur, and its gemeente's user."""
    with factory() as s:
        youth = s.scalars(
            select(m.Youth)
            .where(m.Youth.regisseur_id.is_not(None), m.Youth.no_go_areas.any())
            .order_by(m.Youth.code)
        ).first()
        assert youth is not None
        regisseur = s.get(m.User, youth.regisseur_id)
        gemeente_user = s.scalars(
            select(m.User)
            .join(m.Organisation)
            .where(m.Organisation.gemeente_code == youth.gemeente_code, m.User.role == "gemeente")
        ).first()
        assert regisseur is not None and gemeente_user is not None
        return youth, regisseur, gemeente_user


def test_youth_views_per_audience_scoping_and_audited_reads(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth, regisseur, gemeente_user = _youth_with_no_go(session_factory)
    url = f"/api/v1/youths/{youth.code}"

    mine = client.get(url, headers=_login(client, regisseur.email))
    assert mine.status_code == 200
    body = mine.json()
    assert body["view"] == "regisseur" and body["no_go_areas"] and "income" in body

    theirs = client.get(url, headers=_login(client, gemeente_user.email))
    assert theirs.status_code == 200
    assert theirs.json()["view"] == "gemeente"
    assert not {"no_go_areas", "income", "anchors", "conflicts", "companions"} & set(theirs.json())

    # another regisseur and another gemeente: the youth does not exist for them
    other_regisseur = _user(session_factory, role="regisseur")
    if other_regisseur.id == regisseur.id:
        with session_factory() as s:
            other_regisseur = s.scalars(
                select(m.User).where(m.User.role == "regisseur", m.User.id != regisseur.id)
            ).first()  # type: ignore[assignment]
    assert client.get(url, headers=_login(client, other_regisseur.email)).status_code == 404
    with session_factory() as s:
        other_gemeente = s.scalars(
            select(m.User)
            .join(m.Organisation)
            .where(m.User.role == "gemeente", m.Organisation.gemeente_code != youth.gemeente_code)
        ).first()
        assert other_gemeente is not None
    assert client.get(url, headers=_login(client, other_gemeente.email)).status_code == 404
    corp = _user(session_factory, role="corporatie")
    assert client.get(url, headers=_login(client, corp.email)).status_code == 403
    assert client.get("/api/v1/youths", headers=_login(client, corp.email)).status_code == 403

    # the caseload list holds only the regisseur's own youths
    listed = client.get("/api/v1/youths?limit=500", headers=_login(client, regisseur.email)).json()
    with session_factory() as s:
        own = set(s.scalars(select(m.Youth.code).where(m.Youth.regisseur_id == regisseur.id)))
    assert {x["code"] for x in listed["items"]} == own and listed["total"] == len(own)

    reads = _audit(session_factory, "youth.read")
    assert [(r.user_id, r.organisation_id, r.entity_id, r.detail) for r in reads] == [
        (regisseur.id, regisseur.organisation_id, youth.code, {"view": "regisseur"}),
        (gemeente_user.id, gemeente_user.organisation_id, youth.code, {"view": "gemeente"}),
    ]
    # the gemeente's privacy officer sees who read its youth, the regisseur included
    trail = client.get(
        "/api/v1/audit",
        params={"action": "youth.read", "entity_id": youth.code},
        headers=_login(client, gemeente_user.email),
    ).json()
    assert {x["user"] for x in trail["items"]} == {regisseur.email, gemeente_user.email}


def test_planner_gets_aggregates_only(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    planner = _login(client, _user(session_factory, role="planner").email)
    assert client.get("/api/v1/youths", headers=planner).status_code == 403
    counts = client.get("/api/v1/youths/aggregates", headers=planner).json()
    with session_factory() as s:
        total = s.scalar(select(func.count()).select_from(m.Youth))
    assert sum(c["count"] for c in counts) == total
    assert all(set(c) == {"gemeente_code", "status", "age_band", "count"} for c in counts)


def _csv(text: str, name: str = "contingents.csv") -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, text.encode(), "text/csv")}


def test_import_is_all_or_nothing_with_row_errors_and_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _login(client, _user(session_factory, role="admin").email)
    with session_factory() as s:
        before = s.scalar(select(func.count()).select_from(m.Contingent))
        corp = s.scalars(select(m.Organisation).where(m.Organisation.kind == "corporatie")).first()
        assert corp is not None
    bad = (
        "corporatie;gemeentecode;year;amount\n"
        f"{corp.code};GM0796;2031;3\n"
        f"{corp.code};GM0796;1900;3\n"  # year out of range
        "corp-bestaat-niet;GM0796;2031;x\n"
    )
    refused = client.post("/api/v1/imports/contingents", files=_csv(bad), headers=admin)
    assert refused.status_code == 422
    errors = refused.json()["errors"]
    assert {(e["row"], e["field"]) for e in errors} >= {(3, "year"), (4, "amount")}
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.Contingent)) == before
    refusal = _audit(session_factory, "import.refused")
    assert len(refusal) == 1 and refusal[0].detail and refusal[0].detail["errors"] == len(errors)

    good = f"corporatie;gemeentecode;year;amount\n{corp.code};GM0796;2031;3\n"
    done = client.post("/api/v1/imports/contingents", files=_csv(good), headers=admin)
    assert done.status_code == 200 and done.json() == {
        "kind": "contingents",
        "inserted": 1,
        "updated": 0,
    }
    assert [a.detail for a in _audit(session_factory, "import.contingents")] == [
        {"file": "contingents.csv", "inserted": 1, "updated": 0}
    ]
    nul = client.post(
        "/api/v1/imports/contingents", files=_csv("corporatie;gemeentecode\x00"), headers=admin
    )
    assert nul.status_code == 422 and "NUL" in nul.json()["errors"][0]["message"]
    assert client.post("/api/v1/imports/areas", files=_csv(good), headers=admin).status_code == 422


def test_corporation_imports_only_its_own_rows(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    corp_user = _user(session_factory, role="corporatie")
    with session_factory() as s:
        own = s.get(m.Organisation, corp_user.organisation_id)
        other = s.scalars(
            select(m.Organisation).where(
                m.Organisation.kind == "corporatie", m.Organisation.id != corp_user.organisation_id
            )
        ).first()
        assert own is not None and other is not None
        before = s.scalar(select(func.count()).select_from(m.Contingent))
    headers = _login(client, corp_user.email)
    text = (
        "corporatie;gemeentecode;year;amount\n"
        f"{own.code};GM0796;2032;1\n"
        f"{other.code};GM0796;2032;1\n"
    )
    refused = client.post("/api/v1/imports/contingents", files=_csv(text), headers=headers)
    assert refused.status_code == 422
    assert [(e["row"], e["field"]) for e in refused.json()["errors"]] == [(3, "corporatie")]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.Contingent)) == before
    users_file = "email;name;role;organisation\nx@y.invalid;X;admin;regio-demo\n"
    assert (
        client.post(
            "/api/v1/imports/users", files=_csv(users_file, "users.csv"), headers=headers
        ).status_code
        == 403
    )


def test_exports_are_scoped_and_youths_carry_no_no_go_areas(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    corp_user = _user(session_factory, role="corporatie")
    with session_factory() as s:
        own_code = s.get(m.Organisation, corp_user.organisation_id).code  # type: ignore[union-attr]
    response = client.get("/api/v1/exports/contingents", headers=_login(client, corp_user.email))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text), delimiter=";"))
    assert rows and {r["corporatie"] for r in rows} == {own_code}

    admin = _login(client, _user(session_factory, role="admin").email)
    youths = list(
        csv.DictReader(
            io.StringIO(client.get("/api/v1/exports/youths", headers=admin).text), delimiter=";"
        )
    )
    assert len(youths) == 40
    assert all(r["no_go_codes"] == "" and r["no_go_wkt"] == "" for r in youths)
    regisseur = _login(client, _user(session_factory, role="regisseur").email)
    assert client.get("/api/v1/exports/youths", headers=regisseur).status_code == 403
    assert [a.detail for a in _audit(session_factory, "export.youths")] == [{"rows": 40}]


def test_admin_youths_export_is_the_admin_view(
    client: TestClient, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """The API export blanks the regisseur's case columns; the CLI backup keeps all of them."""
    case_columns = (
        "income",
        "max_rent",
        "anchors",
        "no_go_codes",
        "no_go_wkt",
        "companions",
        "conflicts",
    )
    admin = _login(client, _user(session_factory, role="admin").email)
    response = client.get("/api/v1/exports/youths", headers=admin)
    assert response.status_code == 200
    reader = csv.DictReader(io.StringIO(response.text), delimiter=";")
    rows = list(reader)
    # The header stays the import format, so the file can be read back.
    assert reader.fieldnames == HEADERS["youths"]
    assert len(rows) == 40
    for column in case_columns:
        assert {r[column] for r in rows} == {""}, column
    assert all(r["youth_code"] and r["birth_date"] and r["gemeentecode"] for r in rows)

    backup = tmp_path / "youths.csv"
    with session_factory() as s:
        assert export_csv(s, "youths", backup) == 40
    with backup.open(encoding="utf-8-sig", newline="") as handle:
        full = list(csv.DictReader(handle, delimiter=";"))
    # The fixture region has these details, so the blanks above are the export's doing.
    for column in ("income", "max_rent", "anchors"):
        assert any(r[column] for r in full), column
    assert any(r["companions"] or r["conflicts"] for r in full)


def test_admin_manages_users(client: TestClient, session_factory: sessionmaker[Session]) -> None:
    admin_user = _user(session_factory, role="admin")
    admin = _login(client, admin_user.email)
    body = {
        "email": "Nieuw@Test.invalid",
        "name": "Nieuwe regisseur",
        "role": "regisseur",
        "organisation": "regio-demo",
        "password": "een lang wachtwoord",
    }
    created = client.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    with session_factory() as s:
        stored = s.get(m.User, user_id)
        assert stored is not None and stored.password_hash
        assert stored.password_hash.startswith("$argon2")
    assert client.post("/api/v1/users", json=body, headers=admin).status_code == 409
    short = client.post("/api/v1/users", json={**body, "password": "kort"}, headers=admin)
    assert short.status_code == 422
    assert [d["loc"] for d in short.json()["detail"]] == [["body", "password"]]
    assert short.json()["detail"][0]["msg"] == "te kort (minstens 12 tekens)"
    officer = client.post(
        "/api/v1/users",
        json={**body, "email": "fg@test.invalid", "role": "privacy"},
        headers=admin,
    )
    assert officer.status_code == 201 and officer.json()["role"] == "privacy", officer.text
    wrong_org = client.post(
        "/api/v1/users",
        json={**body, "email": "g@test.invalid", "role": "gemeente"},
        headers=admin,
    )
    assert wrong_org.status_code == 409 and "gemeente" in wrong_org.json()["detail"]

    token = _login(client, "nieuw@test.invalid", "een lang wachtwoord")
    assert client.get("/api/v1/youths", headers=token).status_code == 200
    # a role change ends the user's sign-ins
    changed = client.patch(f"/api/v1/users/{user_id}", json={"role": "planner"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["role"] == "planner"
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401
    token = _login(client, "nieuw@test.invalid", "een lang wachtwoord")
    assert client.get("/api/v1/youths", headers=token).status_code == 403
    # deactivated: signed out and no new sign-in
    client.patch(f"/api/v1/users/{user_id}", json={"active": False}, headers=admin)
    assert client.get("/api/v1/auth/me", headers=token).status_code == 401
    again = client.post(
        "/api/v1/auth/token",
        json={"email": "nieuw@test.invalid", "password": "een lang wachtwoord"},
    )
    assert again.status_code == 401
    # no self lock-out
    own = client.patch(f"/api/v1/users/{admin_user.id}", json={"active": False}, headers=admin)
    assert own.status_code == 409
    actions = [(a.action, a.entity_id) for a in _audit(session_factory, "user.update")]
    assert actions == [("user.update", str(user_id))] * 2
    assert len(_audit(session_factory, "user.create")) == 2  # the regisseur and the officer


def test_audit_log_has_no_write_routes_and_refuses_nul(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _login(client, _user(session_factory, role="admin").email)
    client.get("/api/v1/exports/types", headers=admin)
    entries = client.get("/api/v1/audit", headers=admin).json()["items"]
    assert entries
    first = entries[0]["id"]
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, "/api/v1/audit", headers=admin).status_code == 405
        assert client.request(method, f"/api/v1/audit/{first}", headers=admin).status_code in (
            404,
            405,
        )
    exported = client.get("/api/v1/audit/export", headers=admin)
    assert exported.status_code == 200
    lines = list(csv.reader(io.StringIO(exported.text), delimiter=";"))
    assert lines[0][:5] == ["id", "at", "user", "organisation", "action"]
    assert "export.types" in {line[4] for line in lines[1:]}
    assert [a.detail for a in _audit(session_factory, "audit.export")] == [{"rows": len(lines) - 1}]
    nul = client.get("/api/v1/audit", params={"action": "x\x00y"}, headers=admin)
    assert nul.status_code == 422
    corp = _login(client, _user(session_factory, role="corporatie").email)
    assert client.get("/api/v1/audit", headers=corp).status_code == 403
