"""Streaming multipart uploads, read only after the caller is known (API imports and the
admin page): the body goes to a temporary file and is cut off past a size limit (413), whether
or not it announced its length."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

UPLOAD_FIELD = "file"
# The form holds one file; its other fields (CSRF token, kind) are small.
MAX_FORM_FIELDS = 10
MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class Upload:
    filename: str
    path: Path
    fields: dict[str, str]  # the form's other (text) fields


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"het bestand is te groot: hoogstens {limit // (1024 * 1024)} MB per import",
    )


def _bad_upload(message: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [{"loc": ["body", UPLOAD_FIELD], "msg": message, "type": "value_error"}],
    )


async def _capped(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The request body, raising :class:`_BodyTooLarge` as soon as it passes ``limit`` bytes."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise _BodyTooLarge
        yield chunk


async def receive_upload(request: Request, limit: int, folder: Path) -> Upload:
    """Stream the multipart body's ``file`` part into ``folder``, with the other fields.

    413 when ``Content-Length`` announces more than ``limit`` bytes (nothing is read) or the
    body passes ``limit`` while streaming; 422 for a body that is no multipart form with a file.
    """
    length = request.headers.get("content-length")
    if length is not None and length.strip().isdigit() and int(length) > limit:
        raise _too_large(limit)
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise _bad_upload("stuur het bestand als multipart/form-data in veld 'file'")
    parser = MultiPartParser(
        request.headers,
        _capped(request, limit),  # type: ignore[arg-type]  # an async generator at runtime
        max_files=1,
        max_fields=MAX_FORM_FIELDS,
        max_part_size=MAX_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except _BodyTooLarge:
        raise _too_large(limit) from None
    except MultiPartException as exc:
        raise _bad_upload(f"geen geldig multipart-formulier: {exc.message}") from None
    try:
        upload = form.get(UPLOAD_FIELD)
        if not isinstance(upload, UploadFile):
            raise _bad_upload("veld 'file' met het CSV-bestand ontbreekt")
        path = folder / "upload.csv"
        with path.open("wb") as out:
            await run_in_threadpool(shutil.copyfileobj, upload.file, out)
        fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        return Upload((upload.filename or "")[:200], path, fields)
    finally:
        await form.close()
