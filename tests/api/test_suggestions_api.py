"""Suggestions and proposal explanations over HTTP: roles, audit, bad input, index refresh."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.cli import load_demo
from api.services.suggestions import index_cache, invalidate_index
from api.settings import Settings
from fixtures.generate import ROUND_MONTH, generate_region, write_region
from store import models as m

ON = ROUND_MONTH.isoformat()  # the fixture's ages and availability are meant for this day


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    folder = tmp_path / "region"
    write_region(generate_region(40, 80, seed=3), folder)
    load_demo(db_url, folder)
    return db_url


@pytest.fixture
def client(region: str) -> TestClient:
    return TestClient(create_app(Settings(database_url=region)))


def _headers(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"email": email, "password": "demo"})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _first_of(factory: sessionmaker[Session], role: str) -> m.User:
    with factory() as s:
        return s.scalars(select(m.User).where(m.User.role == role).order_by(m.User.email)).first()  # type: ignore[return-value]


def _youth_and_regisseurs(factory: sessionmaker[Session]) -> tuple[int, str, str]:
    """(youth id, its regisseur's e-mail, another regisseur's e-mail)."""
    with factory() as s:
        youth = s.scalars(
            select(m.Youth).where(m.Youth.regisseur_id.is_not(None)).order_by(m.Youth.id)
        ).first()
        assert youth is not None and youth.regisseur is not None
        other = s.scalars(
            select(m.User)
            .where(m.User.role == "regisseur", m.User.id != youth.regisseur_id)
            .order_by(m.User.email)
        ).first()
        assert other is not None
        return youth.id, youth.regisseur.email, other.email


def _audit(factory: sessionmaker[Session], action: str) -> list[m.AuditEntry]:
    with factory() as s:
        return list(
            s.scalars(
                select(m.AuditEntry).where(m.AuditEntry.action == action).order_by(m.AuditEntry.id)
            )
        )


def test_own_regisseur_gets_suggestions_and_every_call_is_audited(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    url = f"/api/v1/youths/{youth_id}/suggestions?k=3&on={ON}"
    response = client.get(url, headers=_headers(client, own))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["youth_id"] == youth_id and body["on"] == ON
    assert len(body["suggestions"]) == min(3, body["eligible"])
    for s in body["suggestions"]:
        score = s["score"]
        assert set(score) >= {"urgency_weight", "area_points", "type_points", "distances",
                              "net_rent", "toeslag", "rent_share_of_income"}  # fmt: skip
        assert s["option"]["code"]
    for miss in body["misses"]:
        assert 1 <= len(miss["reasons"]) <= 2
        assert all(r["rule"] != "no_go" for r in miss["reasons"])
    for cf in body["counterfactuals"]:
        assert cf["opens_count"] >= len(cf["opens"])
    assert "message" in body["no_go"]

    admin = _first_of(session_factory, "admin")
    assert client.get(url, headers=_headers(client, admin.email)).status_code == 403

    entries = _audit(session_factory, "youth.suggestions")
    # by code: the gemeente's audit view matches youths by code
    assert [(e.entity, e.entity_id) for e in entries] == [("youth", body["youth_code"])] * 2
    assert entries[0].detail is not None and entries[0].detail["k"] == 3
    assert entries[0].detail["youth_id"] == youth_id
    assert "refused" not in entries[0].detail
    assert entries[1].detail is not None and "refused" in entries[1].detail
    with session_factory() as s:
        own_id = s.scalar(select(m.User.id).where(m.User.email == own))
    assert entries[0].user_id == own_id and entries[1].user_id == admin.id


# Admin has the gemeente's view (docs/decisions.md 9): suggestions hold the income share and the
# distance to every anchor. Another regisseur is told what an unknown youth would be told.
@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 403), ("corporatie", 403), ("planner", 403), ("gemeente", 403),
     ("other regisseur", 404)],
)  # fmt: skip
def test_other_roles_are_refused_and_the_refusal_is_audited(
    client: TestClient, session_factory: sessionmaker[Session], role: str, status: int
) -> None:
    youth_id, _, other = _youth_and_regisseurs(session_factory)
    email = other if role == "other regisseur" else _first_of(session_factory, role).email
    response = client.get(
        f"/api/v1/youths/{youth_id}/suggestions?on={ON}", headers=_headers(client, email)
    )
    assert response.status_code == status
    assert set(response.json()) == {"detail"}
    (entry,) = _audit(session_factory, "youth.suggestions")
    with session_factory() as s:
        code = s.get(m.Youth, youth_id).code  # type: ignore[union-attr]
    assert (entry.entity, entry.entity_id) == ("youth", code)
    assert entry.detail is not None and entry.detail["refused"]
    if status == 403:  # a 404 answers "Niet gevonden" whatever the reason (api/app.py)
        assert entry.detail["refused"] == response.json()["detail"]


def test_anonymous_401_unknown_youth_404_and_bad_input_422(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    assert client.get(f"/api/v1/youths/{youth_id}/suggestions").status_code == 401
    headers = _headers(client, own)
    with session_factory() as s:
        unknown = (s.scalar(select(func.max(m.Youth.id))) or 0) + 1000
    missing = client.get(f"/api/v1/youths/{unknown}/suggestions?on={ON}", headers=headers)
    assert missing.status_code == 404
    for query, field in (
        ("k=0", "k"),
        ("k=51", "k"),
        ("k=tien", "k"),
        ("on=volgende-week", "on"),
        ("on=1990-01-01", "on"),  # no policy known then
    ):
        bad = client.get(f"/api/v1/youths/{youth_id}/suggestions?{query}", headers=headers)
        assert bad.status_code == 422, (query, bad.text)
        assert bad.json()["detail"][0]["loc"][-1] == field
    assert client.get("/api/v1/youths/abc/suggestions", headers=headers).status_code == 422
    # beyond a 32-bit database id: refused before it reaches SQL (PostgreSQL would fail)
    assert client.get("/api/v1/youths/2147483648/suggestions", headers=headers).status_code == 422
    refused = _audit(session_factory, "youth.suggestions")
    assert [e.entity_id for e in refused] == [str(unknown)]


def test_index_is_kept_and_rebuilt_when_options_change(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    youth_id, own, _ = _youth_and_regisseurs(session_factory)
    headers = _headers(client, own)
    url = f"/api/v1/youths/{youth_id}/suggestions?k=50&on={ON}"
    first = client.get(url, headers=headers).json()
    cache = index_cache(client.app)  # type: ignore[arg-type]
    assert cache.builds == 1
    assert client.get(url, headers=headers).json() == first
    assert cache.builds == 1
    codes = [x["option"]["code"] for x in first["suggestions"]]
    assert len(codes) >= 2, "the fixture youth should have suggestions"

    def take(factory: sessionmaker[Session], code: str) -> None:
        with factory.begin() as s:
            option = s.scalars(select(m.HousingOption).where(m.HousingOption.code == code)).one()
            option.status = "placed"  # taken off the market, e.g. by another round

    # A write through the app's own sessions invalidates at once.
    take(client.app.state.sessions, codes[0])  # type: ignore[attr-defined]
    again = client.get(url, headers=headers).json()
    assert cache.builds == 2
    assert codes[0] not in [x["option"]["code"] for x in again["suggestions"]]
    assert again["eligible"] == first["eligible"] - 1
    # A write by another process (another sessionmaker here) is seen by the fingerprint check.
    cache.check_interval_s = 0.0
    take(session_factory, codes[1])
    third = client.get(url, headers=headers).json()
    assert cache.builds == 3 and third["eligible"] == first["eligible"] - 2
    client.get(url, headers=headers)
    assert cache.builds == 3  # unchanged fingerprint: no rebuild
    invalidate_index(client.app)  # type: ignore[arg-type]
    client.get(url, headers=headers)
    assert cache.builds == 4


# ---------------------------------------------------------------------------------------------
# Explanations of a proposal


@pytest.fixture
def solved(client: TestClient, session_factory: sessionmaker[Session]) -> int:
    admin = _headers(client, _first_of(session_factory, "admin").email)
    created = client.post("/api/v1/rounds", json={"month": ON, "seed": 4}, headers=admin)
    assert created.status_code == 201, created.text
    round_id: int = created.json()["id"]
    assert client.get(f"/api/v1/rounds/{round_id}", headers=admin).json()["status"] == "draft"
    return round_id


@pytest.fixture
def published(client: TestClient, session_factory: sessionmaker[Session], solved: int) -> int:
    """The solved round, published: corporations read it from now on (docs/decisions.md 18)."""
    admin = _headers(client, _first_of(session_factory, "admin").email)
    done = client.post(f"/api/v1/rounds/{solved}/publish", headers=admin)
    assert done.status_code == 200, done.text
    return solved


def test_explanations_for_gemeente_and_admin_only(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    url = f"/api/v1/rounds/{solved}/explanations"
    admin = client.get(url, headers=_headers(client, _first_of(session_factory, "admin").email))
    assert admin.status_code == 200, admin.text
    body = admin.json()
    with session_factory() as s:
        proposal = s.scalars(select(m.Proposal).where(m.Proposal.round_id == solved)).one()
        result = proposal.result or {}
    assert sorted(u["youth"] for u in body["unmatched"]) == sorted(result["unmatched"])
    for u in body["unmatched"]:
        assert u["youth"] in u["sentence"] and u["counts"]
    gemeente = _first_of(session_factory, "gemeente")
    with session_factory() as s:
        code = s.get(m.Organisation, gemeente.organisation_id).gemeente_code  # type: ignore[union-attr]
        theirs = {c for c, g in s.execute(select(m.Youth.code, m.Youth.gemeente_code)) if g == code}
    scoped = client.get(url, headers=_headers(client, gemeente.email)).json()
    assert {u["youth"] for u in scoped["unmatched"]} == {
        u["youth"] for u in body["unmatched"] if u["youth"] in theirs
    }
    for role in ("corporatie", "planner", "regisseur"):
        headers = _headers(client, _first_of(session_factory, role).email)
        assert client.get(url, headers=headers).status_code == 403
    missing = client.get(
        f"/api/v1/rounds/{solved + 99}/explanations",
        headers=_headers(client, _first_of(session_factory, "admin").email),
    )
    assert missing.status_code == 404
    assert len(_audit(session_factory, "round.explanations")) == 2


def test_fairness_per_audience(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    url = f"/api/v1/rounds/{solved}/fairness"
    admin = client.get(url, headers=_headers(client, _first_of(session_factory, "admin").email))
    assert admin.status_code == 200, admin.text
    body = admin.json()
    assert body["count"] == sum(body["per_corporation"].values())
    assert body["count"] == sum(body["per_gemeente"].values())
    assert body["message"].startswith("Geen") == (body["count"] == 0)
    corp_headers = _headers(client, _first_of(session_factory, "corporatie").email)
    draft = client.get(url, headers=corp_headers)  # not published yet
    assert draft.status_code == 403 and set(draft.json()) == {"detail"}
    publish = f"/api/v1/rounds/{solved}/publish"
    assert client.post(
        publish, headers=_headers(client, _first_of(session_factory, "admin").email)
    ).is_success
    corp = client.get(url, headers=corp_headers)
    assert corp.status_code == 200
    assert set(corp.json()) == {"round_id", "version", "count", "per_option", "message"}
    for role in ("planner", "regisseur"):
        headers = _headers(client, _first_of(session_factory, role).email)
        assert client.get(url, headers=headers).status_code == 403
    assert (
        client.get(
            url + "?version=0", headers=_headers(client, _first_of(session_factory, "admin").email)
        ).status_code
        == 422
    )


def _gemeente_of(factory: sessionmaker[Session], user: m.User) -> str:
    with factory() as s:
        org = s.get(m.Organisation, user.organisation_id)
        assert org is not None and org.gemeente_code is not None
        return org.gemeente_code


def _a_match(factory: sessionmaker[Session], round_id: int) -> tuple[m.Match, m.User]:
    """A match on a corporation's option in the round and a user of that corporation."""
    with factory() as s:
        match = s.scalars(
            select(m.Match)
            .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
            .join(m.HousingOption, m.Match.option_id == m.HousingOption.id)
            .where(m.Proposal.round_id == round_id, m.HousingOption.corporation_id.is_not(None))
            .order_by(m.Match.id)
        ).first()
        assert match is not None
        user = s.scalars(
            select(m.User)
            .where(m.User.organisation_id == match.option.corporation_id)
            .order_by(m.User.email)
        ).first()
        assert user is not None
        s.expunge_all()
        return match, user


