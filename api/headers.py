"""Security headers on every response: a strict Content-Security-Policy with a per-response nonce,
framing and referrer rules, no MIME sniffing, and ``no-store`` on everything but ``/static``.

The pages have no inline script; the map documents (``/kaarten/...``) are folium documents whose
inline ``<script>`` and ``<style>`` elements carry the response's nonce (``maps.supply.
render_html(..., nonce=csp_nonce(request))``). Inline event handlers, ``javascript:`` URLs and
scripts from anywhere else are refused by the browser, so even a text that slipped past the
escaping could not run. ``style-src-attr 'unsafe-inline'`` keeps the ``style="width: …"`` bars on
the review page (a style attribute cannot run script); ``<style>`` elements need the nonce.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC_PREFIX = "/static/"
NONCE_KEY = "csp_nonce"


def content_security_policy(nonce: str) -> str:
    """The policy for one response; ``nonce`` allows that response's own inline elements."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "font-src 'self'",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        )
    )


def security_headers(path: str, nonce: str) -> list[tuple[bytes, bytes]]:
    """The headers for a response to ``path`` (``Cache-Control: no-store`` except static files:
    every page and API answer may carry personal data, and a shared computer keeps no copy)."""
    headers = [
        ("Content-Security-Policy", content_security_policy(nonce)),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if not path.startswith(STATIC_PREFIX):
        headers.append(("Cache-Control", "no-store"))
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


def csp_nonce(request: Request) -> str:
    """This response's CSP nonce (set by :class:`SecurityHeaders` for every request)."""
    nonce = request.scope.get("state", {}).get(NONCE_KEY)
    if not isinstance(nonce, str):
        raise RuntimeError("SecurityHeaders is not installed: no CSP nonce for this request")
    return nonce


class SecurityHeaders:
    """ASGI middleware: a fresh nonce per request, the headers above on every HTTP response
    (replacing any a route set itself, so the policy lives in one place)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        extra = security_headers(scope["path"], nonce)
        ours = {k for k, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
