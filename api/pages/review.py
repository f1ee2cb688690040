"""The review page: a month's round from proposal to final, for gemeenten and corporations.

Every form works without JavaScript (post/redirect/get back to the same filters and row). With
JavaScript (``/static/review.js``) a single decision is sent with ``fetch`` and answered with
the new row and summary as HTML fragments, so a reviewer keeps the list, filters and scroll
position. Bulk actions are all or nothing. Publishing, re-solving and finalising go through a
confirmation page that says what will happen.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import SessionDep, templates
from api.formatting import nl_number
from api.pages.common import actor_of, back, denied, form_user, not_found, page_user, render
from api.services import history as history_svc
from api.services import match_explain as explain_svc
from api.services import review as review_svc
from api.services import rounds as rounds_svc
from api.services.round_states import InvalidTransition
from api.worker import run_enqueued
from matcher.glossary import label
from store import models as m

router = APIRouter(include_in_schema=False)

MANAGE_ROLES = ("admin", "gemeente")
Reviewer = Annotated[Principal, Depends(page_user(*review_svc.REVIEW_ROLES))]
Manager = Annotated[Principal, Depends(page_user(*MANAGE_ROLES))]
# form posts: the same gates with the session's CSRF token checked
ReviewerForm = Annotated[Principal, Depends(form_user(*review_svc.REVIEW_ROLES))]
ManagerForm = Annotated[Principal, Depends(form_user(*MANAGE_ROLES))]
PAGE_SOLVE_SECONDS = 10.0  # a page-started solve; the API takes a time limit per request
FETCH_HEADER = "x-stek-fetch"
MAX_SELECTION = 500

# The list's query parameters: they survive every action (forms carry them in ``terug``).
LIST_KEYS = ("ronde", "versie", "gemeente", "type", "status", "q", "toon", "sort", "pagina")
ROUND_ACTIONS = {
    "publiceren": "Voorstel publiceren",
    "doorrekenen": "Opnieuw doorrekenen",
    "afronden": "Ronde afronden",
}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _list_params(params: Mapping[str, str]) -> dict[str, str]:
    """Only the list's own keys, as strings (anything else a form sends is dropped)."""
    return {k: str(params[k])[:100] for k in LIST_KEYS if params.get(k)}


def _from_terug(terug: str) -> dict[str, str]:
    """The list parameters a form carried back, parsed (never used as a URL as it is)."""
    return _list_params(dict(parse_qsl(terug[:2000])))


def _enqueue_solve(session: Session, round_id: int) -> int:
    """The round's solve job (committed with the page's change; run by api/worker.py)."""
    seconds = float(os.environ.get("STEK_PAGE_SOLVE_SECONDS", PAGE_SOLVE_SECONDS))
    return rounds_svc.enqueue_solve(session, round_id, seconds)


def _filters(params: dict[str, str]) -> tuple[str | None, review_svc.Filters]:
    """The list's filters from its parameters (and ``toon`` as given, None when absent)."""
    toon = params.get("toon")
    return toon, review_svc.Filters(
        gemeente=params.get("gemeente") or None,
        type=params.get("type") or None,
        status=params.get("status") or None,
        q=params.get("q") or None,
        mine=toon != "alle",
        sort=params.get("sort", "status"),
        page=_int(params.get("pagina")) or 1,
    )


def _view(
    session: Session, principal: Principal, params: dict[str, str]
) -> tuple[list[m.AllocationRound], review_svc.ReviewView | None]:
    actor = actor_of(principal)
    all_rounds = review_svc.rounds(session, actor)
    round_id = _int(params.get("ronde")) or (all_rounds[0].id if all_rounds else None)
    if round_id is None:
        return all_rounds, None
    toon, filters = _filters(params)
    view = review_svc.review_view(session, actor, round_id, _int(params.get("versie")), filters)
    if toon is None and view.mine_open == 0:
        # Nothing waits for this user: show every match instead of an empty "mine" list.
        params["toon"] = "alle"
        filters = dataclasses.replace(filters, mine=False)
        view = review_svc.review_view(session, actor, round_id, _int(params.get("versie")), filters)
    return all_rounds, view


def _context(principal: Principal, view: review_svc.ReviewView | None) -> dict[str, Any]:
    return {
        "view": view,
        "status_nl": review_svc.STATUS_NL,
        "reasons": review_svc.REASON_NL,
        "manage": principal.role in MANAGE_ROLES,
        # The score reveals the urgency ranking: not for corporations.
        "show_score": principal.role in ("admin", "gemeente"),
    }


