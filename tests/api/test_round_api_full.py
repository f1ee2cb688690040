"""A full round over HTTP, creation to final, with version diffs and the audit trail; and a solve
interrupted by a server stop, recovered at start-up and solved again to the same proposal.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services import rounds as svc
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


def _login(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _pair(match: dict) -> tuple[str, str]:
    return match["youth"]["code"], match["option_code"]


def test_full_round_over_http_with_diffs_and_audit(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    client = TestClient(create_app(Settings(database_url=region)))
    with session_factory() as s:
        admin_user = s.scalars(select(m.User).where(m.User.role == "admin")).one()
    admin = _login(client, admin_user.email)

    created = client.post(
        "/api/v1/rounds", json={"month": "2026-12-01", "seed": 8, "time_limit_s": 10}, headers=admin
    )
    assert created.status_code == 201
    round_id = created.json()["id"]
    assert client.get(f"/api/v1/rounds/{round_id}", headers=admin).json()["status"] == "draft"
    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=admin).status_code == 200
    first = client.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=admin).json()["matches"]
    diff1 = client.get(f"/api/v1/rounds/{round_id}/proposals/1/diff", headers=admin).json()
    assert diff1["previous_version"] is None and len(diff1["added"]) == len(first)

    # the corporation with the most matches accepts one of its own; the admin rejects another
    owners = Counter(x["corporation"] for x in first if x["corporation"] is not None)
    assert owners, "the demo round matches some youth to a corporation's option"
    corp_code = owners.most_common(1)[0][0]
    with session_factory() as s:
        corp_user = s.scalars(
            select(m.User)
            .join(m.Organisation, m.User.organisation_id == m.Organisation.id)
            .where(m.User.role == "corporatie", m.Organisation.code == corp_code)
            .order_by(m.User.email)
        ).first()
        assert corp_user is not None, corp_code
    corp = _login(client, corp_user.email)
    own = [x for x in first if x["corporation"] == corp_code]
    keep = own[0]
    drop = next(x for x in first if x["id"] != keep["id"])
    accepted = client.post(
        f"/api/v1/matches/{keep['id']}/decision",
        json={"decision": "accept", "version": keep["version"]},
        headers=corp,
    )
    assert accepted.status_code == 200
    rejected = client.post(
        f"/api/v1/matches/{drop['id']}/decision",
        json={
            "decision": "reject",
            "version": drop["version"],
            "reason_code": "anders",
            "reason_text": "woning wordt gerenoveerd",
        },
        headers=admin,
    )
    assert rejected.status_code == 200
    assert client.post(f"/api/v1/rounds/{round_id}/resolve", headers=admin).status_code == 200

    versions = client.get(f"/api/v1/rounds/{round_id}/proposals", headers=admin).json()
    assert [v["version"] for v in versions] == [1, 2]
    diff = client.get(f"/api/v1/rounds/{round_id}/proposals/2/diff", headers=admin).json()
    second = client.get(f"/api/v1/rounds/{round_id}/proposals/2", headers=admin).json()["matches"]
    removed = {(x["youth"]["code"], x["option_code"]): x["status"] for x in diff["removed"]}
    assert removed[_pair(drop)] == "rejected"
    assert _pair(keep) not in removed and _pair(keep) not in {_pair(x) for x in diff["added"]}
    assert diff["unchanged"] + len(diff["added"]) == len(second)
    assert diff["unchanged"] + len(diff["removed"]) == len(first)
    # the re-solved round is a draft again: corporations read it only once it is published
    corp_diff_url = f"/api/v1/rounds/{round_id}/proposals/2/diff"
    assert client.get(corp_diff_url, headers=corp).status_code == 403
    # version 1 stays readable, unchanged
    again = client.get(f"/api/v1/rounds/{round_id}/proposals/1", headers=admin).json()["matches"]
    assert [_pair(x) for x in again] == [_pair(x) for x in first]

    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=admin).status_code == 200
    # the corporation's diff holds only its own options
    corp_diff = client.get(corp_diff_url, headers=corp)
    assert corp_diff.status_code == 200
    assert all(x["corporation"] == corp_code for x in corp_diff.json()["added"])
    for match in second:
        if match["status"] == "proposed":
            done = client.post(
                f"/api/v1/matches/{match['id']}/decision",
                json={"decision": "accept", "version": match["version"]},
                headers=admin,
            )
            assert done.status_code == 200
    for match in client.get(f"/api/v1/rounds/{round_id}/proposals/2", headers=admin).json()[
        "matches"
    ]:
        confirmed = client.post(
            f"/api/v1/matches/{match['id']}/confirm",
            json={"version": match["version"]},
            headers=admin,
        )
        assert confirmed.status_code == 200
    final = client.post(f"/api/v1/rounds/{round_id}/finalise", headers=admin)
    assert final.status_code == 200 and final.json()["status"] == "final"
    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=admin).status_code == 409

    with session_factory() as s:
        entries = list(s.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)))
    by_action: dict[str, list[m.AuditEntry]] = {}
    for entry in entries:
        by_action.setdefault(entry.action, []).append(entry)
    transitions = [
        (e.action, (e.detail or {}).get("from"), (e.detail or {}).get("to"))
        for e in entries
        if e.entity == "round" and e.action != "round.create" and e.action != "round.placements"
    ]
    assert transitions == [
        ("round.solve", "created", "solving"),
        ("round.solved", "solving", "draft"),
        ("round.publish", "draft", "published"),
        ("round.resolve", "published", "solving"),
        ("round.solved", "solving", "draft"),
        ("round.publish", "draft", "published"),
        ("round.finalise", "published", "final"),
    ]
    assert [(e.user_id, e.organisation_id) for e in by_action["round.create"]] == [
        (admin_user.id, admin_user.organisation_id)
    ]
    first_accept = by_action["match.accept"][0]
    assert (first_accept.user_id, first_accept.organisation_id, first_accept.entity_id) == (
        corp_user.id,
        corp_user.organisation_id,
        str(keep["id"]),
    )
    assert [e.detail for e in by_action["match.reject"]] == [
        {"reason_code": "anders", "reason_text": "woning wordt gerenoveerd"}
    ]
    assert len(by_action["match.confirm"]) == len(second)
    assert len(by_action["proposal.create"]) == 2
    assert by_action["round.placements"][0].detail == {"placed": len(second)}


def test_interrupted_solve_fails_at_start_up_and_retry_reproduces(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    month = date(2026, 12, 1)
    # A twin round with the same inputs, solved first; it is an unpublished draft, so the
    # round that gets stuck may replace it (one round per month).
    with unit_of_work(session_factory) as s:
        twin_id = svc.create_round(s, month, seed=6, actor=None).id
        svc.start_solve(s, twin_id, None)
    twin = svc.run_solve(session_factory, twin_id, time_limit_s=10)
    assert twin is not None
    with unit_of_work(session_factory) as s:
        stuck = svc.create_round(s, month, seed=6, actor=None, replace_draft=True)
        svc.start_solve(s, stuck.id, None)  # ... and the server is killed before it solves
        stuck_id, snapshot = stuck.id, stuck.snapshot

    app = create_app(Settings(database_url=region))
    with TestClient(app) as client:  # start-up runs the recovery
        with session_factory() as s:
            admin = s.scalars(select(m.User).where(m.User.role == "admin")).one()
        headers = _login(client, admin.email)
        failed = client.get(f"/api/v1/rounds/{stuck_id}", headers=headers).json()
        assert failed["status"] == "failed" and "onderbroken" in failed["error"]
        with session_factory() as s:
            row = s.get(m.AllocationRound, stuck_id)
            assert row is not None and row.snapshot == snapshot
        retried = client.post(f"/api/v1/rounds/{stuck_id}/solve", headers=headers)
        assert retried.status_code == 200
        assert client.get(f"/api/v1/rounds/{stuck_id}", headers=headers).json()["status"] == "draft"
    with session_factory() as s:
        again = svc.latest_proposal(s, stuck_id)
        assert again.result == twin.result
        crashed = s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.action == "round.crashed", m.AuditEntry.entity_id == str(stuck_id)
            )
        ).all()
        assert len(crashed) == 1
