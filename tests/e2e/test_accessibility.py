"""Accessibility in a real browser: axe-core (WCAG 2.0/2.1 A and AA) on every page each role
can open and on every map document, keyboard-only walkthroughs, and proof that the check bites.

axe-core is vendored in ``tests/e2e/vendor`` (a test tool, never served by the app) and goes
into every document, iframes included, as an init script: nothing is fetched at test time and
the pages keep their Content-Security-Policy.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.conftest import Server, login, shot

pytestmark = pytest.mark.browser

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
ROLE_USERS = {
    "admin": "admin@demo.stek.invalid",
    "planner": "planner1@demo.stek.invalid",
}
ROUND_ACTIONS = ("publiceren", "doorrekenen", "afronden")
# GET routes outside /api and /static that are not pages of stek, and why.
NOT_PAGES = {
    "/metrics": "Prometheus text for monitoring (admin tokens), not a page",
    "/privacy/auditlog.csv": "a CSV download",
    "/privacy/jongeren/{code}/inzage.json": "a JSON download",
    "/inloggen/code": "needs a sign-in half done: axe in tests/e2e/test_totp_browser.py",
    "/inloggen/tweestaps": "needs a sign-in half done: axe in tests/e2e/test_totp_browser.py",
    "/inloggen/sso": "a redirect to the identity provider: axe in tests/e2e/test_sso_browser.py",
    "/inloggen/sso/terug": "needs an identity provider: axe in tests/e2e/test_sso_browser.py",
    "/beoordelen/rondes/{round_id}/export/{bestand}": "a CSV or Excel download",
    "/planner/grafiek.csv": "the CSV of a fan chart's figures",
}

# Elements wider than the viewport outside a scroll region (tables may scroll in their own
# focusable region, WCAG 1.4.10 allows that for data tables): what makes the page scroll sideways.
WIDER_THAN_VIEWPORT = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth) return [];
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('.scroll')) continue;
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && r.width > 0) {
      const c = el.getAttribute('class'), cls = c ? c.split(' ')[0] : '';
      out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (cls ? '.' + cls : ''));
    }
  }
  return [...new Set(out)].slice(0, 8);
}"""

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, iframes: true});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.map(t => Array.isArray(t) ? t.join(' ') : t).join(' >> ')),
  }));
}"""


def _privacy_officer(server: Server) -> str:
    """The demo has no privacy officer: one is added to the server's database (once)."""
    from api.security import hash_password
    from store import models as m
    from store.db import make_engine, make_sessionmaker, unit_of_work

    email = "fg@demo.stek.invalid"
    engine = make_engine(server.db_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            if s.scalar(select(m.User.id).where(m.User.email == email)) is None:
                org = s.scalars(select(m.Organisation).order_by(m.Organisation.id)).first()
                assert org is not None
                s.add(
                    m.User(
                        email=email,
                        name="Functionaris gegevensbescherming",
                        role="privacy",
                        organisation_id=org.id,
                        password_hash=hash_password("demo"),
                    )
                )
    finally:
        engine.dispose()
    return email


def _users(server: Server) -> dict[str, str]:
    return {
        **ROLE_USERS,
        "privacy": _privacy_officer(server),
        "gemeente": server.reviewer_email,
        "corporatie": server.corporation_email,
        "regisseur": server.regisseur_email,
    }


def _with_axe(page: Any) -> Any:
    """Put axe into every document this page's context opens (iframes too)."""
    page.context.add_init_script(path=str(AXE))
    return page


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's WCAG A/AA violations of the page and its iframes' documents."""
    page.wait_for_load_state("load")
    result: list[dict[str, Any]] = page.evaluate(RUN_AXE, WCAG_TAGS)
    return result


def _describe(where: str, found: list[dict[str, Any]]) -> list[str]:
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']}: {', '.join(v['targets'][:8])}"
        for v in found
    ]


def _match_id(server: Server) -> int:
    from store import models as m
    from store.db import make_engine, make_sessionmaker

    engine = make_engine(server.db_url)
    try:
        with make_sessionmaker(engine)() as s:
            match_id = s.scalars(
                select(m.Match.id)
                .join(m.Proposal)
                .where(m.Proposal.round_id == server.round_id)
                .order_by(m.Match.id)
            ).first()
    finally:
        engine.dispose()
    assert match_id is not None
    return int(match_id)


def _reference_keys(server: Server) -> dict[str, str]:
    """A user id, an organisation code, a menukaart code and a policy date of the server's
    database, and a fresh one-time password link's token (for a user no test signs in as)."""
    from api.services import users as users_svc
    from api.services.rounds import Actor
    from store import models as m
    from store.db import make_engine, make_sessionmaker, unit_of_work

    engine = make_engine(server.db_url)
    try:
        with unit_of_work(make_sessionmaker(engine)) as s:
            user = s.scalars(select(m.User).where(m.User.role == "planner").order_by(m.User.id))
            planner = list(user)[-1]
            keys = {
                "user": str(planner.id),
                "organisation": str(s.scalars(select(m.Organisation.code)).first()),
                "type": str(s.scalars(select(m.HousingType.code)).first()),
                "policy": str(s.scalars(select(m.PolicyRow.valid_from)).first()),
                "token": users_svc.create_password_link(s, Actor.system(), planner.id),
            }
    finally:
        engine.dispose()
    return keys


def _page_urls(server: Server) -> dict[str, list[str]]:
    """Every page route (path template) with the concrete URLs that exercise it."""
    r, y, match = server.round_id, server.youth_code, _match_id(server)
    ref = _reference_keys(server)
    return {
        "/": ["/"],
        "/inloggen": ["/inloggen"],
        "/toegankelijkheid": ["/toegankelijkheid"],
        "/berichten": ["/berichten"],
        "/beoordelen": ["/beoordelen", "/beoordelen?toon=alle"],
        "/beoordelen/maanden": ["/beoordelen/maanden"],
        "/beoordelen/rondes/{round_id}/{actie}": [
            f"/beoordelen/rondes/{r}/{a}" for a in ROUND_ACTIONS
        ],
        "/beoordelen/matches/{match_id}/uitleg": [f"/beoordelen/matches/{match}/uitleg"],
        "/regisseur": ["/regisseur"],
        "/regisseur/jongeren/{code}": [f"/regisseur/jongeren/{y}"],
        "/kaarten/jongeren/{code}": [f"/kaarten/jongeren/{y}"],
        "/planner": [
            "/planner",
            "/planner?vergelijk=instroom-plus-20",
            "/planner?niveau=buurt",
            "/planner?grafieken=woonvorm&vergelijk=instroom-plus-20",
            "/planner?grafieken=corporatie",
        ],
        "/kaarten/aanbod": [f"/kaarten/aanbod?niveau={lv}" for lv in ("gemeente", "wijk", "buurt")],
        "/kaarten/aanbod/vergelijk": ["/kaarten/aanbod/vergelijk"],
        "/beheer": ["/beheer"],
        "/privacy": ["/privacy", "/privacy?actie=youth.read"],
        "/privacy/bewaartermijnen": ["/privacy/bewaartermijnen"],
        "/privacy/jongeren": ["/privacy/jongeren"],
        "/privacy/jongeren/{code}": [f"/privacy/jongeren/{y}"],
        "/contingenten": ["/contingenten", "/contingenten?jaar=2026"],
        "/beheer/gebruikers": ["/beheer/gebruikers"],
        "/beheer/gebruikers/{user_id}": [f"/beheer/gebruikers/{ref['user']}"],
        "/beheer/organisaties": ["/beheer/organisaties"],
        "/beheer/organisaties/{code}": [f"/beheer/organisaties/{ref['organisation']}"],
        "/beheer/menukaart": ["/beheer/menukaart"],
        "/beheer/menukaart/{code}": [f"/beheer/menukaart/{ref['type']}"],
        "/beheer/beleid": ["/beheer/beleid"],
        "/beheer/beleid/{valid_from}": [f"/beheer/beleid/{ref['policy']}"],
        "/wachtwoord-instellen/{token}": [f"/wachtwoord-instellen/{ref['token']}"],
        "/regisseur/aanmelden": ["/regisseur/aanmelden"],
        "/regisseur/jongeren/{code}/gegevens": [f"/regisseur/jongeren/{y}/gegevens"],
        "/woningaanbod": ["/woningaanbod"],
        "/woningaanbod/nieuw": ["/woningaanbod/nieuw"],
    }


def _page_routes(server: Server) -> set[str]:
    """The app's GET routes that are pages: not under /api or /static."""
    from api.app import create_app
    from api.settings import Settings

    def walk(routes: Any, prefix: str) -> set[str]:
        found: set[str] = set()
        for route in routes:
            inner = getattr(route, "original_router", None)  # FastAPI >= 0.165 includes lazily
            if inner is not None:
                found |= walk(inner.routes, prefix + route.include_context.prefix)
            elif "GET" in (getattr(route, "methods", None) or ()):
                found.add(prefix + route.path)
        return found

    app = create_app(Settings(database_url=server.db_url))
    try:
        return {p for p in walk(app.routes, "") if not p.startswith(("/api/", "/static"))}
    finally:
        app.state.engine.dispose()


def _open_review_forms(page: Any) -> None:
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.evaluate(  # the rows' reject controls, unfolded as "Afwijzen…" does
        "() => document.querySelectorAll('.reject-toggle').forEach(b => b.click())"
    )


def test_every_page_route_is_checked(server: Server) -> None:
    """A new page route without an entry here fails, so axe never silently misses a page."""
    routes = _page_routes(server)
    checked = set(_page_urls(server))
    assert routes - set(NOT_PAGES) == checked, (
        f"not checked: {sorted(routes - set(NOT_PAGES) - checked)}; "
        f"gone: {sorted(checked - routes)}"
    )


BROKEN_PAGE = (
    '<!doctype html><html lang="nl"><head><title>kapot</title></head><body><main>'
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
    '<input type="text" name="x"><iframe title="kaart" src="kaart"></iframe></main></body></html>'
)
BROKEN_FRAME = (
    '<!doctype html><html lang="nl"><head><title>kaart</title></head><body><main>'
    '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>'
)


def test_axe_finds_a_deliberately_broken_page(page: Any, server: Server) -> None:
    """The check bites: an image without alt text and an unlabelled input are reported, and
    so is an image without alt text inside an iframe's document (as in a map iframe)."""
    _with_axe(page)
    pages = {"kapot": BROKEN_PAGE, "kaart": BROKEN_FRAME}
    page.route(
        f"{server.url}/test-kapot/*",
        lambda route: route.fulfill(
            content_type="text/html", body=pages[route.request.url.rsplit("/", 1)[1]]
        ),
    )
    page.goto(f"{server.url}/test-kapot/kapot")
    page.frame_locator("iframe").locator("img").wait_for(state="attached")
    found = {v["id"]: v for v in violations(page)}
    assert found["image-alt"]["targets"] == ["img", "iframe >> img"], found["image-alt"]
    assert found["image-alt"]["impact"] == "critical"
    assert found["label"]["targets"] == ["input"], found["label"]


SIGNED_OUT = "afgemeld"
ROLES = ("admin", "gemeente", "corporatie", "regisseur", "planner", "privacy")
# The page routes each role opens (status 200), exactly: the browser walk below checks them,
# so a page that becomes open to, or closed for, a role fails here too.
EVERY_ROLE_PAGES = {"/", "/toegankelijkheid", "/berichten", "/wachtwoord-instellen/{token}"}
REVIEW_PAGES = {"/beoordelen", "/beoordelen/maanden", "/beoordelen/matches/{match_id}/uitleg"}
PLANNING_PAGES = {"/planner", "/contingenten", "/kaarten/aanbod", "/kaarten/aanbod/vergelijk"}
ROLE_PAGES = {
    "admin": EVERY_ROLE_PAGES
    | REVIEW_PAGES
    | PLANNING_PAGES
    | {
        "/beoordelen/rondes/{round_id}/{actie}",
        "/regisseur",
        "/regisseur/jongeren/{code}",
        "/beheer",
        "/beheer/gebruikers",
        "/beheer/gebruikers/{user_id}",
        "/beheer/organisaties",
        "/beheer/organisaties/{code}",
        "/beheer/menukaart",
        "/beheer/menukaart/{code}",
        "/beheer/beleid",
        "/beheer/beleid/{valid_from}",
    },
    "gemeente": EVERY_ROLE_PAGES
    | REVIEW_PAGES
    | PLANNING_PAGES
    | {"/beoordelen/rondes/{round_id}/{actie}"},
    "corporatie": EVERY_ROLE_PAGES
    | REVIEW_PAGES
    | PLANNING_PAGES
    | {"/woningaanbod", "/woningaanbod/nieuw"},
    "regisseur": EVERY_ROLE_PAGES
    | {
        "/regisseur",
        "/regisseur/jongeren/{code}",
        "/kaarten/jongeren/{code}",
        "/regisseur/aanmelden",
        "/regisseur/jongeren/{code}/gegevens",
    },
    "planner": EVERY_ROLE_PAGES | PLANNING_PAGES,
    "privacy": EVERY_ROLE_PAGES
    | {"/privacy", "/privacy/bewaartermijnen", "/privacy/jongeren", "/privacy/jongeren/{code}"},
}
# At 320 CSS px: roles who between them open every page route.
PHONE_ROLES = ("admin", "regisseur", "corporatie", "privacy")
# The role whose first 403 page is checked (the page is the same for every role but its nav),
# at desktop and at phone width.
FORBIDDEN_AS = "planner"
PHONE_FORBIDDEN_AS = "privacy"


def _first_role_of(template: str, roles: tuple[str, ...] = ROLES) -> str:
    """The first of ``roles`` that opens ``template``: the one that screenshots it (at phone
    width: the one that checks it)."""
    return next(role for role in roles if template in ROLE_PAGES[role])


def test_role_pages_cover_every_page_route(server: Server) -> None:
    """Every page route but the sign-in is opened by some role, and by some phone-width role,
    so the walks below leave no page unchecked (the sign-in page is checked signed out)."""
    every = set(_page_urls(server)) - {"/inloggen"}
    assert set().union(*ROLE_PAGES.values()) == every
    assert set().union(*(ROLE_PAGES[role] for role in PHONE_ROLES)) == every


def _axe_pages_of(
    page: Any,
    server: Server,
    role: str,
    tag: str,
    reflow: bool = False,
    only: set[str] | None = None,
    roles: tuple[str, ...] = ROLES,
    forbidden_as: str = FORBIDDEN_AS,
) -> tuple[list[str], set[str]]:
    """Run axe on the signed-out pages (``role`` is ``SIGNED_OUT``) or, signed in as ``role``,
    on every page URL it can open (the review page with its row forms open) and, as
    ``forbidden_as``, on its first 403 page: the violations found and the page routes opened
    (status 200). ``reflow`` also reports elements that make the page scroll sideways;
    ``only``: the page routes to visit (default: all). Each page is screenshot by the first
    of ``roles`` that opens it."""
    _with_axe(page)
    problems: list[str] = []

    def check(url: str, label: str, template: str | None = None) -> None:
        found = violations(page)
        problems.extend(_describe(f"{label} {url}", found))
        if reflow and not url.startswith("/kaarten/"):  # a map is two-dimensional content
            wide = page.evaluate(WIDER_THAN_VIEWPORT)
            if wide:
                problems.append(
                    f"{label} {url}: reflow (WCAG 1.4.10) breder dan 320 CSS-px: {wide}"
                )
        if template is None or _first_role_of(template, roles) == role:
            slug = re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "start"
            shot(page, f"a11y{tag}-{slug}-{label.split()[0]}")

    if role == SIGNED_OUT:  # sign-in, landing, the statement, a 404
        for url in ("/inloggen", "/", "/toegankelijkheid"):
            assert page.goto(server.url + url).status == 200
            check(url, SIGNED_OUT)
        missing = page.goto(f"{server.url}/bestaat-niet")
        assert missing is not None and missing.status == 404
        check("/bestaat-niet", SIGNED_OUT)
        return problems, set()

    login(page, server, _users(server)[role])
    opened: set[str] = set()
    why: list[str] = []
    forbidden_checked = role != forbidden_as
    for template, concrete in _page_urls(server).items():
        if template == "/inloggen" or (only is not None and template not in only):
            continue
        if template == "/beoordelen/matches/{match_id}/uitleg" and why:
            concrete = why  # a match this role can see
        for url in concrete:
            response = page.goto(server.url + url)
            assert response is not None
            if response.status != 200:
                assert response.status in (403, 404), (role, url, response.status)
                if response.status == 403 and not forbidden_checked:
                    check(url, f"{role} (geen toegang)")
                    forbidden_checked = True
                continue
            opened.add(template)
            if template == "/beoordelen":
                _open_review_forms(page)
                links = page.locator("a[href$='/uitleg']")
                if links.count() and not why:
                    why.append(links.first.get_attribute("href"))
            check(url, role, template)
    assert forbidden_checked, f"{role} met no 403 page"
    return problems, opened


@pytest.mark.parametrize("role", (SIGNED_OUT, *ROLES))
def test_axe_on_every_page_of_a_role(page: Any, server: Server, role: str) -> None:
    """axe (WCAG 2.0/2.1 A, AA) on every page the role can open, the review page with its
    row forms open, the sign-in, 404 and 403 pages, and every map document and iframe; the
    role opens exactly its own pages (a role's nav links only what it may open). One test per
    role, so the walks spread over the test workers."""
    problems, opened = _axe_pages_of(page, server, role, "")
    assert opened == ROLE_PAGES.get(role, set()), (
        f"opened but not expected: {sorted(opened - ROLE_PAGES.get(role, set()))}; "
        f"expected but not opened: {sorted(ROLE_PAGES.get(role, set()) - opened)}"
    )
    assert not problems, f"{len(problems)} axe violations:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", (SIGNED_OUT, *PHONE_ROLES))
