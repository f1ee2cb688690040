"""Security headers on every response (issue 13 item 1), on SQLite and PostgreSQL.

Every route the app has is enumerated from the app itself (no hand-written list): each is
requested anonymously, and every GET also signed in as admin, planner and a regisseur, and every
answer — 200, redirect, 401, 403, 404, 422 — must carry the Content-Security-Policy and the other
headers. Map documents must put the response's nonce on every inline script and style, pages must
have no inline script or event handler at all, and the policy must be one that forbids inline
handlers and scripts from elsewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m

EXPECTED = {
    "x-frame-options": "SAMEORIGIN",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
REQUIRED_DIRECTIVES = {
    "default-src": {"'self'"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'self'"},
    "form-action": {"'self'"},
    "connect-src": {"'self'"},
    "img-src": {"'self'", "data:"},
}
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(30, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def client(region: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=region))) as c:
        yield c


def _routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path, methods) of every route of the app, through included routers."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:  # FastAPI's included router: its routes under a prefix
            inner = prefix + route.include_context.prefix
            yield from _routes(list(included.routes), inner)
        elif hasattr(route, "routes") and not hasattr(route, "methods"):  # a mount
            if getattr(route, "path", "") != "/static":
                yield from _routes(list(route.routes), prefix + route.path)
        elif getattr(route, "methods", None):
            yield prefix + route.path, set(route.methods) - {"HEAD"}


def _concrete(path: str, youth_code: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "code":
            return youth_code
        return "1" if name.endswith("id") or name in {"y", "o"} else "x"

    return re.sub(r"{(\w+)(?::\w+)?}", value, path)


def _policy(response: Any) -> dict[str, set[str]]:
    header = response.headers.get("content-security-policy")
    assert header, f"{response.request.method} {response.request.url}: no CSP"
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = set(words[1:])
    return directives


def _check_headers(response: Any) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    policy = _policy(response)
    for directive, sources in REQUIRED_DIRECTIVES.items():
        assert policy.get(directive) == sources, (where, directive, policy.get(directive))
    scripts = policy["script-src"]
    assert "'self'" in scripts, where
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:"} & scripts
    assert [s for s in scripts if s.startswith("'nonce-")], where
    assert "'unsafe-inline'" not in policy.get("style-src", set()), where
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (where, name, response.headers.get(name))
    if not response.request.url.path.startswith("/static/"):
        assert response.headers.get("cache-control") == "no-store", where
    assert len(response.headers.get_list("cache-control")) <= 1, where


def _sign_in(client: TestClient, email: str) -> None:
    form = client.get("/inloggen")
    _check_headers(form)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token
    done = client.post(
        "/inloggen",
        data={"email": email, "password": "demo", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    _check_headers(done)


def _people(factory: sessionmaker[Session]) -> tuple[str, str]:
    with factory() as s:
        youth = s.scalars(
            select(m.Youth).where(m.Youth.regisseur_id.is_not(None)).order_by(m.Youth.code)
        ).first()
        assert youth is not None
        regisseur = s.get(m.User, youth.regisseur_id)
        assert regisseur is not None
        return youth.code, regisseur.email


def test_every_route_answers_with_the_security_headers(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_code, regisseur = _people(session_factory)
    routes = sorted(set((p, tuple(sorted(ms))) for p, ms in _routes(list(client.app.routes))))
    paths = {p for p, _ in routes}
    # the enumeration reaches the included routers: pages, maps and the API
    assert {"/planner", "/kaarten/aanbod", "/kaarten/jongeren/{code}"} <= paths
    assert sum(p.startswith("/api/v1/") for p in paths) > 20
    gets = [_concrete(p, youth_code) for p, ms in routes if "GET" in ms]
    for path, methods in routes:
        for method in methods:  # anonymous: mostly 401, 403, 303 or 422
            _check_headers(client.request(method, _concrete(path, youth_code)))
    for email in ("admin@demo.stek.invalid", "planner1@demo.stek.invalid", regisseur):
        client.cookies.clear()
        _sign_in(client, email)
        for path in gets:
            response = client.get(path, follow_redirects=False)
            _check_headers(response)
            if response.headers.get("content-type", "").startswith("text/html"):
                assert not INLINE_HANDLER.search(response.text), (email, path)
                assert "javascript:" not in response.text.lower(), (email, path)
                # every page (the API explorer too): no inline script, none from elsewhere
                nonce = _nonce(response)
                for attrs in re.findall(r"<script\b([^>]*)>", response.text):
                    assert f'nonce="{nonce}"' in attrs or 'src="/static/' in attrs, path
    # the 404 page, a NUL refused by the guard, and a static file (which may be cached)
    _check_headers(client.get("/bestaat-niet"))
    _check_headers(client.get("/api/v1/youths/%00"))
    static = client.get("/static/stek.css")
    assert static.status_code == 200
    _check_headers(static)
    assert static.headers.get("cache-control") != "no-store"


def _nonce(response: Any) -> str:
    (source,) = [s for s in _policy(response)["script-src"] if s.startswith("'nonce-")]
    return source.removeprefix("'nonce-").removesuffix("'")


def test_map_documents_carry_the_nonce_on_every_inline_element(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_code, regisseur = _people(session_factory)
    _sign_in(client, "planner1@demo.stek.invalid")
    documents = [
        "/kaarten/aanbod",
        "/kaarten/aanbod?niveau=buurt",
        "/kaarten/aanbod/vergelijk?a=base&b=instroom-plus-20",
    ]
    nonces = set()
    for path in documents:
        response = client.get(path)
        assert response.status_code == 200, path
        _check_headers(response)
        nonce = _nonce(response)
        nonces.add(nonce)
        html = response.text
        scripts = re.findall(r"<script\b([^>]*)>", html)
        styles = re.findall(r"<style\b([^>]*)>", html)
        assert scripts and styles
        for attrs in scripts:
            assert f'nonce="{nonce}"' in attrs or 'src="/static/' in attrs, (path, attrs)
        for attrs in styles:
            assert f'nonce="{nonce}"' in attrs, (path, attrs)
        assert 'src="http' not in html and 'href="http' not in html
        assert not INLINE_HANDLER.search(html), path
    assert len(nonces) == len(documents), "a nonce must be fresh for every response"
    client.cookies.clear()
    _sign_in(client, regisseur)
    own_map = client.get(f"/kaarten/jongeren/{youth_code}")
    assert own_map.status_code == 200
    nonce = _nonce(own_map)
    assert all(
        f'nonce="{nonce}"' in attrs or 'src="/static/' in attrs
        for attrs in re.findall(r"<script\b([^>]*)>", own_map.text)
    )
