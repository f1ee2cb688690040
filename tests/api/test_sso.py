"""Single sign-on with OpenID Connect (api/sso.py, issue 17 item 4) against a real provider on
localhost (tests/oidc_provider.py, Authlib's server components): the authorization code flow
with PKCE end to end, the mapping of claims to a stek account, and every refusal in Dutch.
The ID token checks are also driven with tokens signed here (wrong key, nonce, audience...)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api import sso
from api.app import create_app
from api.auth import SESSION_COOKIE
from api.cli import load_demo
from api.settings import Settings
from fixtures.generate import generate_region, write_region
from store import models as m
from tests.oidc_provider import Client, Provider, running_provider

RETURN = "http://testserver/inloggen/sso/terug"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider(_free_port()) as found:
        found.clients["stek"] = Client("stek", "geheim", [RETURN])
        yield found
    sso._discovered.clear()
    sso._keys.clear()


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    write_region(generate_region(30, 40, seed=3), tmp_path / "region")
    load_demo(db_url, tmp_path / "region")
    return db_url


def _app(db_url: str, provider: Provider, **options: Any) -> TestClient:
    settings = Settings(
        database_url=db_url,
        oidc_issuer=provider.base,
        oidc_client_id="stek",
        oidc_client_secret="geheim",  # type: ignore[arg-type]
        oidc_provider_name="Gemeente Test",
        **options,
    )
    return TestClient(create_app(settings), follow_redirects=False)


def _gemeente_user(factory: sessionmaker[Session]) -> tuple[str, str]:
    with factory() as s:
        user = s.scalars(select(m.User).where(m.User.role == "gemeente")).first()
        assert user is not None
        return user.email, user.organisation.code


def _to_provider_and_back(client: TestClient, next_: str | None = None) -> str:
    """Browser: stek -> provider; the address (path) the provider sends the browser back to."""
    start = client.get("/inloggen/sso", params={"next": next_} if next_ else None)
    assert start.status_code == 303, start.text
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    back = str(at_provider.headers["location"])
    assert back.startswith(RETURN)
    return back.removeprefix("http://testserver")


def _as_gemeente(factory: sessionmaker[Session], provider: Provider, sub: str = "u") -> str:
    """The provider signs in the demo's first gemeente user (as ``sub``); their e-mail."""
    email, org = _gemeente_user(factory)
    provider.user = {"sub": sub, "email": email, "stek_rol": "gemeente", "stek_organisatie": org}
    return email


def _round_trip(client: TestClient, next_: str | None = None) -> httpx.Response:
    """Browser: stek -> provider -> back to stek; the answer stek gives on return."""
    return client.get(_to_provider_and_back(client, next_))


def test_an_existing_account_signs_in_through_its_organisation(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    email, org = _gemeente_user(session_factory)
    provider.user = {
        "sub": "u-1",
        "email": email.upper(),  # the provider's spelling; the account is found all the same
        "email_verified": True,
        "stek_rol": "gemeente",
        "stek_organisatie": org,
        "amr": ["pwd", "otp"],
    }
    client = _app(region, provider, require_totp=True)
    page = client.get("/inloggen")
    assert "Inloggen via Gemeente Test" in page.text
    answer = _round_trip(client)
    assert answer.status_code == 303 and answer.headers["location"] == "/beoordelen"
    assert SESSION_COOKIE in answer.cookies
    assert client.get("/beoordelen").status_code == 200  # signed in
    assert provider.token_requests == 1
    with session_factory() as s:
        actions = list(s.scalars(select(m.AuditEntry.action).order_by(m.AuditEntry.id)))
        assert actions[-1] == "auth.sso_sign_in"
        assert s.scalars(select(m.SsoLogin)).all() == []  # the state was used up


def test_a_new_person_gets_an_account_of_the_role_the_provider_gives(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    _, org = _gemeente_user(session_factory)
    provider.user = {
        "sub": "u-2",
        "email": "nieuw@gemeente.invalid",
        "name": "Nieuwe Collega",
        "stek_rol": "planner",
        "stek_organisatie": org,
    }
    answer = _round_trip(_app(region, provider), next_="/planner?scenario=base")
    assert answer.status_code == 303 and answer.headers["location"] == "/planner?scenario=base"
    with session_factory() as s:
        user = s.scalars(select(m.User).where(m.User.email == "nieuw@gemeente.invalid")).one()
        assert (user.role, user.name, user.password_hash) == ("planner", "Nieuwe Collega", None)
        created = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "user.create")).all()
        assert created[-1].detail["via"] == "sso"


