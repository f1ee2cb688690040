"""Signing in through the pages in TestClient tests, and the published round many page tests
start from (shared so every test signs in and sets up the same way)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from fixtures.generate import generate_region, write_region
from store.db import unit_of_work

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MONTH = date(2026, 12, 1)


def csrf_in(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = CSRF.search(html)
    assert found, "form without CSRF token"
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str = "demo") -> httpx.Response:
    """Sign in through the sign-in form (with its CSRF token); the 303 answer."""
    form = client.get("/inloggen")
    done = client.post(
        "/inloggen",
        data={"email": email, "password": password, "csrf_token": csrf_in(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return done


def published_round(
    db_url: str,
    folder: Path,
    factory: sessionmaker[Session],
    youths: int = 40,
    options: int = 60,
    region_seed: int = 3,
) -> int:
    """A generated region loaded into ``db_url`` with its December round solved and
    published; the round's id."""
    write_region(generate_region(youths, options, seed=region_seed), folder)
    load_demo(db_url, folder)
    admin = svc.Actor.system()
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=admin).id
        svc.start_solve(s, round_id, admin)
    assert svc.run_solve(factory, round_id, time_limit_s=10) is not None
    with unit_of_work(factory) as s:
        svc.publish(s, round_id, admin)
    return round_id
