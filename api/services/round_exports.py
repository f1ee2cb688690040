"""Exports of one round: its proposal, its unmatched young people and its decisions.

Each export is a table written as CSV (UTF-8 with BOM, ``;``, so Excel opens it as it is) or as
.xlsx. Scoping is the reads' own: the round through ``readable_round`` (corporations only
published or final rounds), the matches through ``review.visible_matches`` (a corporation its own
options, a gemeente its gemeente, admin all), and the unmatched young people as the review page
shows them (a corporation only counts per reason). Codes are written as their Dutch labels, and
every export writes an audit entry.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.errors import InvalidInput
from api.formatting import nl_number
from api.services.review import visible_matches
from api.services.rounds import Actor, NotFound, WorkflowError, audit, readable_round
from api.services.youths import age_band
from matcher.glossary import label
from store import models as m
from store.csvio import safe_csv_text

Kind = Literal["proposal", "unmatched", "decisions"]
Format = Literal["csv", "xlsx"]
KINDS: tuple[Kind, ...] = get_args(Kind)
FORMATS: tuple[Format, ...] = get_args(Format)
# The pages speak Dutch: their file names (``voorstel.csv``) use these.
PAGE_KINDS: dict[str, Kind] = {
    "voorstel": "proposal",
    "zonder-plek": "unmatched",
    "besluiten": "decisions",
}
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_VERSION = 10_000
LOCAL_TIME = ZoneInfo("Europe/Amsterdam")

Cell = str | int | float | None


class InvalidExport(InvalidInput):
    """A request for an export that does not exist (HTTP 422); the message is Dutch."""


@dataclass(frozen=True)
class Table:
    """One export as rows: ``title`` names the sheet, ``name`` the file (without extension)."""

    title: str
    name: str
    header: list[str]
    rows: list[list[Cell]]


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes
    rows: int


# --------------------------------------------------------------------------- input


def parse_kind(text: str, page: bool = False) -> Kind:
    """The export kind named ``text`` (page names in Dutch, API names in English)."""
    names: dict[str, Kind] = PAGE_KINDS if page else {k: k for k in KINDS}
    if text not in names:
        field = "bestand" if page else "kind"
        raise InvalidExport(f"{field}: onbekende soort export {text!r}; kies {_or(list(names))}")
    return names[text]


def parse_format(text: str, field: str = "format") -> Format:
    for fmt in FORMATS:
        if fmt == text:
            return fmt
    raise InvalidExport(f"{field}: onbekend bestandsformaat {text!r}; kies {_or(list(FORMATS))}")


def parse_version(text: str | None, field: str = "versie") -> int | None:
    """A proposal version from a query string: empty means the latest."""
    if text is None or text == "":
        return None
    try:
        version = int(text)
    except ValueError:
        version = 0
    if not 1 <= version <= MAX_VERSION:
        raise InvalidExport(
            f"{field}: {text!r} is geen versie; geef een geheel getal van 1 tot {MAX_VERSION}"
        )
    return version


def _or(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" of {names[-1]}" if len(names) > 1 else names[0]


# --------------------------------------------------------------------------- cells


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")


def _money(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


# --------------------------------------------------------------------------- tables


def _proposal(session: Session, rnd: m.AllocationRound, version: int | None) -> m.Proposal:
    proposals = {p.version: p for p in rnd.proposals}
    if version is None:
        if not proposals:
            raise WorkflowError(f"ronde {rnd.id} heeft nog geen voorstel")
        return proposals[max(proposals)]
    if version not in proposals:
        raise NotFound(f"versie {version} van ronde {rnd.id} bestaat niet")
    return proposals[version]


def _gemeente_names(session: Session) -> dict[str, str]:
    rows = session.execute(select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente"))
    return {code: name for code, name in rows}


def _corporation(option: m.HousingOption) -> str:
    return option.corporation.name if option.corporation else "zorgaanbieder"


def proposal_table(
    session: Session, actor: Actor, rnd: m.AllocationRound, version: int | None
) -> Table:
    """The matches of one proposal version (default the latest) that ``actor`` may see."""
    proposal = _proposal(session, rnd, version)
    gemeenten = _gemeente_names(session)
    rows: list[list[Cell]] = []
    for x in visible_matches(session, actor, proposal):
        option, youth = x.option, x.youth
        rows.append(
            [
                proposal.version,
                youth.code,
                age_band(youth.birth_date, rnd.month),
                youth.household_size,
                option.code,
                option.type.name,
                gemeenten.get(option.gemeente_code, option.gemeente_code),
                _corporation(option),
                _money(option.kale_huur),
                _money(option.servicekosten),
                label("match_status", x.status),
                label("reject_reason", x.reason_code) if x.reason_code else "",
                x.reason_text or "",
            ]
        )
    return Table(
        title=f"Voorstel versie {proposal.version}",
        name=f"ronde-{rnd.id}-voorstel-v{proposal.version}",
        header=[
            "Versie",
            "Jongere",
            "Leeftijd",
            "Huishouden",
            "Woonplek",
            "Woonvorm",
            "Gemeente",
            "Corporatie",
            "Kale huur",
            "Servicekosten",
            "Status",
            "Reden afwijzing",
            "Toelichting",
        ],
        rows=rows,
    )


def unmatched_table(
    session: Session, actor: Actor, rnd: m.AllocationRound, version: int | None
) -> Table:
    """The young people without a place in one proposal version, as the review page shows
    them: admin all, a gemeente those of its gemeente, a corporation only counts per reason."""
    proposal = _proposal(session, rnd, version)
    entries: dict[str, dict[str, object]] = (proposal.result or {}).get("unmatched", {})
    name = f"ronde-{rnd.id}-zonder-plek-v{proposal.version}"
    title = f"Zonder plek versie {proposal.version}"
    if actor.role == "corporatie":
        counts = Counter(str(e.get("reason", "")) for e in entries.values())
        return Table(
            title=title,
            name=name,
            header=["Versie", "Reden", "Aantal"],
            rows=[
                [proposal.version, label("unmatched_reason", reason), n]
                for reason, n in sorted(counts.items())
            ],
        )
    home = {c: g for c, g in session.execute(select(m.Youth.code, m.Youth.gemeente_code))}
    allowed: str | None = None
    if actor.role == "gemeente":
        org = session.get(m.Organisation, actor.organisation_id)
        allowed = org.gemeente_code if org is not None else None
    gemeenten = _gemeente_names(session)
    rows: list[list[Cell]] = []
    for code, entry in sorted(entries.items()):
        if actor.role == "gemeente" and (allowed is None or home.get(code) != allowed):
            continue
        gemeente = home.get(code, "")
        rows.append(
            [
                proposal.version,
                code,
                gemeenten.get(gemeente, gemeente),
                label("unmatched_reason", str(entry.get("reason", ""))),
                str(entry.get("message", "")),
            ]
        )
    return Table(
        title=title,
        name=name,
        header=["Versie", "Jongere", "Gemeente", "Reden", "Toelichting"],
        rows=rows,
    )


def decisions_table(
    session: Session, actor: Actor, rnd: m.AllocationRound, version: int | None
) -> Table:
    """Every decided match ``actor`` may see: who decided what, when and why, and who
    confirmed it. All versions of the round unless ``version`` names one."""
    proposals = [_proposal(session, rnd, version)] if version is not None else rnd.proposals
    users = {u.id: u for u in session.scalars(select(m.User))}
    gemeenten = _gemeente_names(session)

    def who(user_id: int | None) -> tuple[str, str]:
        user = users.get(user_id) if user_id is not None else None
        return (user.name, user.organisation.name) if user is not None else ("", "")

    rows: list[list[Cell]] = []
    for proposal in proposals:
        for x in visible_matches(session, actor, proposal):
            if x.status == "proposed":
                continue
            decider, decider_org = who(x.decided_by_id)
            if x.decided_by_id is None and x.status in ("accepted", "confirmed"):
                decider = "vastgehouden uit een eerdere versie"
            confirmer, _ = who(x.confirmed_by_id)
            rows.append(
                [
                    proposal.version,
                    x.youth.code,
                    x.option.code,
                    x.option.type.name,
                    gemeenten.get(x.option.gemeente_code, x.option.gemeente_code),
                    _corporation(x.option),
                    label("match_status", x.status),
                    label("reject_reason", x.reason_code) if x.reason_code else "",
                    x.reason_text or "",
                    decider,
                    decider_org,
                    _when(x.decided_at),
                    confirmer,
                    _when(x.confirmed_at),
                ]
            )
    suffix = f"-v{version}" if version is not None else ""
    return Table(
        title="Besluiten" + (f" versie {version}" if version is not None else ""),
        name=f"ronde-{rnd.id}-besluiten{suffix}",
        header=[
            "Versie",
            "Jongere",
            "Woonplek",
            "Woonvorm",
            "Gemeente",
            "Corporatie",
            "Besluit",
            "Reden afwijzing",
            "Toelichting",
            "Besloten door",
            "Organisatie",
            "Besloten op",
            "Bevestigd door",
            "Bevestigd op",
        ],
        rows=rows,
    )


TABLES = {"proposal": proposal_table, "unmatched": unmatched_table, "decisions": decisions_table}


# --------------------------------------------------------------------------- files


def to_csv(table: Table) -> bytes:
    """UTF-8 with BOM, ``;``-separated, decimals with a comma; every cell through
    ``store.csvio.spreadsheet_safe`` (text that would start a formula gets a ``'``, decision 21).
    """
    rows = ([_csv_cell(v) for v in row] for row in table.rows)
    return safe_csv_text(table.header, rows).encode("utf-8-sig")


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return nl_number(value, 2).replace(".", "")
    return str(value)


def to_xlsx(table: Table) -> bytes:
    """One sheet; text is stored as text (never a formula), numbers as numbers."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = table.title[:31]  # Excel's limit on sheet names
    sheet.append(list(table.header))
    for row in table.rows:
        sheet.append(list(row))
    for cells in sheet.iter_rows():
        for cell in cells:
            # openpyxl reads a string starting with "=" as a formula: keep it text.
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_round(
    session: Session,
    actor: Actor,
    round_id: int,
    kind: Kind,
    fmt: Format,
    version: int | None = None,
) -> ExportFile:
    """One export of round ``round_id`` as ``actor`` may read it; audited.

    NotFound (no such round or version), Forbidden (a corporation and a round not yet
    published, or a role that does not review), WorkflowError (no proposal yet).
    """
    rnd = readable_round(session, round_id, actor)
    table = TABLES[kind](session, actor, rnd, version)
    content = to_csv(table) if fmt == "csv" else to_xlsx(table)
    audit(
        session,
        actor,
        f"export.round.{kind}",
        "round",
        rnd.id,
        {"format": fmt, "version": version, "rows": len(table.rows)},
    )
    return ExportFile(f"{table.name}.{fmt}", MEDIA_TYPES[fmt], content, len(table.rows))
