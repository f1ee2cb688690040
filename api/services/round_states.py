"""The monthly round as an explicit state machine.

created --solve--> solving --solved--> draft --publish--> published --finalise--> final
                     |                   ^                   |
                     +--crashed--> failed +--solved-- solving <--resolve--+
                                     |
                                     +--solve--> solving (retry with the same inputs)
                                     +--publish--> published (after a failed re-solve: the
                                                   last version again)

A wrong transition is refused with a reason (HTTP 409 in the API).
"""

from __future__ import annotations

from enum import StrEnum

from api.errors import WorkflowError


class RoundStatus(StrEnum):
    CREATED = "created"
    SOLVING = "solving"
    DRAFT = "draft"
    PUBLISHED = "published"
    FINAL = "final"
    FAILED = "failed"


class RoundAction(StrEnum):
    SOLVE = "solve"  # start the first solve, or retry after a failure
    SOLVED = "solved"  # the background solve finished with a proposal
    CRASHED = "crashed"  # the background solve failed or was killed
    PUBLISH = "publish"  # draft proposal goes out for review
    RESOLVE = "resolve"  # re-solve the rest with accepted pairs fixed, rejected forbidden
    FINALISE = "finalise"  # all matches decided and confirmed: placements are final


TRANSITIONS: dict[tuple[RoundStatus, RoundAction], RoundStatus] = {
    (RoundStatus.CREATED, RoundAction.SOLVE): RoundStatus.SOLVING,
    (RoundStatus.FAILED, RoundAction.SOLVE): RoundStatus.SOLVING,
    (RoundStatus.SOLVING, RoundAction.SOLVED): RoundStatus.DRAFT,
    (RoundStatus.SOLVING, RoundAction.CRASHED): RoundStatus.FAILED,
    (RoundStatus.DRAFT, RoundAction.PUBLISH): RoundStatus.PUBLISHED,
    # a failed re-solve: back to the last published version (publish refuses a round that
    # failed before it had any proposal)
    (RoundStatus.FAILED, RoundAction.PUBLISH): RoundStatus.PUBLISHED,
    (RoundStatus.PUBLISHED, RoundAction.RESOLVE): RoundStatus.SOLVING,
    (RoundStatus.PUBLISHED, RoundAction.FINALISE): RoundStatus.FINAL,
}

WHY_NOT: dict[RoundStatus, str] = {
    RoundStatus.CREATED: "de ronde is nog niet doorgerekend",
    RoundStatus.SOLVING: "de ronde wordt op dit moment doorgerekend",
    RoundStatus.DRAFT: "het voorstel is nog een concept en niet gepubliceerd",
    RoundStatus.PUBLISHED: "het voorstel ligt ter beoordeling",
    RoundStatus.FINAL: "de ronde is definitief en kan niet meer veranderen",
    RoundStatus.FAILED: "het doorrekenen is mislukt; start het opnieuw",
}


class InvalidTransition(WorkflowError):
    """A transition the state machine does not allow; the message says why (Dutch)."""

    def __init__(self, status: RoundStatus, action: RoundAction) -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == status)
        super().__init__(
            f"'{action.value}' kan niet in status '{status.value}': {WHY_NOT[status]}"
            + (f" (mogelijk: {', '.join(allowed)})" if allowed else "")
        )
        self.status = status
        self.action = action


def next_status(status: RoundStatus | str, action: RoundAction | str) -> RoundStatus:
    """The status after ``action``; raises ``InvalidTransition`` when it is not allowed."""
    current, act = RoundStatus(status), RoundAction(action)
    try:
        return TRANSITIONS[(current, act)]
    except KeyError:
        raise InvalidTransition(current, act) from None
