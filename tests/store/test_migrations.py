"""Schema: migrations apply on both databases, constraints hold, audit log is append-only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from store.db import make_engine
from store.models import AuditEntry, Organisation, PolicyRow


def test_policy_seeded_from_domain(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            select(PolicyRow.valid_from, PolicyRow.kwaliteitskortingsgrens).order_by(
                PolicyRow.valid_from
            )
        ).all()
    assert [(r[0], r[1]) for r in rows] == [
        (date(2024, 1, 1), 454.47),
        (date(2025, 1, 1), 477.20),
        (date(2026, 1, 1), 498.20),
    ]


def test_audit_log_refuses_update_and_delete(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(AuditEntry.__table__.insert().values(action="test", entity="x"))
    for statement in ("UPDATE audit_log SET action = 'changed'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(select(AuditEntry.action)).scalars().all() == ["test"]


def test_check_constraint_rejects_unknown_org_kind(engine: Engine) -> None:
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Organisation.__table__.insert().values(code="X", name="X", kind="bank"))


def test_unique_organisation_code(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(Organisation.__table__.insert().values(code="C1", name="A", kind="corporatie"))
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(Organisation.__table__.insert().values(code="C1", name="B", kind="corporatie"))


def test_models_and_migrations_agree(engine: Engine) -> None:
    """A model change without a migration shows up here."""
    import warnings

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from store.models import Base

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # expression index cannot be reflected on SQLite
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own (SQLite, PostgreSQL) to move up and down."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'roundtrip.db'}"
        return
    shared: str = request.getfixturevalue("postgres_url")  # skips without PostgreSQL
    name = f"stek_migrations_{os.getpid()}"
    admin = make_engine(shared, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(shared).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_downgrade_to_base_and_upgrade_again(fresh_url: str) -> None:
    from store.migrate import current, downgrade, upgrade

    upgrade(fresh_url)
    head = current(fresh_url)
    downgrade(fresh_url, "base")
    assert current(fresh_url) is None
    upgrade(fresh_url)
    assert current(fresh_url) == head


def _truncate_audit_log(url: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(AuditEntry).values(action="test", entity="x"))
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))
    finally:
        engine.dispose()


def _indexes(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return {str(ix["name"]) for ix in inspect(engine).get_indexes("login_attempts")}
    finally:
        engine.dispose()


def test_migration_0005_up_and_down(fresh_url: str) -> None:
    from store.migrate import downgrade, upgrade

    upgrade(fresh_url, "0005")
    assert "ix_login_attempts_client_at" in _indexes(fresh_url)
    postgres = fresh_url.startswith("postgresql")
    if postgres:
        with pytest.raises(DBAPIError, match="append-only"):
            _truncate_audit_log(fresh_url)
    downgrade(fresh_url, "0004")
    assert "ix_login_attempts_client_at" not in _indexes(fresh_url)
    if postgres:
        _truncate_audit_log(fresh_url)  # without the trigger TRUNCATE goes through
    upgrade(fresh_url)
    assert "ix_login_attempts_client_at" in _indexes(fresh_url)
    if postgres:
        with pytest.raises(DBAPIError, match="append-only"):
            _truncate_audit_log(fresh_url)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["TRUNCATE audit_log", "TRUNCATE users CASCADE"])
def test_audit_log_refuses_truncate_on_postgres(postgres_url: str, statement: str) -> None:
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(AuditEntry).values(action="kept", entity="x"))
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
        with engine.connect() as conn:
            assert "kept" in conn.execute(select(AuditEntry.action)).scalars().all()
    finally:
        engine.dispose()


def _documented_grants(role: str, database: str) -> list[str]:
    """The application role's GRANT block of docs/deployment.md, for ``role`` and ``database``."""
    doc = (Path(__file__).parents[2] / "docs" / "deployment.md").read_text(encoding="utf-8")
    block = doc.split("-- stek application role grants", 1)[1].split("\n", 1)[1]
    block = block.split("```", 1)[0]
    sql = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("--"))
    sql = sql.replace("stek_app", role).replace("stek_owner", "CURRENT_USER")
    sql = sql.replace("DATABASE stek ", f'DATABASE "{database}" ')
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


@pytest.mark.postgres
def test_documented_application_role_cannot_empty_the_audit_log(postgres_url: str) -> None:
    role = f"stek_app_test_{os.getpid()}"
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
            conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN'))
            for statement in _documented_grants(role, str(engine.url.database)):
                conn.execute(text(statement))
        with engine.begin() as conn:  # what the application does still works
            conn.execute(text(f'SET LOCAL ROLE "{role}"'))
            conn.execute(insert(AuditEntry).values(action="kept", entity="x"))
            conn.execute(text("SELECT count(*) FROM users"))
            conn.execute(text("DELETE FROM login_attempts"))
        for statement in (
            "TRUNCATE audit_log",
            "DELETE FROM audit_log",
            "UPDATE audit_log SET action = 'changed'",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate",
            "UPDATE alembic_version SET version_num = '0001'",
        ):
            refused = pytest.raises(DBAPIError, match=r"permission denied|must be owner")
            with refused, engine.begin() as conn:
                conn.execute(text(f'SET LOCAL ROLE "{role}"'))
                conn.execute(text(statement))
        with engine.connect() as conn:
            assert "kept" in conn.execute(select(AuditEntry.action)).scalars().all()
    finally:
        with engine.begin() as conn:
            if conn.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = :r"), {"r": role}):
                conn.execute(text(f'DROP OWNED BY "{role}"'))
                conn.execute(text(f'DROP ROLE "{role}"'))
        engine.dispose()
