"""The API explorer at /api/v1/docs draws the API in Chromium under the Content-Security-Policy.

It used to be FastAPI's page, which loads Swagger UI from a CDN with an inline start script:
both refused by the policy, so it stayed blank. Now Swagger UI is vendored (api/apidocs.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Server, shot

pytestmark = pytest.mark.browser

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
});
"""


def test_the_api_explorer_draws_every_operation_from_static_files(
    page: Any, server: Server
) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server.url}/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    operations = page.locator(".opblock").count()
    assert operations > 20  # the schema's operations, each its own block
    assert page.locator(".info .title").inner_text().startswith("stek")
    # Open one operation: its parameters and responses are drawn by the same bundle.
    page.locator(".opblock-summary").first.click()
    page.wait_for_selector(".opblock-body", timeout=5_000)
    shot(page, "api-explorer")
    assert page.evaluate("() => window.__csp") == []
