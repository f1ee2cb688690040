"""Jobs in the database, claimed with a lease (issue 17 item 5; docs/workers.md).

A page or the API *enqueues* a job in the same transaction as the change that needs it (a
round set to *solving* and its solve job commit together, or neither does). A worker *claims*
the oldest job that is queued or whose lease has run out: on PostgreSQL with
``SELECT … FOR UPDATE SKIP LOCKED``, so two workers never wait on, or take, the same row; on
SQLite (one file, one writer at a time) the same statement without the lock clause, made safe
by the compare-and-set below. Every claim draws a new random ``token``; the worker renews its
lease while it works and stores its result with :func:`finish`, which only succeeds while the
token is still its own. A worker that was killed, or stalled past its lease, therefore cannot
store a result after another worker took the job over (a *fencing token*).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from store import models as m

# A job claimed this many times without finishing (each worker died on it) is given up.
MAX_ATTEMPTS = 3


class LeaseLost(RuntimeError):
    """The job's lease was taken over by another worker: this worker must not store a result."""


class Interrupted(RuntimeError):
    """The database went away while a job read its inputs or stored its result (a restart, a
    dropped connection): nothing was stored, and the job is to be run again (:func:`release`)."""


@dataclass(frozen=True)
class Claim:
    """A job as one worker holds it."""

    id: int
    kind: str
    payload: dict[str, Any]
    token: str
    attempts: int


def _rows(result: Any) -> int:
    """Rows an UPDATE or DELETE touched."""
    return int(getattr(result, "rowcount", 0) or 0)


def now() -> datetime:
    return datetime.now(UTC)


def enqueue(session: Session, kind: str, payload: dict[str, Any]) -> m.Job:
    """A new queued job, flushed (its id known) in the caller's transaction."""
    if kind not in m.JOB_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = m.Job(kind=kind, payload=payload, status="queued", attempts=0, created_at=now())
    session.add(job)
    session.flush()
    return job


def _claimable(at: datetime, queued_before: datetime | None = None) -> Any:
    queued = m.Job.status == "queued"
    if queued_before is not None:
        queued = and_(queued, m.Job.created_at <= queued_before)
    return or_(queued, and_(m.Job.status == "running", m.Job.lease_until < at))


def claim(
    session: Session,
    worker: str,
    lease_s: float,
    *,
    job_id: int | None = None,
    queued_for_s: float | None = None,
) -> Claim | None:
    """Claim the oldest claimable job for ``worker`` (only ``job_id``, when given), or None;
    commits. With ``queued_for_s``, a queued job only once it has waited that long.

    A job whose lease ran out is claimed again (``attempts`` counts the claims): its worker
    died or stalled, and the job's work is redone from its unchanged inputs.
    """
    at = now()
    before = at - timedelta(seconds=queued_for_s) if queued_for_s is not None else None
    for _ in range(5):  # SQLite: another process may win the compare-and-set; try the next
        query = select(m.Job.id).where(_claimable(at, before))
        if job_id is not None:
            query = query.where(m.Job.id == job_id)
        found = session.scalar(query.order_by(m.Job.id).limit(1).with_for_update(skip_locked=True))
        if found is None:
            session.commit()
            return None
        token = secrets.token_hex(16)
        won = _rows(
            session.execute(
                update(m.Job)
                .where(m.Job.id == found, _claimable(at, before))
                .values(
                    status="running",
                    token=token,
                    worker=worker[:100],
                    attempts=m.Job.attempts + 1,
                    lease_until=at + timedelta(seconds=lease_s),
                    started_at=at,
                )
                .execution_options(synchronize_session=False)
            )
        )
        if won == 1:
            kind, payload, attempts = session.execute(
                select(m.Job.kind, m.Job.payload, m.Job.attempts).where(m.Job.id == found)
            ).one()
            session.commit()
            return Claim(found, kind, dict(payload), token, attempts)
        session.rollback()
    return None


def _held(claim_: Claim) -> Any:
    return and_(m.Job.id == claim_.id, m.Job.token == claim_.token, m.Job.status == "running")


def renew(session: Session, claim_: Claim, lease_s: float) -> bool:
    """Extend the lease (the worker's heartbeat); False when it was taken over. Commits."""
    renewed = _rows(
        session.execute(
            update(m.Job)
            .where(_held(claim_))
            .values(lease_until=now() + timedelta(seconds=lease_s))
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return renewed == 1


def finish(
    session: Session, claim_: Claim, result: dict[str, Any] | None = None, error: str | None = None
) -> None:
    """Mark the job done (or failed, with ``error``) in the caller's transaction.

    Raises :class:`LeaseLost` when the token is no longer the job's: the caller rolls back
    whatever it was about to store with it. On PostgreSQL the row stays locked until the
    caller commits, so a worker claiming the job meanwhile waits for this transaction.
    """
    done = _rows(
        session.execute(
            update(m.Job)
            .where(_held(claim_))
            .values(
                status="failed" if error is not None else "done",
                finished_at=now(),
                lease_until=None,
                result=result,
                error=error,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if done != 1:
        raise LeaseLost(f"job {claim_.id}: the lease was taken over by another worker")


def release(session: Session, claim_: Claim) -> bool:
    """Give the job back to the queue (its work was interrupted, nothing stored); False when
    the lease was taken over meanwhile. Commits. ``attempts`` keeps counting."""
    released = _rows(
        session.execute(
            update(m.Job)
            .where(_held(claim_))
            .values(status="queued", token=None, worker=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    )
    session.commit()
    return released == 1


def queue_length(session: Session) -> int:
    """Jobs waiting for a worker (queued, or running on a lease that ran out)."""
    return int(
        session.scalar(select(func.count()).select_from(m.Job).where(_claimable(now()))) or 0
    )


def active_job(session: Session, kind: str, key: str, value: int) -> m.Job | None:
    """The queued or running job of ``kind`` whose payload has ``key`` == ``value``."""
    jobs = session.scalars(
        select(m.Job).where(m.Job.kind == kind, m.Job.status.in_(("queued", "running")))
    )
    return next((j for j in jobs if j.payload.get(key) == value), None)


def purge_finished(session: Session, older_than: timedelta) -> int:
    """Delete done and failed jobs finished longer ago than ``older_than``."""
    return _rows(
        session.execute(
            delete(m.Job).where(
                m.Job.status.in_(("done", "failed")), m.Job.finished_at < now() - older_than
            )
        )
    )
