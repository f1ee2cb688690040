"""The failure counts computed beside the solve equal the ones computed in place."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from matcher.beside import Beside
from matcher.problem import Round
from matcher.rules import failure_figures
from tests.matcher.strategies import make_option, make_round, make_youth, rounds


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
@pytest.mark.parametrize("fork", [True, False])
def test_beside_gives_the_figures_of_youths_without_options(fork: bool, rnd: Round) -> None:
    codes = [y.code for y in rnd.youths]
    expected = {c: f for c, f in failure_figures(rnd, codes).items() if f["eligible"] == 0}
    lonely = sorted(expected)
    assert Beside(rnd, lonely, fork=fork).result() == expected


def test_a_failing_child_leaves_the_figures_to_the_parent(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child dies before writing anything: the parent computes the figures itself."""
    import matcher.beside as beside

    rnd = make_round([make_youth("J-1", accepted_types=("kma",))], [make_option("O-1")])
    parent = os.getpid()
    real = beside.failure_figures

    def fails_in_the_child(*args: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return real(*args)

    monkeypatch.setattr(beside, "failure_figures", fails_in_the_child)
    figures = Beside(rnd, ["J-1"], fork=True).result()
    assert figures == real(rnd, ["J-1"])
    assert figures["J-1"]["type_accepted"] == 1


def test_nobody_to_count_starts_no_process_or_thread() -> None:
    rnd = make_round([make_youth("J-1")], [make_option("O-1")])
    job = Beside(rnd, [], fork=True)
    assert job._pid == 0 and job._pool is None
    assert job.result() == {}
