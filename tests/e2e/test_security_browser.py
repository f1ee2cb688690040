"""Stored XSS in the maps (issue 13 item 1), in Chromium.

The demo region is loaded through the real importers (``stek demo load`` from a copy of
``fixtures/demo``) with script payloads in option codes, housing-type names, organisation names,
anchor labels and area names, plus a stored scenario with a payload as its label. Then every map
document is opened as the roles that see it, every polygon and marker is hovered and clicked,
every layer-control entry is switched on, and every marker's tooltip and popup is opened: no
dialog may open (``page.on("dialog")``), no ``<img src=x>`` or injected script may appear, the
browser may report no CSP violation, and each payload must be on screen as the literal text.
A separate test checks that the maps still work under the Content-Security-Policy.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from tests.e2e.conftest import login, serving, shot

pytestmark = pytest.mark.browser

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo"

# distinct numbers: a dialog names the field whose payload ran
OPTION_IMG = "<img src=x onerror=alert(11)>"
OPTION_SCRIPT = "<script>alert(12)</script>"
TYPE_IMG = "Friends <img src=x onerror=alert(13)>"
TYPE_SCRIPT = "<script>alert(14)</script> & 's"
ORG_NAME = "<img src=x onerror=alert(15)> Wonen & Co"
ANCHOR_IMG = "<img src=x onerror=alert(16)>"
ANCHOR_SCRIPT = "<script>alert(17)</script>"
AREA_NAME = "<img src=x onerror=alert(18)> 's-Hertogenbosch"
SCENARIO_LABEL = "<img src=x onerror=alert(19)> scenario"

# what a page may show of the payloads: no element the payload would create
INJECTED = """() => {
  const docs = [document];
  const found = [];
  for (const d of docs) {
    d.querySelectorAll('img[src="x"], img[onerror], [onerror], [onload]').forEach(
      e => found.push(e.outerHTML));
    d.querySelectorAll('script').forEach(s => {
      if (!s.src && !s.nonce) { found.push('script without nonce: ' + s.textContent.slice(0, 80)); }
    });
  }
  return found;
}"""

# every marker of every point layer: its own tooltip and popup, opened as Leaflet opens them
OPEN_EVERY_MARKER = """() => {
  const texts = [];
  const maps = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
    .filter(m => m && m.getContainer);
  const groups = Object.keys(window).filter(k => k.startsWith('point_layer_'))
    .map(k => window[k]);
  for (const group of groups) {
    const map = group._map || maps[0];
    for (const marker of group.getLayers()) {
      const tip = marker.getTooltip(), pop = marker.getPopup();
      if (tip) {
        map.openTooltip(tip, marker.getLatLng());
        texts.push(tip.getElement().textContent);
        map.closeTooltip(tip);
      }
      if (pop) {
        pop.options.autoPan = false;  // the marker may sit in a cluster, off the map
        map.openPopup(pop, marker.getLatLng());
        texts.push(pop.getElement().textContent);
        map.closePopup(pop);
      }
    }
  }
  return texts;
}"""

# Each matching element in turn, in the page (one round trip instead of two per element):
# mouseover, the tooltips shown, mouseout; and for the paths a click, the popups shown. The
# events bubble to Leaflet's handlers on the map as a dispatched Playwright event does.
HOVER_AND_CLICK_EVERY = """([hoverOnly, clicked]) => {
  const texts = [];
  const read = sel => document.querySelectorAll(sel).forEach(t => texts.push(t.innerText));
  const fire = (el, type) => el.dispatchEvent(
    new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
  for (const [sel, click] of [[hoverOnly, false], [clicked, true]]) {
    for (const el of Array.from(document.querySelectorAll(sel))) {
      if (!el.isConnected) continue;  // a cluster the map redrew since the list was taken
      fire(el, 'mouseover');
      read('.leaflet-tooltip');
      fire(el, 'mouseout');
      if (click) {
        fire(el, 'click');
        read('.leaflet-popup');
      }
    }
  }
  return texts;
}"""
PHYSICAL_PATHS = 12  # paths also hovered and clicked with the mouse, as a person would

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
});
"""


@dataclass
class Hostile:
    url: str
    planner: str
    corporation: str
    regisseur: str
    youth_code: str
    payload_options: list[str]
    external: list[str] = field(default_factory=list)


def _rewrite_csv(path: Path, change: Any) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    fields = list(rows[0])
    rows = [change(dict(r)) for r in rows]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def _hostile_region(folder: Path) -> str:
    """A copy of the demo region with a payload in every imported text a map shows; returns the
    corporation whose options carry the payload codes."""
    shutil.copytree(DEMO, folder)
    with (folder / "options.csv").open(encoding="utf-8") as f:
        first = next(r for r in csv.DictReader(f, delimiter=";") if r["corporatie"])
    corporation = first["corporatie"]
    codes = iter((OPTION_IMG, OPTION_SCRIPT))

    def option(r: dict[str, str]) -> dict[str, str]:
        if r["corporatie"] == corporation:
            r["option_id"] = next(codes, r["option_id"])
        return r

    _rewrite_csv(folder / "options.csv", option)
    names = {"friends": TYPE_IMG, "kma": TYPE_SCRIPT}
    _rewrite_csv(
        folder / "housing_types.csv", lambda r: {**r, "name": names.get(r["code"], r["name"])}
    )
    _rewrite_csv(
        folder / "organisations.csv",
        lambda r: {**r, "name": ORG_NAME if r["code"] == corporation else r["name"]},
    )
    labels = {"werk@": f"{ANCHOR_IMG}@", "school@": f"{ANCHOR_SCRIPT}@"}

    def youth(r: dict[str, str]) -> dict[str, str]:
        for old, new in labels.items():
            r["anchors"] = r["anchors"].replace(old, new)
        return r

    _rewrite_csv(folder / "youths.csv", youth)
    gemeenten = json.loads((folder / "gemeenten.geojson").read_text(encoding="utf-8"))
    gemeenten["features"][0]["properties"]["gemeentenaam"] = AREA_NAME
    (folder / "gemeenten.geojson").write_text(json.dumps(gemeenten), encoding="utf-8")
    return corporation


def _prepare(db_url: str, folder: Path) -> dict[str, Any]:
    from api.cli import load_demo
    from store import models as m
    from store.db import make_engine, make_sessionmaker, unit_of_work
    from store.migrate import upgrade
    from store.supply_inputs import save_scenario, supply_inputs_from_db

    corporation = _hostile_region(folder)
    upgrade(db_url)
    load_demo(db_url, folder)
    engine = make_engine(db_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            base = supply_inputs_from_db(s, start=date.today().replace(day=1), months=3)
            save_scenario(s, {"name": "xss", "description": SCENARIO_LABEL, "changes": []}, base)
            corp_user = s.scalars(
                select(m.User.email)
                .join(m.Organisation)
                .where(m.User.role == "corporatie", m.Organisation.code == corporation)
            ).first()
            youth = s.scalars(
                select(m.Youth)
                .where(m.Youth.regisseur_id.is_not(None), m.Youth.status == "waiting")
                .where(m.Youth.anchors.any(m.YouthAnchor.label == ANCHOR_IMG))
                .where(m.Youth.anchors.any(m.YouthAnchor.label == ANCHOR_SCRIPT))
                .order_by(m.Youth.code)
            ).first()
            assert corp_user is not None and youth is not None
            regisseur = s.get(m.User, youth.regisseur_id)
            assert regisseur is not None
            payload_options = list(
                s.scalars(
                    select(m.HousingOption.code).where(
                        m.HousingOption.code.in_([OPTION_IMG, OPTION_SCRIPT]),
                        m.HousingOption.status == "available",
                    )
                )
            )
            assert payload_options, "the payload options must be on the supply map"
            return {
                "planner": "planner1@demo.stek.invalid",
                "corporation": corp_user,
                "regisseur": regisseur.email,
                "youth_code": youth.code,
                "payload_options": payload_options,
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Hostile]:

    tmp = tmp_path_factory.mktemp("hostile")
    db_url = f"sqlite:///{tmp / 'stek.db'}"
    info = _prepare(db_url, tmp / "region")
    with serving(db_url) as url:
        yield Hostile(url=url, **info)


@dataclass
class Watched:
    page: Any
    dialogs: list[str]
    console: list[str]
    errors: list[str]

    def csp_violations(self) -> list[str]:
        reported: list[str] = []
        for frame in self.page.frames:
            try:
                reported += frame.evaluate("() => window.__csp || []")
            except Exception:  # a frame that went away
                continue
        return reported + [c for c in self.console if "Content Security Policy" in c]


@pytest.fixture
def watched(browser: Any, hostile: Hostile) -> Iterator[Watched]:
    """A fresh context on the hostile server: dialogs, console, page errors and CSP violations
    are recorded (dialogs dismissed); requests off the server are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    host = urlparse(hostile.url).netloc

    def guard(route: Any) -> None:
        parsed = urlparse(route.request.url)
        if parsed.scheme in ("data", "blob", "about") or parsed.netloc == host:
            route.continue_()
        else:
            hostile.external.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    w = Watched(page, [], [], [])

    def on_dialog(dialog: Any) -> None:
        w.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda msg: w.console.append(f"{msg.type}: {msg.text}"))
    page.on("pageerror", lambda e: w.errors.append(str(e)))
    yield w
    context.close()
    assert not hostile.external, f"requests left localhost: {hostile.external}"


def _sign_in(w: Watched, hostile: Hostile, email: str) -> None:
    login(w.page, hostile, email)  # type: ignore[arg-type]  # needs .url only


def _exercise(page: Any) -> list[str]:
    """Hover and click every polygon, hover every cluster (events dispatched in the page; the
    first ``PHYSICAL_PATHS`` polygons with the mouse too), switch every layer-control entry on,
    open every marker's tooltip and popup; the texts the map showed."""
    page.locator(".leaflet-container path.leaflet-interactive").first.wait_for(timeout=20_000)
    shown: list[str] = []
    # the layer control is collapsed: open it as hovering it would
    page.evaluate(
        "() => document.querySelectorAll('.leaflet-control-layers')"
        ".forEach(c => c.classList.add('leaflet-control-layers-expanded'))"
    )
    controls = page.locator(".leaflet-control-layers label")
    for i in range(controls.count()):
        label = controls.nth(i)
        shown.append(label.text_content() or "")
        box = label.locator("input")
        if box.get_attribute("type") == "radio" or not box.is_checked():
            box.click(force=True)
        shown += page.locator(".stek-legend").all_inner_texts()
        shown += page.locator(".stek-title").all_inner_texts()
        shown += page.locator(".stek-slider").all_inner_texts()
    dispatched = page.evaluate(
        HOVER_AND_CLICK_EVERY,
        [".leaflet-container .stek-cluster", ".leaflet-container path.leaflet-interactive"],
    )
    assert dispatched, "the dispatched events opened no tooltip or popup"
    shown += dispatched
    # physical hover and click on what is reachable on screen
    paths = page.locator(".leaflet-container path.leaflet-interactive")
    for i in range(min(paths.count(), PHYSICAL_PATHS)):
        try:
            paths.nth(i).hover(force=True, timeout=2_000)
            shown += page.locator(".leaflet-tooltip").all_inner_texts()
            paths.nth(i).click(force=True, timeout=2_000)
            shown += page.locator(".leaflet-popup").all_inner_texts()
        except Exception:  # off screen after a zoom: the dispatched events covered it
            continue
    shown += page.evaluate(OPEN_EVERY_MARKER)
    return shown


def _assert_clean(w: Watched, shown: list[str], expected: list[str], where: str) -> None:
    page = w.page
    assert w.dialogs == [], f"{where}: a payload ran: {w.dialogs}"
    assert page.evaluate(INJECTED) == [], where
    assert w.csp_violations() == [], f"{where}: {w.csp_violations()}"
    assert w.errors == [], f"{where}: {w.errors}"
    text = "\n".join(shown)
    for payload in expected:
        assert payload in text, f"{where}: {payload!r} is not shown as text"


def test_supply_maps_show_payloads_as_text_for_the_planner(
    watched: Watched, hostile: Hostile
) -> None:
    _sign_in(watched, hostile, hostile.planner)
    page = watched.page
    documents = {
        "/kaarten/aanbod": [
            *hostile.payload_options,
            TYPE_IMG,
            TYPE_SCRIPT,
            ORG_NAME,
            AREA_NAME,
        ],
        "/kaarten/aanbod?niveau=wijk": [TYPE_IMG, TYPE_SCRIPT, *hostile.payload_options],
        "/kaarten/aanbod?niveau=buurt": [TYPE_IMG, TYPE_SCRIPT, ORG_NAME],
        "/kaarten/aanbod?scenario=xss": [SCENARIO_LABEL, AREA_NAME, TYPE_IMG],
        "/kaarten/aanbod/vergelijk?a=base&b=xss": [SCENARIO_LABEL, TYPE_SCRIPT, OPTION_IMG],
    }
    for path, expected in documents.items():
        response = page.goto(hostile.url + path)
        assert response is not None and response.status == 200, path
        assert "nonce-" in (response.headers.get("content-security-policy") or ""), path
        shown = _exercise(page)
        shot(page, "xss-" + path.strip("/").replace("/", "-").replace("?", "-").replace("&", "-"))
        _assert_clean(watched, shown, expected, path)
    # the planner page embeds the map: the payloads stay text inside the iframe too
    page.goto(hostile.url + "/planner")
    frame = page.frame_locator("iframe.map").first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=20_000)
    assert TYPE_IMG in "\n".join(frame.locator(".leaflet-control-layers").all_text_contents())
    assert watched.dialogs == [] and watched.csp_violations() == []


def test_regisseur_youth_map_shows_anchor_labels_as_text(
    watched: Watched, hostile: Hostile
) -> None:
    _sign_in(watched, hostile, hostile.regisseur)
    page = watched.page
    response = page.goto(f"{hostile.url}/kaarten/jongeren/{hostile.youth_code}")
    assert response is not None and response.status == 200
    shown = _exercise(page)
    shot(page, "xss-youth-map")
    _assert_clean(watched, shown, [ANCHOR_IMG, ANCHOR_SCRIPT, AREA_NAME], "youth map")
    # and embedded in the youth's page
    page.goto(f"{hostile.url}/regisseur/jongeren/{hostile.youth_code}")
    frame = page.frame_locator("iframe.map").first
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=20_000)
    assert watched.dialogs == [] and watched.csp_violations() == []


