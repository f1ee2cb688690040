"""Request guards that apply to every route, before a body is parsed.

``GuardRequests`` (ASGI middleware) does, in this order:

1. Refuse a NUL character in the path or query (422). PostgreSQL text cannot hold NUL; it would
   reach the database driver and fail there (a server error).
2. Refuse a body over its size limit with 413 *before* reading it when ``Content-Length`` says
   so, and while reading a chunked body as soon as the count passes the limit. JSON bodies may
   be ``settings.max_json_bytes`` long, every other body ``settings.max_form_bytes``. Import
   uploads are exempt: their routes limit them with ``settings.max_import_bytes``.
3. Refuse text a handler cannot safely take (422 naming the field): in a JSON body a NUL, a lone
   surrogate (``"\\ud800"``: not a character, cannot be encoded as UTF-8) or a number that is
   not finite (``NaN``, ``Infinity``, ``1e400``); in a form (urlencoded or the non-file fields of
   a multipart form) a NUL. Such input made the 422 itself fail to render, or the database fail.

Answers are JSON in FastAPI's validation-error shape under ``/api/`` and a Dutch page elsewhere.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterator
from urllib.parse import parse_qsl

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.assets import stylesheet
from api.settings import Settings

# Routes that take a file upload and check its size themselves (settings.max_import_bytes).
IMPORT_PATH_PREFIXES = ("/api/v1/imports/", "/beheer/import")
# Findings listed in one 422; the rest is not looked for.
MAX_FINDINGS = 20

NUL = "een NUL-teken (\\u0000) is niet toegestaan"
SURROGATE = "een losse surrogaatcode (\\ud800–\\udfff) is geen teken; stuur geldige UTF-8-tekst"
NOT_FINITE = "het getal moet eindig zijn (geen NaN, Infinity of een getal buiten bereik)"
NOT_UTF8 = "de inhoud is geen geldige UTF-8"

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]


class BodyTooLarge(Exception):
    """The body passed its limit while it was being read."""


def _readable(text: str) -> str:
    """``text`` safe to put in a JSON answer: NUL and lone surrogates written as escapes."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\u0000")


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return NUL
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE
    return None


def json_findings(body: bytes) -> list[Finding]:
    """What ``body`` (JSON) holds that no handler can take; empty when fine or not JSON at all
    (a syntax error is left to the route, which names it)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return [(("body",), NOT_UTF8)]
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    findings: list[Finding] = []
    # An explicit stack: a deeply nested document must not exhaust Python's recursion limit.
    stack: list[tuple[Loc, object]] = [(("body",), data)]
    while stack and len(findings) < MAX_FINDINGS:
        loc, value = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                findings.append((loc, problem))
        elif isinstance(value, float):
            if not math.isfinite(value):
                findings.append((loc, NOT_FINITE))
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                problem = _text_problem(key)
                if problem:
                    findings.append(((*loc, _readable(key)), problem))
                stack.append(((*loc, _readable(key)), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in reversed(list(enumerate(value))))
    return findings


def _field_findings(fields: Iterator[tuple[str, str]]) -> list[Finding]:
    findings: list[Finding] = []
    for name, value in fields:
        if "\x00" in name or "\x00" in value:
            findings.append((("body", _readable(name)), NUL))
    return findings[:MAX_FINDINGS]


def urlencoded_findings(body: bytes) -> list[Finding]:
    """NUL characters in the fields of an ``application/x-www-form-urlencoded`` body."""
    pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors="replace")
    return _field_findings(iter(pairs))


async def multipart_findings(scope: Scope, body: bytes) -> list[Finding]:
    """NUL characters in the non-file fields (and file names) of a multipart body."""

    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, receive).form()
    except MultiPartException:
        return []  # malformed: the route answers that
    try:
        fields = [
            (name, (value.filename or "") if isinstance(value, UploadFile) else value)
            for name, value in form.multi_items()
        ]
    finally:
        await form.close()
    return _field_findings(iter(fields))


def _kib(size: int) -> str:
    return f"{size / 1024:,.0f} kB".replace(",", ".")


def _page(title: str, lines: list[str]) -> bytes:
    """A plain Dutch page in the site's style (the guard runs outside the template machinery)."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (
        '<!doctype html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)} · stek</title>\n"
        f'<link rel="stylesheet" href="{stylesheet().path}">\n</head>\n<body>\n<main id="inhoud">\n'
        f"<h1>{html.escape(title)}</h1>\n<ul>{items}</ul>\n"
        '<p>Ga terug en pas je invoer aan, of ga naar de <a href="/">startpagina</a>.</p>\n'
        "</main>\n</body>\n</html>\n"
    ).encode()


def _where(loc: Loc) -> str:
    """Where a finding is, in words for the Dutch page."""
    if loc == ("path",):
        return "het adres"
    if loc == ("query",):
        return "de zoekparameters"
    if len(loc) == 1:
        return "de inhoud"
    return "veld ‘" + ".".join(str(p) for p in loc[1:]) + "’"


class GuardRequests:
    """Size limits and text checks for every request; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_form_bytes = settings.max_form_bytes
        self.max_json_bytes = settings.max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = scope["path"].startswith("/api/")
        if "\x00" in scope["path"]:
            await self._invalid(send, api, [(("path",), NUL)])
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query.lower() or b"\x00" in query:
            await self._invalid(send, api, [(("query",), NUL)])
            return
        if scope["path"].startswith(IMPORT_PATH_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if b"content-length" not in headers and b"transfer-encoding" not in headers:
            await self.app(scope, receive, send)  # no body
            return
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        is_json = content_type == b"application/json" or content_type.endswith(b"+json")
        limit = self.max_json_bytes if is_json else self.max_form_bytes
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(send, api, limit)
            return
        try:
            body = await self._read(receive, limit)
        except BodyTooLarge:
            await self._too_large(send, api, limit)
            return
        if body is None:
            return  # the client went away
        if is_json:
            findings = json_findings(body)
        elif content_type == b"application/x-www-form-urlencoded":
            findings = urlencoded_findings(body)
        elif content_type == b"multipart/form-data":
            findings = await multipart_findings(scope, body)
        else:
            findings = []
        if findings:
            await self._invalid(send, api, findings)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read(receive: Receive, limit: int) -> bytes | None:
        """The whole body, or ``BodyTooLarge`` as soon as more than ``limit`` bytes arrived."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    @staticmethod
    async def _answer(send: Send, status: int, body: bytes, json_body: bool) -> None:
        content_type = b"application/json" if json_body else b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of a refused body is not read: the connection cannot be reused.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _too_large(self, send: Send, api: bool, limit: int) -> None:
        message = f"Het verzoek is te groot: hoogstens {_kib(limit)} toegestaan."
        if api:
            body = json.dumps({"detail": message}).encode()
        else:
            body = _page("Verzoek te groot", [message])
        await self._answer(send, 413, body, api)

    async def _invalid(self, send: Send, api: bool, findings: list[Finding]) -> None:
        if api:
            detail = [
                {"loc": list(loc), "msg": msg, "type": "value_error"} for loc, msg in findings
            ]
            body = json.dumps({"detail": detail}).encode()
        else:
            body = _page("Ongeldige invoer", [f"{_where(loc)}: {msg}" for loc, msg in findings])
        await self._answer(send, 422, body, api)
