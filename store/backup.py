"""Backup and restore of the whole database (issue 17 item 6): every table, every row.

A backup is one gzip file of JSON lines: a header (format, stek's migration revision, when,
the database kind), then per table a line naming it and its columns, then its rows as lists.
Values are written by column type (dates and times ISO, binary base64, JSON as JSON), so a
backup from SQLite restores into PostgreSQL and back. ``stek export`` is not a backup: it
writes the import CSVs and leaves out rounds, proposals, matches, notifications and the audit
log.

Restore goes into a database migrated to the same revision. It refuses a target that holds
data (any row outside the seeded ``policy`` table) unless ``force``; with ``force`` the target's
rows go first. The audit log is append-only (migrations 0001, 0005, 0008): inserting its rows
needs nothing special, but emptying a non-empty target's log does. That is done explicitly and
only with ``force``: on PostgreSQL ``ALTER TABLE audit_log DISABLE TRIGGER`` for that one
transaction (so only the owner can do it), on SQLite the delete trigger is dropped and created
again from its own stored text inside the transaction. Everything happens in one transaction; a
failure leaves the target as it was. After a restore one ``backup.restore`` audit entry is
appended.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    Table,
    func,
    insert,
    select,
    text,
)

from store.migrate import current
from store.models import AuditEntry, Base

FORMAT = "stek-backup"
VERSION = 1
SEEDED = {"policy"}  # filled by the first migration: replaced, not counted as data
BATCH = 1000


class BackupError(Exception):
    """A backup cannot be restored here (wrong file, other revision, target not empty)."""


@dataclass
class BackupReport:
    revision: str
    rows: dict[str, int] = field(default_factory=dict)


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def _encode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, LargeBinary):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    return value


def _order(table: Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


def write_backup(engine: Engine, path: Path) -> BackupReport:
    """Write every table of ``engine``'s database to ``path`` (one consistent read)."""
    revision = _revision(engine)
    report = BackupReport(revision=revision)
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with (
        engine.connect().execution_options(**options) as conn,
        conn.begin(),
        gzip.open(path, "wt", encoding="utf-8") as out,
    ):
        header = {
            "format": FORMAT,
            "version": VERSION,
            "revision": revision,
            "created_at": datetime.now(UTC).isoformat(),
            "database": engine.dialect.name,
        }
        out.write(json.dumps(header) + "\n")
        for table in tables():
            columns = list(table.columns)
            out.write(json.dumps({"table": table.name, "columns": [c.name for c in columns]}))
            out.write("\n")
            count = 0
            for row in conn.execute(select(table).order_by(*_order(table))):
                values = [_encode(c.type, v) for c, v in zip(columns, row, strict=True)]
                out.write(json.dumps(values, allow_nan=False) + "\n")
                count += 1
            report.rows[table.name] = count
    return report


def _revision(engine: Engine) -> str:
    revision = current(engine.url.render_as_string(hide_password=False))
    if not revision:
        raise BackupError("de database heeft geen schema: voer eerst 'stek db upgrade' uit")
    return revision


def _read(path: Path) -> Iterator[Any]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BackupError(f"{path}: regel {number} is geen JSON ({exc.msg})") from exc
    except (OSError, EOFError) as exc:
        raise BackupError(f"{path}: geen leesbare stek-backup ({exc})") from exc


def holds_data(conn: Connection) -> dict[str, int]:
    """Rows per table outside the seeded ones (empty: a freshly migrated database)."""
    out = {}
    for table in tables():
        if table.name in SEEDED:
            continue
        n = conn.scalar(select(func.count()).select_from(table)) or 0
        if n:
            out[table.name] = int(n)
    return out