@pytest.mark.parametrize(
    ("claims", "status", "message"),
    [
        ({"stek_rol": "admin"}, 401, "maakt de beheerder aan"),
        ({"stek_rol": "baas"}, 401, "De rol &#39;baas&#39; kent stek niet."),
        ({"stek_organisatie": "GEEN-ORG"}, 401, "De organisatie &#39;GEEN-ORG&#39; kent stek niet"),
        ({"stek_rol": None}, 401, "geen rol mee (claim &#39;stek_rol&#39;)"),
        ({"email_verified": False}, 401, "niet bevestigd"),
    ],
)
def test_claims_that_do_not_fit_are_refused_in_dutch(
    region: str,
    provider: Provider,
    session_factory: sessionmaker[Session],
    claims: dict[str, Any],
    status: int,
    message: str,
) -> None:
    _, org = _gemeente_user(session_factory)
    user = {
        "sub": "u-3",
        "email": "iemand@gemeente.invalid",
        "stek_rol": "regisseur",
        "stek_organisatie": org,
    }
    user.update(claims)
    provider.user = {k: v for k, v in user.items() if v is not None}
    answer = _round_trip(_app(region, provider))
    assert answer.status_code == status
    assert message in answer.text
    assert SESSION_COOKIE not in answer.cookies
    with session_factory() as s:
        assert (
            s.scalars(select(m.User).where(m.User.email == "iemand@gemeente.invalid")).all() == []
        )
        refused = s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "auth.sso_refused"))
        assert len(refused.all()) == 1


