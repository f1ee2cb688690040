"""Notifications: an in-app inbox per user, and e-mail through SMTP when a host is configured.

Events: a round is published (every active corporation or gemeente user whose organisation has
matches to decide hears how many), a round is finalised (every regisseur whose young people are
placed hears which, by youth code). The inbox messages are written in the caller's transaction;
the e-mails wait in ``session.info`` and go out only after that transaction commits (a rolled
back publish sends nothing). A failing SMTP server is logged, never an error for the publish.
Messages hold no personal data beyond youth codes.

Settings come from ``session.info["settings"]`` (the app puts its own there) or else from the
environment (``get_settings``), so the CLI and the services mail as the server does.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage

from sqlalchemy import ColumnElement, event, func, select
from sqlalchemy.orm import Session

from api.errors import NotFound
from api.formatting import nl_month
from api.settings import Settings, get_settings
from store import models as m

log = logging.getLogger(__name__)

SETTINGS_KEY = "settings"
_OUTBOX_KEY = "stek.outbox"
INBOX_LIMIT = 200


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str


# --------------------------------------------------------------------------- the inbox


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's messages are unread (for the header)."""
    stmt = (
        select(func.count())
        .select_from(m.Notification)
        .where(m.Notification.user_id == user_id, m.Notification.read_at.is_(None))
    )
    return int(session.scalar(stmt) or 0)