# Figures, keys and words that describe the youth, never for a gemeente or corporation.
YOUTH_SIDE = ("income", "support_need", "max_distance_m", "distance_m", "no_go", "overig",
              "affordability", "inkomen", "accepted", '"age"', "sentence", "message")  # fmt: skip


def test_pair_explanation_for_a_corporation_only_for_its_matched_youths(
    client: TestClient, session_factory: sessionmaker[Session], published: int
) -> None:
    solved = published
    match, corp_user = _a_match(session_factory, solved)
    corp = _headers(client, corp_user.email)
    url = f"/api/v1/rounds/{solved}/pairs/{{}}/{match.option_id}"
    mine = client.get(url.format(match.youth_id), headers=corp)
    assert mine.status_code == 200, mine.text
    reduced = mine.json()
    assert set(reduced) == {"round_id", "version", "youth", "option", "status",
                            "failing_rules", "occupants"}  # fmt: skip
    assert reduced["status"] == "matched"
    assert set(reduced["failing_rules"]) <= {"available", "contingent_exists"}
    for word in YOUTH_SIDE:
        assert word not in mine.text, word
    with session_factory() as s:
        unmatched = s.scalars(
            select(m.Youth.id)
            .where(
                m.Youth.id.not_in(
                    select(m.Match.youth_id)
                    .join(m.Proposal, m.Match.proposal_id == m.Proposal.id)
                    .where(m.Proposal.round_id == solved, m.Match.option_id == match.option_id)
                )
            )
            .order_by(m.Youth.id)
        ).all()
    assert unmatched
    admin = _headers(client, _first_of(session_factory, "admin").email)
    for youth_id in unmatched[:5]:
        # the admin sees the pair; the corporation is told nothing, not even that it exists
        assert client.get(url.format(youth_id), headers=admin).status_code == 200
        refused = client.get(url.format(youth_id), headers=corp)
        assert refused.status_code == 404, refused.text
        assert "status" not in refused.json() and "failing_rules" not in refused.json()


