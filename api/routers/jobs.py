"""``GET /jobs/{id}``: a queued job's status and, once done, its result (docs/workers.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel

from api.deps import SessionDep
from api.routers.common import ERRORS, Caller, utc
from store import models as m

router = APIRouter(prefix="/jobs", tags=["jobs"])


class JobOut(BaseModel):
    id: int
    kind: str
    status: str
    attempts: int
    created_at: datetime
    finished_at: datetime | None
    error: str | None
    result: dict[str, Any] | None


def job_out(job: m.Job) -> JobOut:
    return JobOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        attempts=job.attempts,
        created_at=utc(job.created_at),
        finished_at=utc(job.finished_at) if job.finished_at is not None else None,
        error=job.error,
        result=job.result if job.status == "done" else None,
    )


@router.get("/{job_id}", response_model=JobOut, responses=ERRORS)
def get_job(
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: Caller, session: SessionDep
) -> JobOut:
    """A job you asked for (administrators: any). Someone else's answers as a missing one."""
    job = session.get(m.Job, job_id)
    mine = job is not None and (
        principal.role == "admin" or job.payload.get("user_id") == principal.user_id
    )
    if job is None or not mine:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"taak {job_id} bestaat niet")
    return job_out(job)
