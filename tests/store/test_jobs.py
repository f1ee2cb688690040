"""The job queue (store/jobs.py): claims with a lease, take-over of expired leases, fencing of
a worker whose lease was taken over, and no job claimed twice by concurrent workers. SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from store import jobs
from store import models as m


def _queue(factory: sessionmaker[Session], n: int) -> list[int]:
    with factory.begin() as s:
        return [jobs.enqueue(s, "solve", {"round": i}).id for i in range(n)]


def _expire(factory: sessionmaker[Session], job_id: int) -> None:
    with factory.begin() as s:
        s.execute(
            update(m.Job)
            .where(m.Job.id == job_id)
            .values(lease_until=jobs.now() - timedelta(seconds=1))
        )


def test_claims_go_oldest_first_and_each_job_once(session_factory: sessionmaker[Session]) -> None:
    first, second = _queue(session_factory, 2)
    with session_factory() as s:
        a = jobs.claim(s, "w1", 30)
        b = jobs.claim(s, "w2", 30)
        assert jobs.claim(s, "w3", 30) is None
    assert a is not None and b is not None
    assert (a.id, b.id) == (first, second)
    assert a.payload == {"round": 0} and a.attempts == 1 and a.token != b.token
    with session_factory() as s:
        job = s.get(m.Job, first)
        assert job is not None and job.status == "running" and job.worker == "w1"
        assert jobs.queue_length(s) == 0


def test_a_lapsed_lease_is_taken_over_and_fences_the_old_holder(
    session_factory: sessionmaker[Session],
) -> None:
    (job_id,) = _queue(session_factory, 1)
    with session_factory() as s:
        old = jobs.claim(s, "dead", 30)
        assert old is not None
        assert jobs.claim(s, "other", 30) is None  # the lease still runs
    _expire(session_factory, job_id)
    with session_factory() as s:
        assert jobs.queue_length(s) == 1
        new = jobs.claim(s, "other", 30)
    assert new is not None and new.id == job_id
    assert new.attempts == 2 and new.token != old.token
    with session_factory() as s:
        assert not jobs.renew(s, old, 30)  # the old holder's heartbeat: refused
        with pytest.raises(jobs.LeaseLost):
            jobs.finish(s, old, result={"from": "dead"})
        s.rollback()
        assert jobs.renew(s, new, 30)
        jobs.finish(s, new, result={"from": "other"})
        s.commit()
    with session_factory() as s:
        job = s.get(m.Job, job_id)
        assert job is not None
        assert (job.status, job.result, job.worker) == ("done", {"from": "other"}, "other")
        assert jobs.claim(s, "late", 30) is None  # done: nobody claims it again


def test_finish_with_an_error_marks_the_job_failed(session_factory: sessionmaker[Session]) -> None:
    _queue(session_factory, 1)
    with session_factory() as s:
        held = jobs.claim(s, "w", 30)
        assert held is not None
        jobs.finish(s, held, error="kapot")
        s.commit()
        job = s.get(m.Job, held.id)
        assert job is not None and (job.status, job.error) == ("failed", "kapot")


def test_claim_of_one_job_and_orphans_only(session_factory: sessionmaker[Session]) -> None:
    first, second = _queue(session_factory, 2)
    with session_factory() as s:
        # a fresh job is left to the request that enqueued it
        assert jobs.claim(s, "orphans", 30, queued_for_s=60) is None
        only = jobs.claim(s, "server", 30, job_id=second)
        assert only is not None and only.id == second
        assert jobs.claim(s, "server", 30, job_id=second) is None  # already running
    with session_factory.begin() as s:
        s.execute(
            update(m.Job)
            .where(m.Job.id == first)
            .values(created_at=jobs.now() - timedelta(seconds=120))
        )
    with session_factory() as s:
        orphan = jobs.claim(s, "orphans", 30, queued_for_s=60)
        assert orphan is not None and orphan.id == first


def test_unknown_kind_is_refused(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, pytest.raises(ValueError, match="unknown job kind"):
        jobs.enqueue(s, "koffie", {})


def test_concurrent_workers_never_claim_a_job_twice(
    session_factory: sessionmaker[Session],
) -> None:
    ids = _queue(session_factory, 40)
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with session_factory() as s:
                while True:
                    got = jobs.claim(s, name, 30)
                    if got is None:
                        return
                    with lock:
                        claimed.append((name, got.id))
                    jobs.finish(s, got, result={"by": name})
                    s.commit()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert sorted(j for _, j in claimed) == ids  # every job exactly once
    with session_factory() as s:
        done = s.execute(select(m.Job.id, m.Job.result)).all()
        assert all(r is not None for _, r in done) and len(done) == 40
        stored = {j: r["by"] for j, r in done if r is not None}
        assert stored == {j: n for n, j in claimed}  # the claimer stored it


def test_purge_finished_keeps_recent_and_open_jobs(session_factory: sessionmaker[Session]) -> None:
    old, recent, open_ = _queue(session_factory, 3)
    with session_factory() as s:
        for job_id in (old, recent):
            held = jobs.claim(s, "w", 30, job_id=job_id)
            assert held is not None
            jobs.finish(s, held, result={})
            s.commit()
    with session_factory.begin() as s:
        s.execute(
            update(m.Job).where(m.Job.id == old).values(finished_at=jobs.now() - timedelta(days=9))
        )
    with session_factory.begin() as s:
        assert jobs.purge_finished(s, timedelta(days=7)) == 1
    with session_factory() as s:
        assert sorted(s.scalars(select(m.Job.id))) == [recent, open_]