def test_axe_at_phone_width(page: Any, server: Server, role: str) -> None:
    """The same at 320 CSS px wide (WCAG 1.4.10 reflow: 400 % zoom of 1280), where tables
    scroll in their own region and nothing else may make the page scroll sideways: signed out
    and as the administrator, the regisseur, a corporation and the privacy officer, who between
    them open every page route. Reflow is a matter of layout, not of role: each page route is
    checked by the first of them that opens it, and each role's home page (its own nav) by
    every one."""
    page.set_viewport_size({"width": 320, "height": 800})
    own = {t for t in ROLE_PAGES.get(role, set()) if _first_role_of(t, PHONE_ROLES) == role}
    visit = own | {"/"} if role != SIGNED_OUT else set()
    # The privacy officer also tries the planner's page: the 403 page at phone width.
    tried = visit | {"/planner"} if role == PHONE_FORBIDDEN_AS else visit
    problems, opened = _axe_pages_of(
        page,
        server,
        role,
        "-phone",
        reflow=True,
        only=tried,
        roles=PHONE_ROLES,
        forbidden_as=PHONE_FORBIDDEN_AS,
    )
    assert opened == visit
    assert not problems, f"{len(problems)} axe violations:\n" + "\n".join(problems)


def _focus_visible(frame: Any) -> None:
    """The focused element of ``frame`` (a page or an iframe's frame) draws an outline."""
    outline = frame.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, s.outlineWidth]; }"""
    )
    assert outline[0] != "none" and outline[1] != "0px", f"focus not visible: {outline}"


def _tab_to(page: Any, predicate: str, limit: int = 400) -> int:
    """Press Tab until ``predicate`` (a JS expression over ``el``, the focused element) holds;
    the number of presses."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate(f"() => {{ const el = document.activeElement; return !!({predicate}); }}"):
            return presses
    raise AssertionError(f"Tab never reached: {predicate}")


