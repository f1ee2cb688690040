"""Benchmark: a month's round finished in the browser by a gemeente and a corporation reviewer.

Run:  .venv/bin/python bench/review.py [--youths 2000 --options 2000] [--pg URL]

Debian's Chromium (Playwright, /usr/bin/chromium) drives the app served on 127.0.0.1 with the
demo region (or a generated region of ``--youths`` x ``--options``) and a solved, published
December round. Two people do their job in the pages:

- the corporation with the most matches: signs in, rejects five matches with a reason (one by
  one, without a page load), accepts all its other open matches at once; after the re-solve it
  accepts what the new version gives it;
- the gemeente with the most matches, coordinating the round (decision 18): signs in, accepts
  its own open matches, re-solves (with the confirmation step), publishes version 2, confirms
  every accepted match in its gemeente and finalises.

The other organisations of the region do their part meanwhile (every other corporation and
gemeente accepts its own matches and confirms those in its gemeente); that happens through the
services in this process and is reported as ``other_organisations_matches`` -- it is not
counted as page actions, since other people do it in their own browsers.

Counted as page actions: every click and form submission (a select of a reason counts too).
Each is timed from the click to a settled page: for a decision the new row in place, for a
bulk decision the server's page in place of the old ``<main>``, for a navigation the loaded
page. ``full_reloads`` counts page loads caused by decisions, single or bulk (both are made
without a new document). The server runs as its own process (``stek serve``), as deployed.
The baseline is the health endpoint, fetched by the same browser from the same server.

Last line: JSON with ``matches``, ``page_actions``, ``seconds``, ``p95_action_ms``,
``full_reloads``, ``baseline_health_ms`` and the per-action figures.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import select

from api.cli import load_demo
from api.services import rounds as svc
from bench.serving import serve_process
from fixtures.generate import generate_region, write_region
from store import models as m
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.migrate import upgrade

CHROMIUM = "/usr/bin/chromium"
MONTH = date(2026, 12, 1)
SYSTEM = svc.Actor.system()


def _prepare(url: str, folder: Path | None) -> tuple[int, str, str]:
    """Migrate, load, solve and publish December; the two reviewers' e-mail addresses."""
    upgrade(url)
    if folder is None:
        load_demo(url)
    else:
        load_demo(url, folder)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with unit_of_work(factory) as s:
            round_id = svc.create_round(s, MONTH, seed=1, actor=SYSTEM).id
            svc.start_solve(s, round_id, SYSTEM)
        if svc.run_solve(factory, round_id, time_limit_s=60) is None:
            raise RuntimeError("the round did not solve")
        with unit_of_work(factory) as s:
            svc.publish(s, round_id, SYSTEM)
            matches = svc.latest_proposal(s, round_id).matches
            corp_counts: dict[int, int] = {}
            gem_counts: dict[str, int] = {}
            for x in matches:
                if x.option.corporation_id is not None:
                    corp_counts[x.option.corporation_id] = (
                        corp_counts.get(x.option.corporation_id, 0) + 1
                    )
                gem_counts[x.option.gemeente_code] = gem_counts.get(x.option.gemeente_code, 0) + 1
            corp = max(sorted(corp_counts), key=lambda c: corp_counts[c])
            gemeente = max(sorted(gem_counts), key=lambda g: gem_counts[g])
            corp_email = s.scalars(
                select(m.User.email).where(m.User.organisation_id == corp)
            ).first()
            gem_email = s.scalars(
                select(m.User.email)
                .join(m.Organisation)
                .where(m.User.role == "gemeente", m.Organisation.gemeente_code == gemeente)
            ).first()
        assert corp_email and gem_email
        return round_id, corp_email, gem_email
    finally:
        engine.dispose()


