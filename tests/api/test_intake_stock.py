"""A corporation's vacancies (issue 15 item 2), on SQLite and PostgreSQL: a vacancy registered
by map click is snapped to the gemeente, wijk and buurt that hold it and is in the next round's
options; bad input gets its field's Dutch message and writes nothing; a corporation reaches
only its own stock and never a youth's no-go areas."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.settings import Settings
from store import models as m
from store.geometry import from_wkb
from store.repository import load_round
from tests.api.intake_helpers import FAR_AWAY, inside_point, latlon
from tests.api.test_glossary import leaked_codes
from tests.page_helpers import csrf_in, published_round, sign_in


@pytest.fixture
def client(
    db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]
) -> Iterator[TestClient]:
    published_round(db_url, tmp_path / "region", session_factory)
    with TestClient(create_app(Settings(database_url=db_url))) as c:
        yield c


def _corporations(factory: sessionmaker[Session]) -> list[tuple[str, int]]:
    with factory() as s:
        return [
            (email, org)
            for email, org in s.execute(
                select(m.User.email, m.User.organisation_id)
                .where(m.User.role == "corporatie")
                .order_by(m.User.email)
            )
        ]


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    with factory() as s:
        return (
            int(s.scalar(select(func.count()).select_from(m.HousingOption)) or 0),
            int(s.scalar(select(func.count()).select_from(m.AuditEntry)) or 0),
        )


def _form(session: Session, csrf: str, **changes: Any) -> dict[str, Any]:
    _, x, y = inside_point(session, "buurt")
    kind = session.scalars(
        select(m.HousingType.code)
        .where(m.HousingType.persons_max == 1)
        .order_by(m.HousingType.code)
    ).first()
    data = {
        "csrf_token": csrf,
        "type_code": kind,
        "address": "Teststraat 1, Plaats (synthetisch)",
        "location": latlon(x, y),
        "kale_huur": "450,00",
        "servicekosten": "35",
        "capacity": "1",
        "available_from": "2026-12-01",
        "accessibility_notes": "Gelijkvloers, lift aanwezig",
    }
    data.update(changes)
    return data


def _sign_in(client: TestClient, email: str, path: str = "/woningaanbod/nieuw") -> str:
    client.cookies.clear()
    sign_in(client, email)
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


def test_a_vacancy_by_map_click_is_snapped_and_in_the_next_round(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    email, org = _corporations(session_factory)[0]
    csrf = _sign_in(client, email)
    with session_factory() as s:
        buurt, x, y = inside_point(s, "buurt")
        area = s.scalars(select(m.Area).where(m.Area.code == buurt)).one()
        wijk, gemeente = area.parent_code, area.gemeente_code
        form = _form(s, csrf)
    # the snapping preview names the areas before saving
    snap = client.post(
        "/woningaanbod/locatie", data={"csrf_token": csrf, "location": form["location"]}
    )
    assert snap.status_code == 200 and snap.json()["message"].startswith("Ligt in gemeente")
    done = client.post("/woningaanbod/nieuw", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    code = done.headers["location"].split("woning=", 1)[1].split("#", 1)[0]
    listing = client.get(done.headers["location"]).text
    assert code in listing and "Teststraat 1" in listing and "beschikbaar" in listing
    with session_factory() as s:
        option = s.scalars(select(m.HousingOption).where(m.HousingOption.code == code)).one()
        assert option.corporation_id == org and option.status == "available"
        assert (option.gemeente_code, option.buurt_code) == (gemeente, buurt)
        assert option.wijk_code == wijk and wijk is not None and wijk.startswith("WK")
        assert abs(option.x - x) < 1 and abs(option.y - y) < 1
        assert from_wkb(area.geometry).covers(shapely.Point(option.x, option.y))
        assert option.kale_huur == 450.0 and option.servicekosten == 35.0
        assert option.accessibility_notes == "Gelijkvloers, lift aanwezig"
        # the next round (January) has it among its options
        assert code in {o.code for o in load_round(s, date(2027, 1, 1)).options}
        assert s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.action == "option.create", m.AuditEntry.entity_id == code
            )
        ).one()


BAD: list[tuple[str, dict[str, str], str, str]] = [
    ("negative rent", {"kale_huur": "-1"}, "f-kale_huur", "niet negatief"),
    ("negative service costs", {"servicekosten": "-5"}, "f-servicekosten", "niet negatief"),
    ("rent NaN", {"kale_huur": "NaN"}, "f-kale_huur", "eindig"),
    ("unknown type", {"type_code": "paleis"}, "f-type_code", "onbekend woningtype"),
    ("no location", {"location": ""}, "f-location", "klik op de kaart"),
    ("outside every gemeente", {"location": "{}, {}".format(*FAR_AWAY)}, "f-location", "gemeente"),
    ("in the sea", {"location": "52.5, 3.0"}, "f-location", "Nederland"),
    ("capacity above the type", {"capacity": "3"}, "f-capacity", "meer dan"),
    ("no date", {"available_from": "2026-13-01"}, "f-available_from", "bestaande datum"),
]


def test_bad_vacancy_input_gets_the_field_message_and_writes_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = _sign_in(client, _corporations(session_factory)[0][0])
    with session_factory() as s:
        forms = [(name, _form(s, csrf, **change), fid, text) for name, change, fid, text in BAD]
    before = _counts(session_factory)
    for name, form, field_id, text in forms:
        answer = client.post("/woningaanbod/nieuw", data=form, follow_redirects=False)
        assert answer.status_code == 422, (name, answer.status_code)
        assert f'id="{field_id}-fout"' in answer.text, (name, field_id)
        message = answer.text.split(f'id="{field_id}-fout">', 1)[1].split("<", 1)[0]
        assert text in message, (name, message)
        assert _counts(session_factory) == before, name


def test_withdraw_and_occupy_own_stock_only(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    (email, org), (_, other_org) = _corporations(session_factory)[:2]
    with session_factory() as s:
        mine = s.scalars(
            select(m.HousingOption.code)
            .where(m.HousingOption.corporation_id == org, m.HousingOption.status == "available")
            .order_by(m.HousingOption.code)
        ).first()
        theirs = s.scalars(
            select(m.HousingOption.code).where(m.HousingOption.corporation_id == other_org)
        ).first()
    csrf = _sign_in(client, email, "/woningaanbod")
    listing = client.get("/woningaanbod").text
    assert mine in listing and theirs not in listing
    assert leaked_codes(listing) == []
    before = _counts(session_factory)
    assert (
        client.post(f"/woningaanbod/{mine}/status", data={"status": "withdrawn"}).status_code == 403
    )  # no CSRF token
    answer = client.post(
        f"/woningaanbod/{theirs}/status", data={"csrf_token": csrf, "status": "withdrawn"}
    )
    assert answer.status_code == 404
    assert _counts(session_factory) == before
    done = client.post(
        f"/woningaanbod/{mine}/status",
        data={"csrf_token": csrf, "status": "withdrawn"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    refused = client.post(
        f"/woningaanbod/{mine}/status", data={"csrf_token": csrf, "status": "placed"}
    )
    assert refused.status_code == 422 and "kan niet" in refused.text
    with session_factory() as s:
        assert (
            s.scalars(select(m.HousingOption.status).where(m.HousingOption.code == mine)).one()
            == "withdrawn"
        )
        assert mine not in {o.code for o in load_round(s, date(2027, 1, 1)).options}
    client.post(f"/woningaanbod/{mine}/status", data={"csrf_token": csrf, "status": "available"})
    client.post(f"/woningaanbod/{mine}/status", data={"csrf_token": csrf, "status": "placed"})
    with session_factory() as s:
        assert (
            s.scalars(select(m.HousingOption.status).where(m.HousingOption.code == mine)).one()
            == "placed"
        )


def test_a_corporation_never_sees_a_youths_no_go_areas_and_others_not_the_stock(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        youth = s.scalars(
            select(m.Youth.code).where(m.Youth.no_go_areas.any()).order_by(m.Youth.code)
        ).first()
        users = {
            role: s.scalars(select(m.User.email).where(m.User.role == role)).first()
            for role in ("admin", "gemeente", "regisseur", "planner", "corporatie")
        }
    email = users.pop("corporatie")
    assert email is not None
    csrf = _sign_in(client, email, "/woningaanbod")
    for path in (
        f"/regisseur/jongeren/{youth}/gegevens",
        "/regisseur/aanmelden",
        f"/regisseur/jongeren/{youth}",
    ):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "no-go-gebied" not in answer.text.lower() or "Geen toegang" in answer.text
    preview = client.post(
        "/regisseur/aanmelden/voorbeeld", data={"csrf_token": csrf, "drawing": ""}
    )
    assert preview.status_code == 403
    for role, other in users.items():
        assert other is not None
        client.cookies.clear()
        sign_in(client, other)
        for path in ("/woningaanbod", "/woningaanbod/nieuw"):
            assert client.get(path).status_code == 403, (role, path)
