"""Solves started by pages and the API run in a child process (``rounds.solve_apart``): the
same proposal as a solve in this process, and a child that dies leaves the round failed with a
Dutch reason instead of solving for ever. SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.cli import load_demo
from api.services import rounds as svc
from fixtures.generate import generate_region, write_region
from store.db import unit_of_work

MONTH = date(2026, 12, 1)
ADMIN = svc.Actor.system()


def _solving_round(db_url: str, folder: Path, factory: sessionmaker[Session], n: int) -> int:
    write_region(generate_region(n, n + 20, seed=3), folder)
    load_demo(db_url, folder)
    with unit_of_work(factory) as s:
        round_id = svc.create_round(s, MONTH, seed=1, actor=ADMIN).id
        svc.start_solve(s, round_id, ADMIN)
    return round_id


def _pairs(factory: sessionmaker[Session], round_id: int) -> list[tuple[str, str]]:
    with factory() as s:
        proposal = svc.latest_proposal(s, round_id)
        return sorted((x.youth.code, x.option.code) for x in proposal.matches)


def test_a_solve_in_a_child_stores_the_same_proposal_as_one_in_process(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving_round(db_url, tmp_path / "region", session_factory, 40)
    svc.solve_apart(session_factory, db_url, round_id, 10.0)
    with session_factory() as s:
        assert svc.get_round(s, round_id).status == "draft"
    apart = _pairs(session_factory, round_id)
    assert apart, "the small region houses somebody"
    with unit_of_work(session_factory) as s:  # the same snapshot again, in this process
        svc.get_round(s, round_id).status = "solving"  # (a test's shortcut past the states)
    assert svc.run_solve(session_factory, round_id, 10.0) is not None
    assert _pairs(session_factory, round_id) == apart


def test_a_child_that_dies_leaves_the_round_failed_with_the_reason(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    round_id = _solving_round(db_url, tmp_path / "region", session_factory, 300)
    worker = threading.Thread(
        target=svc.solve_apart, args=(session_factory, db_url, round_id, 60.0)
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not multiprocessing.active_children():
        assert time.monotonic() < deadline, "no child process started"
        time.sleep(0.005)
    for child in multiprocessing.active_children():
        if child.pid is not None:
            os.kill(child.pid, signal.SIGKILL)
    worker.join(timeout=60)
    assert not worker.is_alive()
    with session_factory() as s:
        rnd = svc.get_round(s, round_id)
        assert rnd.status == "failed"
        assert rnd.error == "het doorrekenen is afgebroken (proces stopte met code -9)"
        assert not rnd.proposals


def _sleep_unless_owner_dies(owner_pid: int) -> None:
    svc._die_with(owner_pid, every_s=0.05)
    time.sleep(60)


def test_a_solve_ends_when_the_worker_that_started_it_is_killed() -> None:
    """The solve child's parent is the fork server, which outlives a worker killed with
    SIGKILL; the child's watcher ends it within moments of the worker's death instead."""
    import subprocess
    import sys

    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    context = multiprocessing.get_context("forkserver")
    child = context.Process(target=_sleep_unless_owner_dies, args=(owner.pid,), daemon=True)
    child.start()
    time.sleep(0.5)
    assert child.is_alive()  # the owner lives: the solve goes on
    owner.kill()
    owner.wait()
    child.join(timeout=10)
    assert child.exitcode == -signal.SIGKILL


def test_a_solve_that_gives_no_answer_in_time_is_ended_and_its_round_failed(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    """A solve child stuck past twice its time limit plus the margin (here: none) is killed;
    the round is failed with the reason instead of solving for ever."""
    round_id = _solving_round(db_url, tmp_path / "region", session_factory, 300)
    monkeypatch.setattr(svc, "SOLVE_MARGIN_S", 0.0)
    svc.solve_apart(session_factory, db_url, round_id, 0.01)
    with session_factory() as s:
        rnd = svc.get_round(s, round_id)
        assert rnd.status == "failed"
        assert rnd.error == "het doorrekenen bleef hangen en is afgebroken"
        assert not rnd.proposals
