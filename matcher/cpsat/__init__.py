"""CP-SAT on the side rules: the candidate set, the model recipe and the two-stage solve.

``candidates`` chooses the pairs CP-SAT decides (every pair of a small round, else a
neighbourhood of the flow's side-rule violations); ``model`` builds the CP-SAT model by a recipe
of one function per constraint family; ``solver`` sets CP-SAT up the way stek runs it and solves
the model in two lexicographic stages (housing, then preference). The exact path
(``matcher.exact``) tries first on complete candidate sets and hands over to ``solve_sides`` when
it cannot finish.
"""

from __future__ import annotations

from matcher.cpsat.candidates import Candidates, candidate_pairs
from matcher.cpsat.model import RECIPE, SideModel, build_side_model
from matcher.cpsat.solver import SideSolution, cpsat_solver, solve_sides

__all__ = [
    "RECIPE",
    "Candidates",
    "SideModel",
    "SideSolution",
    "build_side_model",
    "candidate_pairs",
    "cpsat_solver",
    "solve_sides",
]
