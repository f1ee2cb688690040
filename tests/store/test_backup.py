"""Backup and restore of the whole database (issue 17 item 6): every table's rows come back."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app as cli
from api.services import rounds as svc
from store import models as m
from store.backup import BackupError, restore_backup, tables, write_backup
from store.db import make_engine, unit_of_work
from store.migrate import upgrade
from tests.page_helpers import published_round


@pytest.fixture
def target_url(engine: Engine, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty migrated database of the same kind as ``engine``."""
    if engine.dialect.name == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "target.db")
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    url = _fresh_postgres(engine.url.render_as_string(hide_password=False), "target")
    yield url
    _drop_postgres(url)


def _fresh_postgres(shared: str, suffix: str) -> str:
    name = f"stek_backup_{suffix}_{os.getpid()}"
    admin = make_engine(shared, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = make_url(shared).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


def _drop_postgres(url: str) -> None:
    name = make_url(url).database
    base_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    base = make_engine(base_url, isolation_level="AUTOCOMMIT")
    with base.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    base.dispose()


def _filled(db_url: str, tmp_path: Path, factory: sessionmaker[Session]) -> None:
    """A region with a round taken to final, a notification, a session, audit entries."""
    round_id = published_round(db_url, tmp_path / "region", factory)
    admin = svc.Actor.system()
    with unit_of_work(factory) as s:
        proposal = svc.latest_proposal(s, round_id)
        for match in proposal.matches:
            svc.decide(s, match.id, admin, True, match.version_id)
        s.flush()
        for match in proposal.matches:
            svc.confirm(s, match.id, admin, match.version_id)
        svc.finalise(s, round_id, admin)
    with unit_of_work(factory) as s:
        user = s.scalars(select(m.User)).first()
        assert user is not None
        now = datetime.now(UTC)
        s.add(
            m.Notification(
                user_id=user.id,
                kind="round_final",
                round_id=round_id,
                subject="Ronde klaar",
                body="é ✓",
                created_at=now,
            )
        )
        s.add(
            m.AuthToken(
                token_hash="a" * 64, kind="session", user_id=user.id, created_at=now, expires_at=now
            )
        )
        s.add(m.LoginAttempt(email="x@y.invalid", client="10.0.0.9", at=now, success=False))


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in tables():
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    engine.dispose()
    return out


def test_round_trip_restores_every_row_of_every_table(
    engine: Engine,
    db_url: str,
    target_url: str,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    _filled(db_url, tmp_path, session_factory)
    before = _rows(db_url)
    for name in (
        "rounds",
        "proposals",
        "matches",
        "notifications",
        "audit_log",
        "areas",
        "youth_no_go_areas",
        "auth_tokens",
        "login_attempts",
        "youths",
    ):
        assert before[name], f"test data has no {name}"
    path = tmp_path / "stek.jsonl.gz"
    written = write_backup(engine, path)
    assert written.rows == {name: len(rows) for name, rows in before.items()}

    target = make_engine(target_url)
    restored = restore_backup(target, path)
    assert restored.rows == written.rows
    after = _rows(target_url)
    assert set(after) == set(before)
    for name, rows in before.items():
        if name == "audit_log":
            assert after[name][:-1] == rows, name
            assert after[name][-1][4] == "backup.restore"  # action of the appended entry
        else:
            assert after[name] == rows, name
    # ids go on after the restored ones (PostgreSQL sequences), the log stays append-only
    with target.begin() as conn:
        new_id = conn.execute(
            m.AuditEntry.__table__.insert()
            .values(action="next", entity="x")
            .returning(m.AuditEntry.id)
        ).scalar_one()
    assert new_id == after["audit_log"][-1][0] + 1
    with pytest.raises(DBAPIError, match="append-only"), target.begin() as conn:
        conn.execute(text("DELETE FROM audit_log"))
    target.dispose()


def test_non_empty_target_is_refused_unless_forced(
    engine: Engine,
    db_url: str,
    target_url: str,
    tmp_path: Path,
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as s:
        s.add(m.Organisation(code="SRC", name="Bron", kind="regio"))
        s.add(m.AuditEntry(action="source.entry", entity="x"))
    path = tmp_path / "b.jsonl.gz"
    write_backup(engine, path)
    target = make_engine(target_url)
    with target.begin() as conn:
        conn.execute(m.Organisation.__table__.insert().values(code="OLD", name="Oud", kind="regio"))
        conn.execute(m.AuditEntry.__table__.insert().values(action="target.entry", entity="x"))
    with pytest.raises(BackupError, match=r"niet leeg: .*organisations \(1\).*--force"):
        restore_backup(target, path)
    assert _rows(target_url)["organisations"][0][1] == "OLD"  # nothing changed

    restore_backup(target, path, force=True)
    rows = _rows(target_url)
    assert [r[1] for r in rows["organisations"]] == ["SRC"]
    assert [r[4] for r in rows["audit_log"]] == ["source.entry", "backup.restore"]
    target.dispose()


def test_bad_files_and_other_revisions_are_refused_with_a_message(
    engine: Engine, target_url: str, tmp_path: Path
) -> None:
    target = make_engine(target_url)
    junk = tmp_path / "junk.gz"
    junk.write_bytes(b"not gzip at all")
    with pytest.raises(BackupError, match="geen leesbare stek-backup"):
        restore_backup(target, junk)
    other = tmp_path / "other.jsonl.gz"
    with gzip.open(other, "wt") as out:
        out.write(json.dumps({"format": "stek-backup", "version": 1, "revision": "0003"}) + "\n")
    with pytest.raises(BackupError, match="schemaversie 0003"):
        restore_backup(target, other)
    path = tmp_path / "ok.jsonl.gz"
    write_backup(engine, path)
    with gzip.open(path, "rt") as source:
        lines = source.read().splitlines()
    lines.insert(2, json.dumps(["too", "few"]))
    with gzip.open(tmp_path / "broken.jsonl.gz", "wt") as out:
        out.write("\n".join(lines) + "\n")
    with pytest.raises(BackupError, match="verkeerde aantal velden"):
        restore_backup(target, tmp_path / "broken.jsonl.gz")
    with target.connect() as conn:  # all refusals wrote nothing
        assert conn.scalar(select(func.count()).select_from(m.AuditEntry)) == 0
    target.dispose()


def test_cli_backup_and_restore(db_url: str, target_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "cli.jsonl.gz"
    done = runner.invoke(cli, ["backup", str(path), "--database-url", db_url])
    assert done.exit_code == 0, done.output
    assert "Backup geschreven" in done.output
    done = runner.invoke(cli, ["restore", str(path), "--database-url", target_url])
    assert done.exit_code == 0, done.output
    again = runner.invoke(cli, ["restore", str(path), "--database-url", target_url])
    assert again.exit_code == 1 and "niet leeg" in again.output and "--force" in again.output
