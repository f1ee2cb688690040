"""Every role in a real browser: sign-in, review with re-solve, regisseur map, planner slider,
corporation scoping; maps must draw their polygons and load nothing from outside localhost."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server, login, shot

pytestmark = pytest.mark.browser


def _map_frame(page: Any, selector: str = "iframe.map") -> Any:
    frame = page.frame_locator(selector).first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=20_000)
    return frame


def test_every_role_signs_in_and_lands_on_its_home(page: Any, server: Server) -> None:
    homes = {
        "admin@demo.stek.invalid": ("/beheer", "Gebruikers"),
        server.reviewer_email: ("/beoordelen", "Matches"),
        server.corporation_email: ("/beoordelen", "Matches"),
        server.regisseur_email: ("/regisseur", "caseload"),
        "planner1@demo.stek.invalid": ("/planner", "Planner"),
    }
    for email, (path, text) in homes.items():
        page.context.clear_cookies()
        login(page, server, email)
        assert page.url.endswith(path), (email, page.url)
        assert text in page.content()
        shot(page, f"home-{path.strip('/')}-{email.split('@')[0]}")


def test_without_javascript_the_reject_controls_are_plain_form_fields(
    browser: Any, server: Server
) -> None:
    """Progressive enhancement: with JavaScript off, every open row shows its reject controls
    (no "Afwijzen…" to unfold), and a rejection posts and comes back to the same list."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        login(page, server, server.reviewer_email)
        page.goto(f"{server.url}/beoordelen?toon=alle&sort=jongere")
        row = page.locator("table.matches tbody tr:has(button[value=accept])").last
        row_id = row.get_attribute("id")
        assert not row.get_by_text("Afwijzen…").is_visible()
        assert row.get_by_label("Reden").is_visible()
        row.get_by_label("Reden").select_option("zorg_niet_rond")
        row.get_by_role("button", name="Afwijzen", exact=True).click()
        page.wait_for_load_state()
        assert "sort=jongere" in page.url
        assert page.locator(f"#{row_id} .badge-rejected").count() == 1
        shot(page, "review-rejected-without-javascript")
    finally:
        context.close()


def test_reviewer_decides_in_place_and_resolves(page: Any, server: Server) -> None:
    """Decisions go without a page load (the row and summary are replaced), filters and the
    list stay; a refused decision shows its Dutch reason in the row; re-solving asks first."""
    login(page, server, server.reviewer_email)
    page.goto(f"{server.url}/beoordelen?toon=alle&sort=jongere")
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    forms = page.locator("form.decide:has(button[value=accept])")
    assert forms.count() >= 2
    first_id = forms.nth(0).locator("xpath=ancestor::tr").get_attribute("id")
    second_id = forms.nth(1).locator("xpath=ancestor::tr").get_attribute("id")
    forms.nth(0).get_by_role("button", name="Accepteren").click()
    page.locator(f"#{first_id} .badge-accepted").wait_for()
    assert "geaccepteerd" in page.locator("#meldingen").inner_text()
    # the message in place looks as after a page load (the same NL Design System alert)
    assert page.locator("#meldingen .utrecht-alert--ok[role=status]").count() == 1
    # rejecting without a reason is refused in the row, nothing stored
    second = page.locator(f"#{second_id}")
    second.get_by_text("Afwijzen…").click()
    second.get_by_role("button", name="Afwijzen", exact=True).click()
    second.locator(".row-error").wait_for()
    assert "kies een reden" in second.locator(".row-error").inner_text()
    second.get_by_label("Reden").select_option("woning_past_niet")
    second.get_by_label("Toelichting").fill("Te ver van school")
    second.get_by_label("Toelichting").press("Enter")  # Enter here rejects, never accepts
    page.locator(f"#{second_id} .badge-rejected").wait_for()
    assert "Te ver van school" in page.locator(f"#{second_id}").inner_text()
    assert loads == [], f"a decision reloaded the page: {loads}"
    assert "sort=jongere" in page.url
    shot(page, "review-decided")
    # a bulk action the server refuses (a stale form token): a Dutch error, the list stays
    page.evaluate("() => { document.querySelector('#bulk [name=csrf_token]').value = 'oud'; }")
    page.get_by_role("button", name="open matches met deze filters accepteren").click()
    expect(page.locator("#meldingen [role=alert]")).to_contain_text("Niets opgeslagen (fout 403)")
    assert loads == [] and page.locator(f"#{first_id}").count() == 1
    page.get_by_role("link", name="Opnieuw doorrekenen…").click()
    page.wait_for_load_state()
    assert "opnieuw doorrekenen houdt de" in page.locator("#wat-gebeurt-er").inner_text()
    shot(page, "review-confirm-resolve")
    page.get_by_role("button", name="Opnieuw doorrekenen").click()
    page.wait_for_load_state()
    page.locator("#versie strong", has_text="2").wait_for(timeout=60_000)
    assert "Verschil met versie 1" in page.content()
    shot(page, "review-version-2")


