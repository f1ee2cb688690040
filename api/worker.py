"""Workers: run the jobs of ``store.jobs`` (issue 17 item 5; docs/workers.md).

A :class:`Worker` claims a job, keeps its lease alive from a heartbeat thread while the work
runs, and stores the outcome fenced by the job's token. Three ways run one:

- ``stek worker``: a process that does nothing else (:meth:`Worker.run`, until SIGTERM);
- ``stek serve`` (unless ``--no-jobs``): the request that enqueued a job claims that job right
  after its response (:func:`run_enqueued`), and a thread picks up orphaned work: jobs nobody
  claimed for a while and jobs whose worker died (:meth:`Worker.run` with ``orphans_after_s``);
- tests: :meth:`Worker.run_once`.

A solve runs in a child process (``rounds.solve_apart``), so the worker's heartbeat and, in the
server, everybody's pages keep their core.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.services import rounds as rounds_svc
from api.services import supply as supply_svc
from api.services.round_states import RoundStatus
from api.services.rounds import Forbidden
from api.settings import Settings
from store import jobs

log = logging.getLogger("stek.worker")

# Jobs finished longer ago than this are deleted by the workers (they hold ids and figures),
# looking once an hour.
KEEP_FINISHED = timedelta(days=7)
PURGE_EVERY_S = 3600.0


def worker_name(kind: str = "worker") -> str:
    return f"{kind}@{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


@dataclass
class Worker:
    """Claims and runs jobs on one database."""

    factory: sessionmaker[Session]
    database_url: str
    lease_s: float = 30.0
    poll_s: float = 0.5
    name: str = field(default_factory=worker_name)
    # Only jobs queued at least this long ago, or whose lease ran out (the server's own thread:
    # the request that enqueued a job runs it itself, see run_enqueued).
    orphans_after_s: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    on_job: Callable[[jobs.Claim], None] | None = None  # called once a job is claimed
    _purged_at: float = field(
        default=float("-inf"), init=False
    )  # never yet: at the first idle look

    def run_once(self, job_id: int | None = None) -> bool:
        """Claim one job (``job_id``: only that one) and run it; False when there was none."""
        with self.factory() as session:
            claim = jobs.claim(
                session,
                self.name,
                self.lease_s,
                job_id=job_id,
                queued_for_s=self.orphans_after_s,
            )
        if claim is None:
            return False
        if self.on_job is not None:
            self.on_job(claim)
        log.info(
            "job %s (%s) claimed by %s, attempt %s", claim.id, claim.kind, self.name, claim.attempts
        )
        beat = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(claim, beat), daemon=True)
        heart.start()
        try:
            self._run(claim)
        except (jobs.Interrupted, OperationalError, InterfaceError):  # nothing stored: requeue
            log.warning("job %s interrupted by the database; queued again", claim.id)
            try:
                with self.factory() as session:
                    jobs.release(session, claim)
            except Exception:  # the database still away: the lease runs out, same effect
                log.exception("job %s: giving it back failed", claim.id)
        except Exception as exc:  # failed here, in the worker: finished as failed, not retried
            log.exception("job %s failed", claim.id)
            self._failed(claim, f"{type(exc).__name__}: {exc}"[:2000])
        finally:
            beat.set()
            heart.join()
        return True

    def run(self) -> None:
        """Run jobs until :attr:`stop` is set; with nothing to do, look again after ``poll_s``."""
        while not self.stop.is_set():
            try:
                worked = self.run_once()
                if not worked and time.monotonic() - self._purged_at > PURGE_EVERY_S:
                    # hourly, not at every idle look: on SQLite each DELETE takes the one
                    # write lock, and a page's write meanwhile would wait for it
                    with self.factory() as session:
                        jobs.purge_finished(session, KEEP_FINISHED)
                        session.commit()
                    self._purged_at = time.monotonic()
            except Exception:  # the database away for a moment: try again after the pause
                log.exception("worker %s: claiming a job failed", self.name)
                worked = False
            if not worked:
                self.stop.wait(self.poll_s)

    def _failed(self, claim: jobs.Claim, reason: str) -> None:
        """Record a failure of the worker itself: the job failed and, for a solve, its round
        failed with the reason (a person can start it again), fenced like every write."""
        try:
            if claim.kind == "solve" and "round" in claim.payload:
                rounds_svc.fail_solve(self.factory, int(claim.payload["round"]), reason, claim)
                return
            with self.factory() as session:
                jobs.finish(session, claim, error=reason)
                session.commit()
        except Exception:  # lease lost or the database away: the lease decides
            log.exception("job %s: recording the failure failed", claim.id)

    def _heartbeat(self, claim: jobs.Claim, done: threading.Event) -> None:
        while not done.wait(self.lease_s / 3):
            try:
                with self.factory() as session:
                    if not jobs.renew(session, claim, self.lease_s):
                        log.warning(
                            "job %s: lease taken over, this worker's result is void", claim.id
                        )
                        return
            except Exception:
                log.exception("job %s: renewing the lease failed", claim.id)

    def _run(self, claim: jobs.Claim) -> None:
        if claim.kind == "solve":
            self._solve(claim)
        elif claim.kind == "projection":
            self._project(claim)
        else:  # a kind this version does not know: failed, with the reason
            self._failed(claim, f"onbekend soort taak: {claim.kind}")

    def _project(self, claim: jobs.Claim) -> None:
        """A projection, computed here (read-only; a second computation after a take-over
        gives the same rows: same inputs, same seed)."""
        with self.factory() as session:
            try:
                result = supply_svc.run_projection_job(session, claim.payload)
            except (supply_svc.ScenarioError, supply_svc.SupplyInputError, Forbidden) as exc:
                session.rollback()
                self._failed(claim, str(exc))
                return
            jobs.finish(session, claim, result=result)
            session.commit()

    def _solve(self, claim: jobs.Claim) -> None:
        round_id = int(claim.payload["round"])
        if claim.attempts > jobs.MAX_ATTEMPTS:
            rounds_svc.fail_solve(
                self.factory,
                round_id,
                f"het doorrekenen is {claim.attempts - 1} keer onderbroken; opnieuw proberen "
                "start het opnieuw",
                claim,
            )
            return
        with self.factory() as session:
            status = rounds_svc.get_round(session, round_id).status
            if status != RoundStatus.SOLVING.value:  # solved or withdrawn meanwhile
                jobs.finish(session, claim, result={"round": round_id, "skipped": status})
                session.commit()
                return
        rounds_svc.solve_apart(
            self.factory,
            self.database_url,
            round_id,
            float(claim.payload.get("time_limit_s", 30.0)),
            claim,
        )


# The server's own thread leaves a queued job this long to the request that enqueued it.
ORPHAN_AFTER_S = 10.0


def run_enqueued(request: Request, job_id: int) -> None:
    """The serving process runs the job its request just enqueued (a background task, after
    the response), unless a worker claimed it first or the server leaves jobs to workers."""
    settings = request.app.state.settings
    if settings.jobs_in_server:
        Worker(
            request.app.state.sessions,
            settings.database_url,
            lease_s=settings.job_lease_s,
            name=worker_name("server"),
        ).run_once(job_id)


def server_worker(factory: sessionmaker[Session], settings: Settings) -> Worker:
    """The server's thread for orphaned jobs (queued too long, or their worker died)."""
    return Worker(
        factory,
        settings.database_url,
        lease_s=settings.job_lease_s,
        poll_s=2.0,
        name=worker_name("server"),
        orphans_after_s=ORPHAN_AFTER_S,
    )