@router.get("/beoordelen", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, principal: Reviewer) -> Response:
    params = _list_params(request.query_params)
    try:
        all_rounds, view = _view(session, principal, params)
    except rounds_svc.NotFound as exc:
        return not_found(request, principal, str(exc))
    except rounds_svc.Forbidden as exc:
        return denied(request, principal, str(exc))
    return render(
        request,
        "review.html",
        {
            "title": "Beoordelen",
            "rounds": all_rounds,
            "params": params,
            "terug": urlencode(params),
            "sorts": review_svc.SORTS,
            "melding": request.query_params.get("melding", "")[:300],
            "fout": request.query_params.get("fout", "")[:1000],
            "today": date.today(),
            "refresh": view is not None and view.round.status == "solving",
            "page_urls": [
                (p, "/beoordelen?" + urlencode({**params, "pagina": p}))
                for p in range(1, (view.pages if view else 1) + 1)
            ],
            **_context(principal, view),
        },
        principal,
    )


def _fragments(
    request: Request, session: Session, principal: Principal, params: dict[str, str], match_id: int
) -> dict[str, str]:
    """The changed row and the summary, rendered as on the page, for a fetch answer.

    The row is rendered even when it no longer passes the list's filters (a rejected match in
    "wat ik moet beslissen"): it stays in place, with its undo button, until the next load.
    """
    view, match = review_svc.row_view(session, actor_of(principal), match_id)
    context = {
        "request": request,
        "principal": principal,
        "terug": urlencode(params),
        "label": label,
        "nl_number": nl_number,
        **_context(principal, view),
    }
    macros = templates.get_template("review_parts.html").make_module(context)
    _, filters = _filters(params)
    open_total = len(review_svc.decidable(session, actor_of(principal), view.round.id, filters))
    return {
        "open_total": str(open_total),
        "row": str(macros.match_row(match)),  # type: ignore[attr-defined]
        "summary": str(macros.summary()),  # type: ignore[attr-defined]
    }


