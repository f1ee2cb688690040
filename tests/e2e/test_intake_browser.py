"""Intake and stock in a real browser, on SQLite and PostgreSQL (issue 15 items 1 and 2): a
regisseur registers a young person with a no-go polygon drawn with Leaflet.draw, and the next
round neither proposes nor suggests any option inside it; a corporation registers a vacancy by
clicking the map, and it is in the next round's options; bad input on each form gives the
field's message with nothing written. Screenshots land in test-artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import shapely
from pyproj import Transformer
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal
from api.cli import load_demo
from api.services import rounds as svc
from api.services import suggestions as sugg_svc
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import unit_of_work
from store.geometry import from_wkb
from tests.e2e.conftest import Server, _require_browser, login, serving, shot

pytestmark = pytest.mark.browser
MONTH = date(2026, 12, 1)
ADMIN = svc.Actor.system()
TO_WGS84 = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)


@pytest.fixture
def intake_server(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> Iterator[Server]:
    """A small generated region (no round yet), served on loopback."""
    _require_browser()
    folder = tmp_path / "region"
    write_region(generate_region(40, 80, seed=5), folder)
    load_demo(db_url, folder)
    with session_factory() as s:
        regisseur = s.scalars(
            select(m.User.email).where(m.User.role == "regisseur").order_by(m.User.email)
        ).first()
        corporation = s.scalars(
            select(m.User.email).where(m.User.role == "corporatie").order_by(m.User.email)
        ).first()
    assert regisseur and corporation
    with serving(db_url) as url:
        yield Server(
            url=url,
            db_url=db_url,
            reviewer_email="",
            corporation_email=corporation,
            other_corporation_option="",
            regisseur_email=regisseur,
            youth_code="",
            other_youth_code="",
            round_id=0,
        )


@pytest.fixture
def ipage(intake_server: Server, browser: Any) -> Iterator[Any]:
    """A browser page on the intake server (the session's Chromium); requests off that server
    are aborted and fail the test, as are JavaScript errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    host = urlparse(intake_server.url).netloc
    external: list[str] = []

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob", "about") or parsed.netloc == host:
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not external, f"requests left localhost: {external}"


def _click_at(page: Any, x: float, y: float) -> None:
    """Click the form map at an RD New point."""
    lon, lat = TO_WGS84.transform(x, y)
    page.locator("#kaart").scroll_into_view_if_needed()
    point = page.evaluate(
        "([lat, lon]) => { const p = document.getElementById('kaart').stekMap"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    box = page.locator("#kaart").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])


def _target_square(session: Session) -> tuple[shapely.Polygon, set[str], str]:
    """A square of 3 km around the densest cluster of available options, the options inside
    it, and the gemeente that holds its centre."""
    rows = session.execute(
        select(m.HousingOption.code, m.HousingOption.x, m.HousingOption.y).where(
            m.HousingOption.status == "available"
        )
    ).all()
    best = max(
        rows,
        key=lambda r: sum(1 for o in rows if abs(o.x - r.x) < 1500 and abs(o.y - r.y) < 1500),
    )
    square = shapely.box(best.x - 1500, best.y - 1500, best.x + 1500, best.y + 1500)
    inside = {r.code for r in rows if square.intersects(shapely.Point(r.x, r.y))}
    gemeente = next(
        code
        for code, geom in session.execute(
            select(m.Area.code, m.Area.geometry).where(m.Area.level == "gemeente")
        )
        if from_wkb(geom).covers(shapely.Point(best.x, best.y))
    )
    return square, inside, gemeente


def _next_round(factory: sessionmaker[Session]) -> int:
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=ADMIN).id
        svc.start_solve(s, round_id, ADMIN)
    assert svc.run_solve(factory, round_id, time_limit_s=10) is not None
    return round_id


