"""Browser tests: the app on loopback uvicorn with the demo loaded, driven by Debian's Chromium.

Without /usr/bin/chromium the tests skip with a message; with ``STEK_REQUIRE_BROWSER=1`` (CI)
they fail instead. Every request the browser makes is checked: anything not to the test server
on 127.0.0.1 is aborted and recorded, and the tests assert none happened.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MONTH = date(2026, 12, 1)


def _require_browser() -> None:
    missing = not Path(CHROMIUM).exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing:
        message = (
            f"browser tests need {CHROMIUM} (apt-get install -y chromium) and the playwright "
            "package (pip install -e '.[dev]')"
        )
        if os.environ.get("STEK_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; STEK_REQUIRE_BROWSER=1")
        pytest.skip(message)


@dataclass
class Server:
    url: str
    db_url: str
    reviewer_email: str
    corporation_email: str
    other_corporation_option: str
    regisseur_email: str
    youth_code: str
    other_youth_code: str
    round_id: int
    external: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prepare(db_url: str) -> dict[str, Any]:
    """Demo data, a solved and published round, and the users the scenarios need."""
    from api.cli import load_demo
    from api.services import rounds as svc
    from store import models as m
    from store.db import make_engine, make_sessionmaker, unit_of_work
    from store.migrate import upgrade

    upgrade(db_url)
    load_demo(db_url)
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as s:
            rnd = svc.create_round(s, MONTH, 1, svc.Actor.system())
            svc.start_solve(s, rnd.id, svc.Actor.system())
            round_id = rnd.id
        assert svc.run_solve(factory, round_id, time_limit_s=3) is not None
        with unit_of_work(factory) as s:
            svc.publish(s, round_id, svc.Actor.system())
            matches = svc.latest_proposal(s, round_id).matches
            by_gemeente: dict[str, int] = {}
            for x in matches:
                if x.option.corporation_id is None:
                    by_gemeente[x.option.gemeente_code] = (
                        by_gemeente.get(x.option.gemeente_code, 0) + 1
                    )
            gemeente = max(sorted(by_gemeente), key=lambda g: by_gemeente[g])
            assert by_gemeente[gemeente] >= 2, "demo round needs two provider-owned matches"
            reviewer = s.scalars(
                select(m.User)
                .join(m.Organisation)
                .where(m.User.role == "gemeente", m.Organisation.gemeente_code == gemeente)
            ).one()
            corp_user = s.scalars(select(m.User).where(m.User.role == "corporatie")).first()
            assert corp_user is not None
            other_option = s.scalars(
                select(m.HousingOption.code).where(
                    m.HousingOption.corporation_id != corp_user.organisation_id,
                    m.HousingOption.corporation_id.is_not(None),
                )
            ).first()
            regisseur = s.scalars(
                select(m.User).where(m.User.email == "regisseur1@demo.stek.invalid")
            ).one()
            youth = s.scalars(
                select(m.Youth)
                .where(m.Youth.regisseur_id == regisseur.id, m.Youth.status == "waiting")
                .where(m.Youth.no_go_areas.any())
                .order_by(m.Youth.code)
            ).first()
            other = s.scalars(
                select(m.Youth).where(m.Youth.regisseur_id != regisseur.id).order_by(m.Youth.code)
            ).first()
            assert youth is not None and other is not None and other_option is not None
            return {
                "reviewer_email": reviewer.email,
                "corporation_email": corp_user.email,
                "other_corporation_option": other_option,
                "regisseur_email": regisseur.email,
                "youth_code": youth.code,
                "other_youth_code": other.code,
                "round_id": round_id,
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_browser()

    os.environ["STEK_PAGE_SOLVE_SECONDS"] = "2"
    db_url = f"sqlite:///{tmp_path_factory.mktemp('e2e') / 'stek.db'}"
    info = _prepare(db_url)
    with serving(db_url) as url:
        yield Server(url=url, db_url=db_url, **info)


@contextmanager
def serving(db_url: str, **settings: Any) -> Iterator[str]:
    """The app on database ``db_url`` (and ``settings``) served by uvicorn on loopback in a
    thread; its URL."""
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    port = _free_port()
    config = uvicorn.Config(
        create_app(Settings(database_url=db_url, **settings)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser(server: Server) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    """A fresh browser context; requests off the test server are aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    host = urlparse(server.url).netloc

    def guard(route: Any) -> None:
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or parsed.netloc == host:
            route.continue_()
        else:
            server.external.append(url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not server.external, f"requests left localhost: {server.external}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page: Any, server: Server, email: str) -> None:
    page.goto(f"{server.url}/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill("demo")
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()
    if "/inloggen?next=" in page.url:
        # The sign-in POST commits its session after the response is sent (FastAPI runs a
        # yield dependency's exit code then), so the redirected GET can race it; retry once.
        page.wait_for_timeout(300)
        page.goto(server.url + page.url.split("next=", 1)[1].replace("%2F", "/"))
    assert "/inloggen" not in page.url, f"sign-in failed for {email}"
