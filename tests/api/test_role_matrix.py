"""Every ``/api/v1`` endpoint × every role, with the expected status, on SQLite and PostgreSQL.

The endpoint list comes from ``app.routes``: an endpoint missing from MATRIX fails the test with
the exact entry to add, so a new route cannot ship without a decision on who may call it.

Requests are built so the answer is deterministic whatever order the roles run in: a state change
targets a round or match where the workflow refuses it (409 means "authorised, reached the
workflow"), so no role's request changes what the next role sees.

MATRIX reads the published round; DRAFT_READS reads the same routes on a draft round, where a
corporation gets 403 on every one of them (docs/decisions.md 18). Every route with a round in its
path must have a DRAFT_READS row, so a new round read cannot skip that check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m

ROLES = ("admin", "gemeente", "corporatie", "regisseur", "planner", "anonymous", "privacy")


def row(
    admin: int,
    gemeente: int,
    corporatie: int,
    regisseur: int,
    planner: int,
    anonymous: int,
    privacy: int = 403,
) -> dict[str, int]:
    """Expected statuses per role. The privacy officer (functionaris gegevensbescherming)
    reads the audit log and nothing else: 403 unless a row says otherwise."""
    return {
        "admin": admin,
        "gemeente": gemeente,
        "corporatie": corporatie,
        "regisseur": regisseur,
        "planner": planner,
        "anonymous": anonymous,
        "privacy": privacy,
    }


# (method, path) -> expected status per role. 403: the role may not; 409: authorised, the
# workflow refuses this particular state change (see the request builders below).
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/health"): row(200, 200, 200, 200, 200, 200, privacy=200),
    # the API explorer (api/apidocs.py): a page of the public schema, for everybody
    ("GET", "/api/v1/docs"): row(200, 200, 200, 200, 200, 200, privacy=200),
    ("POST", "/api/v1/auth/token"): row(200, 200, 200, 200, 200, 401, privacy=200),
    ("GET", "/api/v1/auth/me"): row(200, 200, 200, 200, 200, 401, privacy=200),
    ("POST", "/api/v1/rounds"): row(201, 201, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds"): row(200, 200, 200, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}"): row(200, 200, 200, 403, 403, 401),
    ("POST", "/api/v1/rounds/{round_id}/solve"): row(409, 409, 403, 403, 403, 401),
    ("POST", "/api/v1/rounds/{round_id}/publish"): row(409, 409, 403, 403, 403, 401),
    ("POST", "/api/v1/rounds/{round_id}/resolve"): row(409, 409, 403, 403, 403, 401),
    ("POST", "/api/v1/rounds/{round_id}/finalise"): row(409, 409, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals"): row(200, 200, 200, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals/{version}"): row(200, 200, 200, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals/{version}/diff"): row(
        200, 200, 200, 403, 403, 401
    ),
    # a match on the corporation's option in the gemeente, with a stale version; a gemeente
    # decides only on provider-held options (no corporation), so it gets 403 here
    ("POST", "/api/v1/matches/{match_id}/decision"): row(409, 403, 409, 403, 403, 401),
    ("POST", "/api/v1/matches/{match_id}/confirm"): row(409, 409, 403, 403, 403, 401),
    # the same match, stale version: the gemeente may not decide it (corporation's option)
    ("POST", "/api/v1/matches/{match_id}/undo"): row(409, 403, 409, 403, 403, 401),
    # bulk accept of that match, stale version: refused as a whole (409 naming it), also for
    # the gemeente, whose refusal of the one match is listed there
    ("POST", "/api/v1/rounds/{round_id}/decisions"): row(409, 409, 409, 403, 403, 401),
    ("GET", "/api/v1/youths"): row(200, 200, 403, 200, 403, 401),
    ("GET", "/api/v1/youths/aggregates"): row(200, 200, 403, 403, 200, 401),
    # a youth of the gemeente in the regisseur's caseload
    ("GET", "/api/v1/youths/{code}"): row(200, 200, 403, 200, 403, 401),
    # suggestions router: the youth's own regisseur only (they hold the distances to anchors)
    ("GET", "/api/v1/youths/{youth_id}/suggestions"): row(403, 403, 403, 200, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/explanations"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/fairness"): row(200, 200, 200, 403, 403, 401),
    # the round as a file (api/routers/round_exports.py), scoped like the reads
    ("GET", "/api/v1/rounds/{round_id}/export"): row(200, 200, 200, 403, 403, 401),
    # the matrix match's own pair: its option is the corporation's and in the gemeente
    ("GET", "/api/v1/rounds/{round_id}/pairs/{youth_id}/{option_id}"): row(
        200, 200, 200, 403, 403, 401
    ),
    ("GET", "/api/v1/options"): row(200, 200, 200, 200, 200, 401),
    # registering records (issue 15): a refused body (422, nothing written) shows who may;
    # a regisseur registers and changes youths of the own caseload, a corporation its vacancies
    ("POST", "/api/v1/youths"): row(403, 403, 403, 422, 403, 401),
    ("PUT", "/api/v1/youths/{code}"): row(403, 403, 403, 422, 403, 401),
    ("POST", "/api/v1/options"): row(403, 403, 422, 403, 403, 401),
    ("GET", "/api/v1/options/{code}"): row(200, 200, 200, 200, 200, 401),
    ("GET", "/api/v1/contingents"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/contingents/changes"): row(200, 200, 200, 403, 200, 401),
    # a new agreement (a year per role) of the matrix corporation in the matrix gemeente:
    # either party proposes; admin and planners read along but are no party
    ("POST", "/api/v1/contingents/changes"): row(403, 201, 201, 403, 403, 401),
    # a proposal that does not exist: the parties learn that, other roles may not decide at all
    ("POST", "/api/v1/contingents/changes/{change_id}/accept"): row(403, 404, 404, 403, 403, 401),
    ("POST", "/api/v1/contingents/changes/{change_id}/reject"): row(403, 404, 404, 403, 403, 401),
    ("POST", "/api/v1/contingents/changes/{change_id}/withdraw"): row(403, 404, 404, 403, 403, 401),
    # a contingents file for the corporation and the gemeente of the matrix users
    ("POST", "/api/v1/imports/{kind}"): row(200, 200, 200, 403, 403, 401),
    ("GET", "/api/v1/exports/{kind}"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/audit"): row(200, 200, 403, 403, 403, 401, privacy=200),
    ("GET", "/api/v1/audit/export"): row(200, 200, 403, 403, 403, 401, privacy=200),
    ("GET", "/api/v1/users"): row(200, 403, 403, 403, 403, 401),
    ("POST", "/api/v1/users"): row(201, 403, 403, 403, 403, 401),
    ("GET", "/api/v1/users/{user_id}"): row(200, 403, 403, 403, 403, 401),
    ("PATCH", "/api/v1/users/{user_id}"): row(200, 403, 403, 403, 403, 401),
    ("POST", "/api/v1/users/{user_id}/password-link"): row(201, 403, 403, 403, 403, 401),
    ("PATCH", "/api/v1/organisations/{code}"): row(200, 403, 403, 403, 403, 401),
    ("GET", "/api/v1/organisations"): row(200, 200, 200, 200, 200, 401),
    ("POST", "/api/v1/organisations"): row(201, 403, 403, 403, 403, 401),
    # supply: a corporation sees only levels with a corporation (its own rows), regisseurs none
    ("GET", "/api/v1/supply/projection"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/supply/projection.csv"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/supply/compare"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/supply/compare.csv"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/supply/fanchart.png"): row(200, 200, 200, 403, 200, 401),
    ("GET", "/api/v1/supply/scenarios"): row(200, 200, 200, 403, 200, 401),
    ("POST", "/api/v1/supply/scenarios"): row(201, 201, 403, 403, 201, 401),
    ("POST", "/api/v1/supply/projection-jobs"): row(202, 202, 202, 403, 202, 401),
    ("GET", "/api/v1/jobs/{job_id}"): row(404, 404, 404, 404, 404, 401),  # not theirs
}


# The same routes on a draft round (solved, not published): admin and gemeente read it, a
# corporation nothing, not even its status or a match id on its own option (403 for all).
DRAFT_READS: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/api/v1/rounds/{round_id}"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals/{version}"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/proposals/{version}/diff"): row(
        200, 200, 403, 403, 403, 401
    ),
    ("GET", "/api/v1/rounds/{round_id}/explanations"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/fairness"): row(200, 200, 403, 403, 403, 401),
    ("GET", "/api/v1/rounds/{round_id}/export"): row(200, 200, 403, 403, 403, 401),
    # a pair matched in the draft on the corporation's option in the gemeente
    ("GET", "/api/v1/rounds/{round_id}/pairs/{youth_id}/{option_id}"): row(
        200, 200, 403, 403, 403, 401
    ),
    # that match, with a stale version: admin reaches the workflow (not published: 409)
    ("POST", "/api/v1/matches/{match_id}/decision"): row(409, 403, 403, 403, 403, 401),
    ("POST", "/api/v1/matches/{match_id}/undo"): row(409, 403, 403, 403, 403, 401),
    ("POST", "/api/v1/rounds/{round_id}/decisions"): row(409, 409, 403, 403, 403, 401),
}


@dataclass
class Context:
    """Ids the requests refer to, chosen so every role's answer is deterministic."""

    emails: dict[str, str]
    published_round: int  # published, proposal version 1
    draft_round: int  # draft (not published): resolve and finalise are refused
    match_id: int  # on the matrix corporation's option in the matrix gemeente
    youth_code: str  # in the matrix gemeente and the matrix regisseur's caseload
    youth_id: int  # the same youth's database id
    match_youth_id: int
    match_option_id: int
    draft_match_id: int  # in the draft round, on the same corporation's option in the gemeente
    draft_youth_id: int
    draft_option_id: int
    option_code: str
    corporation: str
    gemeente_code: str
    planner_id: int