def _others_decide(url: str, round_id: int, reviewers: set[str], confirm: bool) -> int:
    """Every other organisation accepts its own open matches (and, with ``confirm``, each
    other gemeente confirms the accepted matches in its gemeente). Returns matches touched."""
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    touched = 0
    try:
        with unit_of_work(factory) as s:
            users = [
                u
                for u in s.scalars(
                    select(m.User).where(m.User.role.in_(("gemeente", "corporatie")))
                )
                if u.email not in reviewers
            ]
            actors = [svc.Actor(u.id, u.organisation_id, u.role) for u in users]
            for actor in actors:  # first every decision, then the confirmations
                for x in svc.latest_proposal(s, round_id).matches:
                    if x.status == "proposed" and svc.may_decide_match(s, actor, x):
                        svc.decide(s, x.id, actor, True, x.version_id)
                        touched += 1
                s.flush()
            for actor in actors if confirm else []:
                if actor.role != "gemeente":
                    continue
                for x in svc.latest_proposal(s, round_id).matches:
                    if x.status == "accepted" and svc.may_confirm_match(s, actor, x):
                        svc.confirm(s, x.id, actor, x.version_id)
                        touched += 1
                s.flush()
    finally:
        engine.dispose()
    return touched


class Recorder:
    """Counts page actions and times each from the click to a settled page."""

    def __init__(self) -> None:
        self.actions: list[tuple[str, float]] = []
        self.decision_reloads = 0

    def act(self, name: str, do: Callable[[], None], settle: Callable[[], None]) -> None:
        start = time.perf_counter()
        do()
        settle()
        self.actions.append((name, (time.perf_counter() - start) * 1000.0))


def _login(page: Any, rec: Recorder, base: str, email: str) -> None:
    page.goto(f"{base}/inloggen")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill("demo")
    rec.act(
        "inloggen",
        lambda: page.get_by_role("button", name="Inloggen").click(),
        lambda: page.wait_for_url("**/beoordelen**"),
    )
    page.wait_for_load_state("networkidle")


def _reject(page: Any, rec: Recorder, n: int) -> None:
    """Reject the first open match with a reason: three page actions, no page load."""
    row = page.locator("table.matches tbody tr:has(button[value=accept])").first
    row_id = row.get_attribute("id")

    def open_form() -> None:
        row.get_by_text("Afwijzen…").click()

    def choose() -> None:
        row.get_by_label("Reden").select_option("woning_past_niet")

    def submit() -> None:
        row.get_by_role("button", name="Afwijzen", exact=True).click()

    def rejected() -> None:  # checked every animation frame (a locator polls up to 500 ms)
        page.wait_for_function(
            f"() => !!document.querySelector('#{row_id} .badge-rejected')", polling="raf"
        )

    rec.act("afwijzen openen", open_form, lambda: None)
    rec.act("reden kiezen", choose, lambda: None)
    rec.act(f"afwijzen {n}", submit, rejected)


def _navigate(page: Any, rec: Recorder, name: str, locator: Any) -> None:
    rec.act(name, lambda: locator.click(), lambda: page.wait_for_load_state("load"))


def _bulk(page: Any, rec: Recorder, name: str, locator: Any) -> None:
    """A bulk decision: settled when the server's page has replaced <main> (no new document;
    a load would be counted in ``full_reloads``)."""
    page.evaluate("() => { document.getElementById('inhoud').dataset.benchOld = '1'; }")
    loads: list[str] = []

    def loaded(_: Any) -> None:
        loads.append("load")

    def swapped() -> None:  # checked every animation frame (a handle's wait polls up to 500 ms)
        page.wait_for_function(
            "() => !document.querySelector('#inhoud[data-bench-old]')", polling="raf"
        )

    page.on("load", loaded)
    rec.act(name, lambda: locator.click(), swapped)
    page.remove_listener("load", loaded)
    rec.decision_reloads += len(loads)


