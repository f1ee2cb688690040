"""The round API over HTTP: roles, organisation scoping, 409s, and concurrent decisions."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def client(region: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=region)))


def _emails(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as s:
        by_role: dict[str, str] = {}
        for user in s.scalars(select(m.User).order_by(m.User.email)):
            by_role.setdefault(user.role, user.email)
    return by_role


def _headers(client: TestClient | httpx.Client, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _gemeente_with_matches(factory: sessionmaker[Session]) -> str:
    """The e-mail of a gemeente user (any; scoping is checked separately)."""
    return _emails(factory)["gemeente"]


def _create_published_round(client: TestClient, admin: dict[str, str]) -> tuple[int, dict]:
    created = client.post("/api/v1/rounds", json={"month": "2026-12-15", "seed": 4}, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["month"] == "2026-12-01"
    round_id = created.json()["id"]
    # TestClient runs the background solve before returning
    detail = client.get(f"/api/v1/rounds/{round_id}", headers=admin).json()
    assert detail["status"] == "draft" and detail["proposal_versions"] == [1]
    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=admin).status_code == 200
    proposal = client.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=admin).json()
    return round_id, proposal


def test_roles_without_access_get_403_and_anonymous_401(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    emails = _emails(session_factory)
    assert client.get("/api/v1/rounds").status_code == 401
    for role in ("planner", "regisseur"):
        headers = _headers(client, emails[role])
        assert client.get("/api/v1/rounds", headers=headers).status_code == 403
        assert (
            client.post("/api/v1/rounds", json={"month": "2026-12-01"}, headers=headers).status_code
            == 403
        )
    corp = _headers(client, emails["corporatie"])
    assert (
        client.post("/api/v1/rounds", json={"month": "2026-12-01"}, headers=corp).status_code == 403
    )
    assert client.get("/api/v1/rounds", headers=corp).status_code == 200


def test_bad_round_input_names_the_field(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _headers(client, _emails(session_factory)["admin"])
    response = client.post("/api/v1/rounds", json={"month": "december", "seed": -1}, headers=admin)
    assert response.status_code == 422
    fields = {err["loc"][-1] for err in response.json()["detail"]}
    assert fields == {"month", "seed"}


def test_a_paced_round_snapshots_monthly_contingent_budgets(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _headers(client, _emails(session_factory)["admin"])
    bad = client.post(
        "/api/v1/rounds", json={"month": "2026-03-01", "pacing": "spring"}, headers=admin
    )
    assert bad.status_code == 422
    assert {err["loc"][-1] for err in bad.json()["detail"]} == {"pacing"}
    made = client.post(
        "/api/v1/rounds", json={"month": "2026-03-01", "pacing": "budget"}, headers=admin
    )
    assert made.status_code == 201, made.text
    with session_factory() as s:
        rnd = s.get(m.AllocationRound, made.json()["id"])
        assert rnd is not None
        contingents = rnd.snapshot["contingents"]
        events = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "round.create")).all()
    assert contingents and all("month_budget" in c for c in contingents)
    # The default forecast spreads the year evenly: March allows a quarter, minus what is used.
    for c in contingents:
        assert c["month_budget"] == max(round(c["amount"] * 3 / 12) - c["used"], 0)
    assert any((e.detail or {}).get("pacing") == "budget" for e in events)


def test_corporation_sees_only_its_own_matches_and_no_sensitive_fields(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    emails = _emails(session_factory)
    admin = _headers(client, emails["admin"])
    round_id, everything = _create_published_round(client, admin)
    with session_factory() as s:
        corp_user = s.scalars(select(m.User).where(m.User.email == emails["corporatie"])).one()
        corp_code = s.get(m.Organisation, corp_user.organisation_id).code  # type: ignore[union-attr]
    corp = _headers(client, emails["corporatie"])
    mine = client.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=corp).json()["matches"]
    expected = [x for x in everything["matches"] if x["corporation"] == corp_code]
    assert [x["id"] for x in mine] == [x["id"] for x in expected]
    for match in mine:
        assert set(match["youth"]) == {"code", "age_band", "household_size", "support_provider"}
    # deciding another corporation's match is refused
    others = [x for x in everything["matches"] if x["corporation"] not in (None, corp_code)]
    if others:
        response = client.post(
            f"/api/v1/matches/{others[0]['id']}/decision",
            json={"decision": "accept", "version": others[0]["version"]},
            headers=corp,
        )
        assert response.status_code == 403


def test_decisions_resolve_and_version_diff_over_http(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin = _headers(client, _emails(session_factory)["admin"])
    round_id, proposal = _create_published_round(client, admin)
    keep, drop = proposal["matches"][0], proposal["matches"][1]
    url = "/api/v1/matches/{}/decision"
    ok = client.post(
        url.format(keep["id"]),
        json={"decision": "accept", "version": keep["version"]},
        headers=admin,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "accepted"
    stale = client.post(
        url.format(keep["id"]),
        json={"decision": "accept", "version": keep["version"]},
        headers=admin,
    )
    assert stale.status_code == 409
    no_reason = client.post(
        url.format(drop["id"]),
        json={"decision": "reject", "version": drop["version"]},
        headers=admin,
    )
    assert no_reason.status_code == 409 and "reden" in no_reason.json()["detail"]
    bad_reason = client.post(
        url.format(drop["id"]),
        json={"decision": "reject", "version": drop["version"], "reason_code": "geen_zin"},
        headers=admin,
    )
    assert bad_reason.status_code == 422
    rejected = client.post(
        url.format(drop["id"]),
        json={"decision": "reject", "version": drop["version"], "reason_code": "woning_past_niet"},
        headers=admin,
    )
    assert rejected.status_code == 200
    # finalising with open matches is a conflict, resolving makes version 2
    assert client.post(f"/api/v1/rounds/{round_id}/finalise", headers=admin).status_code == 409
    assert client.post(f"/api/v1/rounds/{round_id}/resolve", headers=admin).status_code == 200
    second = client.get(f"/api/v1/rounds/{round_id}/proposals/2", headers=admin).json()
    pairs = {(x["youth"]["code"], x["option_code"]) for x in second["matches"]}
    assert (keep["youth"]["code"], keep["option_code"]) in pairs
    assert (drop["youth"]["code"], drop["option_code"]) not in pairs
    first = client.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=admin)
    assert first.status_code == 200  # earlier versions stay readable
    assert client.get(f"/api/v1/rounds/{round_id}/proposals/9", headers=admin).status_code == 404


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(region: str) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Settings(database_url=region)),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_concurrent_decisions_one_wins_one_gets_409(
    live_server: str, session_factory: sessionmaker[Session]
) -> None:
    emails = _emails(session_factory)
    with httpx.Client(base_url=live_server, timeout=120) as http:
        admin = _headers(http, emails["admin"])
        created = http.post(
            "/api/v1/rounds", json={"month": "2026-12-01", "seed": 2}, headers=admin
        )
        round_id = created.json()["id"]
        deadline = time.monotonic() + 120
        while http.get(f"/api/v1/rounds/{round_id}", headers=admin).json()["status"] != "draft":
            assert time.monotonic() < deadline, "solve did not finish"
            time.sleep(0.2)
        http.post(f"/api/v1/rounds/{round_id}/publish", headers=admin)
        match = http.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=admin).json()["matches"][
            0
        ]

    barrier = threading.Barrier(2)
    codes: list[int] = []
    bodies = [
        {"decision": "accept", "version": match["version"]},
        {"decision": "reject", "version": match["version"], "reason_code": "jongere_weigert"},
    ]

    def decide(body: dict) -> None:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            barrier.wait()
            codes.append(
                http.post(
                    f"/api/v1/matches/{match['id']}/decision", json=body, headers=admin
                ).status_code
            )

    threads = [threading.Thread(target=decide, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    with session_factory() as s:
        row = s.get(m.Match, match["id"])
        assert row is not None and row.status in ("accepted", "rejected") and row.version_id == 2
        decisions = s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.entity == "match", m.AuditEntry.entity_id == str(match["id"])
            )
        ).all()
        assert len(decisions) == 1  # no lost update, exactly one recorded decision