Request = tuple[str, dict[str, Any]]  # url, extra keyword arguments for client.request
Builder = Callable[[Context, str], Request]

CONTINGENT_CSV = "corporatie;gemeentecode;year;amount\n{corp};{gemeente};2031;1\n"

# A small projection at a level with a corporation (so a corporation sees its own rows).
SUPPLY_QUERY = {
    "scenario": "base",
    "output": "contingent_used",
    "level": "gemeente_corporation",
    "months": 3,
    "runs": 10,
    "start": "2027-01",
}


def _bulk_accept(match_id: int) -> dict[str, Any]:
    return {"action": "accept", "matches": [{"id": match_id, "version": 99}]}


def _supply_get(path: str) -> Builder:
    return lambda c, role: (path, {"params": SUPPLY_QUERY})


# Request builders for endpoints whose path parameters or body need more than the defaults.
REQUESTS: dict[tuple[str, str], Builder] = {
    ("POST", "/api/v1/youths"): lambda c, role: (
        "/api/v1/youths",
        {"json": {"birth_date": "2999-01-01"}},
    ),
    ("PUT", "/api/v1/youths/{code}"): lambda c, role: (
        f"/api/v1/youths/{c.youth_code}",
        {"json": {"birth_date": "2999-01-01"}},
    ),
    ("POST", "/api/v1/options"): lambda c, role: ("/api/v1/options", {"json": {"kale_huur": -1}}),
    ("POST", "/api/v1/auth/token"): lambda c, role: (
        "/api/v1/auth/token",
        {
            "json": {
                "email": c.emails.get(role, "niemand@test.invalid"),
                "password": "demo",
            }
        },
    ),
    # a month per role: there is one round per month
    ("POST", "/api/v1/rounds"): lambda c, role: (
        "/api/v1/rounds",
        {"json": {"month": f"2027-{3 + ROLES.index(role):02d}-01", "seed": 1, "time_limit_s": 2}},
    ),
    ("POST", "/api/v1/rounds/{round_id}/solve"): lambda c, role: (
        f"/api/v1/rounds/{c.published_round}/solve",
        {},
    ),
    ("POST", "/api/v1/rounds/{round_id}/resolve"): lambda c, role: (
        f"/api/v1/rounds/{c.draft_round}/resolve",
        {},
    ),
    ("POST", "/api/v1/rounds/{round_id}/finalise"): lambda c, role: (
        f"/api/v1/rounds/{c.draft_round}/finalise",
        {},
    ),
    ("POST", "/api/v1/matches/{match_id}/decision"): lambda c, role: (
        f"/api/v1/matches/{c.match_id}/decision",
        {"json": {"decision": "accept", "version": 99}},
    ),
    ("POST", "/api/v1/matches/{match_id}/confirm"): lambda c, role: (
        f"/api/v1/matches/{c.match_id}/confirm",
        {"json": {"version": 99}},
    ),
    ("POST", "/api/v1/matches/{match_id}/undo"): lambda c, role: (
        f"/api/v1/matches/{c.match_id}/undo",
        {"json": {"version": 99}},
    ),
    ("POST", "/api/v1/rounds/{round_id}/decisions"): lambda c, role: (
        f"/api/v1/rounds/{c.published_round}/decisions",
        {"json": _bulk_accept(c.match_id)},
    ),
    ("POST", "/api/v1/imports/{kind}"): lambda c, role: (
        "/api/v1/imports/contingents",
        {
            "files": {
                "file": (
                    "contingents.csv",
                    CONTINGENT_CSV.format(corp=c.corporation, gemeente=c.gemeente_code).encode(),
                    "text/csv",
                )
            }
        },
    ),
    ("GET", "/api/v1/exports/{kind}"): lambda c, role: ("/api/v1/exports/contingents", {}),
    ("GET", "/api/v1/youths/{youth_id}/suggestions"): lambda c, role: (
        f"/api/v1/youths/{c.youth_id}/suggestions",
        {},
    ),
    ("GET", "/api/v1/rounds/{round_id}/pairs/{youth_id}/{option_id}"): lambda c, role: (
        f"/api/v1/rounds/{c.published_round}/pairs/{c.match_youth_id}/{c.match_option_id}",
        {},
    ),
    ("POST", "/api/v1/users"): lambda c, role: (
        "/api/v1/users",
        {
            "json": {
                "email": f"nieuw-{role}@test.invalid",
                "name": "Nieuwe planner",
                "role": "planner",
                "organisation": "regio-demo",
                "password": "lang genoeg wachtwoord",
            }
        },
    ),
    ("PATCH", "/api/v1/users/{user_id}"): lambda c, role: (
        f"/api/v1/users/{c.planner_id}",
        {"json": {"name": "Planner 1 (synthetisch)"}},
    ),
    ("POST", "/api/v1/contingents/changes"): lambda c, role: (
        "/api/v1/contingents/changes",
        {
            "json": {
                "corporation": c.corporation,
                "gemeente_code": c.gemeente_code,
                "year": 2040 + ROLES.index(role),
                "amount": 2,
            }
        },
    ),
    **{
        ("POST", f"/api/v1/contingents/changes/{{change_id}}/{action}"): (
            lambda c, role, action=action: (
                f"/api/v1/contingents/changes/{2**31 - 1}/{action}",
                {"json": {}},
            )
        )
        for action in ("accept", "reject", "withdraw")
    },
    ("PATCH", "/api/v1/organisations/{code}"): lambda c, role: (
        "/api/v1/organisations/regio-demo",
        {"json": {"active": True}},
    ),
    ("POST", "/api/v1/organisations"): lambda c, role: (
        "/api/v1/organisations",
        {"json": {"code": f"zorg-{role}", "name": "Zorg test", "kind": "zorgaanbieder"}},
    ),
    **{
        ("GET", f"/api/v1/supply/{name}"): _supply_get(f"/api/v1/supply/{name}")
        for name in ("projection", "projection.csv", "compare", "compare.csv", "fanchart.png")
    },
    ("POST", "/api/v1/supply/scenarios"): lambda c, role: (
        "/api/v1/supply/scenarios",
        {"json": {"name": f"matrix-{role}", "changes": []}},
    ),
    ("POST", "/api/v1/supply/projection-jobs"): lambda c, role: (
        "/api/v1/supply/projection-jobs",
        {"json": {**SUPPLY_QUERY, "months": 2, "runs": 20}},
    ),
    ("GET", "/api/v1/jobs/{job_id}"): lambda c, role: ("/api/v1/jobs/999999", {}),
}


