"""PostgreSQL: only the documented retention role deletes audit entries past their term."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError

from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.retention import RetentionTerms, run_retention

NOW = datetime.now(UTC)
DOC = Path(__file__).parents[2] / "docs" / "deployment.md"


def _grants(marker: str, placeholder: str, role: str, database: str) -> list[str]:
    """The GRANT block of docs/deployment.md after ``marker``, for ``role`` and ``database``."""
    block = DOC.read_text(encoding="utf-8").split(marker, 1)[1].split("\n", 1)[1]
    block = block.split("```", 1)[0]
    sql = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("--"))
    sql = sql.replace(placeholder, role).replace("stek_owner", "CURRENT_USER")
    sql = sql.replace("DATABASE stek ", f'DATABASE "{database}" ')
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.fixture
def roles(postgres_url: str) -> Iterator[tuple[Engine, str, str]]:
    engine = make_engine(postgres_url)
    app, keeper = f"stek_app_r_{os.getpid()}", f"stek_retention_r_{os.getpid()}"
    database = str(engine.url.database)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM login_attempts"))
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        for role, marker, placeholder in (
            (app, "-- stek application role grants", "stek_app"),
            (keeper, "-- stek retention role grants", "stek_retention"),
        ):
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            for statement in _grants(marker, placeholder, role, database):
                conn.execute(text(statement))
    try:
        yield engine, app, keeper
    finally:
        with engine.begin() as conn:
            for role in (app, keeper):
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))
        engine.dispose()


def _run_as(engine: Engine, role: str) -> dict[str, object]:
    terms = RetentionTerms(audit_entries=365, login_attempts=30)
    with unit_of_work(make_sessionmaker(engine)) as session:
        session.execute(text(f'SET LOCAL ROLE "{role}"'))
        return run_retention(session, terms).as_dict()


@pytest.mark.postgres
def test_application_role_skips_the_audit_log_retention_role_purges_it(
    roles: tuple[Engine, str, str],
) -> None:
    engine, app, keeper = roles
    with engine.begin() as conn:
        conn.execute(
            insert(m.AuditEntry).values(action="old", entity="x", at=NOW - timedelta(days=400))
        )
        conn.execute(insert(m.AuditEntry).values(action="recent", entity="x", at=NOW))
        conn.execute(
            insert(m.LoginAttempt).values(
                email="a@x.invalid", at=NOW - timedelta(days=60), success=False
            )
        )

    as_app = _run_as(engine, app)
    assert as_app["counts"]["login_attempts"] == 1  # the other kinds are done
    assert as_app["counts"]["audit_entries"] == 0
    assert "permission denied" in as_app["skipped"]["audit_entries"]
    with engine.connect() as conn:
        assert conn.scalars(select(m.AuditEntry.action).order_by(m.AuditEntry.id)).all() == [
            "old",
            "recent",
            "retention.run",
        ]
    # the retention role may not empty the log or change it outside the guarded path
    for statement in (
        "DELETE FROM audit_log",
        "UPDATE audit_log SET action = 'x'",
        "TRUNCATE audit_log",
    ):
        with (
            pytest.raises(DBAPIError, match=r"append-only|permission denied"),
            engine.begin() as conn,
        ):
            conn.execute(text(f'SET LOCAL ROLE "{keeper}"'))
            conn.execute(text(statement))

    as_keeper = _run_as(engine, keeper)
    assert as_keeper["counts"]["audit_entries"] == 1 and "skipped" not in as_keeper
    with engine.connect() as conn:
        assert conn.scalars(select(m.AuditEntry.action).order_by(m.AuditEntry.id)).all() == [
            "recent",
            "retention.run",
            "audit.purge",
            "retention.run",
        ]
