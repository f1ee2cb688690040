"""CSV exports through the API, scoped like the reads (see :mod:`api.services.scope`).

The canonical rows come from :func:`store.exporters.export_rows`; rows outside the caller's scope
are dropped by their organisation or gemeente column. Youths are exported for admin only, as the
admin view: income, max_rent, anchors, no-go areas, companions and conflicts stay blank (they
belong to the youth's regisseur; a full backup goes through the CLI on the server). Every export
is audited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.services.rounds import Actor, Forbidden, audit
from api.services.scope import own_gemeente, own_organisation_code
from store.csvio import HEADERS, safe_csv_text
from store.exporters import export_rows as canonical_rows

ALL_ROLES = ("admin", "gemeente", "corporatie", "regisseur", "planner")
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    "organisations": ALL_ROLES,
    "types": ALL_ROLES,
    "options": ALL_ROLES,
    "contingents": ("admin", "gemeente", "corporatie", "planner"),
    "users": ("admin",),
    "youths": ("admin",),
}


def export_rows(session: Session, actor: Actor, kind: str) -> tuple[str, int]:
    """The CSV text of ``kind`` as ``actor`` may see it, and its row count.

    Cells that a spreadsheet would run as a formula are guarded (``'`` in front), as in every
    export; the importers take the guard off again.
    """
    if actor.role not in ROLES_BY_KIND.get(kind, ()):
        raise Forbidden(f"deze rol mag geen {kind} exporteren")
    header = HEADERS[kind]
    rows = canonical_rows(session, kind, include_no_go=False, include_case_details=False)
    keep_column: str | None = None
    mine: str | None = None
    if actor.role == "corporatie" and kind in ("options", "contingents"):
        keep_column, mine = "corporatie", own_organisation_code(session, actor)
    elif actor.role == "gemeente" and kind in ("options", "contingents"):
        keep_column, mine = "gemeentecode", own_gemeente(session, actor)
    if keep_column is not None:
        index = header.index(keep_column)
        rows = [r for r in rows if r[index] == mine]
    audit(session, actor, f"export.{kind}", "export", kind, {"rows": len(rows)})
    return safe_csv_text(header, rows), len(rows)
