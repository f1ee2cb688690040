"""Notifications: the in-app inbox after publish and finalise, the /berichten page (mark read
with CSRF, only one's own messages), and e-mail to a real local SMTP server (aiosmtpd) sent only
after the transaction commits. On SQLite and PostgreSQL."""

from __future__ import annotations

import email
import logging
import re
import socket
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services import notifications as notes
from api.services import rounds as svc
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work

MONTH = date(2026, 12, 1)
SYSTEM = svc.Actor.system()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


def _solved_round(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=7, actor=SYSTEM).id
        svc.start_solve(s, round_id, SYSTEM)
    assert svc.run_solve(factory, round_id, time_limit_s=10) is not None
    return round_id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps every message and refuses the ``refuse`` recipients."""

    refuse: set[str] = field(default_factory=set)
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            (
                list(envelope.rcpt_tos),
                email.message_from_bytes(envelope.original_content, policy=default),
            )
        )
        return "250 OK"

    def subjects(self) -> dict[str, str]:
        return {to[0]: str(message["Subject"]).strip() for to, message in self.received}


@pytest.fixture
def smtp() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server on localhost (aiosmtpd), for the duration of the test."""
    recorder = Recorder()
    port = _free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _mailing(factory: sessionmaker[Session], db_url: str, port: int) -> Settings:
    settings = Settings(
        database_url=db_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="stek@regio.test"
    )
    factory.configure(info={"settings": settings})
    return settings


def _expected_publish_messages(s: Session, round_id: int) -> dict[int, str]:
    """user id -> subject, from the proposal: a corporation user hears of the proposed matches
    on its corporation's options, a gemeente user of those on options without a corporation in
    its gemeente; inactive users and other roles hear nothing."""
    proposal = svc.latest_proposal(s, round_id)
    per_corporation: dict[int, int] = defaultdict(int)
    per_gemeente: dict[str, int] = defaultdict(int)
    for x in proposal.matches:
        if x.status == "proposed" and x.option.corporation_id is not None:
            per_corporation[x.option.corporation_id] += 1
        elif x.status == "proposed":
            per_gemeente[x.option.gemeente_code] += 1
    expected = {}
    for user in s.scalars(select(m.User).where(m.User.active.is_(True))):
        n = 0
        if user.role == "corporatie":
            n = per_corporation.get(user.organisation_id, 0)
        elif user.role == "gemeente" and user.organisation.kind == "gemeente":
            n = per_gemeente.get(user.organisation.gemeente_code or "", 0)
        if n:
            words = "match wacht" if n == 1 else "matches wachten"
            expected[user.id] = f"Ronde december 2026 gepubliceerd: {n} {words} op jouw beslissing"
    return expected


def _messages(s: Session) -> list[m.Notification]:
    return list(s.scalars(select(m.Notification).order_by(m.Notification.id)))


# --------------------------------------------------------------------------- inbox