def run(url: str, folder: Path | None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    os.environ["STEK_PAGE_SOLVE_SECONDS"] = "60"
    round_id, corp_email, gem_email = _prepare(url, folder)
    log = os.environ.get("STEK_BENCH_SERVER_LOG", "/dev/null")  # the server's JSON log lines
    with serve_process(url, log) as base, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        corp = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
        gem = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
        health = []
        for _ in range(20):
            start = time.perf_counter()
            corp.request.get(f"{base}/api/v1/health")
            health.append((time.perf_counter() - start) * 1000.0)
        rec = Recorder()
        started = time.perf_counter()
        with unit_of_work(make_sessionmaker(make_engine(url))) as s:
            matches = len(svc.latest_proposal(s, round_id).matches)

        # the corporation: five rejections with a reason, one by one, then accept the rest
        _login(corp, rec, base, corp_email)
        loads: list[str] = []
        corp.on("load", lambda loaded: loads.append(loaded.url))
        for i in range(5):
            _reject(corp, rec, i + 1)
        rec.decision_reloads = len(loads)
        _bulk(corp, rec, "alle open accepteren", corp.locator("button[value=alles-accepteren]"))

        # the gemeente: its own matches, then re-solve with the confirmation step
        _login(gem, rec, base, gem_email)
        accept_all = gem.locator("button[value=alles-accepteren]")
        if accept_all.count():
            _bulk(gem, rec, "alle open accepteren", accept_all)
        others = _others_decide(url, round_id, {corp_email, gem_email}, confirm=False)
        _navigate(gem, rec, "doorrekenen", gem.get_by_role("link", name="Opnieuw doorrekenen…"))
        _navigate(
            gem,
            rec,
            "doorrekenen bevestigen",
            gem.get_by_role("button", name="Opnieuw doorrekenen"),
        )
        # the page refreshes itself while solving; a failed re-solve shows its reason
        gem.locator("a:has-text('Voorstel publiceren…'), p.error").first.wait_for(timeout=180_000)
        if gem.locator("p.error").count():
            raise RuntimeError(gem.locator("p.error").first.inner_text())
        _navigate(gem, rec, "publiceren", gem.get_by_role("link", name="Voorstel publiceren…"))
        _navigate(
            gem, rec, "publiceren bevestigen", gem.get_by_role("button", name="Voorstel publiceren")
        )

        # version 2: the corporation accepts what is new for it, the others theirs
        _navigate(corp, rec, "voorstel openen", corp.get_by_role("link", name="Beoordelen"))
        accept_all = corp.locator("button[value=alles-accepteren]")
        if accept_all.count():
            _bulk(corp, rec, "alle open accepteren", accept_all)
        others += _others_decide(url, round_id, {corp_email, gem_email}, confirm=True)

        # the gemeente confirms its gemeente's matches and finalises
        _navigate(gem, rec, "voorstel openen", gem.get_by_role("link", name="Beoordelen"))
        accept_all = gem.locator("button[value=alles-accepteren]")
        if accept_all.count():
            _bulk(gem, rec, "alle open accepteren", accept_all)
        _bulk(gem, rec, "alles bevestigen", gem.locator("button[value=alles-bevestigen]"))
        _navigate(gem, rec, "afronden", gem.get_by_role("link", name="Ronde afronden…"))
        _navigate(gem, rec, "afronden bevestigen", gem.get_by_role("button", name="Ronde afronden"))
        final = "Deze ronde is afgerond" in gem.content()
        seconds = time.perf_counter() - started
        browser.close()
    times = [t for _, t in rec.actions]
    return {
        "matches": matches,
        "finalised": final,
        "page_actions": len(rec.actions),
        "seconds": round(seconds, 1),
        "p95_action_ms": round(float(np.percentile(times, 95)), 1),
        "max_action_ms": round(max(times), 1),
        "full_reloads": rec.decision_reloads,
        "baseline_health_ms": round(float(np.median(health)), 1),
        "other_organisations_matches": others,
        "actions": [(name, round(t, 1)) for name, t in rec.actions],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--youths", type=int, default=0, help="generated region (0: the demo)")
    parser.add_argument("--options", type=int, default=0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg", default="", help="PostgreSQL URL instead of a SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = None
        if args.youths:
            folder = Path(tmp) / "region"
            write_region(
                generate_region(args.youths, args.options or args.youths, args.seed), folder
            )
        url = args.pg or f"sqlite:///{Path(tmp) / 'stek.db'}"
        figures = run(url, folder)
    figures["region"] = f"{args.youths} x {args.options}" if args.youths else "demo"
    figures["database"] = "postgresql" if args.pg else "sqlite"
    for name, ms in figures["actions"]:
        print(f"{ms:8.1f} ms  {name}")
    print(json.dumps({k: v for k, v in figures.items() if k != "actions"}))


if __name__ == "__main__":
    main()
