"""Retention (AVG art. 5(1)(e)): remove or pseudonymise what is past its term.

One job, five kinds, each with its own term in days (``api/settings.py``, docs/retention.md):

``round_snapshots``
    A final round older than the term keeps its outcome and figures (proposals, matches, counts
    per gemeente) but its snapshot loses every young person's personal fields: only the code and
    gemeente stay, and ``snapshot["retention"]`` says what was removed and when. Open rounds
    (created, solving, draft, published, failed) are never touched.
``youths_left``
    A young person placed (``placed_on``) or inactive (``care_end_date``) longer than the term
    ago is pseudonymised: birth date to 1 January of the birth year, income 0, no anchors,
    no-go areas, preferred areas, relations, support provider, limits or regisseur. The row and
    its code stay (matches of final rounds point at it). Someone in an open round is left alone.
``login_attempts``
    Sign-in attempts (e-mail, client address) older than the term are deleted.
``sessions``
    Sessions and API tokens that expired longer than the term ago are deleted.
``audit_entries``
    Audit entries older than the term are deleted along the one guarded path of migration 0008:
    an ``audit.purge`` entry naming the cut-off is written first, then the older rows go. On
    PostgreSQL only the retention role holds DELETE on ``audit_log`` (docs/deployment.md).

The job never commits: the caller's unit of work does, so a failure changes nothing. Every real
run appends a ``retention.run`` audit entry with its counts; a dry run writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, extract, func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from store import models as m

log = logging.getLogger(__name__)

# the sign-in back-off's window (api/auth.py ACCOUNT_CLIENT_WINDOW): attempts stay this long
BACKOFF_WINDOW = timedelta(hours=24)
KINDS = ("round_snapshots", "youths_left", "login_attempts", "sessions", "audit_entries")
OPEN_ROUND_STATUSES = ("created", "solving", "draft", "published", "failed")
PURGE_ACTION = "audit.purge"  # the guarded path of migration 0008 recognises this action
RUN_ACTION = "retention.run"
KEPT_YOUTH_FIELDS = ("code", "gemeente_code")
REMOVED_MESSAGE = (
    "de persoonsgegevens van deze ronde zijn verwijderd (bewaartermijn verstreken op {on}); "
    "uitkomst en cijfers zijn bewaard, de uitleg per jongere niet"
)


@dataclass(frozen=True)
class RetentionTerms:
    """Terms in days per kind (validated by ``api.settings``: whole numbers, not negative)."""

    round_snapshots: int = 365
    youths_left: int = 730
    login_attempts: int = 30
    sessions: int = 30
    audit_entries: int = 1826

    def cutoff(self, kind: str, now: datetime) -> datetime:
        return now - timedelta(days=int(getattr(self, kind)))


@dataclass
class RetentionReport:
    """What a run removed (or, dry, would remove): counts per kind and the cut-offs."""

    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    cutoffs: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # kind -> why it was left alone

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dry_run": self.dry_run, "counts": self.counts}
        out["cutoffs"] = self.cutoffs
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def audit_cutoff_text(dialect: str, cutoff: datetime) -> str:
    """The cut-off as the audit trigger compares it: text in the column's own form on SQLite
    (SQLAlchemy stores ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC), ISO with offset on PostgreSQL."""
    cutoff = cutoff.astimezone(UTC)
    if dialect == "sqlite":
        return cutoff.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    return cutoff.isoformat()


def details_removed(snapshot: dict[str, Any] | None) -> str | None:
    """A Dutch sentence when retention removed this snapshot's personal fields, else None."""
    marker = (snapshot or {}).get("retention")
    if not marker:
        return None
    return REMOVED_MESSAGE.format(on=marker.get("removed_on", "?"))


# --- round snapshots -------------------------------------------------------------------------


def _rounds_due(session: Session, cutoff: date) -> list[m.AllocationRound]:
    rounds = session.scalars(
        select(m.AllocationRound)
        .where(m.AllocationRound.status == "final", m.AllocationRound.month < cutoff)
        .order_by(m.AllocationRound.id)
    ).all()
    return [r for r in rounds if r.snapshot is not None and "retention" not in r.snapshot]


def pruned_snapshot(snapshot: dict[str, Any], today: date) -> dict[str, Any]:
    """The snapshot without personal fields: each young person keeps code and gemeente only."""
    removed: set[str] = set()
    youths = []
    for youth in snapshot.get("youths", []):
        removed.update(k for k in youth if k not in KEPT_YOUTH_FIELDS)
        youths.append({k: youth[k] for k in KEPT_YOUTH_FIELDS if k in youth})
    out = dict(snapshot)
    out["youths"] = youths
    out["retention"] = {"removed_on": today.isoformat(), "fields": sorted(removed)}
    return out


# --- young people who left -------------------------------------------------------------------


def _in_open_round() -> ColumnElement[bool]:
    return exists(
        select(m.Match.id)
        .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
        .join(m.AllocationRound, m.Proposal.round_id == m.AllocationRound.id)
        .where(m.Match.youth_id == m.Youth.id, m.AllocationRound.status.in_(OPEN_ROUND_STATUSES))
    )


def _has_personal_detail() -> ColumnElement[bool]:
    child_tables: tuple[Any, ...] = (
        m.YouthAnchor,
        m.YouthNoGoArea,
        m.YouthPreferredArea,
        m.YouthAcceptedType,
    )
    return or_(
        m.Youth.income != 0,
        m.Youth.support_provider.is_not(None),
        m.Youth.max_rent.is_not(None),
        m.Youth.max_distance_m.is_not(None),
        m.Youth.regisseur_id.is_not(None),
        m.Youth.waiting_since.is_not(None),
        extract("month", m.Youth.birth_date) != 1,
        extract("day", m.Youth.birth_date) != 1,
        *(exists(select(t.youth_id).where(t.youth_id == m.Youth.id)) for t in child_tables),
        exists(
            select(m.YouthRelation.youth_id).where(
                or_(
                    m.YouthRelation.youth_id == m.Youth.id,
                    m.YouthRelation.other_youth_id == m.Youth.id,
                )
            )
        ),
    )


