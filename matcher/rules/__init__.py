"""Pairwise eligibility: one named rule per check, each passing or giving a Dutch reason.

Two forms share one set of definitions:

* ``scalar``: ``rule_<name>(ctx, youth, option) -> Reason | None`` for explaining a pair and
  for the independent verifier;
* ``arrays`` + ``screen``: the same rules over arrays of pairs for a whole round. Screening never
  loops over youths x options in Python: options become NumPy arrays once, candidates come from
  per-type ranges (youths without a search radius) or a grid scan around the anchors (youths
  with a radius; ``search``), and every rule is then an array operation over the candidate
  pairs, in chunks to bound memory.

Both forms compute the same floating-point expressions (affordability through
``matcher.policy.affordability_arrays``, distances as ``sqrt(dx*dx + dy*dy)``, polygons through
``shapely.intersects_xy``), so they agree exactly; the tests check this on random rounds.

Modules: ``context`` (the round's lookups, contingents, the cache), ``scalar`` (the rules with
their Dutch reasons, written with ``matcher.dutch``; each rule by name in ``SCALAR_RULES``),
``arrays`` (the array form), ``search`` (candidate pairs), ``screen`` (eligible pairs and
failure counts). Import from here; the rule functions themselves from ``matcher.rules.scalar``.

House-composition rules (persons per house, conflicts, age gap, companions) are not pairwise:
the solver handles them and ``matcher.verifier`` checks them.
"""

from __future__ import annotations

from matcher.policy import Reason
from matcher.rules.arrays import RoundArrays, available_on, round_arrays
from matcher.rules.context import (
    RULE_NAMES,
    TYPE_RULES,
    ContingentKey,
    RoundContext,
    clear_cache,
    contingent_of,
    needs_contingent,
    round_context,
)
from matcher.rules.scalar import SCALAR_RULES, explain_pair, min_anchor_distance, pair_reasons
from matcher.rules.screen import Screening, failure_counts, failure_figures, screen

__all__ = [
    "RULE_NAMES",
    "SCALAR_RULES",
    "TYPE_RULES",
    "ContingentKey",
    "Reason",
    "RoundArrays",
    "RoundContext",
    "Screening",
    "available_on",
    "clear_cache",
    "contingent_of",
    "explain_pair",
    "failure_counts",
    "failure_figures",
    "min_anchor_distance",
    "needs_contingent",
    "pair_reasons",
    "round_arrays",
    "round_context",
    "screen",
]