def test_pair_for_corporation_keeps_only_housing_side_rules() -> None:
    from datetime import date as day

    from api.schemas.suggestions import pair_for_corporation_out
    from matcher.explain import PairExplanation
    from matcher.policy import Reason

    rules = ("affordability", "support_level", "age", "no_go", "distance", "type_accepted",
             "available", "contingent_exists")  # fmt: skip
    reasons = tuple(Reason(r, r, f"{r} met inkomen 1234", {"income": 1234.0}) for r in rules)
    e = PairExplanation("J1", "W1", "ineligible", "zin", reasons=reasons)
    proposal = m.Proposal(version=2, created_at=day(2030, 1, 1))
    out = pair_for_corporation_out(7, proposal, e)
    assert out.failing_rules == ["available", "contingent_exists"]
    assert "1234" not in out.model_dump_json()


def test_pair_for_gemeente_keeps_option_side_figures_only() -> None:
    from api.schemas.suggestions import pair_for_gemeente_out
    from matcher.explain import PairExplanation
    from matcher.policy import Reason

    reasons = (
        Reason("affordability", "above_income_share", "meer dan 30% van het inkomen 1234",
               {"income": 1234.0, "limit": 370.2, "toeslag": 80.0, "net_rent": 500.0,
                "age": 19, "kale_huur": 540.0, "servicekosten": 40.0, "policy_year": 2030}),
        Reason("support_level", "support_too_high", "behoefte 3",
               {"support_need": 3, "support_min": 0, "support_max": 1}),
        Reason("no_go", "no_go_code", "buurt BU0001", {"level": "buurt", "code": "BU0001"}),
        Reason("distance", "too_far", "straal", {"distance_m": 9000.0, "max_distance_m": 5000}),
        Reason("age", "age_too_low", "leeftijd 16",
               {"age": 16, "min_age": 18, "max_age": 27, "move_in": "2030-01-01"}),
        Reason("available", "no_capacity", "vol", {"capacity": 0}),
    )  # fmt: skip
    e = PairExplanation("J1", "W1", "ineligible", "J1 past niet: inkomen 1234", reasons=reasons,
                        occupants=("J2", "X9"))  # fmt: skip
    out = pair_for_gemeente_out(7, m.Proposal(version=1), e, {"J1", "J2"})
    # search radius and no-go area: one rule "location", so neither is told apart
    assert [(r.rule, r.figures) for r in out.rules] == [
        ("affordability", {"kale_huur": 540.0, "servicekosten": 40.0, "policy_year": 2030}),
        ("support_level", {"support_min": 0, "support_max": 1}),
        ("location", {}),
        ("age", {"min_age": 18, "max_age": 27, "move_in": "2030-01-01"}),
        ("available", {"capacity": 0}),
    ]
    only_no_go = PairExplanation("J1", "W1", "ineligible", "zin", reasons=reasons[2:3])
    only_distance = PairExplanation("J1", "W1", "ineligible", "zin", reasons=reasons[3:4])
    assert (
        pair_for_gemeente_out(7, m.Proposal(version=1), only_no_go, set()).rules
        == pair_for_gemeente_out(7, m.Proposal(version=1), only_distance, set()).rules
    )
    assert out.occupants == ["J2"] and out.other_occupants == 1
    text = out.model_dump_json()
    for leak in ("1234", "BU0001", "support_need", "income", "max_distance_m", "X9", "16",
                 "9000", "5000", "distance", "no_go"):  # fmt: skip
        assert leak not in text, leak