def _default_request(context: Context, path: str) -> Request:
    """Fill the usual path parameters from the context."""
    values = {
        "round_id": context.published_round,
        "version": 1,
        "match_id": context.match_id,
        "user_id": context.planner_id,
    }
    if "/youths/" in path:
        values["code"] = context.youth_code  # type: ignore[assignment]
    elif "/options/" in path:
        values["code"] = context.option_code  # type: ignore[assignment]
    return path.format(**values), {}


def _draft_request(context: Context, method: str, path: str) -> Request:
    """The DRAFT_READS request: the draft round, its version 1 and its matrix pair."""
    values = {
        "round_id": context.draft_round,
        "version": 1,
        "match_id": context.draft_match_id,
        "youth_id": context.draft_youth_id,
        "option_id": context.draft_option_id,
    }
    # state changes with a stale version: they change nothing
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/matches/{match_id}/decision": {"decision": "accept", "version": 99},
        "/api/v1/matches/{match_id}/undo": {"version": 99},
        "/api/v1/rounds/{round_id}/decisions": _bulk_accept(context.draft_match_id),
    }
    kwargs: dict[str, Any] = {"json": bodies[path]} if method == "POST" else {}
    return path.format(**values), kwargs


def api_endpoints(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every /api/v1 endpoint, from app.routes (included routers too)."""
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path or ""
        if isinstance(route, APIRoute) and path.startswith("/api/v1"):
            found |= {(method, path) for method in route.methods or () if method != "HEAD"}
    return found


def _entry_hint(method: str, path: str) -> str:
    return (
        f'    ("{method}", "{path}"): row(admin, gemeente, corporatie, regisseur, planner, '
        "anonymous),  # expected status codes"
    )


def test_matrix_lists_every_endpoint(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    endpoints = api_endpoints(app)
    missing = sorted(endpoints - set(MATRIX))
    assert not missing, (
        "endpoints without a row in MATRIX (tests/api/test_role_matrix.py); add:\n"
        + "\n".join(_entry_hint(method, path) for method, path in missing)
        + "\n(and a builder in REQUESTS if its path parameters are not round_id, version,"
        " match_id, user_id or code)"
    )
    stale = sorted(set(MATRIX) - endpoints)
    assert not stale, f"MATRIX rows for endpoints that no longer exist, remove: {stale}"


def test_every_round_read_has_a_draft_row(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.db'}"))
    reads = {(method, path) for method, path in api_endpoints(app) if method == "GET"}
    round_reads = {(method, path) for method, path in reads if "{round_id}" in path}
    missing = sorted(round_reads - set(DRAFT_READS))
    assert not missing, f"round reads without a row in DRAFT_READS, add: {missing}"
    assert set(DRAFT_READS) <= set(MATRIX)


def _token(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _context(client: TestClient, factory: sessionmaker[Session]) -> Context:
    with factory() as s:
        admin = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert admin is not None
    admin_headers = _token(client, admin.email)
    rounds = []
    for month, seed in (("2026-12-01", 4), ("2027-01-01", 5)):  # one round per month
        created = client.post(
            "/api/v1/rounds",
            json={"month": month, "seed": seed, "time_limit_s": 5},
            headers=admin_headers,
        )
        assert created.status_code == 201, created.text
        rounds.append(created.json()["id"])
    published, draft = rounds
    assert client.post(f"/api/v1/rounds/{published}/publish", headers=admin_headers).is_success
    with factory() as s:
        # A match on a corporation's option with a youth of the option's gemeente (the gemeente
        # sees pairs of its own youths only), in each round, on the same corporation and gemeente.
        def matches(round_id: int) -> list[m.Match]:
            return list(
                s.scalars(
                    select(m.Match)
                    .join(m.Proposal)
                    .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
                    .join(m.Youth, m.Match.youth_id == m.Youth.id)
                    .where(
                        m.Proposal.round_id == round_id,
                        m.HousingOption.corporation_id.is_not(None),
                        m.Youth.gemeente_code == m.HousingOption.gemeente_code,
                    )
                    .order_by(m.Match.id)
                )
            )

        def place(x: m.Match) -> tuple[int | None, str]:
            return x.option.corporation_id, x.option.gemeente_code

        in_draft = {place(x): x for x in reversed(matches(draft))}
        match = next(x for x in matches(published) if place(x) in in_draft)
        draft_match = in_draft[place(match)]
        option = match.option
        gemeente_code = option.gemeente_code
        corporation = option.corporation
        assert corporation is not None
        gemeente_user = s.scalars(
            select(m.User)
            .join(m.Organisation)
            .where(m.Organisation.gemeente_code == gemeente_code, m.User.role == "gemeente")
        ).first()
        corp_user = s.scalars(
            select(m.User).where(m.User.organisation_id == corporation.id)
        ).first()
        youth = s.scalars(
            select(m.Youth)
            .where(m.Youth.gemeente_code == gemeente_code, m.Youth.regisseur_id.is_not(None))
            .order_by(m.Youth.code)
        ).first()
        assert gemeente_user and corp_user and youth and youth.regisseur
        planner = s.scalars(
            select(m.User).where(m.User.role == "planner").order_by(m.User.email)
        ).first()
        assert planner is not None
        officer = m.User(
            email="fg@matrix.test.invalid",
            name="Functionaris gegevensbescherming",
            role="privacy",
            organisation_id=planner.organisation_id,
            password_hash=admin.password_hash,  # the demo password
        )
        s.add(officer)
        s.commit()
        return Context(
            emails={
                "privacy": officer.email,
                "admin": admin.email,
                "gemeente": gemeente_user.email,
                "corporatie": corp_user.email,
                "regisseur": youth.regisseur.email,
                "planner": planner.email,
            },
            published_round=published,
            draft_round=draft,
            match_id=match.id,
            youth_code=youth.code,
            youth_id=youth.id,
            match_youth_id=match.youth_id,
            match_option_id=match.option_id,
            draft_match_id=draft_match.id,
            draft_youth_id=draft_match.youth_id,
            draft_option_id=draft_match.option_id,
            option_code=option.code,
            corporation=corporation.code,
            gemeente_code=gemeente_code,
            planner_id=planner.id,
        )


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 60, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


def test_every_endpoint_for_every_role(region: str, session_factory: sessionmaker[Session]) -> None:
    app = create_app(Settings(database_url=region))
    client = TestClient(app)
    context = _context(client, session_factory)
    headers = {role: _token(client, email) for role, email in context.emails.items()}
    headers["anonymous"] = {}
    wrong: list[str] = []
    for (method, path), expected in sorted(MATRIX.items()):
        build = REQUESTS.get((method, path))
        for role in ROLES:
            url, kwargs = build(context, role) if build else _default_request(context, path)
            response = client.request(method, url, headers=headers[role], **kwargs)
            if response.status_code != expected[role]:
                wrong.append(
                    f"{method} {path} as {role}: {response.status_code} "
                    f"(expected {expected[role]}) {response.text[:200]}"
                )
    assert not wrong, "\n".join(wrong)


def test_draft_round_reads_for_every_role(
    region: str, session_factory: sessionmaker[Session]
) -> None:
    """The published round's reads are in MATRIX; here the same reads on the draft round."""
    client = TestClient(create_app(Settings(database_url=region)))
    context = _context(client, session_factory)
    headers = {role: _token(client, email) for role, email in context.emails.items()}
    headers["anonymous"] = {}
    wrong: list[str] = []
    for (method, path), expected in sorted(DRAFT_READS.items()):
        url, kwargs = _draft_request(context, method, path)
        for role in ROLES:
            response = client.request(method, url, headers=headers[role], **kwargs)
            if response.status_code != expected[role]:
                wrong.append(
                    f"{method} {url} ({path}) as {role}: {response.status_code} "
                    f"(expected {expected[role]}) {response.text[:200]}"
                )
    # the round list holds the draft for those who may read it, never for a corporation
    for role in ("admin", "gemeente", "corporatie"):
        listed = {r["id"] for r in client.get("/api/v1/rounds", headers=headers[role]).json()}
        expected_ids = {context.published_round} | (
            set() if role == "corporatie" else {context.draft_round}
        )
        if listed != expected_ids:
            wrong.append(f"GET /api/v1/rounds as {role}: {sorted(listed)}")
    assert not wrong, "\n".join(wrong)