def test_a_role_with_a_second_factor_needs_the_provider_to_say_so(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    email, org = _gemeente_user(session_factory)
    provider.user = {"sub": "u-1", "email": email, "stek_rol": "gemeente", "stek_organisatie": org}
    answer = _round_trip(_app(region, provider, require_totp=True))
    assert answer.status_code == 401 and "inloggen in twee stappen" in answer.text
    provider.user["amr"] = ["pwd"]  # a password alone is not a second step
    assert _round_trip(_app(region, provider, require_totp=True)).status_code == 401
    provider.user["amr"] = ["pwd", "hwk"]
    assert _round_trip(_app(region, provider, require_totp=True)).status_code == 303


def test_an_inactive_account_stays_out(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    email, org = _gemeente_user(session_factory)
    with session_factory.begin() as s:
        s.scalars(select(m.User).where(m.User.email == email)).one().active = False
    provider.user = {"sub": "u", "email": email, "stek_rol": "gemeente", "stek_organisatie": org}
    answer = _round_trip(_app(region, provider))
    assert answer.status_code == 401 and "uitgeschakeld" in answer.text


def test_state_is_one_use_and_bound_to_this_browser(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    _as_gemeente(session_factory, provider)
    client = _app(region, provider)
    path = _to_provider_and_back(client)
    # another browser (no cookie) with this browser's answer: refused before anything is read
    other = _app(region, provider)
    stolen = other.get(path)
    assert stolen.status_code == 401 and "hoort niet bij deze browser" in stolen.text
    first = client.get(path)  # the thief spent nothing: the owner signs in
    assert first.status_code == 303 and SESSION_COOKIE in first.cookies
    # the same answer again, even with the state's cookie put back: used up
    state = dict(parse_qsl(urlsplit(path).query))["state"]
    replay = _app(region, provider)
    replay.cookies.set("stek_sso", state, domain="testserver.local", path="/inloggen/sso")
    again = replay.get(path)
    assert again.status_code == 401 and "al gebruikt of onbekend" in again.text


def test_the_provider_cancelling_and_a_broken_answer(region: str, provider: Provider) -> None:
    provider.user = None
    answer = _round_trip(_app(region, provider))
    assert answer.status_code == 401 and "Inloggen bij je organisatie is afgebroken." in answer.text
    client = _app(region, provider)
    broken = client.get("/inloggen/sso/terug")
    assert broken.status_code == 400 and "mist code of state" in broken.text
    # a code the protocol does not know: a plain sentence, the provider's text is not shown
    odd = client.get("/inloggen/sso/terug", params={"error": "<b>bel ons op 0900</b>"})
    assert odd.status_code == 401 and "Je organisatie weigerde het inloggen." in odd.text
    assert "0900" not in odd.text


def test_no_provider_configured_or_reachable(db_url: str) -> None:
    plain = TestClient(create_app(Settings(database_url=db_url)), follow_redirects=False)
    assert "Inloggen via" not in plain.get("/inloggen").text
    off = plain.get("/inloggen/sso")
    assert off.status_code == 404 and "niet ingesteld" in off.text
    gone = Settings(
        database_url=db_url,
        oidc_issuer=f"http://localhost:{_free_port()}",
        oidc_client_id="stek",
        oidc_timeout_s=2.0,
    )
    answer = TestClient(create_app(gone), follow_redirects=False).get("/inloggen/sso")
    assert answer.status_code == 502 and "niet bereikbaar (discovery)" in answer.text


# --- the ID token's checks, with tokens signed here -------------------------------------------


def _token(key: Any, alg: str = "RS256", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": "https://idp.example",
        "aud": "stek",
        "sub": "u",
        "exp": now + 300,
        "iat": now,
        "nonce": "n-1",
    }
    body.update(claims)
    return jwt.encode({"alg": alg, "kid": "k"}, {k: v for k, v in body.items() if v != "-"}, key)


@pytest.fixture
def signing() -> tuple[RSAKey, KeySet]:
    key = RSAKey.generate_key(2048, parameters={"kid": "k"})
    return key, KeySet([RSAKey.import_key(key.as_dict(private=False))])


def test_a_good_id_token_passes(signing: tuple[RSAKey, KeySet]) -> None:
    key, keys = signing
    claims = sso.verify_id_token(_token(key), keys, "https://idp.example", "stek", "n-1")
    assert claims["sub"] == "u"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"nonce": "n-2"}, "(nonce)"),
        ({"nonce": "-"}, "(nonce)"),
        ({"aud": "ander"}, "(aud)"),
        ({"aud": ["stek", "ander"]}, "(azp)"),
        ({"iss": "https://elders.example"}, "(iss)"),
        ({"exp": int(time.time()) - 3600}, "(exp)"),
        ({"exp": "-"}, "(exp)"),
        ({"iat": int(time.time()) + 3600}, "(iat)"),
    ],
)
def test_id_tokens_that_do_not_fit_are_refused(
    signing: tuple[RSAKey, KeySet], claims: dict[str, Any], message: str
) -> None:
    key, keys = signing
    with pytest.raises(sso.SsoRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        sso.verify_id_token(_token(key, **claims), keys, "https://idp.example", "stek", "n-1")


def test_a_token_signed_otherwise_is_refused(signing: tuple[RSAKey, KeySet]) -> None:
    _, keys = signing
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k"})
    with pytest.raises(sso.SsoRefused, match="handtekening"):
        sso.verify_id_token(_token(stranger), keys, "https://idp.example", "stek", "n-1")
    secret = OctKey.generate_key(256, parameters={"kid": "k"})
    with pytest.raises(sso.SsoRefused, match="handtekening"):  # HS256: not an allowed alg
        sso.verify_id_token(
            _token(secret, alg="HS256"), KeySet([secret]), "https://idp.example", "stek", "n-1"
        )


def test_an_answer_after_the_sign_in_expired_is_refused(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    _as_gemeente(session_factory, provider)
    client = _app(region, provider)
    path = _to_provider_and_back(client)
    with session_factory.begin() as s:
        login = s.scalars(select(m.SsoLogin)).one()
        login.expires_at = login.created_at - timedelta(seconds=1)
    answer = client.get(path)
    assert answer.status_code == 401 and "Deze inlogpoging is verlopen." in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert provider.token_requests == 0  # the code was never exchanged


def test_the_provider_account_is_bound_at_the_first_sign_on(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    """The first single sign-on links the stek account to the provider's account (issuer and
    subject); another provider account with the same e-mail address is refused after that,
    and the linked one keeps working when its e-mail address changes at the provider."""
    email, org = _gemeente_user(session_factory)
    provider.user = {"sub": "a-1", "email": email, "stek_rol": "gemeente", "stek_organisatie": org}
    assert _round_trip(_app(region, provider)).status_code == 303
    with session_factory() as s:
        user = s.scalars(select(m.User).where(m.User.email == email)).one()
        assert (user.sso_issuer, user.sso_subject) == (provider.base, "a-1")
    provider.user = {**provider.user, "sub": "someone-else"}
    taken = _round_trip(_app(region, provider))
    assert taken.status_code == 401 and "hoort bij een ander account" in taken.text
    provider.user = {**provider.user, "sub": "a-1", "email": "nieuw-adres@gemeente.invalid"}
    assert _round_trip(_app(region, provider)).status_code == 303
    with session_factory() as s:
        assert (
            s.scalars(
                select(func.count())
                .select_from(m.User)
                .where(m.User.email == "nieuw-adres@gemeente.invalid")
            ).one()
            == 0
        )  # the same account, not a new one


def test_a_deactivated_organisation_and_an_unverified_address_stay_out(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    email, org = _gemeente_user(session_factory)
    claims = {"sub": "b-1", "email": email, "stek_rol": "gemeente", "stek_organisatie": org}
    provider.user = {**claims, "email_verified": "false"}  # not the boolean true
    unverified = _round_trip(_app(region, provider))
    assert unverified.status_code == 401 and "niet bevestigd" in unverified.text
    with session_factory.begin() as s:
        s.scalars(select(m.Organisation).where(m.Organisation.code == org)).one().active = False
    provider.user = claims
    closed = _round_trip(_app(region, provider))
    assert closed.status_code == 401 and "is in stek gedeactiveerd" in closed.text


def test_an_administrator_made_by_an_administrator_may_use_single_sign_on(
    region: str, provider: Provider, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        admin = s.scalars(select(m.User).where(m.User.role == "admin")).first()
        assert admin is not None
        email, org = admin.email, admin.organisation.code
    provider.user = {"sub": "c-1", "email": email, "stek_rol": "admin", "stek_organisatie": org}
    answer = _round_trip(_app(region, provider))
    assert answer.status_code == 303 and answer.headers["location"] == "/beheer"


def test_a_long_next_is_dropped_not_stored(region: str, provider: Provider) -> None:
    client = _app(region, provider)
    start = client.get("/inloggen/sso", params={"next": "/beoordelen?q=" + "x" * 400})
    assert start.status_code == 303  # no database error for the 300-character column


def test_a_flood_of_starts_is_bounded(
    region: str, provider: Provider, session_factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    monkeypatch.setattr(sso, "MAX_OPEN_LOGINS", 2)
    client = _app(region, provider)
    assert [client.get("/inloggen/sso").status_code for _ in range(2)] == [303, 303]
    busy = client.get("/inloggen/sso")
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "300"
    assert "te veel inlogpogingen tegelijk" in busy.text
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(m.SsoLogin)) == 2
