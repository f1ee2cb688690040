"""The pages' one stylesheet (api/assets.py): every vendored file in cascade order, named by its
content, cached for a year under that name and never under another."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api import assets
from api.app import create_app
from api.settings import Settings

LINK = re.compile(r'<link rel="stylesheet" href="([^"]+)">')


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=db_url)), follow_redirects=False) as c:
        yield c


def test_a_page_links_one_bundle_that_holds_every_file_in_cascade_order(
    client: TestClient,
) -> None:
    page = client.get("/inloggen")
    assert page.status_code == 200
    (href,) = LINK.findall(page.text)
    assert re.fullmatch(r"/static/stek-[0-9a-f]{16}\.css", href)
    bundle = client.get(href)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/css")
    assert bundle.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert bundle.headers["content-security-policy"]  # the security headers still apply
    body = bundle.content
    where = []
    for name in assets.STYLESHEETS:
        text = (assets.STATIC / name).read_bytes().rstrip(b"\n")
        assert text, name
        where.append(body.index(text))
    assert where == sorted(where)  # tokens, then components, then stek's own layer
    assert len(where) == 34


def test_another_name_gets_the_current_bundle_without_the_long_cache(client: TestClient) -> None:
    old = client.get("/static/stek-0000000000000000.css")
    assert old.status_code == 200
    assert old.content == assets.stylesheet().body
    assert old.headers["cache-control"] == "no-cache"
    # the plain static files are still served (map documents link Leaflet from there)
    assert client.get("/static/stek.css").status_code == 200
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200


def test_the_name_changes_with_the_content(monkeypatch: pytest.MonkeyPatch) -> None:
    before = assets.stylesheet()
    monkeypatch.setattr(assets, "STYLESHEETS", (*assets.STYLESHEETS[:-1],))
    assets.stylesheet.cache_clear()
    try:
        after = assets.stylesheet()
        assert after.path != before.path
        assert len(after.body) < len(before.body)
    finally:
        monkeypatch.undo()
        assets.stylesheet.cache_clear()
    assert assets.stylesheet() == before