def test_keyboard_review_accepts_a_row(page: Any, server: Server) -> None:
    """A gemeente reviewer tabs to a row's Accepteren and presses Enter: the row is accepted in
    place, without a page load, and focus is visible on the way; the updated page still
    passes axe."""
    _with_axe(page)
    login(page, server, server.reviewer_email)
    page.goto(f"{server.url}/beoordelen?toon=alle&sort=jongere")
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    _tab_to(page, "el.matches('form.decide button[value=accept]')")
    _focus_visible(page)
    row_id = page.evaluate("() => document.activeElement.closest('tr').id")
    assert page.locator(f"#{row_id} .badge-proposed").count() == 1
    page.keyboard.press("Enter")
    page.locator(f"#{row_id} .badge-accepted").wait_for()
    assert "geaccepteerd" in page.locator(f"#{row_id}").inner_text().lower()
    assert loads == [], f"the decision reloaded the page: {loads}"
    found = violations(page)
    assert not found, _describe("na accepteren", found)
    shot(page, "a11y-keyboard-review-accepted")


def test_keyboard_reaches_suggestions_and_map(page: Any, server: Server) -> None:
    """The regisseur's suggestion page: Tab reaches the suggestions table (a focusable scroll
    region) and then the map, each with a visible focus ring."""
    login(page, server, server.regisseur_email)
    page.goto(f"{server.url}/regisseur/jongeren/{server.youth_code}")
    page.wait_for_load_state("load")
    _tab_to(page, "el.matches('[tabindex=\"0\"]') && el.querySelector('table')")
    _focus_visible(page)
    label = page.evaluate("() => document.activeElement.getAttribute('aria-label') || ''")
    assert re.search(r"woonplek", label, re.I), label
    _tab_to(page, "el.matches('iframe.map')")
    map_frame = page.locator("iframe.map").element_handle().content_frame()
    assert map_frame is not None
    focused = map_frame.evaluate(
        """() => { const el = document.activeElement;
                   return [el.getAttribute('role'), el.getAttribute('aria-label') || '',
                           el.classList.contains('leaflet-container')]; }"""
    )
    assert focused[0] == "region" and focused[1] and focused[2], focused
    _focus_visible(map_frame)
    shot(page, "a11y-keyboard-suggestions-map")
