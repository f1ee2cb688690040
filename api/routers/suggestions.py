"""Suggestions for a young person and explanations of a proposal (``/api/v1``).

Thin routes: parse, call ``api.services.suggestions`` (which authorises, audits and answers in
the schemas of ``api.schemas.suggestions``). Schemas are per audience: the own regisseur's
suggestions (the only schema with the youth's own figures: income share, search radius,
distances to anchors), the reviewer's explanations, fairness report and pair explanation
(gemeente and admin, who shares the gemeente's view: reduced to the option's side of the
figures), and the corporation's reduced fairness counts and pair explanation (no youth figures,
no no-go information).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.routers.common import ERRORS
from api.schemas.suggestions import (
    FairnessForCorporationOut,
    FairnessForGemeenteOut,
    FairnessOut,
    PairForCorporationOut,
    PairForGemeenteOut,
    RoundExplanationsOut,
    SuggestionsOut,
)
from api.services import suggestions as svc

router = APIRouter(tags=["suggestions"])

# Database ids are 32-bit integers: larger path values are refused with 422, not sent to SQL.
DbId = Annotated[int, Path(ge=1, le=2**31 - 1)]

# ---------------------------------------------------------------------------------------------
# Routes


@router.get("/youths/{youth_id}/suggestions", response_model=SuggestionsOut, responses=ERRORS)
def youth_suggestions(
    youth_id: DbId,
    principal: CurrentPrincipal,
    session: SessionDep,
    request: Request,
    k: Annotated[int, Query(ge=1, le=50, description="Aantal suggesties")] = 10,
    on: Annotated[date | None, Query(description="Peildatum (standaard vandaag)")] = None,
) -> SuggestionsOut:
    """The k best options for the youth now, nearest misses and counterfactuals.

    Only the youth's own regisseur (other roles: 403; a youth of another caseload: 404, as an
    unknown one); every call (also a refused one) is audited.
    """
    try:
        return svc.suggestions_for(
            session, principal, youth_id, k, on=on, cache=svc.index_cache(request.app)
        )
    except (svc.Forbidden, svc.NotFound) as exc:  # answered by api.errors, audited here
        svc.record_refused(
            request.app.state.sessions, principal, "youth.suggestions", "youth", youth_id, str(exc)
        )
        raise
    except svc.InvalidDay as exc:
        raise HTTPException(
            422,
            [{"loc": ["query", "on"], "msg": str(exc), "type": "value_error"}],
        ) from exc


Version = Annotated[
    int | None, Query(ge=1, le=2**31 - 1, description="Voorstelversie (standaard de laatste)")
]


@router.get(
    "/rounds/{round_id}/explanations", response_model=RoundExplanationsOut, responses=ERRORS
)
def round_explanations(
    round_id: DbId, principal: CurrentPrincipal, session: SessionDep, version: Version = None
) -> RoundExplanationsOut:
    """Why each youth got no place, in a sentence with the counts (gemeente, admin)."""
    return svc.explanations_for_round(session, principal, round_id, version)


@router.get(
    "/rounds/{round_id}/fairness",
    response_model=FairnessOut | FairnessForGemeenteOut | FairnessForCorporationOut,
    responses=ERRORS,
)
def round_fairness(
    round_id: DbId, principal: CurrentPrincipal, session: SessionDep, version: Version = None
) -> FairnessOut | FairnessForGemeenteOut | FairnessForCorporationOut:
    """Justified-envy pairs per corporation and gemeente (reported, not enforced; corporations:
    once the round is published)."""
    return svc.fairness_for_round(session, principal, round_id, version)


@router.get(
    "/rounds/{round_id}/pairs/{youth_id}/{option_id}",
    response_model=PairForGemeenteOut | PairForCorporationOut,
    responses=ERRORS,
)
def round_pair(
    round_id: DbId,
    youth_id: DbId,
    option_id: DbId,
    principal: CurrentPrincipal,
    session: SessionDep,
    version: Version = None,
) -> PairForGemeenteOut | PairForCorporationOut:
    """Why this youth did (not) get this option in the proposal (gemeente: its own youths,
    admin: all, both with option-side figures; corporatie: a youth matched to its own option in
    a published round, housing-side rule names). Out of scope answers as unknown (404)."""
    return svc.pair_for_round(session, principal, round_id, youth_id, option_id, version)
