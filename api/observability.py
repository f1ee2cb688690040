"""Structured logs with a request id (issue 17 item 6).

Every log line is one JSON object (``STEK_LOG_FORMAT=json``, the default) with ``request_id``:
the id of the HTTP request it was written for, or of the background job (``retention-…``), or
``null`` outside both. Each response carries the id in ``X-Request-ID``. An incoming
``X-Request-ID`` (from a proxy that already assigned one) is kept only when well-formed: 8 to 64
letters, digits, ``-``, ``_`` or ``.``; anything else is replaced by a fresh id, so a client
cannot write arbitrary text into the logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
# Paths whose last segment is a secret (a one-time password link): logged with it blanked out,
# so a log reader cannot set someone's password.
SECRET_PATHS = re.compile(r"^(/wachtwoord-instellen/)[^/]+")


def loggable_path(path: str) -> str:
    """``path`` as the access log may keep it: secret segments replaced by ``***``."""
    return SECRET_PATHS.sub(r"\1***", path)


request_id_var: ContextVar[str | None] = ContextVar("stek_request_id", default=None)
access_log = logging.getLogger("stek.access")

# LogRecord attributes that are not extra fields of a call.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's message with terminal colours
}
_HANDLER_NAME = "stek-structured"


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted_request_id(incoming: str | None) -> str:
    """The incoming id when it is well-formed, else a fresh one."""
    if incoming is not None and REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


@contextmanager
def job_request_id(prefix: str) -> Iterator[str]:
    """Give the log lines of a background job (not a request) an id of their own."""
    token = request_id_var.set(f"{prefix}-{uuid.uuid4().hex[:12]}")
    try:
        yield request_id_var.get() or ""
    finally:
        request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (also records of uvicorn and libraries)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure_logging(log_format: str = "json", level: str = "INFO") -> logging.Handler:
    """Install stek's handler on the root logger (once; a second call replaces it), and route
    uvicorn's loggers through it, so every line has the same shape."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == _HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uv = logging.getLogger(name)
        uv.handlers.clear()
        uv.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # stek.access says the same, with an id
    return handler


Observer = Callable[[Scope, int, float], None]


class RequestContext:
    """ASGI middleware: a request id per request (context variable, response header) and one
    access log line with method, path, status and duration; ``observe`` gets the same figures
    (the metrics)."""

    def __init__(self, app: ASGIApp, observe: Observer | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for key, value in scope.get("headers", []):
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
        request_id = accepted_request_id(incoming)
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            path = loggable_path(str(scope.get("path", "")))
            access_log.info(
                "%s %s %s",
                scope.get("method"),
                path,
                status,
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            if self.observe is not None:
                self.observe(scope, status, seconds)
            request_id_var.reset(token)