def test_publish_tells_every_deciding_user_how_many_matches_wait(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    with unit_of_work(session_factory) as s:
        assert _messages(s) == []  # a draft tells nobody
        # an inactive user of a corporation with matches hears nothing
        proposal = svc.latest_proposal(s, round_id)
        corp_id = next(x.option.corporation_id for x in proposal.matches if x.option.corporation_id)
        gone = m.User(
            email="weg@demo.stek.invalid",
            name="Oud-medewerker",
            role="corporatie",
            organisation_id=corp_id,
            active=False,
        )
        s.add(gone)
    with unit_of_work(session_factory) as s:
        expected = _expected_publish_messages(s, round_id)
        svc.publish(s, round_id, SYSTEM)
    with session_factory() as s:
        found = _messages(s)
        got = {x.user_id: x.subject for x in found}
        assert len(found) == len(got)  # one message per user
        assert got == expected
        assert gone.id not in got
        roles = {s.get(m.User, uid).role for uid in got}  # type: ignore[union-attr]
        assert roles <= {"corporatie", "gemeente"} and "corporatie" in roles
        assert all(x.kind == "round_published" and x.read_at is None for x in found)
        assert all(x.link == f"/beoordelen?ronde={round_id}" for x in found)
        assert all("J-" not in x.body for x in found)  # no youth named at publish
        for x in found:
            user = s.get(m.User, x.user_id)
            assert user is not None
            where = (
                f"op woningen van {user.organisation.name} "
                if user.role == "corporatie"
                else "op woonplekken zonder corporatie in jouw gemeente "
            )
            assert where in x.body and "(versie 1) is gepubliceerd" in x.body
        someone = next(iter(got))
        assert notes.unread_count(s, someone) == 1
        assert notes.unread_count(s, gone.id) == 0


def test_finalise_tells_regisseurs_which_of_their_youths_are_placed(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, SYSTEM)
    with unit_of_work(session_factory) as s:
        for x in svc.latest_proposal(s, round_id).matches:
            svc.decide(s, x.id, SYSTEM, True, x.version_id)
        s.flush()
        for x in svc.latest_proposal(s, round_id).matches:
            svc.confirm(s, x.id, SYSTEM, x.version_id)
    with unit_of_work(session_factory) as s:
        placed: dict[int, list[str]] = defaultdict(list)
        for x in svc.latest_proposal(s, round_id).matches:
            assert x.youth.regisseur_id is not None
            placed[x.youth.regisseur_id].append(x.youth.code)
        svc.finalise(s, round_id, SYSTEM)
    with session_factory() as s:
        final = [x for x in _messages(s) if x.kind == "round_final"]
        assert {x.user_id for x in final} == set(placed)
        for note in final:
            codes = sorted(placed[note.user_id])
            words = "jongere" if len(codes) == 1 else "jongeren"
            assert note.subject == (
                f"Ronde december 2026 afgerond: {len(codes)} {words} uit jouw caseload geplaatst"
            )
            # the youth code is all a message says about a young person
            assert note.body == (
                f"De ronde van december 2026 is afgerond. Geplaatst: {', '.join(codes)}."
            )
            assert s.get(m.User, note.user_id).role == "regisseur"  # type: ignore[union-attr]


def _sign_in(client: TestClient, email_address: str) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    form = client.get("/inloggen")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = client.post(
        "/inloggen",
        data={"email": email_address, "password": "demo", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get("/berichten")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    return csrf.group(1)


def test_inbox_page_marks_only_your_own_messages_read_with_csrf(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solved_round(session_factory)
    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, SYSTEM)
    with session_factory() as s:
        found = _messages(s)
        mine, theirs = found[0], next(x for x in found if x.user_id != found[0].user_id)
        me = s.get(m.User, mine.user_id)
        assert me is not None
        my_email = me.email
    with unit_of_work(session_factory) as s:  # a second, older message for "mark all"
        s.add(
            m.Notification(
                user_id=mine.user_id,
                kind="round_published",
                round_id=round_id,
                subject="Ronde november 2026 gepubliceerd: 1 match wacht op jouw beslissing",
                body="",
                created_at=datetime(2026, 11, 1, tzinfo=UTC),
            )
        )

    app = create_app(Settings(database_url=region))
    anonymous = TestClient(app)
    away = anonymous.get("/berichten", follow_redirects=False)
    assert away.status_code == 303 and away.headers["location"] == "/inloggen?next=/berichten"
    assert (
        anonymous.post(f"/berichten/{mine.id}/gelezen", follow_redirects=False).status_code == 303
    )

    client = TestClient(app)
    csrf = _sign_in(client, my_email)
    page = client.get("/berichten").text
    assert f'id="bericht-{mine.id}"' in page and f'id="bericht-{theirs.id}"' not in page
    assert "2 berichten, 2 ongelezen" in page
    assert page.index(mine.subject) < page.index("Ronde november 2026")  # newest first

    url = f"/berichten/{mine.id}/gelezen"
    assert client.post(url, follow_redirects=False).status_code == 403
    assert client.post(url, data={"csrf_token": "vals"}, follow_redirects=False).status_code == 403
    other = client.post(
        f"/berichten/{theirs.id}/gelezen", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert other.status_code == 404
    assert f"bericht {theirs.id} bestaat niet" in other.text
    missing = client.post("/berichten/999999/gelezen", data={"csrf_token": csrf})
    assert missing.status_code == 404
    with session_factory() as s:
        assert notes.unread_count(s, mine.user_id) == 2
        assert notes.unread_count(s, theirs.user_id) >= 1

    done = client.post(url, data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/berichten"
    with session_factory() as s:
        assert notes.unread_count(s, mine.user_id) == 1
        assert s.get(m.Notification, theirs.id).read_at is None  # type: ignore[union-attr]
    assert "2 berichten, 1 ongelezen" in client.get("/berichten").text

    assert client.post("/berichten/gelezen", follow_redirects=False).status_code == 403
    done = client.post("/berichten/gelezen", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    with session_factory() as s:
        assert notes.unread_count(s, mine.user_id) == 0
        assert s.get(m.Notification, theirs.id).read_at is None  # type: ignore[union-attr]


# --------------------------------------------------------------------------- e-mail


def test_publish_mails_after_the_commit_and_never_on_rollback(
    region: str,
    session_factory: sessionmaker[Session],
    smtp: tuple[Recorder, int],
) -> None:
    recorder, port = smtp
    round_id = _solved_round(session_factory)
    _mailing(session_factory, region, port)

    class Abort(Exception):
        pass

    with pytest.raises(Abort), unit_of_work(session_factory) as s:
        svc.publish(s, round_id, SYSTEM)
        raise Abort
    assert recorder.received == []
    with session_factory() as s:
        assert _messages(s) == []

    with unit_of_work(session_factory) as s:
        expected = _expected_publish_messages(s, round_id)
        emails = {uid: s.get(m.User, uid).email for uid in expected}  # type: ignore[union-attr]
        svc.publish(s, round_id, SYSTEM)
        assert recorder.received == []  # nothing leaves before the commit
    assert recorder.subjects() == {emails[uid]: f"[stek] {subj}" for uid, subj in expected.items()}
    for _to, message in recorder.received:
        assert message["From"] == "stek@regio.test"
        body = message.get_content()
        assert "gepubliceerd" in body and "Berichten" in body
        assert "J-" not in body  # no young person in a publish mail


def test_finalise_mails_regisseurs_through_the_app_settings(
    region: str,
    session_factory: sessionmaker[Session],
    smtp: tuple[Recorder, int],
) -> None:
    """Publish and finalise over HTTP: the app hands its own SMTP settings to the services."""
    recorder, port = smtp
    round_id = _solved_round(session_factory)
    client = TestClient(create_app(_mailing_settings(region, port)))
    with session_factory() as s:
        admin = s.scalars(select(m.User).where(m.User.role == "admin")).one()
    token = client.post("/api/v1/auth/token", json={"email": admin.email, "password": "demo"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.post(f"/api/v1/rounds/{round_id}/publish", headers=headers).status_code == 200
    published = len(recorder.received)
    assert published > 0
    with unit_of_work(session_factory) as s:
        for x in svc.latest_proposal(s, round_id).matches:
            svc.decide(s, x.id, SYSTEM, True, x.version_id)
        s.flush()
        for x in svc.latest_proposal(s, round_id).matches:
            svc.confirm(s, x.id, SYSTEM, x.version_id)
        placed: dict[str, list[str]] = defaultdict(list)
        for x in svc.latest_proposal(s, round_id).matches:
            assert x.youth.regisseur is not None
            placed[x.youth.regisseur.email].append(x.youth.code)
    assert client.post(f"/api/v1/rounds/{round_id}/finalise", headers=headers).status_code == 200
    final = recorder.received[published:]
    assert {to[0] for to, _ in final} == set(placed)
    for to, message in final:
        codes = sorted(placed[to[0]])
        assert str(message["Subject"]).strip().startswith("[stek] Ronde december 2026 afgerond: ")
        body = message.get_content()
        assert f"Geplaatst: {', '.join(codes)}." in body
        # no other young person's code, and nothing but codes about them
        others = {c for who, cs in placed.items() if who != to[0] for c in cs}
        assert not any(c in body for c in others)


def _mailing_settings(db_url: str, port: int) -> Settings:
    return Settings(
        database_url=db_url, smtp_host="127.0.0.1", smtp_port=port, smtp_from="stek@regio.test"
    )


def test_a_refused_recipient_does_not_stop_the_others(
    region: str,
    session_factory: sessionmaker[Session],
    smtp: tuple[Recorder, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    recorder, port = smtp
    round_id = _solved_round(session_factory)
    _mailing(session_factory, region, port)
    with session_factory() as s:
        expected = _expected_publish_messages(s, round_id)
        emails = sorted(s.get(m.User, uid).email for uid in expected)  # type: ignore[union-attr]
    assert len(emails) >= 2
    recorder.refuse = {emails[0]}
    with (
        caplog.at_level(logging.WARNING, logger="api.services.notifications"),
        unit_of_work(session_factory) as s,
    ):
        svc.publish(s, round_id, SYSTEM)
    assert {to[0] for to, _ in recorder.received} == set(emails[1:])
    assert any(emails[0] in r.getMessage() for r in caplog.records)


def test_an_unreachable_smtp_server_is_logged_and_the_publish_stands(
    region: str, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    round_id = _solved_round(session_factory)
    _mailing(session_factory, region, _free_port())  # nothing listens there
    with (
        caplog.at_level(logging.WARNING, logger="api.services.notifications"),
        unit_of_work(session_factory) as s,
    ):
        svc.publish(s, round_id, SYSTEM)
    assert any("SMTP server 127.0.0.1" in r.getMessage() for r in caplog.records)
    with session_factory() as s:
        assert s.get(m.AllocationRound, round_id).status == "published"  # type: ignore[union-attr]
        assert _messages(s)  # the inbox has them all the same


def test_smtp_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEK_SMTP_HOST", "smtp.regio.test")
    monkeypatch.setenv("STEK_SMTP_PORT", "587")
    monkeypatch.setenv("STEK_SMTP_FROM", "noreply@regio.test")
    monkeypatch.setenv("STEK_SMTP_USER", "stek")
    monkeypatch.setenv("STEK_SMTP_PASSWORD", "geheim")
    monkeypatch.setenv("STEK_SMTP_STARTTLS", "true")
    settings = Settings()
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_from) == (
        "smtp.regio.test",
        587,
        "noreply@regio.test",
    )
    assert settings.smtp_user == "stek" and settings.smtp_starttls is True
    assert settings.smtp_password.get_secret_value() == "geheim"
    assert "geheim" not in repr(settings)
    # no host: no e-mail at all
    monkeypatch.delenv("STEK_SMTP_HOST")
    assert notes.send_mails(Settings(), [notes.Mail("a@b.test", "x", "y")]) == 0
