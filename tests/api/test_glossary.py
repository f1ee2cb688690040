"""Every code shown to a person comes from the Dutch glossary: render every page as every role
(demo region with a published round and a few decisions) and fail when a code that has a Dutch
label reaches the visible text, or when a code without a label is shown."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import rounds as svc
from api.settings import Settings
from matcher.glossary import GLOSSARY, label, labels
from store import models as m
from store.db import unit_of_work
from tests.page_helpers import published_round, sign_in

MONTH = date(2026, 12, 1)
UNKNOWN = "(onbekende code)"


class _Text(HTMLParser):
    """The text a person reads: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


# Codes that must never be shown as they are: those whose Dutch label differs from the code
# (a code that is itself the Dutch word somewhere, like "gemeente", may be shown).
DUTCH_WORDS = {code for kind in GLOSSARY.values() for code, text in kind.items() if code == text}
CODES = sorted({code for kind in GLOSSARY.values() for code in kind} - DUTCH_WORDS, key=len)
PATTERN = re.compile(r"(?<![\w@.-])(" + "|".join(map(re.escape, CODES)) + r")(?![\w@-])")


def leaked_codes(html: str) -> list[str]:
    text = visible_text(html)
    found = sorted(set(PATTERN.findall(text)))
    if UNKNOWN in text:
        found.append(UNKNOWN)
    return found


def test_glossary_labels_are_dutch_and_unknown_codes_are_marked() -> None:
    assert label("match_status", "accepted") == "geaccepteerd"
    assert label("rule", "affordability") == "betaalbaarheid"
    assert label("round_status", "mystery") == f"mystery {UNKNOWN}"
    assert label("role", None) == "–"
    with pytest.raises(KeyError):
        label("no-such-kind", "x")
    # every kind the code knows is in the glossary
    assert set(labels("match_status")) == set(m.MATCH_STATUSES)
    assert set(labels("round_status")) == set(m.ROUND_STATUSES)
    assert set(labels("reject_reason")) == set(m.REJECT_REASONS)
    assert set(labels("role")) == set(m.ROLES)
    assert set(labels("youth_status")) == set(m.YOUTH_STATUSES)
    assert set(labels("option_status")) == set(m.OPTION_STATUSES)


def test_the_checker_finds_a_code_that_slips_through() -> None:
    """The page check itself: a raw code in text fails, in an attribute or script it does not."""
    assert leaked_codes("<p>Status: accepted</p>") == ["accepted"]
    assert leaked_codes("<p>afgewezen per regel: affordability 359</p>") == ["affordability"]
    assert leaked_codes("<p>reden: no_eligible_option</p>") == ["no_eligible_option"]
    assert leaked_codes(f"<p>concept {UNKNOWN}</p>") == [UNKNOWN]
    clean = '<option value="accepted">geaccepteerd</option><script>var s="draft"</script>'
    assert leaked_codes(clean) == []
    assert leaked_codes("<p>maandbudget, gepubliceerd</p>") == []


@pytest.fixture
def region(db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> int:
    round_id = published_round(db_url, tmp_path / "region", session_factory)
    admin = svc.Actor.system()
    with unit_of_work(session_factory) as s:
        matches = sorted(svc.latest_proposal(s, round_id).matches, key=lambda x: x.id)
        svc.decide(s, matches[0].id, admin, True, matches[0].version_id)
        svc.decide(s, matches[1].id, admin, False, matches[1].version_id, "zorg_niet_rond")
    return round_id


def _sign_in(client: TestClient, email: str) -> None:
    client.cookies.clear()
    sign_in(client, email)


def test_no_code_reaches_any_page_of_any_role(
    db_url: str, region: int, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        users = {
            role: s.scalars(select(m.User.email).where(m.User.role == role)).first()
            for role in m.ROLES
        }
        match_id = s.scalars(select(m.Match.id).order_by(m.Match.id)).first()
        some_user = s.scalars(select(m.User.id).order_by(m.User.id)).first()
        some_org = s.scalars(select(m.Organisation.code).order_by(m.Organisation.code)).first()
        some_type = s.scalars(select(m.HousingType.code).order_by(m.HousingType.code)).first()
        some_policy = s.scalars(select(m.PolicyRow.valid_from)).first()
        assert some_policy is not None
        youth = s.scalars(
            select(m.Youth.code)
            .join(m.User, m.Youth.regisseur_id == m.User.id)
            .where(m.User.email == users["regisseur"])
        ).first()
    pages = {
        "admin": [
            "/",
            "/beoordelen?toon=alle",
            f"/beoordelen/matches/{match_id}/uitleg",
            f"/beoordelen/rondes/{region}/doorrekenen",
            f"/beoordelen/rondes/{region}/afronden",
            "/beoordelen/maanden",
            "/berichten",
            "/beheer",
            "/planner",
            "/contingenten",
            "/beheer/gebruikers",
            f"/beheer/gebruikers/{some_user}",
            "/beheer/organisaties",
            f"/beheer/organisaties/{some_org}",
            "/beheer/menukaart",
            f"/beheer/menukaart/{some_type}",
            "/beheer/beleid",
            f"/beheer/beleid/{some_policy.isoformat()}",
        ],
        "gemeente": [
            "/beoordelen",
            "/beoordelen?toon=alle",
            "/beoordelen/maanden",
            "/planner",
            "/contingenten",
        ],
        "corporatie": [
            "/beoordelen",
            "/beoordelen?toon=alle",
            "/beoordelen/maanden",
            "/planner",
            "/contingenten",
        ],
        "regisseur": ["/regisseur", f"/regisseur/jongeren/{youth}", "/berichten"],
        "planner": ["/planner", "/berichten", "/contingenten"],
    }
    leaks: dict[str, list[str]] = {}
    with TestClient(create_app(Settings(database_url=db_url))) as client:
        for role, paths in pages.items():
            email = users[role]
            assert email is not None, role
            _sign_in(client, email)
            for path in paths:
                response = client.get(path)
                assert response.status_code == 200, (role, path, response.status_code)
                found = leaked_codes(response.text)
                if found:
                    leaks[f"{role} {path}"] = found
    assert not leaks, "\n".join(f"{page}: {codes}" for page, codes in sorted(leaks.items()))
