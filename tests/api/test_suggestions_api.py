"""Suggestions and proposal explanations over HTTP: roles, audit, bad input, index refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services.suggestions import index_cache, invalidate_index
from api.settings import Settings
from fixtures.generate import ROUND_MONTH, generate_region, write_region
from store import models as m

ON = ROUND_MONTH.isoformat()  # the fixture's ages and availability are meant for this day


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 80, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def client(region: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=region)))


def _headers(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _first_of(factory: sessionmaker[Session], role: str) -> m.User:
    with factory() as s:
        return s.scalars(select(m.User).where(m.User.role == role).order_by(m.User.email)).first()  # type: ignore[return-value]


def _youth_and_regisseurs(factory: sessionmaker[Session]) -> tuple[int, str, str]:
    """(youth id, its regisseur's e-mail, another regisseur's e-mail)."""
    with factory() as s:
        youth = s.scalars(
            select(m.Youth).where(m.Youth.regisseur_id.is_not(None)).order_by(m.Youth.id)
        ).first()
        assert youth is not None and youth.regisseur is not None
        other = s.scalars(
            select(m.User)
            .where(m.User.role == "regisseur", m.User.id != youth.regisseur_id)
            .order_by(m.User.email)
        ).first()
        assert other is not None
        return youth.id, youth.regisseur.email, other.email


def _audit(factory: sessionmaker[Session], action: str) -> list[m.AuditEntry]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.AuditEntry).where(m.AuditEntry.action == action).order_by(m.AuditEntry.id)
            )
        )


def test_own_regisseur_and_admin_get_suggestions_and_every_call_is_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    url = f"/api/v1/youths/{youth_id}/suggestions?k=3&on={ON}"
    response = client.get(url, headers=_headers(client, own))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["youth_id"] == youth_id and body["on"] == ON
    assert len(body["suggestions"]) == min(3, body["eligible"])
    for s in body["suggestions"]:
        score = s["score"]
        assert set(score) >= {"urgency_weight", "area_points", "type_points", "distances",
                              "net_rent", "toeslag", "rent_share_of_income"}  # fmt: skip
        assert s["option"]["code"]
    for miss in body["misses"]:
        assert 1 <= len(miss["reasons"]) <= 2
        assert all(r["rule"] != "no_go" for r in miss["reasons"])
    for cf in body["counterfactuals"]:
        assert cf["opens_count"] >= len(cf["opens"])
    assert "message" in body["no_go"]

    admin = _first_of(session_factory, "admin")
    assert client.get(url, headers=_headers(client, admin.email)).status_code == 200

    entries = _audit(session_factory, "youth.suggestions")
    assert [e.entity_id for e in entries] == [str(youth_id), str(youth_id)]
    assert entries[0].detail is not None and entries[0].detail["k"] == 3
    assert "refused" not in entries[0].detail
    with session_factory() as s:
        own_id = s.scalar(select(m.User.id).where(m.User.email == own))
    assert entries[0].user_id == own_id and entries[1].user_id == admin.id


@pytest.mark.parametrize("role", ["corporatie", "planner", "gemeente", "other regisseur"])
def test_other_roles_get_403_and_the_refusal_is_audited(
    client: TestClient, session_factory: sessionmaker[Session], role: str
) -> None:
    youth_id, _, other = _youth_and_regisseurs(session_factory)
    email = other if role == "other regisseur" else _first_of(session_factory, role).email
    response = client.get(
        f"/api/v1/youths/{youth_id}/suggestions?on={ON}", headers=_headers(client, email)
    )
    assert response.status_code == 403
    assert "suggestions" not in response.json()
    (entry,) = _audit(session_factory, "youth.suggestions")
    assert entry.entity_id == str(youth_id)
    assert entry.detail is not None and entry.detail["refused"] == response.json()["detail"]


def test_anonymous_401_unknown_youth_404_and_bad_input_422(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    assert client.get(f"/api/v1/youths/{youth_id}/suggestions").status_code == 401
    admin = _headers(client, _first_of(session_factory, "admin").email)
    with session_factory() as s:
        unknown = (s.scalar(select(func.max(m.Youth.id))) or 0) + 1000
    missing = client.get(f"/api/v1/youths/{unknown}/suggestions?on={ON}", headers=admin)
    assert missing.status_code == 404
    headers = _headers(client, own)
    for query, field in (
        ("k=0", "k"),
        ("k=51", "k"),
        ("k=tien", "k"),
        ("on=volgende-week", "on"),
        ("on=1990-01-01", "on"),  # no policy known then
    ):
        bad = client.get(f"/api/v1/youths/{youth_id}/suggestions?{query}", headers=headers)
        assert bad.status_code == 422, (query, bad.text)
        assert bad.json()["detail"][0]["loc"][-1] == field
    assert client.get("/api/v1/youths/abc/suggestions", headers=headers).status_code == 422
    # beyond a 32-bit database id: refused before it reaches SQL (PostgreSQL would fail)
    assert client.get("/api/v1/youths/2147483648/suggestions", headers=headers).status_code == 422
    refused = _audit(session_factory, "youth.suggestions")
    assert [e.entity_id for e in refused] == [str(unknown)]


def test_index_is_kept_and_rebuilt_when_options_change(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    headers = _headers(client, own)
    url = f"/api/v1/youths/{youth_id}/suggestions?k=50&on={ON}"
    first = client.get(url, headers=headers).json()
    cache = index_cache(client.app)  # type: ignore[arg-type]
    assert cache.builds == 1
    assert client.get(url, headers=headers).json() == first
    assert cache.builds == 1
    codes = [x["option"]["code"] for x in first["suggestions"]]
    assert len(codes) >= 2, "the fixture youth should have suggestions"

    def take(factory: sessionmaker[Session], code: str) -> None:
        with factory.begin() as s:
            option = s.scalars(select(m.HousingOption).where(m.HousingOption.code == code)).one()
            option.status = "placed"  # taken off the market, e.g. by another round

    # A write through the app's own sessions invalidates at once.
    take(client.app.state.sessions, codes[0])  # type: ignore[attr-defined]
    again = client.get(url, headers=headers).json()
    assert cache.builds == 2
    assert codes[0] not in [x["option"]["code"] for x in again["suggestions"]]
    assert again["eligible"] == first["eligible"] - 1
    # A write by another process (another sessionmaker here) is seen by the fingerprint check.
    cache.check_interval_s = 0.0
    take(session_factory, codes[1])
    third = client.get(url, headers=headers).json()
    assert cache.builds == 3 and third["eligible"] == first["eligible"] - 2
    client.get(url, headers=headers)
    assert cache.builds == 3  # unchanged fingerprint: no rebuild
    invalidate_index(client.app)  # type: ignore[arg-type]
    client.get(url, headers=headers)
    assert cache.builds == 4


# ---------------------------------------------------------------------------------------------
# Explanations of a proposal


@pytest.fixture
def solved(client: TestClient, session_factory: sessionmaker[Session]) -> int:
    admin = _headers(client, _first_of(session_factory, "admin").email)
    created = client.post("/api/v1/rounds", json={"month": ON, "seed": 4}, headers=admin)
    assert created.status_code == 201, created.text
    round_id: int = created.json()["id"]
    assert client.get(f"/api/v1/rounds/{round_id}", headers=admin).json()["status"] == "draft"
    return round_id


def test_explanations_for_gemeente_and_admin_only(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    url = f"/api/v1/rounds/{solved}/explanations"
    admin = client.get(url, headers=_headers(client, _first_of(session_factory, "admin").email))
    assert admin.status_code == 200, admin.text
    body = admin.json()
    with session_factory() as s:
        proposal = s.scalars(select(m.Proposal).where(m.Proposal.round_id == solved)).one()
        result = proposal.result or {}
    assert sorted(u["youth"] for u in body["unmatched"]) == sorted(result["unmatched"])
    for u in body["unmatched"]:
        assert u["youth"] in u["sentence"] and u["counts"]
    gemeente = _first_of(session_factory, "gemeente")
    with session_factory() as s:
        code = s.get(m.Organisation, gemeente.organisation_id).gemeente_code  # type: ignore[union-attr]
        theirs = {c for c, g in s.execute(select(m.Youth.code, m.Youth.gemeente_code)) if g == code}
    scoped = client.get(url, headers=_headers(client, gemeente.email)).json()
    assert {u["youth"] for u in scoped["unmatched"]} == {
        u["youth"] for u in body["unmatched"] if u["youth"] in theirs
    }
    for role in ("corporatie", "planner", "regisseur"):
        headers = _headers(client, _first_of(session_factory, role).email)
        assert client.get(url, headers=headers).status_code == 403
    missing = client.get(
        f"/api/v1/rounds/{solved + 99}/explanations",
        headers=_headers(client, _first_of(session_factory, "admin").email),
    )
    assert missing.status_code == 404
    assert len(_audit(session_factory, "round.explanations")) == 2


def test_fairness_per_audience(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    url = f"/api/v1/rounds/{solved}/fairness"
    admin = client.get(url, headers=_headers(client, _first_of(session_factory, "admin").email))
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert body["count"] == sum(body["per_corporation"].values())
    assert body["count"] == sum(body["per_gemeente"].values())
    assert body["message"].startswith("Geen") == (body["count"] == 0)
    corp = client.get(url, headers=_headers(client, _first_of(session_factory, "corporatie").email))
    assert corp.status_code == 200
    assert set(corp.json()) == {"round_id", "version", "count", "per_option", "message"}
    for role in ("planner", "regisseur"):
        headers = _headers(client, _first_of(session_factory, role).email)
        assert client.get(url, headers=headers).status_code == 403
    assert (
        client.get(
            url + "?version=0", headers=_headers(client, _first_of(session_factory, "admin").email)
        ).status_code
        == 422
    )


def test_pair_explanation_scoped_by_organisation(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    corp_user = _first_of(session_factory, "corporatie")
    with session_factory() as s:
        own = s.scalars(
            select(m.HousingOption)
            .where(m.HousingOption.corporation_id == corp_user.organisation_id)
            .order_by(m.HousingOption.id)
        ).first()
        other = s.scalars(
            select(m.HousingOption)
            .where(m.HousingOption.corporation_id != corp_user.organisation_id)
            .order_by(m.HousingOption.id)
        ).first()
        youth = s.scalars(select(m.Youth).order_by(m.Youth.id)).first()
    assert own is not None and other is not None and youth is not None
    admin = _headers(client, _first_of(session_factory, "admin").email)
    full = client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/{own.id}", headers=admin)
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["status"] in {"matched", "ineligible", "taken", "free"}
    assert body["sentence"]
    assert (body["status"] == "ineligible") == bool(body["reasons"])
    corp = _headers(client, corp_user.email)
    mine = client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/{own.id}", headers=corp)
    assert mine.status_code == 200
    reduced = mine.json()
    assert set(reduced) == {"round_id", "version", "youth", "option", "status",
                            "failing_rules", "occupants"}  # fmt: skip
    assert "no_go" not in reduced["failing_rules"]
    theirs = client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/{other.id}", headers=corp)
    assert theirs.status_code == 403
    planner = _headers(client, _first_of(session_factory, "planner").email)
    assert (
        client.get(
            f"/api/v1/rounds/{solved}/pairs/{youth.id}/{own.id}", headers=planner
        ).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/999999", headers=admin).status_code
        == 404
    )
