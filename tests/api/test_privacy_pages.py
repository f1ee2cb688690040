"""The privacy officer (issue 17 item 3): audit log page with filters, paging and a formula-safe
CSV export; the retention report; the data-subject export (HTML and JSON, audited); and that
the role opens nothing else. On SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.security import hash_password
from api.settings import Settings
from store import models as m
from tests.page_helpers import published_round, sign_in

OFFICER = "fg@test.invalid"


@pytest.fixture
def region(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> dict[str, object]:
    """A published demo round, a privacy officer, and one young person with everything stek
    can hold about a person (matches, no-go areas, anchors, a companion, a notification)."""
    round_id = published_round(db_url, tmp_path / "region", session_factory)
    with session_factory.begin() as s:
        org = s.scalars(select(m.Organisation).where(m.Organisation.kind == "regio")).first()
        org = org or s.scalars(select(m.Organisation)).first()
        assert org is not None
        s.add(
            m.User(
                email=OFFICER,
                name="Functionaris",
                role="privacy",
                organisation_id=org.id,
                password_hash=hash_password("demo"),
            )
        )
        match = s.scalars(
            select(m.Match).join(m.Proposal).where(m.Proposal.round_id == round_id)
        ).first()
        assert match is not None
        youth = match.youth
        other = s.scalars(select(m.Youth).where(m.Youth.id != youth.id)).first()
        assert other is not None
        youth.anchors.append(m.YouthAnchor(label="school", x=155000.0, y=463000.0))
        square = shapely.box(150000, 460000, 151000, 461000)
        youth.no_go_areas.append(m.YouthNoGoArea(geometry=shapely.to_wkb(square)))
        s.add(m.YouthRelation(youth_id=other.id, other_youth_id=youth.id, kind="companion"))
        regisseur = s.scalars(select(m.User).where(m.User.role == "regisseur")).first()
        assert regisseur is not None
        s.add(
            m.Notification(
                user_id=regisseur.id,
                kind="round_final",
                subject=f"{youth.code} geplaatst",
                body="",
                created_at=datetime.now(UTC),
            )
        )
        # audit entries about this young person: a read, and a detail that names them
        s.add(m.AuditEntry(action="youth.read", entity="youth", entity_id=youth.code))
        s.add(
            m.AuditEntry(
                action="round.pair_explanation",
                entity="round",
                entity_id=str(round_id),
                detail={"youth": youth.id, "option": match.option_id},
            )
        )
        # one that merely contains the code as part of another code must not count
        s.add(
            m.AuditEntry(action="youth.read", entity="youth", entity_id=youth.code + "9"),
        )
        return {"round_id": round_id, "code": youth.code, "match_id": match.id}


def _officer(db_url: str) -> TestClient:
    client = TestClient(create_app(Settings(database_url=db_url)))
    done = sign_in(client, OFFICER)
    assert done.headers["location"] == "/privacy"
    return client


def test_privacy_officer_opens_nothing_else(db_url: str, region: dict[str, object]) -> None:
    client = _officer(db_url)
    page = client.get("/privacy")
    assert page.status_code == 200
    # the nav shows only the officer's page
    nav = page.text.split('aria-label="Rollen"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/privacy"' in nav
    assert all(f'href="{p}"' not in nav for p in ("/beheer", "/regisseur", "/planner"))
    for path in ("/beheer", "/regisseur", "/beoordelen", "/planner", "/kaarten/aanbod"):
        assert client.get(path, follow_redirects=False).status_code == 403, path
    for path in ("/api/v1/youths", "/api/v1/options", "/api/v1/rounds", "/api/v1/organisations"):
        assert client.get(path).status_code == 403, path
    # a page outside its paths answers with the Dutch page, the API with JSON
    assert "niet voor jouw rol" in client.get("/kaarten/aanbod").text
    assert client.get("/api/v1/options").json() == {"detail": "Geen toegang voor deze rol"}
    assert client.get("/api/v1/audit").status_code == 200
    # and the other roles do not open the officer's pages
    admin = TestClient(create_app(Settings(database_url=db_url)))
    sign_in(admin, "admin@demo.stek.invalid")
    assert admin.get("/privacy").status_code == 403
    assert admin.get(f"/privacy/jongeren/{region['code']}").status_code == 403
    assert 'href="/privacy"' not in admin.get("/beheer").text


def test_audit_page_filters_and_pages(
    db_url: str, region: dict[str, object], session_factory: sessionmaker[Session]
) -> None:
    start = datetime(2026, 1, 5, 12, tzinfo=UTC)
    with session_factory.begin() as s:
        for n in range(60):
            s.add(
                m.AuditEntry(
                    at=start + timedelta(days=n % 3),
                    action="option.status",
                    entity="option",
                    entity_id=f"OPT-{n}",
                )
            )
    client = _officer(db_url)
    page = client.get("/privacy", params={"actie": "option.status"})
    assert "60 regels, pagina 1 van 2" in page.text
    assert "status woonplek gewijzigd" in page.text  # the action's Dutch label
    assert page.text.count("OPT-") == 50
    second = client.get("/privacy", params={"actie": "option.status", "pagina": 2})
    assert second.text.count("OPT-") == 10 and "Vorige pagina" in second.text
    day = client.get(
        "/privacy", params={"actie": "option.status", "van": "2026-01-06", "tot": "2026-01-06"}
    )
    assert "20 regels" in day.text
    one = client.get("/privacy", params={"onderwerp": "option", "id": "OPT-7"})
    assert "1 regel," in one.text
    bad = client.get("/privacy", params={"van": "5 januari"})
    assert bad.status_code == 422
    assert "van: geen geldige datum" in bad.text
    reversed_ = client.get("/privacy", params={"van": "2026-02-01", "tot": "2026-01-01"})
    assert reversed_.status_code == 422 and "tot en met" in reversed_.text


def test_audit_csv_is_formula_safe_filtered_and_audited(
    db_url: str, region: dict[str, object], session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as s:
        s.add(
            m.AuditEntry(
                action="youth.update",
                entity="youth",
                entity_id='=HYPERLINK("http://x")',
                detail={"note": "@SUM(1)"},
            )
        )
    client = _officer(db_url)
    response = client.get("/privacy/auditlog.csv", params={"actie": "youth.update"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    if len(rows[0]) == 1:  # a comma-separated writer
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "at", "user"]
    body = rows[1:]
    assert len(body) == 1
    assert body[0][6] == '\'=HYPERLINK("http://x")'
    with session_factory() as s:
        exported = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "audit.export"))
        details = [e.detail for e in exported]
    assert details == [{"rows": 1, "filters": {"action": "youth.update"}}]


def test_retention_report_is_a_dry_run(
    db_url: str, region: dict[str, object], session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as s:
        s.add(
            m.LoginAttempt(
                email="x@test.invalid", client=None, success=False,
                at=datetime.now(UTC) - timedelta(days=400),
            )
        )  # fmt: skip
    client = _officer(db_url)
    page = client.get("/privacy/bewaartermijnen")
    assert page.status_code == 200
    assert "inlogpogingen" in page.text and "regels in het auditlog" in page.text
    row = page.text.split("inlogpogingen", 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row
    with session_factory() as s:  # nothing removed
        assert len(s.scalars(select(m.LoginAttempt)).all()) >= 1


def test_subject_export_holds_everything_and_is_audited(
    db_url: str, region: dict[str, object], session_factory: sessionmaker[Session]
) -> None:
    code = str(region["code"])
    client = _officer(db_url)
    found = client.get("/privacy/jongeren", params={"code": code}, follow_redirects=False)
    assert found.headers["location"] == f"/privacy/jongeren/{code}"
    page = client.get(f"/privacy/jongeren/{code}")
    assert page.status_code == 200
    assert "@media print" in page.text and "POLYGON" in page.text and "school" in page.text
    assert "samen aangemeld met" in page.text and "companion" not in page.text
    data = client.get(f"/privacy/jongeren/{code}/inzage.json")
    assert data.status_code == 200
    assert "attachment" in data.headers["content-disposition"]
    export = json.loads(data.content)
    assert export["youth"]["code"] == code and export["youth"]["birth_date"]
    assert export["accepted_types"]
    assert {"label": "school", "x": 155000.0, "y": 463000.0} in export["anchors"]
    assert export["no_go_areas"][-1]["polygon_wkt"].startswith("POLYGON")
    assert {"companion"} <= {r["kind"] for r in export["relations"] if r["recorded_for"] == "other"}
    assert region["match_id"] in [x["match_id"] for x in export["matches"]]
    assert [r["round_id"] for r in export["round_snapshots"]] == [region["round_id"]]
    assert [n["subject"] for n in export["notifications"]] == [f"{code} geplaatst"]
    actions = [e["action"] for e in export["audit_entries"]]
    assert "youth.read" in actions and "round.pair_explanation" in actions
    assert all(e["entity_id"] != code + "9" for e in export["audit_entries"])
    # the HTML view was audited before the JSON export was made, and shows in it
    assert "subject.export" in actions
    with session_factory() as s:
        made = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "subject.export")).all()
    assert [(e.entity_id, e.detail) for e in made] == [
        (code, {"format": "html"}),
        (code, {"format": "json"}),
    ]
    assert client.get("/privacy/jongeren/BESTAAT-NIET").status_code == 404
