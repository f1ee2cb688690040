"""The outcome of a solve: status, objective, bound, gap, assignment and a reason per unmatched.

``Result.to_json()`` is deterministic: sorted keys, floats rounded to fixed decimals, and the
wall-clock timings left out unless asked for, so the same round and seed give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["optimal", "feasible", "infeasible"]

# Reason codes for unmatched youths.
NO_ELIGIBLE_OPTION = "no_eligible_option"
OUTCOMPETED = "outcompeted"
CONTINGENT_EXHAUSTED = "contingent_exhausted"
HOUSE_COMPOSITION = "house_composition"
NOT_SELECTED = "not_selected"  # only when the result is not proven optimal (gap > 0)
REASON_CODES = (
    NO_ELIGIBLE_OPTION,
    OUTCOMPETED,
    CONTINGENT_EXHAUSTED,
    HOUSE_COMPOSITION,
    NOT_SELECTED,
)


@dataclass(frozen=True)
class Unmatched:
    """Why a youth got no place: a reason code, the figures behind it and a Dutch sentence."""

    youth: str
    reason: str  # one of REASON_CODES
    message: str
    figures: dict[str, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "youth": self.youth,
            "reason": self.reason,
            "message": self.message,
            "figures": dict(sorted(self.figures.items())),
        }


@dataclass(frozen=True)
class PairResult:
    """The score of an assigned pair (see matcher.scoring for the parts)."""

    option: str
    value: int
    urgency_weight: int
    area_points: int
    type_points: int
    distance_points: int
    rent_points: int
    tie_break: int
    net_rent: float
    toeslag: float
    distance_m: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "option": self.option,
            "value": self.value,
            "urgency_weight": self.urgency_weight,
            "area_points": self.area_points,
            "type_points": self.type_points,
            "distance_points": self.distance_points,
            "rent_points": self.rent_points,
            "tie_break": self.tie_break,
            "net_rent": _money(self.net_rent),
            "toeslag": _money(self.toeslag),
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
        }


def _money(x: float) -> float:
    return round(float(x), 2)


@dataclass(frozen=True)
class Result:
    """A proposal for a round.

    ``objective`` is the total pair value of the assignment and ``bound`` a proven upper bound on
    the value of any allocation of the round (the flow relaxation over all eligible pairs, or
    CP-SAT's bound when it saw every pair). ``gap = (bound - objective) / bound``.
    """

    status: Status
    objective: int
    bound: int
    gap: float
    assignment: dict[str, str]  # youth code -> option code, sorted by youth code
    scores: dict[str, PairResult]  # youth code -> score of its pair
    unmatched: dict[str, Unmatched]  # youth code -> reason
    contingent_use: dict[str, int]  # corporation -> placements using its contingents
    contingent_use_detail: dict[str, dict[str, Any]]  # contingent key -> used / left
    seed: int
    youths: int
    options: int
    pairs: int
    method: str  # "flow" (flow optimum met every rule), "cp-sat", "repair"
    flow_bound: int
    candidate_pairs: int = 0
    phase_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def housed(self) -> int:
        return len(self.assignment)

    def as_dict(self, timings: bool = False) -> dict[str, Any]:
        """JSON-ready dict; wall-clock ``phase_seconds`` only when ``timings`` is set."""
        out: dict[str, Any] = {
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": round(self.gap, 9),
            "assignment": dict(sorted(self.assignment.items())),
            "scores": {k: v.as_dict() for k, v in sorted(self.scores.items())},
            "unmatched": {k: v.as_dict() for k, v in sorted(self.unmatched.items())},
            "contingent_use": dict(sorted(self.contingent_use.items())),
            "contingent_use_detail": dict(sorted(self.contingent_use_detail.items())),
            "seed": self.seed,
            "youths": self.youths,
            "options": self.options,
            "pairs": self.pairs,
            "housed": self.housed,
            "method": self.method,
            "flow_bound": self.flow_bound,
            "candidate_pairs": self.candidate_pairs,
        }
        if timings:
            out["phase_seconds"] = {k: round(v, 3) for k, v in sorted(self.phase_seconds.items())}
        return out

    def to_json(self, timings: bool = False, indent: int | None = 2) -> str:
        """Deterministic JSON (sorted keys, fixed float rounding, no timings by default)."""
        return json.dumps(
            self.as_dict(timings=timings),
            sort_keys=True,
            indent=indent,
            ensure_ascii=False,
            allow_nan=False,  # a guard: the core refuses non-finite input, so none comes out
        )
