"""A whole month in the browser, on SQLite and PostgreSQL: decide in place, bulk accept,
re-solve and publish through the confirmation pages, confirm, finalise, read-only after, the
month history; a corporation keeps the published version while the re-solve is a draft.
Screenshots of every step land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work
from tests.e2e.conftest import Server, _require_browser, login, serving, shot

pytestmark = pytest.mark.browser
MONTH = date(2026, 12, 1)
ADMIN = svc.Actor.system()


@pytest.fixture
def month_server(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> Iterator[tuple[Server, str, int]]:
    """A small region with a published December round, served on loopback; the e-mail of a
    corporation user with matches and the round id."""
    _require_browser()
    import os

    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    with unit_of_work(session_factory) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=ADMIN).id
        svc.start_solve(s, round_id, ADMIN)
    assert svc.run_solve(session_factory, round_id, time_limit_s=10) is not None
    with unit_of_work(session_factory) as s:
        svc.publish(s, round_id, ADMIN)
        owner = next(
            x.option.corporation_id
            for x in svc.latest_proposal(s, round_id).matches
            if x.option.corporation_id
        )
        corp_email = s.scalars(select(m.User.email).where(m.User.organisation_id == owner)).one()
    os.environ["STEK_PAGE_SOLVE_SECONDS"] = "5"
    with serving(db_url) as url:
        info = Server(
            url=url,
            db_url=db_url,
            reviewer_email="",
            corporation_email=corp_email,
            other_corporation_option="",
            regisseur_email="",
            youth_code="",
            other_youth_code="",
            round_id=round_id,
        )
        yield info, corp_email, round_id


@pytest.fixture
def two_pages(month_server: tuple[Server, str, int], browser: Any) -> Iterator[tuple[Any, Any]]:
    """Two people's browsers (the session's Chromium, one context each; a second Playwright
    in the same process would clash with the session's)."""
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        for _ in range(2)
    ]
    pages = tuple(context.new_page() for context in contexts)
    errors: list[str] = []
    for page in pages:
        page.on("pageerror", lambda e: errors.append(str(e)))
    yield pages
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


def test_a_month_from_proposal_to_final_in_the_browser(
    month_server: tuple[Server, str, int],
    two_pages: tuple[Any, Any],
    session_factory: sessionmaker[Session],
    request: pytest.FixtureRequest,
) -> None:
    server, corp_email, round_id = month_server
    admin, corp = two_pages
    db = request.node.callspec.params.get("engine", "sqlite")
    login(admin, server, "admin@demo.stek.invalid")
    admin.goto(f"{server.url}/beoordelen?ronde={round_id}")
    loads: list[str] = []
    admin.on("load", lambda page: loads.append(page.url))

    # two rejections in place, one undone
    rows = admin.locator("table.matches tbody tr:has(button[value=accept])")
    ids = [rows.nth(i).get_attribute("id") for i in range(2)]
    for row_id in ids:
        row = admin.locator(f"#{row_id}")
        row.get_by_text("Afwijzen…").click()
        row.get_by_label("Reden").select_option("jongere_weigert")
        row.get_by_role("button", name="Afwijzen", exact=True).click()
        admin.locator(f"#{row_id} .badge-rejected").wait_for()
    admin.locator(f"#{ids[1]}").get_by_role("button", name="Ongedaan maken").click()
    admin.locator(f"#{ids[1]} .badge-proposed").wait_for()
    assert loads == [], "a single decision reloaded the page"
    shot(admin, f"month-{db}-1-decided-in-place")

    # why this match: the explanation page in Dutch, then back to the same list
    admin.locator("table.matches tbody tr a[href$='/uitleg']").first.click()
    admin.wait_for_load_state()
    explained = admin.locator("main").inner_text()
    assert "De score in woorden" in explained and "De woonplek" in explained
    assert "urgentie" in explained.lower()
    shot(admin, f"month-{db}-1b-why-this-match")
    admin.go_back()
    admin.wait_for_load_state()
    loads.clear()

    # everything else that is open: accepted at once, also without a new document
    admin.get_by_role("button", name="open matches met deze filters accepteren").click()
    expect(admin.locator("#meldingen [role=status]")).to_contain_text("geaccepteerd")
    assert loads == [], "a bulk action loaded a new document"
    assert "melding=" in admin.url  # the address is the page's, as after an ordinary post
    shot(admin, f"month-{db}-2-bulk-accepted")

    # re-solve through the confirmation page
    admin.get_by_role("link", name="Opnieuw doorrekenen…").click()
    admin.wait_for_load_state()
    sentence = admin.locator("#wat-gebeurt-er").inner_text()
    assert "1 afgewezen" in sentence and "houdt de" in sentence
    shot(admin, f"month-{db}-3-confirm-resolve")
    admin.get_by_role("button", name="Opnieuw doorrekenen").click()
    admin.get_by_role("link", name="Voorstel publiceren…").wait_for(timeout=60_000)

    # meanwhile the corporation keeps the published version, with a notice
    login(corp, server, corp_email)
    corp.goto(f"{server.url}/beoordelen?ronde={round_id}&toon=alle")
    assert "rekent deze ronde opnieuw door" in corp.content()
    assert corp.locator("#versie strong").inner_text() == "1"
    shot(corp, f"month-{db}-4-corporation-during-resolve")

    admin.get_by_role("link", name="Voorstel publiceren…").click()
    admin.wait_for_load_state()
    admin.get_by_role("button", name="Voorstel publiceren").click()
    admin.wait_for_load_state()
    assert admin.locator("#versie strong").inner_text() == "2"
    accept_all = admin.get_by_role("button", name="open matches met deze filters accepteren")
    if accept_all.count():
        accept_all.click()
        expect(admin.locator("#meldingen [role=status]")).to_contain_text("geaccepteerd")
    admin.get_by_role("button", name="Alle geaccepteerde matches bevestigen").click()
    expect(admin.locator("#meldingen [role=status]")).to_contain_text("bevestigd")
    shot(admin, f"month-{db}-5-confirmed")

    admin.get_by_role("link", name="Ronde afronden…").click()
    admin.wait_for_load_state()
    assert "worden definitief" in admin.locator("#wat-gebeurt-er").inner_text()
    admin.get_by_role("button", name="Ronde afronden").click()
    admin.wait_for_load_state()
    assert "Deze ronde is afgerond" in admin.content()
    assert admin.locator("form.decide").count() == 0 and admin.locator("#bulk").count() == 0
    shot(admin, f"month-{db}-6-final")

    admin.get_by_role("link", name="Maandoverzicht").first.click()
    admin.wait_for_load_state()
    assert "december 2026" in admin.content() and "afgerond" in admin.content()
    shot(admin, f"month-{db}-7-history")

    # the corporation heard of each publication in its inbox; it downloads the decisions
    corp.goto(f"{server.url}/berichten")
    assert corp.locator("tr.unread").filter(has_text="gepubliceerd").count() >= 1
    shot(corp, f"month-{db}-8-inbox")
    csv = corp.request.get(f"{server.url}/beoordelen/rondes/{round_id}/export/besluiten.csv")
    assert csv.ok and csv.body().startswith(b"\xef\xbb\xbf")
    assert "bevestigd" in csv.text()
    with session_factory() as s:
        proposal = svc.latest_proposal(s, round_id)
        placed = s.scalar(
            select(func.count()).select_from(m.Youth).where(m.Youth.status == "placed")
        )
        assert placed == len(proposal.matches) > 0
        assert {x.status for x in proposal.matches} == {"confirmed"}