def _youths_due(session: Session, cutoff: date) -> list[m.Youth]:
    left = or_(
        (m.Youth.status == "placed") & (m.Youth.placed_on < cutoff),
        (m.Youth.status == "inactive") & (m.Youth.care_end_date < cutoff),
    )
    return list(
        session.scalars(
            select(m.Youth)
            .where(left, ~_in_open_round(), _has_personal_detail())
            .order_by(m.Youth.id)
        )
    )


def _pseudonymise(session: Session, youth: m.Youth) -> None:
    for table in (m.YouthAnchor, m.YouthNoGoArea, m.YouthPreferredArea, m.YouthAcceptedType):
        session.execute(delete(table).where(table.youth_id == youth.id))
    session.execute(
        delete(m.YouthRelation).where(
            or_(m.YouthRelation.youth_id == youth.id, m.YouthRelation.other_youth_id == youth.id)
        )
    )
    session.execute(
        update(m.Youth)
        .where(m.Youth.id == youth.id)
        .values(
            birth_date=date(youth.birth_date.year, 1, 1),
            income=0.0,
            support_provider=None,
            max_rent=None,
            max_distance_m=None,
            regisseur_id=None,
            waiting_since=None,
        )
    )


# --- the run ---------------------------------------------------------------------------------


def run_retention(
    session: Session,
    terms: RetentionTerms,
    *,
    dry_run: bool = False,
    now: datetime | None = None,
) -> RetentionReport:
    """Remove or pseudonymise everything past its term (or only count it, ``dry_run``)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = RetentionReport(dry_run=dry_run)
    cut = {kind: terms.cutoff(kind, now) for kind in KINDS}
    report.cutoffs = {kind: value.isoformat(timespec="seconds") for kind, value in cut.items()}

    rounds = _rounds_due(session, cut["round_snapshots"].date())
    report.counts["round_snapshots"] = len(rounds)
    youths = _youths_due(session, cut["youths_left"].date())
    report.counts["youths_left"] = len(youths)
    # never the attempts the sign-in back-off still reads (its 24-hour window, api/auth.py),
    # whatever the term: a term of 0 days would otherwise reset every back-off each run
    attempts = m.LoginAttempt.at < min(cut["login_attempts"], now - BACKOFF_WINDOW)
    report.counts["login_attempts"] = _count(session, m.LoginAttempt, attempts)
    tokens = m.AuthToken.expires_at < cut["sessions"]
    # a sign-in half done (password right, second factor due) is of no use once it expired, and
    # may hold a TOTP secret being enrolled: it goes at its own expiry, counted with the sessions
    challenges = m.SignInChallenge.expires_at < now
    report.counts["sessions"] = _count(session, m.AuthToken, tokens) + _count(
        session, m.SignInChallenge, challenges
    )
    entries = m.AuditEntry.at < cut["audit_entries"]
    report.counts["audit_entries"] = _count(session, m.AuditEntry, entries)
    if dry_run:
        return report

    for rnd in rounds:
        rnd.snapshot = pruned_snapshot(rnd.snapshot or {}, now.date())
    for youth in youths:
        _pseudonymise(session, youth)
    session.execute(delete(m.LoginAttempt).where(attempts))
    session.execute(delete(m.AuthToken).where(tokens))
    session.execute(delete(m.SignInChallenge).where(challenges))
    session.flush()
    if report.counts["audit_entries"]:
        _purge_audit_or_skip(session, report, now, cut["audit_entries"])
    session.add(
        m.AuditEntry(
            at=now,
            action=RUN_ACTION,
            entity="retention",
            entity_id=None,
            detail={**report.as_dict(), "rounds": [r.id for r in rounds]},
        )
    )
    session.flush()
    log.info("retention run", extra={"retention": report.as_dict()})
    return report


def _count(session: Session, model: Any, where: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(where)) or 0)


def _purge_audit_or_skip(
    session: Session, report: RetentionReport, now: datetime, cutoff: datetime
) -> None:
    """Purge the audit log; on PostgreSQL in a savepoint, so a role without DELETE on
    ``audit_log`` (the application's) still does the other kinds and reports this one skipped."""
    expected = report.counts["audit_entries"]
    if session.get_bind().dialect.name != "postgresql":
        _purge_audit(session, now, cutoff, expected)
        return
    try:
        with session.begin_nested():
            _purge_audit(session, now, cutoff, expected)
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        log.warning("retention: audit entries left alone (%s); run as the retention role", reason)
        report.counts["audit_entries"] = 0
        report.skipped["audit_entries"] = reason


def _purge_audit(session: Session, now: datetime, cutoff: datetime, expected: int) -> None:
    """Delete audit entries before ``cutoff`` along migration 0008's guarded path: the purge
    entry must be the newest entry when the rows go, so it is written and flushed first."""
    dialect = session.get_bind().dialect.name
    session.add(
        m.AuditEntry(
            at=now,
            action=PURGE_ACTION,
            entity="audit_log",
            entity_id=None,
            detail={"before": audit_cutoff_text(dialect, cutoff), "entries": expected},
        )
    )
    session.flush()
    session.execute(delete(m.AuditEntry).where(m.AuditEntry.at < cutoff))