def restore_backup(engine: Engine, path: Path, *, force: bool = False) -> BackupReport:
    """Restore ``path`` into ``engine``'s database (see the module text for the rules)."""
    revision = _revision(engine)
    lines = _read(path)
    header = next(lines, None)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError(f"{path}: geen stek-backup (kopregel ontbreekt)")
    if header.get("revision") != revision:
        raise BackupError(
            f"{path}: backup van schemaversie {header.get('revision')}, deze database staat op "
            f"{revision}; zet een database op dezelfde versie klaar"
        )
    report = BackupReport(revision=revision)
    known = {t.name: t for t in tables()}
    with engine.begin() as conn:
        present = holds_data(conn)
        if present and not force:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(present.items()))
            raise BackupError(
                f"de doeldatabase is niet leeg: {listed}; gebruik --force om te overschrijven"
            )
        _empty(conn, audit_log_too=bool(present.get(AuditEntry.__tablename__)))
        table: Table | None = None
        columns: list[Any] = []
        batch: list[dict[str, Any]] = []
        for item in lines:
            if isinstance(item, dict):
                _flush(conn, table, batch, report)
                name = item.get("table")
                if name not in known:
                    raise BackupError(f"{path}: onbekende tabel {name!r}")
                table = known[name]
                try:
                    columns = [table.columns[c] for c in item["columns"]]
                except KeyError as exc:
                    raise BackupError(f"{path}: tabel {name}: onbekende kolom {exc}") from exc
                report.rows[table.name] = 0
                continue
            if table is None or not isinstance(item, list) or len(item) != len(columns):
                raise BackupError(
                    f"{path}: rij buiten een tabel of met het verkeerde aantal velden"
                )
            batch.append({c.name: _decode(c.type, v) for c, v in zip(columns, item, strict=True)})
            if len(batch) >= BATCH:
                _flush(conn, table, batch, report)
        _flush(conn, table, batch, report)
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
        conn.execute(
            insert(AuditEntry).values(
                at=datetime.now(UTC),
                action="backup.restore",
                entity="database",
                entity_id=None,
                detail={
                    "file": path.name,
                    "created_at": header.get("created_at"),
                    "rows": sum(report.rows.values()),
                    "force": force,
                },
            )
        )
    return report


def _flush(
    conn: Connection, table: Table | None, batch: list[dict[str, Any]], report: BackupReport
) -> None:
    if table is None or not batch:
        return
    rows = batch
    if any(fk.column.table is table for fk in table.foreign_keys):
        rows = _parents_first(table, batch)  # areas: a wijk after its gemeente
    conn.execute(insert(table), rows)
    report.rows[table.name] += len(batch)
    batch.clear()


def _parents_first(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a self-referencing table in an order where each parent comes before its child
    (within this batch; batches follow the backup's order, which is by primary key)."""
    fk = next(fk for fk in table.foreign_keys if fk.column.table is table)
    key, parent = fk.column.name, fk.parent.name
    done: set[Any] = set()
    inside = {row[key] for row in rows}
    ordered: list[dict[str, Any]] = []
    waiting = list(rows)
    while waiting:
        later = []
        for row in waiting:
            ref = row.get(parent)
            if ref is None or ref in done or ref not in inside:
                ordered.append(row)
                done.add(row[key])
            else:
                later.append(row)
        if len(later) == len(waiting):  # a cycle: let the database say what is wrong
            ordered.extend(later)
            break
        waiting = later
    return ordered


def _empty(conn: Connection, *, audit_log_too: bool) -> None:
    """Delete every row (children first); the audit log through its explicit switch."""
    for table in reversed(tables()):
        if table.name == AuditEntry.__tablename__:
            if audit_log_too:
                _empty_audit_log(conn)
            continue
        conn.execute(table.delete())


def _empty_audit_log(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Owner only; ALTER TABLE is transactional, so the trigger is off for this transaction.
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        conn.execute(text("DELETE FROM audit_log"))
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
        return
    stored = conn.scalar(
        text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
        {"n": "audit_log_no_delete"},
    )
    if stored is None:
        raise BackupError("de database mist de beschermtrigger van het auditlog")
    conn.execute(text("DROP TRIGGER audit_log_no_delete"))
    conn.execute(text("DELETE FROM audit_log"))
    conn.execute(text(stored))


def _reset_sequences(conn: Connection) -> None:
    """Serial ids continue after the restored rows (PostgreSQL)."""
    for table in tables():
        if "id" not in table.columns or not table.columns["id"].primary_key:
            continue
        sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        if sequence:
            conn.execute(
                text(
                    f"SELECT setval('{sequence}', COALESCE((SELECT max(id) FROM {table.name}), 1),"
                    f" (SELECT max(id) FROM {table.name}) IS NOT NULL)"
                )
            )