def test_regisseur_opens_suggestions_and_map_with_no_go(page: Any, server: Server) -> None:
    login(page, server, server.regisseur_email)
    page.get_by_role("link", name=server.youth_code, exact=True).click()
    page.wait_for_load_state()
    assert "woonplekken" in page.locator("h2#suggesties").inner_text()
    frame = _map_frame(page)
    assert frame.locator("path.leaflet-interactive").count() >= 11  # 11 gemeenten at least
    assert frame.locator(".leaflet-control-layers").get_by_text("No-go-gebieden").count() == 1
    shot(page, "regisseur-youth")
    other = page.goto(f"{server.url}/regisseur/jongeren/{server.other_youth_code}")
    assert other is not None and other.status == 404


def test_planner_moves_the_month_slider(page: Any, server: Server) -> None:
    login(page, server, "planner1@demo.stek.invalid")
    frame = _map_frame(page)
    assert frame.locator("path.leaflet-interactive").count() >= 11
    slider = frame.locator("input.stek-month")
    first_label = frame.locator(".stek-slider output").inner_text()
    fills_before = frame.locator("path.leaflet-interactive").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    slider.focus()
    for _ in range(12):
        slider.press("ArrowRight")
    assert frame.locator(".stek-slider output").inner_text() != first_label
    fills_after = frame.locator("path.leaflet-interactive").evaluate_all(
        "els => els.map(e => e.getAttribute('fill'))"
    )
    assert len(fills_after) == len(fills_before)
    fans = page.locator("img.fan")
    if fans.count():  # the supply API's fan charts, when that endpoint exists
        fans.first.scroll_into_view_if_needed()
        page.wait_for_function(
            "() => [...document.querySelectorAll('img.fan')].every(i => i.complete)",
            timeout=60_000,
        )
        widths = fans.evaluate_all("els => els.map(e => e.naturalWidth)")
        assert all(w > 0 for w in widths), "a fan chart did not load"
    shot(page, "planner-supply-map")
    page.get_by_label("Vergelijk met").select_option("instroom-plus-20")
    page.get_by_role("button", name="Toon", exact=True).click()
    page.wait_for_load_state()
    compare = _map_frame(page, "iframe.map.wide")
    assert compare.locator(".folium-map").count() == 2
    shot(page, "planner-compare")


def test_corporation_sees_only_its_own(page: Any, server: Server) -> None:
    login(page, server, server.corporation_email)
    assert server.other_corporation_option not in page.content()
    response = page.goto(f"{server.url}/kaarten/aanbod")
    assert response is not None and response.status == 200
    html = page.content()
    assert server.other_corporation_option not in html
    assert "No-go" not in html
    page.locator("path.leaflet-interactive").first.wait_for()
    shot(page, "corporation-supply-map")
    for path in (
        f"/kaarten/jongeren/{server.youth_code}",
        f"/regisseur/jongeren/{server.youth_code}",
        "/beheer",
    ):
        r = page.goto(server.url + path)
        assert r is not None and r.status == 403, path
    api = page.request.get(f"{server.url}/api/v1/rounds/{server.round_id}/proposals/1")
    if api.ok:
        codes = {x["option_code"] for x in api.json()["matches"]}
        assert server.other_corporation_option not in codes
