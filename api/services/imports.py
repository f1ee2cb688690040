"""CSV imports through the API: the same transactional importers as the CLI, plus ownership.

Admin may import every CSV kind. A corporation may import its own options and contingents, a
gemeente its own youths and contingents: every row must name the caller's organisation (or
gemeente), and a row may not take over a record that belongs to someone else. Problems come back
as row errors; nothing is written unless the whole file is accepted (the request's unit of work
rolls back on :class:`~store.csvio.ImportFailed`). The file is read from disk in passes, never
held in memory whole, and at most ``max_errors`` errors are kept (all are counted).
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden, audit
from api.services.scope import own_gemeente, own_organisation_code
from store import models as m
from store.csvio import MAX_ERRORS, ImportFailed, RowError, RowErrors, read_table
from store.importers import ImportReport, import_file

CSV_KINDS = ("organisations", "users", "types", "options", "youths", "contingents")
KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "admin": CSV_KINDS,
    "corporatie": ("options", "contingents"),
    "gemeente": ("youths", "contingents"),
}
"""Upload cap of the admin page's import form (``/beheer/import``); the API takes
``settings.max_import_bytes``."""
CHUNK = 1000  # keys per ownership lookup: well under SQLite's variable limit


def allowed_kinds(role: str) -> tuple[str, ...]:
    return KINDS_BY_ROLE.get(role, ())


def _ownership_errors(
    session: Session, actor: Actor, kind: str, path: Path, max_errors: int
) -> RowErrors:
    """Rows of a corporation's or gemeente's file that are not theirs (none for admin).

    Streams the file; existing records are looked up per chunk of keys.
    """
    errors = RowErrors(max_errors)
    if actor.role == "admin":
        return errors
    if actor.role == "corporatie":
        column, mine = "corporatie", own_organisation_code(session, actor)
        what = "je eigen corporatie"
    else:
        column, mine = "gemeentecode", own_gemeente(session, actor)
        what = "je eigen gemeente"
    key = {"options": "option_id", "youths": "youth_code", "contingents": column}[kind]
    table = read_table(path, [column, key], max_errors=max_errors)

    def check(keys: dict[str, int]) -> None:
        # an upsert may not move someone else's record into your organisation
        if kind == "options":
            for code, corp in session.execute(
                select(m.HousingOption.code, m.Organisation.code)
                .outerjoin(m.Organisation, m.HousingOption.corporation_id == m.Organisation.id)
                .where(m.HousingOption.code.in_(list(keys)))
            ):
                if corp != mine:
                    errors.append(
                        RowError(keys[code], key, f"woning {code} is van een andere eigenaar")
                    )
        elif kind == "youths":
            for code, gemeente in session.execute(
                select(m.Youth.code, m.Youth.gemeente_code).where(m.Youth.code.in_(list(keys)))
            ):
                if gemeente != mine:
                    errors.append(
                        RowError(keys[code], key, f"jongere {code} staat in een andere gemeente")
                    )

    keys: dict[str, int] = {}
    for row, values in table.rows:
        if values.get(column, "") != mine:
            errors.append(
                RowError(row, column, f"'{values.get(column, '')}' is niet {what} ({mine})")
            )
        keys[values.get(key, "")] = row
        if len(keys) >= CHUNK:
            check(keys)
            keys = {}
    if keys:
        check(keys)
    return errors


def import_upload(
    session: Session,
    actor: Actor,
    kind: str,
    filename: str,
    data: bytes | Path,
    *,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Check ownership, import ``data`` (the file's bytes or a path to it) as ``kind`` and audit
    it; raises ImportFailed with at most ``max_errors`` errors listed (all counted)."""
    if kind not in allowed_kinds(actor.role):
        raise Forbidden(f"deze rol mag geen {kind} importeren")
    if isinstance(data, bytes):
        with tempfile.TemporaryDirectory(prefix="stek-import-") as folder:
            path = Path(folder) / f"{kind}.csv"
            path.write_bytes(data)
            return import_upload(session, actor, kind, filename, path, max_errors=max_errors)
    if errors := _ownership_errors(session, actor, kind, data, max_errors):
        raise ImportFailed(errors)
    extra: dict[str, Any] = {"today": date.today()} if kind == "youths" else {}
    try:
        report = import_file(session, kind, data, max_errors=max_errors, **extra)
        session.flush()
    except DBAPIError as exc:  # a value the checks let through but the database refuses
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        raise ImportFailed(
            [RowError(None, None, f"de database weigert het bestand: {reason}")]
        ) from exc
    audit(
        session,
        actor,
        f"import.{kind}",
        "import",
        kind,
        {"file": filename, "inserted": report.inserted, "updated": report.updated},
    )
    return report


def record_refused(
    session: Session,
    actor: Actor,
    kind: str,
    filename: str,
    errors: ImportFailed | list[RowError],
) -> None:
    """Audit a refused import (after the caller rolled its writes back)."""
    failed = errors if isinstance(errors, ImportFailed) else ImportFailed(errors)
    audit(
        session,
        actor,
        "import.refused",
        "import",
        kind,
        {"file": filename, "errors": failed.total, "first": [str(e) for e in failed.errors[:5]]},
    )
