"""The API explorer (Swagger UI) at ``/api/v1/docs``, from ``/static`` only.

FastAPI's own explorer page loads Swagger UI from a CDN and starts it with an inline script:
the Content-Security-Policy (``api.headers``) refuses both, so the page stayed blank. This page
uses the vendored Swagger UI (``static/vendor/swagger-ui``) and starts it from
``static/apidocs.js``, which reads the OpenAPI address from the page (no inline script at all).
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["explorer_router"]

VENDOR = "/static/vendor/swagger-ui"


def explorer_router(docs_path: str, openapi_path: str, title: str) -> APIRouter:
    """A router serving the explorer page at ``docs_path`` for the schema at ``openapi_path``."""
    router = APIRouter()
    page = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} - API</title>
<link rel="stylesheet" href="{VENDOR}/swagger-ui.css">
</head>
<body>
<main id="swagger-ui" data-openapi="{escape(openapi_path)}"></main>
<script src="{VENDOR}/swagger-ui-bundle.js"></script>
<script src="/static/apidocs.js"></script>
</body>
</html>
"""

    @router.get(docs_path, include_in_schema=False)
    def explorer() -> HTMLResponse:
        return HTMLResponse(page)

    return router
