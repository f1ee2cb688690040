"""CSV imports through the API: the same transactional importers as the CLI, plus ownership.

Admin may import every CSV kind. A corporation may import its own options and contingents, a
gemeente its own youths and contingents: every row must name the caller's organisation (or
gemeente), and a row may not take over a record that belongs to someone else. Problems come back
as row errors; nothing is written unless the whole file is accepted (the request's unit of work
rolls back on :class:`~store.csvio.ImportFailed`).
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
from store.csvio import ImportFailed, RowError, read_table
from store.importers import ImportReport, import_file

CSV_KINDS = ("organisations", "users", "types", "options", "youths", "contingents")
KINDS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "admin": CSV_KINDS,
    "corporatie": ("options", "contingents"),
    "gemeente": ("youths", "contingents"),
}
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def allowed_kinds(role: str) -> tuple[str, ...]:
    return KINDS_BY_ROLE.get(role, ())


def _ownership_errors(session: Session, actor: Actor, kind: str, data: bytes) -> list[RowError]:
    """Rows of a corporation's or gemeente's file that are not theirs (empty for admin)."""
    if actor.role == "admin":
        return []
    if actor.role == "corporatie":
        column, mine = "corporatie", own_organisation_code(session, actor)
        what = "je eigen corporatie"
    else:
        column, mine = "gemeentecode", own_gemeente(session, actor)
        what = "je eigen gemeente"
    key = {"options": "option_id", "youths": "youth_code", "contingents": column}[kind]
    table = read_table(data, [column, key])
    errors: list[RowError] = []
    keys: dict[str, int] = {}
    for row, values in table.rows:
        if values.get(column, "") != mine:
            errors.append(
                RowError(row, column, f"'{values.get(column, '')}' is niet {what} ({mine})")
            )
        keys[values.get(key, "")] = row
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
    return errors


def import_upload(
    session: Session, actor: Actor, kind: str, filename: str, data: bytes
) -> ImportReport:
    """Check ownership, import ``data`` as ``kind`` and audit it; raises ImportFailed."""
    if kind not in allowed_kinds(actor.role):
        raise Forbidden(f"deze rol mag geen {kind} importeren")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise ImportFailed([RowError(line, None, "bestand bevat een NUL-teken; is het wel CSV?")])
    if errors := _ownership_errors(session, actor, kind, data):
        raise ImportFailed(errors)
    extra: dict[str, Any] = {"today": date.today()} if kind == "youths" else {}
    with tempfile.TemporaryDirectory(prefix="stek-import-") as folder:
        path = Path(folder) / f"{kind}.csv"
        path.write_bytes(data)
        try:
            report = import_file(session, kind, path, **extra)
            session.flush()
        except DBAPIError as exc:  # a value the checks let through but the database refuses
            reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            raise ImportFailed(
                [RowError(None, None, f"de database weigert het bestand: {reason}")]
            ) from exc
    session.flush()
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
    session: Session, actor: Actor, kind: str, filename: str, errors: list[RowError]
) -> None:
    """Audit a refused import (after the caller rolled its writes back)."""
    audit(
        session,
        actor,
        "import.refused",
        "import",
        kind,
        {"file": filename, "errors": len(errors), "first": [str(e) for e in errors[:5]]},
    )