def test_regisseur_draws_a_no_go_area_and_the_next_round_keeps_out(
    ipage: Any, intake_server: Server, session_factory: sessionmaker[Session]
) -> None:
    server, page = intake_server, ipage
    with session_factory() as s:
        square, inside, gemeente = _target_square(s)
        gemeente_name = s.scalars(select(m.Area.name).where(m.Area.code == gemeente)).one()
        types = list(s.scalars(select(m.HousingType.name).order_by(m.HousingType.code)))
    assert len(inside) >= 3, "the region needs a cluster of options to draw around"
    login(page, server, server.regisseur_email)
    page.goto(f"{server.url}/regisseur/aanmelden")
    page.locator("#kaart .leaflet-overlay-pane path").first.wait_for()
    page.get_by_label("Geboortedatum").fill("2006-04-01")
    page.get_by_label("Gemeente (die de zorg betaalt)").select_option(label=gemeente_name)
    page.get_by_label("Inkomen per maand (€)").fill("1.400,00")
    page.get_by_label("Huishoudgrootte (personen)").fill("1")
    page.get_by_label("Ondersteuningsbehoefte").select_option("1")
    # every type on the menukaart, so options inside the square would otherwise fit
    for rank, name in enumerate(types[:5]):
        page.get_by_label(f"Woonvorm, keuze {rank + 1}").select_option(label=name)
    page.get_by_label("Voorkeursgebied 1").fill(f"{gemeente_name} (gemeente)")
    # anchor: a click on the map fills the school field
    page.get_by_role("radio", name="ankerpunt school").check()
    c = square.centroid
    _click_at(page, c.x, c.y)
    assert page.get_by_label("Ankerpunt school (plaats of breedtegraad, lengtegraad)").input_value()
    # draw the no-go square with Leaflet.draw
    page.locator(".leaflet-draw-draw-polygon").click()
    minx, miny, maxx, maxy = square.bounds
    for x, y in ((minx, miny), (maxx, miny), (maxx, maxy), (minx, maxy)):
        _click_at(page, x, y)
        page.wait_for_timeout(150)
    page.get_by_text("Klaar", exact=True).click()
    effect = page.locator("#f-no_go_wkt-effect")
    effect.get_by_text("beschikbare woonplekken").wait_for()
    assert "1 getekend gebied" in effect.inner_text()
    shot(page, "intake-drawn-no-go")
    page.get_by_role("button", name="Jongere aanmelden").click()
    page.wait_for_load_state()
    assert "is aangemeld" in page.content(), page.content()[:2000]
    code = page.url.split("/regisseur/jongeren/", 1)[1].split("/", 1)[0]
    shot(page, "intake-registered")
    with session_factory() as s:
        youth = s.scalars(select(m.Youth).where(m.Youth.code == code)).one()
        drawn = [from_wkb(n.geometry) for n in youth.no_go_areas if n.geometry is not None]
        assert len(drawn) == 1
        # stored in RD New where it was drawn (a click lands within a pixel, ~70 m here)
        assert drawn[0].symmetric_difference(square).area < 0.3 * square.area
        inside = {
            o.code
            for o in s.scalars(select(m.HousingOption).where(m.HousingOption.status == "available"))
            if drawn[0].intersects(shapely.Point(o.x, o.y))
        }
        assert len(inside) >= 3, inside
        youth_id = youth.id
        regisseur = youth.regisseur
        assert regisseur is not None
    # the next round: no proposal inside the polygon for this youth
    round_id = _next_round(session_factory)
    with session_factory() as s:
        snapshot = s.get(m.AllocationRound, round_id).snapshot  # type: ignore[union-attr]
        assert code in {y["code"] for y in snapshot["youths"]}
        proposed = {
            x.option.code
            for x in svc.latest_proposal(s, round_id).matches
            if x.youth_id == youth_id
        }
        assert not proposed & inside, proposed
        principal = Principal(
            regisseur.id,
            regisseur.email,
            regisseur.name,
            "regisseur",
            regisseur.organisation_id,
            "session",
            None,
        )
        found = sugg_svc.suggestions_for(s, principal, youth_id, k=500, on=MONTH)
        suggested = {x.option.code for x in found.suggestions}
        assert suggested, "the youth has suggestions outside the no-go area"
        assert not suggested & inside, suggested & inside
    # and the page says the same (the suggestions table lists none of them)
    page.goto(f"{server.url}/regisseur/jongeren/{code}")
    table = page.locator("#suggesties ~ div table").first.inner_text()
    assert not any(option in table for option in inside)
    shot(page, "intake-youth-suggestions")


def test_bad_intake_input_shows_the_field_message_and_writes_nothing(
    ipage: Any, intake_server: Server, session_factory: sessionmaker[Session]
) -> None:
    server, page = intake_server, ipage
    with session_factory() as s:
        before = int(s.scalar(select(func.count()).select_from(m.Youth)) or 0)
    login(page, server, server.regisseur_email)
    page.goto(f"{server.url}/regisseur/aanmelden")
    page.get_by_label("Geboortedatum").fill("2031-01-01")
    page.get_by_label("Inkomen per maand (€)").fill("-20")
    page.get_by_label("Getekende gebieden als GeoJSON").evaluate(
        "el => el.closest('details').open = true"
    )
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[5.30, 51.68], [5.34, 51.70], [5.34, 51.68], [5.30, 51.70], [5.30, 51.68]]
        ],
    }
    page.get_by_label("Getekende gebieden als GeoJSON").fill(json.dumps(bowtie))
    page.get_by_role("button", name="Jongere aanmelden").click()
    page.wait_for_load_state()
    assert "toekomst" in page.locator("#f-birth_date-fout").inner_text()
    assert "niet negatief" in page.locator("#f-income-fout").inner_text()
    assert "snijdt zichzelf" in page.locator("#f-no_go_wkt-fout").inner_text()
    assert "Er is niets veranderd" in page.locator("#fouten").inner_text()
    shot(page, "intake-bad-input")
    with session_factory() as s:
        assert int(s.scalar(select(func.count()).select_from(m.Youth)) or 0) == before


