"""The round state machine allows exactly the documented transitions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.services.round_states import (
    TRANSITIONS,
    InvalidTransition,
    RoundAction,
    RoundStatus,
    next_status,
)
from store.models import ROUND_STATUSES


def test_happy_path_to_final_with_one_resolve() -> None:
    status = RoundStatus.CREATED
    for action in ("solve", "solved", "publish", "resolve", "solved", "publish", "finalise"):
        status = next_status(status, action)
    assert status is RoundStatus.FINAL


def test_crash_then_retry() -> None:
    status = next_status(next_status("created", "solve"), "crashed")
    assert status is RoundStatus.FAILED
    assert next_status(status, "solve") is RoundStatus.SOLVING


def test_final_is_terminal_and_says_why() -> None:
    with pytest.raises(InvalidTransition, match="definitief"):
        next_status("final", "resolve")


def test_cannot_publish_while_solving() -> None:
    with pytest.raises(InvalidTransition, match="mogelijk: crashed, solved"):
        next_status("solving", "publish")


@given(st.sampled_from(list(RoundStatus)), st.sampled_from(list(RoundAction)))
def test_every_pair_is_either_a_transition_or_refused(
    status: RoundStatus, action: RoundAction
) -> None:
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) == TRANSITIONS[(status, action)]
    else:
        with pytest.raises(InvalidTransition):
            next_status(status, action)


def test_states_match_the_database_check_constraint() -> None:
    assert {s.value for s in RoundStatus} == set(ROUND_STATUSES)
