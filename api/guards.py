"""Request guards that apply to the whole API.

PostgreSQL text cannot hold a NUL character; a NUL in a path, query or JSON body would reach the
database driver and fail there (a server error). This middleware refuses such requests up front
with a 422 in FastAPI's validation-error shape, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BUFFERED_JSON = 5 * 1024 * 1024


def _refusal(where: str) -> bytes:
    return json.dumps(
        {
            "detail": [
                {
                    "loc": [where],
                    "msg": "een NUL-teken (\\u0000) is niet toegestaan",
                    "type": "value_error",
                }
            ]
        }
    ).encode()


class RejectNulCharacters:
    """Answer 422 to /api/ requests with a NUL character in the path, query or JSON body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _refuse(self, send: Send, where: str) -> None:
        body = _refusal(where)
        await send(
            {
                "type": "http.response.start",
                "status": 422,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"]:
            await self._refuse(send, "path")
            return
        if b"%00" in scope.get("query_string", b"").lower() or b"\x00" in scope.get(
            "query_string", b""
        ):
            await self._refuse(send, "query")
            return
        headers: dict[bytes, bytes] = dict(scope.get("headers", []))
        if not headers.get(b"content-type", b"").startswith(b"application/json"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = bool(message.get("more_body")) and size <= MAX_BUFFERED_JSON
        body = b"".join(chunks)
        if b"\\u0000" in body or b"\x00" in body:
            await self._refuse(send, "body")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