def test_every_rule_has_a_place_in_the_gemeente_view() -> None:
    from api.schemas.suggestions import LOCATION_RULES, OPTION_FIGURES
    from matcher.rules import RULE_NAMES

    assert set(RULE_NAMES) == set(OPTION_FIGURES) | LOCATION_RULES
    assert not set(OPTION_FIGURES) & LOCATION_RULES


def test_pair_explanation_for_a_gemeente_only_for_its_youths_and_reduced(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    with session_factory() as s:
        # a gemeente with options and youths of its own
        code = s.scalars(
            select(m.HousingOption.gemeente_code)
            .where(
                m.HousingOption.gemeente_code.in_(select(m.Youth.gemeente_code)),
                m.HousingOption.gemeente_code.in_(
                    select(m.Organisation.gemeente_code)
                    .join(m.User, m.User.organisation_id == m.Organisation.id)
                    .where(m.User.role == "gemeente")
                ),
            )
            .order_by(m.HousingOption.id)
        ).first()
        gemeente = s.scalars(
            select(m.User)
            .join(m.Organisation, m.User.organisation_id == m.Organisation.id)
            .where(m.User.role == "gemeente", m.Organisation.gemeente_code == code)
            .order_by(m.User.email)
        ).first()
        assert code is not None and gemeente is not None
    headers = _headers(client, gemeente.email)
    admin = _headers(client, _first_of(session_factory, "admin").email)
    with session_factory() as s:
        own = s.scalars(
            select(m.Youth).where(m.Youth.gemeente_code == code).order_by(m.Youth.id)
        ).first()
        foreign = s.scalars(
            select(m.Youth).where(m.Youth.gemeente_code != code).order_by(m.Youth.id)
        ).first()
        here = s.scalars(
            select(m.HousingOption.id)
            .where(m.HousingOption.gemeente_code == code)
            .order_by(m.HousingOption.id)
        ).first()
        options = s.scalars(select(m.HousingOption.id).order_by(m.HousingOption.id)).all()
    assert own is not None and foreign is not None and here is not None
    # a youth of another gemeente, even on an option in this gemeente: as if unknown
    other = client.get(f"/api/v1/rounds/{solved}/pairs/{foreign.id}/{here}", headers=headers)
    assert other.status_code == 404
    # its own youth: rule names and the option's side of the figures, nothing else
    seen_rules: set[str] = set()
    for option_id in options[:40]:
        url = f"/api/v1/rounds/{solved}/pairs/{own.id}/{option_id}"
        reduced = client.get(url, headers=headers)
        assert reduced.status_code == 200, reduced.text
        body = reduced.json()
        assert set(body) == {"round_id", "version", "youth", "option", "status", "rules",
                             "occupants", "other_occupants", "youth_option"}  # fmt: skip
        # admin has the gemeente's view (docs/decisions.md 9), for every gemeente
        full = client.get(url, headers=admin).json()
        assert set(full) == set(body)
        assert (full["status"], full["rules"]) == (body["status"], body["rules"])
        for rule in body["rules"]:
            seen_rules.add(rule["rule"])
            assert set(rule) == {"rule", "figures"}
            youth_side = {"income", "support_need", "max_distance_m", "distance_m", "age", "code",
                          "accepted", "limit", "toeslag", "net_rent"}  # fmt: skip
            assert not youth_side & set(rule["figures"])
        assert str(own.income) not in reduced.text or own.income == 0
    assert seen_rules, "the fixture should give the youth some ineligible options"


def test_gemeente_audit_view_shows_reads_of_its_youths(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    youth_id, regisseur, other = _youth_and_regisseurs(session_factory)
    with session_factory() as s:
        youth = s.get(m.Youth, youth_id)
        assert youth is not None
        code, gemeente_code = youth.code, youth.gemeente_code
        gemeente = s.scalars(
            select(m.User)
            .join(m.Organisation, m.User.organisation_id == m.Organisation.id)
            .where(m.User.role == "gemeente", m.Organisation.gemeente_code == gemeente_code)
            .order_by(m.User.email)
        ).first()
        option = s.scalars(select(m.HousingOption.id).order_by(m.HousingOption.id)).first()
    assert gemeente is not None and option is not None
    url = f"/api/v1/youths/{youth_id}/suggestions?k=2&on={ON}"
    assert client.get(url, headers=_headers(client, regisseur)).status_code == 200
    assert client.get(url, headers=_headers(client, other)).status_code == 404
    admin = _headers(client, _first_of(session_factory, "admin").email)
    pair = f"/api/v1/rounds/{solved}/pairs/{youth_id}/{option}"
    assert client.get(pair, headers=admin).status_code == 200
    view = client.get(
        f"/api/v1/audit?entity=youth&entity_id={code}", headers=_headers(client, gemeente.email)
    )
    assert view.status_code == 200, view.text
    items = view.json()["items"]
    actions = sorted((e["action"], "refused" in (e["detail"] or {})) for e in items)
    assert actions == [("youth.pair_explanation", False), ("youth.suggestions", False),
                       ("youth.suggestions", True)]  # fmt: skip


def test_fairness_for_a_gemeente_lists_only_pairs_of_its_own_youths(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    url = f"/api/v1/rounds/{solved}/fairness"
    full = client.get(url, headers=_headers(client, _first_of(session_factory, "admin").email))
    with session_factory() as s:
        gemeente_of = {c: g for c, g in s.execute(select(m.Youth.code, m.Youth.gemeente_code))}
        users = s.scalars(select(m.User).where(m.User.role == "gemeente")).all()
        s.expunge_all()
    mixed_seen = False
    for user in users:
        code = _gemeente_of(session_factory, user)
        body = client.get(url, headers=_headers(client, user.email)).json()
        assert "pairs" not in body
        on_options_here = [p for p in full.json()["pairs"] if p["gemeente_code"] == code]
        mine = {y for y, g in gemeente_of.items() if g == code}
        own = [p for p in on_options_here if p["youth"] in mine and p["occupant"] in mine]
        assert body["own_pairs"] == own
        assert body["count"] == len(on_options_here)
        assert body["other_pairs"] == len(on_options_here) - len(own)
        mixed_seen |= body["other_pairs"] > 0
    assert mixed_seen or not full.json()["pairs"], "fixture should have cross-gemeente envy"


def test_unmatched_explanations_have_no_no_go_count_for_gemeente_and_admin(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    with session_factory() as s:
        proposal = s.scalars(select(m.Proposal).where(m.Proposal.round_id == solved)).one()
        stored = (proposal.result or {})["unmatched"]
    assert any("no_go" in (u.get("figures") or {}) for u in stored.values())  # the result has them
    url = f"/api/v1/rounds/{solved}/explanations"
    for role in ("gemeente", "admin"):  # admin has the gemeente's view (docs/decisions.md 9)
        body = client.get(url, headers=_headers(client, _first_of(session_factory, role).email))
        assert body.json()["unmatched"], role
        for u in body.json()["unmatched"]:
            assert "no_go" not in u["counts"], role
            assert "no-go" not in u["sentence"], role


def test_pair_explanation_scoped_by_organisation(
    client: TestClient, session_factory: sessionmaker[Session], solved: int
) -> None:
    corp_user = _first_of(session_factory, "corporatie")
    with session_factory() as s:
        own = s.scalars(
            select(m.HousingOption)
            .where(m.HousingOption.corporation_id == corp_user.organisation_id)
            .order_by(m.HousingOption.id)
        ).first()
        other = s.scalars(
            select(m.HousingOption)
            .where(m.HousingOption.corporation_id != corp_user.organisation_id)
            .order_by(m.HousingOption.id)
        ).first()
        youth = s.scalars(select(m.Youth).order_by(m.Youth.id)).first()
    assert own is not None and other is not None and youth is not None
    admin = _headers(client, _first_of(session_factory, "admin").email)
    full = client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/{own.id}", headers=admin)
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["status"] in {"matched", "ineligible", "taken", "free"}
    assert (body["status"] == "ineligible") == bool(body["rules"])
    corp = _headers(client, corp_user.email)
    assert client.post(f"/api/v1/rounds/{solved}/publish", headers=admin).is_success
    # another corporation's option: as if unknown
    theirs = client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/{other.id}", headers=corp)
    assert theirs.status_code == 404
    planner = _headers(client, _first_of(session_factory, "planner").email)
    assert (
        client.get(
            f"/api/v1/rounds/{solved}/pairs/{youth.id}/{own.id}", headers=planner
        ).status_code
        == 403
    )
    assert (
        client.get(f"/api/v1/rounds/{solved}/pairs/{youth.id}/999999", headers=admin).status_code
        == 404
    )
