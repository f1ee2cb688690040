"""Work beside the solve (matcher.beside): the same result from a forked child, a thread, or
the parent when the child fails."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
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
    zeros = np.zeros(len(lonely), dtype=np.int64)
    assert Beside(failure_figures, rnd, lonely, zeros, fork=fork).result() == expected


def test_a_failing_child_leaves_the_work_to_the_parent() -> None:
    """The child dies before writing anything: the parent computes the figures itself."""
    rnd = make_round([make_youth("J-1", accepted_types=("kma",))], [make_option("O-1")])
    parent = os.getpid()

    def fails_in_the_child(*args: Any) -> Any:
        if os.getpid() != parent:
            raise RuntimeError("the child fails")
        return failure_figures(*args)

    figures = Beside(fails_in_the_child, rnd, ["J-1"], fork=True).result()
    assert figures == failure_figures(rnd, ["J-1"])
    assert figures["J-1"]["type_accepted"] == 1


def test_a_thread_passes_on_what_the_function_raised() -> None:
    with pytest.raises(ValueError):
        Beside(int, "not a number", fork=False).result()
    assert Beside(sum, [1, 2, 3], fork=False).result() == 6
    assert Beside(sum, [1, 2, 3], fork=True).result() == 6
