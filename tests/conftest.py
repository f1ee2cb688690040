"""Shared test fixtures.

Database tests take the ``engine`` (or ``session_factory``) fixture, which runs each test once on
SQLite and once on PostgreSQL. PostgreSQL runs when ``STEK_TEST_POSTGRES_URL`` is set; with
``STEK_REQUIRE_POSTGRES=1`` (CI) a missing or unreachable PostgreSQL fails instead of skipping.
Each xdist worker gets its own PostgreSQL database, migrated once; tables are emptied between
tests (the policy seed stays).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade
from store.models import Base

PG_ENV = "STEK_TEST_POSTGRES_URL"
KEEP_TABLES = {"policy", "alembic_version"}

# Production asks a second factor (TOTP) of roles that see personal data (docs/decisions.md);
# the tests sign in with a password unless a test switches it on (tests/api/test_totp*.py,
# tests/e2e/test_totp_browser.py pass require_totp=True to their app's Settings).
os.environ.setdefault("STEK_REQUIRE_TOTP", "false")
# No daily retention run inside test servers (a long e2e session would otherwise prune and audit
# its database five minutes in); tests/api/test_retention_loop.py switches it on for itself.
os.environ.setdefault("STEK_RETENTION_INTERVAL_HOURS", "0")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for every test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this worker, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("STEK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{PG_ENV} is not set but STEK_REQUIRE_POSTGRES=1")
        pytest.skip(f"PostgreSQL tests skipped: set {PG_ENV} to run them")
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    name = f"stek_test_{_worker()}_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("STEK_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {base} not usable: {exc}")
        pytest.skip(f"PostgreSQL at {base} not usable: {exc}")
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_postgres(engine: Engine) -> None:
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in KEEP_TABLES]
    with engine.begin() as conn:
        # The audit log refuses TRUNCATE (migration 0005): that is the point in production, but
        # between tests it must go. The trigger is switched off for this one transaction only
        # (ALTER TABLE is transactional in PostgreSQL; a failure rolls the switch back too), so
        # every test still runs against the trigger.
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_truncate"))
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_truncate"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database engine: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "stek.db"
        shutil.copy(template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("postgres_url")
        eng = make_engine(url)
        _truncate_postgres(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def db_url(engine: Engine) -> str:
    """The URL of the per-test database (for CLI and app tests)."""
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def pg_url(postgres_url: str) -> str:
    """A migrated, emptied PostgreSQL database (skipped without one), for tests that need
    PostgreSQL itself, such as several processes on one database."""
    eng = make_engine(postgres_url)
    _truncate_postgres(eng)
    eng.dispose()
    return postgres_url
