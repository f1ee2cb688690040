"""The audit log's one delete path (migration 0008): only after an ``audit.purge`` entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import DBAPIError

from store.models import AuditEntry
from store.retention import audit_cutoff_text

NOW = datetime.now(UTC)
OLD = NOW - timedelta(days=400)


def _entry(conn: object, action: str, at: datetime, detail: dict[str, str] | None = None) -> None:
    conn.execute(insert(AuditEntry).values(action=action, entity="x", at=at, detail=detail))  # type: ignore[attr-defined]


def _actions(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


def test_delete_refused_without_a_purge_entry(engine: Engine) -> None:
    with engine.begin() as conn:
        _entry(conn, "old", OLD)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(AuditEntry))
    assert _actions(engine) == ["old"]


def test_purge_entry_allows_only_older_rows(engine: Engine) -> None:
    cutoff = NOW - timedelta(days=365)
    with engine.begin() as conn:
        _entry(conn, "old", OLD)
        _entry(conn, "recent", NOW - timedelta(days=10))
        _entry(conn, "audit.purge", NOW, {"before": audit_cutoff_text(engine.dialect.name, cutoff)})
        conn.execute(delete(AuditEntry).where(AuditEntry.at < cutoff))
    assert _actions(engine) == ["recent", "audit.purge"]
    # the purge entry itself and newer rows cannot go, not even with the marker newest
    for victim in ("recent", "audit.purge"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(delete(AuditEntry).where(AuditEntry.action == victim))
    assert _actions(engine) == ["recent", "audit.purge"]


def test_marker_must_be_newest_and_not_in_the_future(engine: Engine) -> None:
    with engine.begin() as conn:
        _entry(conn, "old", OLD)
        _entry(conn, "audit.purge", NOW, {"before": audit_cutoff_text(engine.dialect.name, NOW)})
        _entry(conn, "later", NOW)  # the marker is no longer the newest entry
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.action == "old"))
    future = NOW + timedelta(days=3650)
    with engine.begin() as conn:
        _entry(conn, "audit.purge", NOW, {"before": audit_cutoff_text(engine.dialect.name, future)})
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(delete(AuditEntry).where(AuditEntry.action == "later"))
    assert _actions(engine) == ["old", "audit.purge", "later", "audit.purge"]