def inbox(session: Session, user_id: int, limit: int = INBOX_LIMIT) -> list[m.Notification]:
    """The user's messages, newest first (unread and read)."""
    stmt = (
        select(m.Notification)
        .where(m.Notification.user_id == user_id)
        .order_by(m.Notification.created_at.desc(), m.Notification.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


class MessageNotFound(NotFound):
    """No such message for this user (HTTP 404)."""


def _latest_proposal(session: Session, round_id: int) -> m.Proposal | None:
    return session.scalars(
        select(m.Proposal)
        .where(m.Proposal.round_id == round_id)
        .order_by(m.Proposal.version.desc())
        .limit(1)
    ).first()


def mark_read(session: Session, user_id: int, notification_id: int) -> m.Notification:
    """Mark one of the user's own messages read; another user's message is NotFound (a
    stranger learns nothing about which ids exist)."""
    found = session.get(m.Notification, notification_id)
    if found is None or found.user_id != user_id:
        raise MessageNotFound(f"bericht {notification_id} bestaat niet")
    if found.read_at is None:
        found.read_at = datetime.now(UTC)
    return found


def mark_all_read(session: Session, user_id: int) -> int:
    """Mark every unread message of the user read; returns how many."""
    now = datetime.now(UTC)
    unread = session.scalars(
        select(m.Notification).where(
            m.Notification.user_id == user_id, m.Notification.read_at.is_(None)
        )
    ).all()
    for message in unread:
        message.read_at = now
    return len(unread)


def _notify(
    session: Session,
    user: m.User,
    kind: str,
    round_id: int | None,
    subject: str,
    body: str,
    link: str,
) -> None:
    session.add(
        m.Notification(
            user_id=user.id,
            kind=kind,
            round_id=round_id,
            subject=subject,
            body=body,
            link=link,
            created_at=datetime.now(UTC),
        )
    )
    _queue_mail(
        session,
        Mail(
            user.email,
            f"[stek] {subject}",
            f"{body}\n\nJe vindt dit bericht ook in stek onder Berichten.\n",
        ),
    )


# --------------------------------------------------------------------------- events


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def round_published(session: Session, rnd: m.AllocationRound) -> int:
    """Tell every active user who decides matches in the round's latest proposal how many wait:
    a corporation's users for the matches on its options, a gemeente's users for those on
    options without a corporation in their gemeente (as ``rounds.may_decide_match``). Returns
    the number of messages."""
    proposal = _latest_proposal(session, rnd.id)
    if proposal is None:
        return 0
    by_corporation: dict[int, int] = defaultdict(int)
    by_gemeente: dict[str, int] = defaultdict(int)
    waiting = session.execute(
        select(m.HousingOption.corporation_id, m.HousingOption.gemeente_code)
        .join(m.Match, m.Match.option_id == m.HousingOption.id)
        .where(m.Match.proposal_id == proposal.id, m.Match.status == "proposed")
    )
    for corporation_id, gemeente_code in waiting:
        if corporation_id is not None:
            by_corporation[corporation_id] += 1
        else:
            by_gemeente[gemeente_code] += 1
    month = nl_month(rnd.month)
    groups: list[tuple[int, str, list[m.User]]] = []
    for corporation_id, n in sorted(by_corporation.items()):
        corporation = session.get(m.Organisation, corporation_id)
        name = corporation.name if corporation is not None else ""
        users = _active_users(session, m.User.organisation_id == corporation_id, "corporatie")
        groups.append((n, f"woningen van {name}", users))
    for gemeente_code, n in sorted(by_gemeente.items()):
        in_gemeente = m.User.organisation.has(
            (m.Organisation.kind == "gemeente") & (m.Organisation.gemeente_code == gemeente_code)
        )
        users = _active_users(session, in_gemeente, "gemeente")
        groups.append((n, "woonplekken zonder corporatie in jouw gemeente", users))
    sent = 0
    for n, places, users in groups:
        subject = (
            f"Ronde {month} gepubliceerd: "
            f"{_plural(n, 'match wacht', 'matches wachten')} op jouw beslissing"
        )
        body = (
            f"Het voorstel voor {month} (versie {proposal.version}) is gepubliceerd. "
            f"{_plural(n, 'match', 'matches')} op {places} "
            f"{'wacht' if n == 1 else 'wachten'} op een beslissing: accepteren of afwijzen."
        )
        link = f"/beoordelen?ronde={rnd.id}"
        for user in users:
            _notify(session, user, "round_published", rnd.id, subject, body, link)
            sent += 1
    return sent


def round_finalised(session: Session, rnd: m.AllocationRound) -> int:
    """Tell every active regisseur which of their young people the round placed (youth codes
    only). Returns the number of messages."""
    proposal = _latest_proposal(session, rnd.id)
    if proposal is None:
        return 0
    placed: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(m.Youth.regisseur_id, m.Youth.code)
        .join(m.Match, m.Match.youth_id == m.Youth.id)
        .where(m.Match.proposal_id == proposal.id, m.Youth.regisseur_id.is_not(None))
    )
    for regisseur_id, code in rows:
        if regisseur_id is not None:
            placed[regisseur_id].append(code)
    month = nl_month(rnd.month)
    sent = 0
    for user_id, codes in sorted(placed.items()):
        user = session.get(m.User, user_id)
        if user is None or not user.active:
            continue
        codes.sort()
        subject = (
            f"Ronde {month} afgerond: "
            f"{_plural(len(codes), 'jongere', 'jongeren')} uit jouw caseload geplaatst"
        )
        body = f"De ronde van {month} is afgerond. Geplaatst: {', '.join(codes)}."
        _notify(session, user, "round_final", rnd.id, subject, body, "/regisseur")
        sent += 1
    return sent


def _agreement(session: Session, change: m.ContingentChange) -> str:
    """ "Woonstichting X in 's-Hertogenbosch, 2027 (Kamers met Aandacht)" for a message."""
    gemeente = session.scalars(
        select(m.Area.name).where(m.Area.code == change.gemeente_code, m.Area.level == "gemeente")
    ).first()
    kind = f" ({change.type.name})" if change.type is not None else ""
    return f"{change.corporation.name} in {gemeente or change.gemeente_code}, {change.year}{kind}"


def contingent_proposed(session: Session, change: m.ContingentChange, by_kind: str) -> int:
    """Tell the other party of an agreement (the corporation's users, or the gemeente's) that
    a change waits for them. ``by_kind``: the proposing organisation's kind. Returns the
    number of messages."""
    if by_kind == "corporatie":
        in_gemeente = m.User.organisation.has(
            (m.Organisation.kind == "gemeente")
            & (m.Organisation.gemeente_code == change.gemeente_code)
        )
        users = _active_users(session, in_gemeente, "gemeente")
    else:
        users = _active_users(
            session, m.User.organisation_id == change.corporation_id, "corporatie"
        )
    what = _agreement(session, change)
    old = "geen afspraak" if change.old_amount is None else str(change.old_amount)
    subject = f"Voorstel contingent {what}: {old} → {change.new_amount}"
    body = (
        f"Er is een voorstel om het contingent van {what} te wijzigen van {old} naar "
        f"{change.new_amount} plaatsen. Het telt pas als jouw organisatie het accepteert."
        + (f" Toelichting: {change.note}" if change.note else "")
    )
    for user in users:
        _notify(session, user, "contingent_proposed", None, subject, body, "/contingenten")
    return len(users)


def contingent_decided(session: Session, change: m.ContingentChange) -> int:
    """Tell whoever proposed a change that the other party accepted or rejected it."""
    user = session.get(m.User, change.proposed_by_id) if change.proposed_by_id else None
    if user is None or not user.active:
        return 0
    what = _agreement(session, change)
    verdict = "geaccepteerd" if change.status == "accepted" else "afgewezen"
    subject = f"Je voorstel voor het contingent {what} is {verdict}"
    body = f"Je voorstel ({change.new_amount} plaatsen) voor {what} is {verdict}." + (
        f" Toelichting: {change.decision_note}" if change.decision_note else ""
    )
    _notify(session, user, "contingent_decided", None, subject, body, "/contingenten")
    return 1


def _active_users(session: Session, which: ColumnElement[bool], role: str) -> list[m.User]:
    return list(
        session.scalars(
            select(m.User)
            .where(which, m.User.role == role, m.User.active.is_(True))
            .order_by(m.User.id)
        )
    )


# --------------------------------------------------------------------------- e-mail


def settings_of(session: Session) -> Settings:
    found = session.info.get(SETTINGS_KEY)
    return found if isinstance(found, Settings) else get_settings()


def _queue_mail(session: Session, mail: Mail) -> None:
    """Keep ``mail`` until the session's transaction commits (dropped on rollback)."""
    settings = settings_of(session)
    if not settings.smtp_host:
        return
    outbox: list[Mail] | None = session.info.get(_OUTBOX_KEY)
    if outbox is None:
        outbox = session.info[_OUTBOX_KEY] = []
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
    outbox.append(mail)


def _after_commit(session: Session) -> None:
    mails: list[Mail] = session.info.get(_OUTBOX_KEY) or []
    session.info[_OUTBOX_KEY] = []
    if mails:
        # Never raise here: the transaction is committed, the publish has happened.
        try:
            send_mails(settings_of(session), mails)
        except Exception:
            log.exception("notification e-mails not sent")


def _after_rollback(session: Session) -> None:
    session.info[_OUTBOX_KEY] = []


def send_mails(settings: Settings, mails: list[Mail]) -> int:
    """Send ``mails`` over one SMTP connection; returns how many were accepted.

    A refused recipient is logged and skipped; a server that cannot be reached is logged and
    nothing is sent. Nothing raises.
    """
    if not settings.smtp_host or not mails:
        return 0
    accepted = 0
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            for mail in mails:
                message = EmailMessage()
                message["From"] = settings.smtp_from
                message["To"] = mail.to
                message["Subject"] = mail.subject
                message.set_content(mail.body)
                try:
                    smtp.send_message(message)
                    accepted += 1
                except smtplib.SMTPException as exc:
                    log.warning("e-mail to %s refused: %s", mail.to, exc)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning(
            "SMTP server %s:%s failed after %d of %d e-mails: %s",
            settings.smtp_host,
            settings.smtp_port,
            accepted,
            len(mails),
            exc,
        )
    return accepted
