"""Running the retention job (store/retention.py): from the CLI, and daily inside the server.

The job connects with ``STEK_RETENTION_DATABASE_URL`` when set (on PostgreSQL the retention
role, the only one that may delete audit entries past their term), else with the application's
URL. Its log lines carry a request id of their own (``retention-…``).
"""

from __future__ import annotations

import asyncio
import logging

from anyio import to_thread

from api.observability import job_request_id
from api.settings import Settings
from store.db import make_engine, make_sessionmaker, unit_of_work
from store.retention import RetentionReport, RetentionTerms, run_retention

log = logging.getLogger(__name__)
FIRST_RUN_DELAY_S = 300.0  # not at start-up itself: a restart loop must not hammer the database


def retention_terms(settings: Settings) -> RetentionTerms:
    return RetentionTerms(
        round_snapshots=settings.retention_round_snapshots_days,
        youths_left=settings.retention_youths_left_days,
        login_attempts=settings.retention_login_attempts_days,
        sessions=settings.retention_sessions_days,
        audit_entries=settings.retention_audit_entries_days,
    )


def retention_url(settings: Settings) -> str:
    return settings.retention_database_url or settings.database_url


def run_job(settings: Settings, *, dry_run: bool = False) -> RetentionReport:
    """One run in one transaction (a failure changes nothing)."""
    engine = make_engine(retention_url(settings))
    try:
        with job_request_id("retention"), unit_of_work(make_sessionmaker(engine)) as session:
            report = run_retention(session, retention_terms(settings), dry_run=dry_run)
            log.info("retention %s", "dry run" if dry_run else "run", extra=report.as_dict())
            return report
    finally:
        engine.dispose()


async def retention_loop(settings: Settings) -> None:
    """Run the job every ``retention_interval_hours`` (first after a few minutes); a failed run
    is logged and tried again at the next interval."""
    interval = settings.retention_interval_hours * 3600.0
    await asyncio.sleep(min(FIRST_RUN_DELAY_S, interval))
    while True:
        try:
            await to_thread.run_sync(lambda: run_job(settings))
        except Exception:
            log.exception("retention run failed; next try in %.0f hours", interval / 3600)
        await asyncio.sleep(interval)