def test_corporation_map_shows_its_name_as_text_and_no_regional_shortfall(
    watched: Watched, hostile: Hostile
) -> None:
    _sign_in(watched, hostile, hostile.corporation)
    page = watched.page
    response = page.goto(f"{hostile.url}/kaarten/aanbod")
    assert response is not None and response.status == 200
    shown = _exercise(page)
    shot(page, "xss-corporation-map")
    _assert_clean(watched, shown, [ORG_NAME, *hostile.payload_options, TYPE_IMG], "corporation map")
    layers = "\n".join(page.locator(".leaflet-control-layers").all_text_contents())
    assert "Eigen contingent over" in layers
    assert "Tekort" not in layers  # item 9: the API refuses it the regional shortfall


def test_maps_and_pages_work_under_the_policy(watched: Watched, hostile: Hostile) -> None:
    """Leaflet starts, polygons and markers are drawn, the slider and legend work, and the
    browser reports no CSP violation — on the map documents and on every role's pages."""
    _sign_in(watched, hostile, hostile.planner)
    page = watched.page
    response = page.goto(f"{hostile.url}/kaarten/aanbod")
    assert response is not None
    policy = response.headers.get("content-security-policy") or ""
    assert (
        "script-src 'self' 'nonce-" in policy
        and "'unsafe-inline'" not in policy.split("style-src-attr")[0]
    )
    page.locator("path.leaflet-interactive").first.wait_for(timeout=20_000)
    assert page.evaluate("() => typeof L === 'object' && typeof L.markerClusterGroup")
    assert page.locator("path.leaflet-interactive").count() >= 11
    markers = page.locator(".stek-cluster, path.leaflet-interactive[fill='#0b5cad']")
    assert markers.count() > 0
    assert page.locator(".stek-legend li").count() >= 5
    slider = page.locator("input.stek-month")
    before = page.locator(".stek-slider output").inner_text()
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    assert page.locator(".stek-slider output").inner_text() != before
    assert watched.csp_violations() == [], watched.csp_violations()
    pages = {
        hostile.planner: ["/", "/planner", "/planner?vergelijk=instroom-plus-20"],
        hostile.corporation: ["/beoordelen", "/kaarten/aanbod"],
        hostile.regisseur: ["/regisseur", f"/regisseur/jongeren/{hostile.youth_code}"],
        "admin@demo.stek.invalid": ["/beheer", "/bestaat-niet"],
    }
    for email, paths in pages.items():
        page.context.clear_cookies()
        _sign_in(watched, hostile, email)
        for path in paths:
            page.goto(hostile.url + path)
            page.wait_for_load_state("load")
            for frame in page.frames[1:]:
                frame.wait_for_load_state("load")
            assert watched.csp_violations() == [], (email, path, watched.csp_violations())
    assert watched.dialogs == [] and watched.errors == []
