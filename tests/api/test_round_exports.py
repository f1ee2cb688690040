"""Exports of a round (proposal, unmatched, decisions) as CSV and .xlsx, over the API and the
pages: scoped per role like the reads, formula-safe, audited; bad input refused in Dutch.
On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services import rounds as svc
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from matcher.glossary import label
from store import models as m
from store.csvio import spreadsheet_safe
from store.db import unit_of_work
from tests.page_helpers import sign_in

MONTH = date(2026, 12, 1)
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


def _solved_round(factory: sessionmaker[Session]) -> int:
    """A round for MONTH, solved: a draft with one proposal."""
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=7, actor=svc.Actor.system()).id
        svc.start_solve(s, round_id, svc.Actor.system())
    assert svc.run_solve(factory, round_id, time_limit_s=10) is not None
    return round_id


def _token(client: TestClient, email: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _user(s: Session, role: str, **where: object) -> m.User:
    stmt = select(m.User).where(m.User.role == role).order_by(m.User.email)
    for key, value in where.items():
        stmt = stmt.where(getattr(m.User, key) == value)
    user = s.scalars(stmt).first()
    assert user is not None
    return user


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(BOM)
    return list(
        csv.reader(io.StringIO(body[len(BOM) :].decode("utf-8"), newline=""), delimiter=";")
    )


def _export(
    client: TestClient, headers: dict[str, str], round_id: int, kind: str, fmt: str = "csv"
) -> list[list[str]]:
    answer = client.get(
        f"/api/v1/rounds/{round_id}/export", params={"kind": kind, "format": fmt}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return _csv_rows(answer.content)


def test_exports_are_scoped_per_role(region: str, session_factory: sessionmaker[Session]) -> None:
    round_id = _solved_round(session_factory)
    client = TestClient(create_app(Settings(database_url=region)))
    with session_factory() as s:
        admin = _user(s, "admin")
        proposal = svc.latest_proposal(s, round_id)
        by_corporation: dict[int | None, set[str]] = {}
        by_gemeente: dict[str, set[str]] = {}
        for x in proposal.matches:
            by_corporation.setdefault(x.option.corporation_id, set()).add(x.youth.code)
            by_gemeente.setdefault(x.option.gemeente_code, set()).add(x.youth.code)
        corp_id = max(
            (k for k in by_corporation if k is not None), key=lambda k: len(by_corporation[k])
        )
        corp = _user(s, "corporatie", organisation_id=corp_id)
        others = set().union(*(v for k, v in by_corporation.items() if k != corp_id))
        gemeente_org = s.scalars(
            select(m.Organisation).where(
                m.Organisation.kind == "gemeente",
                m.Organisation.gemeente_code.in_(list(by_gemeente)),
            )
        ).first()
        assert gemeente_org is not None and gemeente_org.gemeente_code is not None
        gemeente = _user(s, "gemeente", organisation_id=gemeente_org.id)
        own_gemeente = gemeente_org.gemeente_code
        unmatched = (proposal.result or {})["unmatched"]
        youth_home = {c: g for c, g in s.execute(select(m.Youth.code, m.Youth.gemeente_code))}
        planner = _user(s, "planner")
    assert others, "the region needs matches of more than one corporation"
    as_admin, as_corp = _token(client, admin.email), _token(client, corp.email)
    as_gemeente, as_planner = _token(client, gemeente.email), _token(client, planner.email)

    # a draft is not there for a corporation; admin and gemeente read it
    url = f"/api/v1/rounds/{round_id}/export"
    assert client.get(url, headers=as_corp).status_code == 403
    assert client.get(url, params={"kind": "unmatched"}, headers=as_corp).status_code == 403
    assert client.get(url, headers=as_planner).status_code == 403
    all_rows = _export(client, as_admin, round_id, "proposal")
    assert all_rows[0][:3] == ["Versie", "Jongere", "Leeftijd"]
    assert {r[1] for r in all_rows[1:]} == {x for v in by_corporation.values() for x in v}

    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, svc.Actor.system())

    corp_rows = _export(client, as_corp, round_id, "proposal")
    assert {r[1] for r in corp_rows[1:]} == by_corporation[corp_id]
    assert not {r[1] for r in corp_rows[1:]} & others
    assert {r[10] for r in corp_rows[1:]} == {label("match_status", "proposed")}
    gemeente_rows = _export(client, as_gemeente, round_id, "proposal")
    assert {r[1] for r in gemeente_rows[1:]} == by_gemeente[own_gemeente]

    # young people without a place: a corporation gets counts per reason only
    corp_unmatched = _export(client, as_corp, round_id, "unmatched")
    assert corp_unmatched[0] == ["Versie", "Reden", "Aantal"]
    assert sum(int(r[2]) for r in corp_unmatched[1:]) == len(unmatched)
    assert not {r[1] for r in corp_unmatched[1:]} & set(unmatched)
    gemeente_unmatched = _export(client, as_gemeente, round_id, "unmatched")
    assert {r[1] for r in gemeente_unmatched[1:]} == {
        code for code in unmatched if youth_home[code] == own_gemeente
    }
    admin_unmatched = _export(client, as_admin, round_id, "unmatched")
    assert {r[1] for r in admin_unmatched[1:]} == set(unmatched)
    reasons = {label("unmatched_reason", e["reason"]) for e in unmatched.values()}
    assert {r[3] for r in admin_unmatched[1:]} == reasons

    # every export is audited, with who and what
    with session_factory() as s:
        entries = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action.like("export.round.%"))
        ).all()
    assert len(entries) == 6  # the three refusals above wrote nothing
    assert {(e.user_id, e.action) for e in entries} >= {
        (corp.id, "export.round.proposal"),
        (corp.id, "export.round.unmatched"),
        (gemeente.id, "export.round.unmatched"),
    }
    assert all(e.entity_id == str(round_id) and e.detail for e in entries)


def test_decisions_csv_is_formula_safe_and_xlsx_has_the_same_rows(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, svc.Actor.system())
        matches = sorted(svc.latest_proposal(s, round_id).matches, key=lambda x: x.id)
        admin = _user(s, "admin")
        actor = svc.Actor(admin.id, admin.organisation_id, "admin")
        evil_code = '=HYPERLINK("http://x";"klik")'
        matches[0].youth.code = evil_code
        svc.decide(s, matches[0].id, actor, True, matches[0].version_id)
        svc.decide(s, matches[1].id, actor, False, matches[1].version_id, "anders", "+31 6 bellen")
        svc.decide(s, matches[2].id, actor, False, matches[2].version_id, "anders", "@SUM(A1)")
        svc.decide(s, matches[3].id, actor, False, matches[3].version_id, "anders", "-2,5")
        decided = {x.id for x in matches[:4]}
    client = TestClient(create_app(Settings(database_url=region)))
    headers = _token(client, admin.email)

    rows = _export(client, headers, round_id, "decisions")
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Versie", "Jongere", "Woonplek"]
    assert len(body) == len(decided)
    by_youth = {r[1]: r for r in body}
    assert "'" + evil_code in by_youth  # neutralised: a spreadsheet shows it as text
    assert evil_code not in by_youth
    assert by_youth["'" + evil_code][6] == label("match_status", "accepted")
    assert by_youth["'" + evil_code][9] == admin.name
    assert by_youth["'" + evil_code][11]  # decided at, local time
    texts = {r[8] for r in body}
    assert {"'+31 6 bellen", "'@SUM(A1)"} <= texts
    assert "-2,5" in texts  # a plain number is no formula: left as it is
    assert {r[7] for r in body if r[8]} == {label("reject_reason", "anders")}
    # the proposal carries the reason text too, neutralised the same way
    proposal = _export(client, headers, round_id, "proposal")
    assert "'@SUM(A1)" in {r[12] for r in proposal[1:]}
    assert not any(cell.startswith(("=", "+", "@")) for row in proposal for cell in row)

    answer = client.get(
        f"/api/v1/rounds/{round_id}/export",
        params={"kind": "decisions", "format": "xlsx"},
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert 'filename="ronde-' in answer.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    cells = list(sheet.iter_rows())
    # the xlsx keeps the text as it is, as text: never a formula
    evil = next(c for row in cells for c in row if c.value == evil_code)
    assert evil.data_type == "s"
    assert not any(c.data_type == "f" for row in cells for c in row)

    def as_csv(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return str(spreadsheet_safe(value))
        return str(value)

    assert [[as_csv(c.value) for c in row] for row in cells] == rows


def test_xlsx_proposal_has_the_csv_rows_with_numbers_as_numbers(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    client = TestClient(create_app(Settings(database_url=region)))
    with session_factory() as s:
        headers = _token(client, _user(s, "admin").email)
    rows = _export(client, headers, round_id, "proposal")
    answer = client.get(
        f"/api/v1/rounds/{round_id}/export", params={"format": "xlsx"}, headers=headers
    )
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == rows[0]
    assert len(values) == len(rows) > 1
    for got, want in zip(values[1:], rows[1:], strict=True):
        assert isinstance(got[0], int) and str(got[0]) == want[0]  # version
        assert isinstance(got[8], int | float)  # kale huur: a number in Excel, 498,20 in the CSV
        assert f"{got[8]:.2f}".replace(".", ",") == want[8]
        assert [str(v) for v in got[1:8]] == want[1:8]


def test_bad_export_requests_are_refused_in_dutch(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    client = TestClient(create_app(Settings(database_url=region)))
    with session_factory() as s:
        headers = _token(client, _user(s, "admin").email)
    url = f"/api/v1/rounds/{round_id}/export"
    cases = [
        ({"kind": "alles"}, 422, "kind: onbekende soort export 'alles'"),
        ({"format": "pdf"}, 422, "format: onbekend bestandsformaat 'pdf'; kies csv of xlsx"),
        ({"version": "twee"}, 422, "version: 'twee' is geen versie"),
        ({"version": "0"}, 422, "version: '0' is geen versie"),
        ({"version": "9"}, 404, f"versie 9 van ronde {round_id} bestaat niet"),
    ]
    for params, code, message in cases:
        answer = client.get(url, params=params, headers=headers)
        assert answer.status_code == code, (params, answer.text)
        # (the app's 404 handler answers every API 404 with "Niet gevonden")
        assert message in answer.json()["detail"] or code == 404
    missing = client.get("/api/v1/rounds/999999/export", headers=headers)
    assert missing.status_code == 404
    assert client.get(url).status_code == 401
    with session_factory() as s:
        assert not s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.action.like("export.round.%"))
        ).all()


def _sign_in(client: TestClient, email: str) -> None:
    sign_in(client, email)


def test_page_downloads_for_the_signed_in_reviewer(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    with session_factory() as s:
        corp = _user(s, "corporatie")
        planner = _user(s, "planner")
        own = {
            x.youth.code
            for x in svc.latest_proposal(s, round_id).matches
            if x.option.corporation_id == corp.organisation_id
        }
    app = create_app(Settings(database_url=region))
    anonymous = TestClient(app)
    base = f"/beoordelen/rondes/{round_id}/export"
    away = anonymous.get(f"{base}/voorstel.csv", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"].startswith("/inloggen?next=")

    client = TestClient(app)
    _sign_in(client, corp.email)
    draft = client.get(f"{base}/voorstel.csv")
    assert draft.status_code == 403 and "nog niet gepubliceerd" in draft.text
    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, svc.Actor.system())
    answer = client.get(f"{base}/voorstel.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["cache-control"] == "no-store"
    assert {r[1] for r in _csv_rows(answer.content)[1:]} == own
    for name in ("zonder-plek.xlsx", "besluiten.xlsx", "voorstel.xlsx"):
        got = client.get(f"{base}/{name}", params={"versie": "1"})
        assert got.status_code == 200, name
        assert load_workbook(io.BytesIO(got.content)).active is not None

    bad = [
        (f"{base}/alles.csv", 422, "bestand: onbekende soort export &#39;alles&#39;"),
        (f"{base}/voorstel.pdf", 422, "bestand: onbekend bestandsformaat &#39;pdf&#39;"),
        (f"{base}/voorstel", 422, "onbekende soort export"),
        (f"{base}/voorstel.csv?versie=x", 422, "versie: &#39;x&#39; is geen versie"),
        (f"{base}/voorstel.csv?versie=5", 404, f"versie 5 van ronde {round_id} bestaat niet"),
        ("/beoordelen/rondes/999999/export/voorstel.csv", 404, "ronde 999999 bestaat niet"),
    ]
    for url, code, message in bad:
        page = client.get(url)
        assert page.status_code == code, (url, page.text[:300])
        assert message in page.text, url

    other = TestClient(app)
    _sign_in(other, planner.email)
    assert other.get(f"{base}/voorstel.csv").status_code == 403
