"""The pages' stylesheet: the NL Design System files and stek's own layer, served as one file.

A page linked 34 stylesheets (the theme, 32 Utrecht component files, ``stek.css``); a first
visit waited for each before it could paint, which made sign-in the slowest step of a review
round. The files stay vendored unchanged under ``static/`` (``vendor/utrecht/README.md``); the
app concatenates them in this order once, names the result by its content
(``/static/stek-<sha256 prefix>.css``) and lets browsers keep it for a year: a new release has a
new name, so nobody sees a stale stylesheet. None of the files uses ``@import`` or a relative
``url()`` (the theme's one ``url()`` is a data URL), so concatenation keeps their meaning.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

STATIC = Path(__file__).parent / "static"

UTRECHT = (
    "document-css/index.css",
    "page-layout-css/index.css",
    "page-header-css/index.css",
    "page-body-css/index.css",
    "page-footer-css/index.css",
    "nav-bar-css/index.css",
    "nav-list-css/index.css",
    "skip-link-css/index.css",
    "link-css/index.css",
    "paragraph-css/index.css",
    "unordered-list-css/index.css",
    "code-css/index.css",
    "heading-1-css/html.css",
    "heading-2-css/html.css",
    "heading-3-css/html.css",
    "table-css/html.css",
    "button-css/index.css",
    "button-link-css/index.css",
    "action-group-css/index.css",
    "alert-css/index.css",
    "badge-status-css/index.css",
    "badge-counter-css/index.css",
    "form-field-css/index.css",
    "form-label-css/index.css",
    "form-field-description-css/index.css",
    "form-field-error-message-css/index.css",
    "form-fieldset-css/index.css",
    "textbox-css/index.css",
    "textarea-css/index.css",
    "select-css/index.css",
    "checkbox-css/index.css",
    "radio-button-css/index.css",
)
# in cascade order: tokens first, then the components, then stek's layer on top
STYLESHEETS = (
    "vendor/voorbeeld-design-tokens/theme.css",
    *(f"vendor/utrecht/{name}" for name in UTRECHT),
    "stek.css",
)
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Bundle:
    """The concatenated stylesheet and the path it is served under."""

    path: str
    body: bytes


@lru_cache(maxsize=1)
def stylesheet() -> Bundle:
    """The bundle, built on first use from the files on disk (a missing file is an error)."""
    parts = []
    for name in STYLESHEETS:
        text = (STATIC / name).read_bytes()
        parts.append(b"/* " + name.encode() + b" */\n" + text.rstrip(b"\n") + b"\n")
    body = b"".join(parts)
    digest = hashlib.sha256(body).hexdigest()[:16]
    return Bundle(f"/static/stek-{digest}.css", body)


router = APIRouter(include_in_schema=False)


@router.get("/static/stek-{digest}.css")
def bundled_stylesheet(digest: str) -> Response:
    """The bundle under its content name; an old name (a page from before an upgrade) gets
    today's bundle without the long cache, so it is fetched again next time."""
    bundle = stylesheet()
    current = bundle.path == f"/static/stek-{digest}.css"
    return Response(
        bundle.body,
        media_type="text/css",
        headers={"Cache-Control": IMMUTABLE if current else "no-cache"},
    )
