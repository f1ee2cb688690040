"""Schema: migrations apply on both databases, constraints hold, audit log is append-only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

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


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    from store.migrate import current, downgrade, upgrade

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade(url)
    head = current(url)
    downgrade(url, "base")
    assert current(url) is None
    upgrade(url)
    assert current(url) == head