@router.post("/beoordelen/matches/{match_id}")
def decide(
    request: Request,
    match_id: int,
    session: SessionDep,
    principal: ReviewerForm,
    decision: Annotated[str, Form(max_length=10)] = "",
    version: Annotated[int, Form(ge=1)] = 1,
    reason_code: Annotated[str, Form(max_length=40)] = "",
    reason_text: Annotated[str, Form(max_length=1000)] = "",
    terug: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Accept, reject (with a reason), confirm or undo one match."""
    params = _from_terug(terug)
    fetch = request.headers.get(FETCH_HEADER) == "1"
    actor = actor_of(principal)
    actions = {
        "accept": lambda: rounds_svc.decide(session, match_id, actor, True, version),
        "reject": lambda: rounds_svc.decide(
            session,
            match_id,
            actor,
            False,
            version,
            reason_code or None,
            reason_text.strip() or None,
        ),
        "confirm": lambda: rounds_svc.confirm(session, match_id, actor, version),
        "undo": lambda: rounds_svc.undo(session, match_id, actor, version),
    }
    if decision not in actions:
        error = "Kies accepteren, afwijzen, bevestigen of ongedaan maken."
        if fetch:
            return JSONResponse({"error": error}, status_code=422)
        return back("/beoordelen", f"match-{match_id}", **params, fout=error)
    try:
        match = actions[decision]()
        session.flush()
    except rounds_svc.Forbidden as exc:
        session.rollback()
        if fetch:
            return JSONResponse({"error": str(exc)}, status_code=403)
        return denied(request, principal, str(exc))
    except (rounds_svc.WorkflowError, rounds_svc.NotFound) as exc:
        session.rollback()
        error = f"Match {match_id} niet opgeslagen: {exc}."
        if fetch:
            return JSONResponse({"error": error}, status_code=409)
        return back("/beoordelen", f"match-{match_id}", **params, fout=error)
    message = (
        f"Match {match.youth.code} → {match.option.code}: "
        f"{'teruggezet naar ' if decision == 'undo' else ''}{label('match_status', match.status)}."
    )
    # Commit before answering: the next read (a redirect, another fetch) must see it.
    session.commit()
    if fetch:
        return JSONResponse(
            {"message": message, **_fragments(request, session, principal, params, match_id)}
        )
    return back("/beoordelen", f"match-{match_id}", **params, melding=message)


def _pairs(values: list[str]) -> list[tuple[int, int]] | None:
    """``["id:version", ...]`` as pairs; None when any is malformed."""
    out = []
    for value in values:
        left, _, right = value.partition(":")
        if not (left.isdigit() and right.isdigit()):
            return None
        out.append((int(left), int(right)))
    return out


@router.post("/beoordelen/rondes/{round_id}/selectie")
def bulk(
    request: Request,
    round_id: int,
    session: SessionDep,
    principal: ReviewerForm,
    actie: Annotated[str, Form(max_length=20)] = "",
    selectie: Annotated[list[str] | None, Form()] = None,
    verwacht: Annotated[int, Form(ge=0)] = 0,
    terug: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Accept or confirm the selected matches, all or none; or confirm every accepted match
    this user may confirm (``actie=alles-bevestigen``)."""
    params = _from_terug(terug)
    actor = actor_of(principal)
    if actie == "alles-accepteren":
        _, filters = _filters(params)
        items = review_svc.decidable(session, actor, round_id, filters)
        if len(items) != verwacht:
            error = (
                f"De lijst is intussen veranderd ({len(items)} open matches in plaats van "
                f"{verwacht}); er is niets opgeslagen. Bekijk de lijst opnieuw."
            )
            return back("/beoordelen", **params, fout=error)
    elif actie == "alles-bevestigen":
        items = review_svc.confirmable(session, actor, round_id)
        if not items:
            return back("/beoordelen", **params, fout="Er is niets geaccepteerds te bevestigen.")
    else:
        parsed = _pairs((selectie or [])[:MAX_SELECTION])
        if parsed is None or len(selectie or []) > MAX_SELECTION:
            error = f"De selectie is niet leesbaar of groter dan {MAX_SELECTION} matches."
            return back("/beoordelen", **params, fout=error)
        items = parsed
    run = {
        "accepteren": rounds_svc.decide_many,
        "alles-accepteren": rounds_svc.decide_many,
        "bevestigen": rounds_svc.confirm_many,
        "alles-bevestigen": rounds_svc.confirm_many,
    }.get(actie)
    if run is None:
        return back("/beoordelen", **params, fout="Kies accepteren of bevestigen.")
    try:
        done = run(session, actor, items)
    except (rounds_svc.WorkflowError, rounds_svc.Forbidden, rounds_svc.NotFound) as exc:
        session.rollback()
        return back("/beoordelen", **params, fout=f"Niets opgeslagen: {exc}.")
    session.commit()
    word = "geaccepteerd" if actie.endswith("accepteren") else "bevestigd"
    return back("/beoordelen", **params, melding=f"{len(done)} match(es) {word}.")


@router.post("/beoordelen/rondes")
def create_round(
    request: Request,
    session: SessionDep,
    principal: ManagerForm,
    background: BackgroundTasks,
    maand: Annotated[str, Form(max_length=40)] = "",
    tempo: Annotated[str, Form(max_length=10)] = "none",
    vervangen: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        year, month = (int(x) for x in maand.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return back("/beoordelen", fout=f"Maand: '{maand}' niet herkend, gebruik JJJJ-MM.")
    pacing = next((p for p in rounds_svc.PACINGS if p == tempo), None)
    if pacing is None:
        return back("/beoordelen", fout=f"Contingenten: keuze '{tempo}' niet herkend.")
    actor = actor_of(principal)
    try:
        rnd = rounds_svc.create_round(session, first, 0, actor, pacing, vervangen == "ja")
        rounds_svc.start_solve(session, rnd.id, actor)
        job_id = _enqueue_solve(session, rnd.id)
    except (rounds_svc.WorkflowError, InvalidTransition) as exc:
        session.rollback()
        return back("/beoordelen", fout=f"Niet gelukt: {exc}.")
    session.commit()
    background.add_task(run_enqueued, request, job_id)
    return back("/beoordelen", ronde=rnd.id, melding="De ronde wordt doorgerekend.")


def _round_summary(session: Session, round_id: int, action: str) -> dict[str, Any]:
    """What a round action will do, in numbers and one Dutch sentence."""
    rnd = rounds_svc.get_round(session, round_id)
    counts = rounds_svc.decision_counts(session, round_id)
    kept = counts["accepted"] + counts["confirmed"]
    total = sum(counts.values())
    blockers = total - counts["confirmed"]
    if action == "publiceren" and rnd.status == "failed":
        what = (
            "Het opnieuw doorrekenen is mislukt. Publiceren zet de ronde terug op de laatste "
            f"versie ({total} matches, met hun besluiten); daarna kun je verder beoordelen of "
            "opnieuw doorrekenen."
        )
    elif action == "publiceren":
        what = (
            f"{total} voorgestelde matches gaan ter beoordeling naar de corporaties en "
            "gemeenten; zij krijgen een bericht."
        )
    elif action == "doorrekenen":
        released = rounds_svc.release_count(session, round_id)
        held = kept - released
        what = (
            f"{kept} geaccepteerd of bevestigd, {counts['rejected']} afgewezen, "
            f"{counts['proposed']} open: opnieuw doorrekenen houdt de {held} vast, sluit de "
            f"{counts['rejected']} afgewezen combinaties uit en bepaalt de rest opnieuw."
        )
        if released:
            what += (
                f" {released} geaccepteerde {'match staat' if released == 1 else 'matches staan'}"
                " in een gedeeld huis waar iemand is afgewezen: dat huis wordt opnieuw "
                "samengesteld, dus die worden opnieuw bepaald."
            )
        what += " Tot het nieuwe voorstel gepubliceerd is, zien corporaties de huidige versie."
    else:
        what = (
            f"{total} matches worden definitief: de jongeren krijgen status geplaatst, de "
            "woonplekken worden bezet en het contingentgebruik wordt geboekt. Daarna is de "
            "ronde alleen nog te lezen."
        )
    return {"round": rnd, "counts": counts, "what": what, "blockers": blockers, "total": total}


@router.get("/beoordelen/rondes/{round_id}/{actie}", response_class=HTMLResponse)
def confirm_round_action(
    request: Request, round_id: int, actie: str, session: SessionDep, principal: Manager
) -> Response:
    """The confirmation step before publishing, re-solving or finalising."""
    if actie not in ROUND_ACTIONS:
        return not_found(request, principal, f"Onbekende actie '{actie}'.")
    try:
        summary = _round_summary(session, round_id, actie)
    except rounds_svc.NotFound as exc:
        return not_found(request, principal, str(exc))
    return render(
        request,
        "review_confirm.html",
        {
            "title": ROUND_ACTIONS[actie],
            "actie": actie,
            "terug": urlencode(_list_params(request.query_params)),
            **summary,
        },
        principal,
    )


@router.post("/beoordelen/rondes/{round_id}/{actie}")
def round_action(
    request: Request,
    round_id: int,
    actie: str,
    session: SessionDep,
    principal: ManagerForm,
    background: BackgroundTasks,
    terug: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    params = _from_terug(terug)
    params["ronde"] = str(round_id)
    actor = actor_of(principal)
    try:
        if actie == "publiceren":
            rounds_svc.publish(session, round_id, actor)
            message = "Het voorstel is gepubliceerd: corporaties en gemeenten kunnen beoordelen."
        elif actie == "doorrekenen":
            rounds_svc.start_resolve(session, round_id, actor)
            background.add_task(run_enqueued, request, _enqueue_solve(session, round_id))
            message = "De ronde wordt opnieuw doorgerekend (geaccepteerde matches blijven staan)."
        elif actie == "afronden":
            rounds_svc.finalise(session, round_id, actor)
            message = "De ronde is afgerond: de plaatsingen zijn definitief."
        else:
            return not_found(request, principal, f"Onbekende actie '{actie}'.")
    except (rounds_svc.WorkflowError, InvalidTransition, rounds_svc.NotFound) as exc:
        session.rollback()
        return back("/beoordelen", **params, fout=f"Niet gelukt: {exc}.")
    session.commit()  # before the redirect and the background solve
    params.pop("versie", None)
    return back("/beoordelen", **params, melding=message)


@router.get("/beoordelen/matches/{match_id}/uitleg", response_class=HTMLResponse)
def why_this_match(
    request: Request, match_id: int, session: SessionDep, principal: Reviewer
) -> Response:
    """Why this young person got this place: the score in words and the runner-ups."""
    try:
        found = explain_svc.explain_match(session, actor_of(principal), match_id)
    except rounds_svc.NotFound as exc:
        return not_found(request, principal, str(exc))
    return render(
        request,
        "match_explain.html",
        {
            "title": f"Waarom {found.match.youth.code} → {found.match.option.code}",
            "x": found,
            "terug": urlencode({"ronde": found.round.id}),
        },
        principal,
    )


@router.get("/beoordelen/maanden", response_class=HTMLResponse)
def month_history(request: Request, session: SessionDep, principal: Reviewer) -> Response:
    """Per month: young people in the round, housed, still waiting, contingent use."""
    rows = history_svc.month_history(session, actor_of(principal))
    return render(request, "history.html", {"title": "Maandoverzicht", "rows": rows}, principal)