def test_corporation_registers_a_vacancy_by_map_click(
    ipage: Any, intake_server: Server, session_factory: sessionmaker[Session]
) -> None:
    server, page = intake_server, ipage
    with session_factory() as s:
        code, geometry = s.execute(
            select(m.Area.code, m.Area.geometry).where(m.Area.level == "wijk").order_by(m.Area.code)
        ).first()  # type: ignore[misc]
        point = from_wkb(geometry).representative_point()
        type_code = s.scalars(
            select(m.HousingType.code)
            .where(m.HousingType.persons_max == 1)
            .order_by(m.HousingType.code)
        ).first()
        before = int(s.scalar(select(func.count()).select_from(m.HousingOption)) or 0)
    login(page, server, server.corporation_email)
    page.goto(f"{server.url}/woningaanbod")
    page.get_by_role("link", name="Woning aanmelden").click()
    page.locator("#kaart .leaflet-overlay-pane path").first.wait_for()
    # bad input first: negative rent and no location
    page.get_by_label("Woonvorm (menukaart)").select_option(type_code)
    page.get_by_label("Kale huur per maand (€)").fill("-450")
    page.get_by_label("Beschikbaar vanaf").fill("2026-12-01")
    page.get_by_role("button", name="Woning aanmelden").click()
    page.wait_for_load_state()
    assert "niet negatief" in page.locator("#f-kale_huur-fout").inner_text()
    assert "kaart" in page.locator("#f-location-fout").inner_text()
    shot(page, "stock-bad-input")
    with session_factory() as s:
        assert int(s.scalar(select(func.count()).select_from(m.HousingOption)) or 0) == before
    # now right: the map click fills the location and names the areas
    page.locator("#kaart .leaflet-overlay-pane path").first.wait_for()
    _click_at(page, point.x, point.y)
    page.locator("#f-location-effect").get_by_text("Ligt in gemeente").wait_for()
    page.get_by_label("Kale huur per maand (€)").fill("455,50")
    page.get_by_label("Adres").fill("Proefstraat 7 (synthetisch)")
    shot(page, "stock-map-click")
    page.get_by_role("button", name="Woning aanmelden").click()
    page.wait_for_load_state()
    assert "is aangemeld" in page.content()
    shot(page, "stock-registered")
    with session_factory() as s:
        option = s.scalars(
            select(m.HousingOption).where(m.HousingOption.address == "Proefstraat 7 (synthetisch)")
        ).one()
        assert option.wijk_code == code and option.kale_huur == 455.5
        option_code = option.code
    round_id = _next_round(session_factory)
    with session_factory() as s:
        snapshot = s.get(m.AllocationRound, round_id).snapshot  # type: ignore[union-attr]
        assert option_code in {o["code"] for o in snapshot["options"]}


# Markup only: the pages' HTML does not depend on the database (the same forms are exercised on
# PostgreSQL by this file's other tests), so axe runs once, on SQLite.
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_intake_and_stock_pages_pass_axe(
    ipage: Any, intake_server: Server, session_factory: sessionmaker[Session]
) -> None:
    """axe (WCAG 2.0/2.1 A, AA) on the intake and stock pages, empty, filled in and with
    field errors shown, at desktop and phone width."""
    from tests.e2e.test_accessibility import WIDER_THAN_VIEWPORT, _describe, _with_axe, violations

    def reflow(where: str) -> list[str]:
        """At phone width the forms (no tables) must not scroll sideways (WCAG 1.4.10)."""
        wide = page.evaluate(WIDER_THAN_VIEWPORT) if width == 320 else []
        return [f"{where}: breder dan 320 CSS-px: {wide}"] if wide else []

    server, page = intake_server, ipage
    _with_axe(page)
    with session_factory() as s:
        youth = s.scalars(
            select(m.Youth.code)
            .join(m.User, m.Youth.regisseur_id == m.User.id)
            .where(m.User.email == server.regisseur_email)
            .order_by(m.Youth.code)
        ).first()
    problems: list[str] = []
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        page.context.clear_cookies()
        login(page, server, server.regisseur_email)
        for url in ("/regisseur/aanmelden", f"/regisseur/jongeren/{youth}/gegevens"):
            page.goto(server.url + url)
            problems += _describe(f"{width} {url}", violations(page))
        page.goto(server.url + "/regisseur/aanmelden")
        page.get_by_role("button", name="Jongere aanmelden").click()
        page.wait_for_load_state()
        assert page.locator("#fouten").count() == 1
        problems += _describe(f"{width} aanmelden met fouten", violations(page))
        problems += reflow("aanmelden met fouten")
        shot(page, f"a11y-intake-errors-{width}")
        page.context.clear_cookies()
        login(page, server, server.corporation_email)
        for url in ("/woningaanbod", "/woningaanbod/nieuw"):
            page.goto(server.url + url)
            problems += _describe(f"{width} {url}", violations(page))
        page.get_by_role("button", name="Woning aanmelden").click()
        page.wait_for_load_state()
        problems += _describe(f"{width} woning met fouten", violations(page))
        problems += reflow("woning met fouten")
        shot(page, f"a11y-stock-errors-{width}")
    assert not problems, "\n".join(problems)
