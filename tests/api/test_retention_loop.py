"""The retention job runs inside the server on its interval (issue 17 item 1)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.settings import Settings
from store import models as m


def _count(factory: sessionmaker[Session], model: object) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)  # type: ignore[arg-type]


def test_server_runs_retention_on_its_interval(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as s:
        old = datetime.now(UTC) - timedelta(days=90)
        s.add(m.LoginAttempt(email="o@x.invalid", client="10.0.0.1", at=old, success=False))
    settings = Settings(database_url=db_url, retention_interval_hours=1 / 3600)  # every second
    with TestClient(create_app(settings)):
        deadline = time.monotonic() + 30
        while _count(session_factory, m.LoginAttempt) and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _count(session_factory, m.LoginAttempt) == 0
    with session_factory() as s:
        runs = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "retention.run")).all()
    assert runs and runs[0].detail is not None
    assert runs[0].detail["counts"]["login_attempts"] == 1


def test_interval_zero_means_no_run_inside_the_server(
    db_url: str, session_factory: sessionmaker[Session]
) -> None:
    with session_factory.begin() as s:
        old = datetime.now(UTC) - timedelta(days=90)
        s.add(m.LoginAttempt(email="o@x.invalid", client="10.0.0.1", at=old, success=False))
    with TestClient(create_app(Settings(database_url=db_url, retention_interval_hours=0))):
        time.sleep(1.5)
    assert _count(session_factory, m.LoginAttempt) == 1
