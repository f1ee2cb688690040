"""Youth intake and change by the regisseur (issue 15 item 1), on SQLite and PostgreSQL: a
registration with a drawn no-go polygon is stored in RD New and audited without the case's
values; every kind of bad input gets its field's Dutch message and writes nothing; CSRF and the
caseload scope hold; a change during an open round says what it means for the proposal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import rounds as svc
from api.services.places import area_choices
from api.settings import Settings
from store import models as m
from store.geometry import from_wkb
from tests.api.intake_helpers import (
    FAR_AWAY,
    bowtie_geojson,
    dumps,
    inside_point,
    latlon,
    square_geojson,
    youth_form,
)
from tests.api.test_glossary import leaked_codes
from tests.page_helpers import csrf_in, published_round, sign_in


@pytest.fixture
def region(db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> int:
    return published_round(db_url, tmp_path / "region", session_factory)


@pytest.fixture
def client(db_url: str, region: int) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url=db_url))) as c:
        yield c


def _regisseurs(factory: sessionmaker[Session]) -> list[str]:
    """Regisseurs with youths in their caseload, by e-mail."""
    with factory() as s:
        return list(
            s.scalars(
                select(m.User.email)
                .join(m.Youth, m.Youth.regisseur_id == m.User.id)
                .group_by(m.User.email)
                .order_by(m.User.email)
            )
        )


def _counts(factory: sessionmaker[Session]) -> tuple[int, ...]:
    with factory() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(model)) or 0)
            for model in (m.Youth, m.YouthNoGoArea, m.YouthAnchor, m.YouthRelation, m.AuditEntry)
        )


def _open_form(client: TestClient, email: str, path: str = "/regisseur/aanmelden") -> str:
    client.cookies.clear()
    sign_in(client, email)
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf_in(page.text)


def test_regisseur_registers_a_youth_with_a_drawn_no_go_polygon(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    email = _regisseurs(session_factory)[0]
    csrf = _open_form(client, email)
    with session_factory() as s:
        _, x, y = inside_point(s)
        drawn = square_geojson(x, y, 800)
        other_gemeente = s.scalars(
            select(m.Area.name).where(m.Area.level == "gemeente").order_by(m.Area.code.desc())
        ).first()
        form = youth_form(
            s, csrf, no_go_drawing=dumps(drawn), no_go_areas=[f"{other_gemeente} (gemeente)"]
        )
    done = client.post("/regisseur/aanmelden", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    code = done.headers["location"].split("/")[3]
    page = client.get(done.headers["location"])
    assert "is aangemeld" in page.text and "aangemeld" in page.text
    with session_factory() as s:
        youth = s.scalars(select(m.Youth).where(m.Youth.code == code)).one()
        assert youth.regisseur.email == email and youth.status == "waiting"
        assert [a.type.code for a in youth.accepted_types] == form["accepted_types"]
        polygons = [from_wkb(n.geometry) for n in youth.no_go_areas if n.geometry is not None]
        assert len(polygons) == 1
        # stored in RD New metres: the square of 1,600 m around the RD point
        minx, _miny, _maxx, maxy = polygons[0].bounds
        assert abs(minx - (x - 800)) < 2 and abs(maxy - (y + 800)) < 2
        assert polygons[0].area == pytest.approx(1600 * 1600, rel=0.01)
        codes = [n.area_code for n in youth.no_go_areas if n.area_code]
        assert len(codes) == 1 and codes[0].startswith("GM")
        anchor = youth.anchors[0]
        assert anchor.label == "school" and abs(anchor.x - x) < 1 and abs(anchor.y - y) < 1
        entry = s.scalars(
            select(m.AuditEntry).where(
                m.AuditEntry.action == "youth.create", m.AuditEntry.entity_id == code
            )
        ).one()
        # the case's values stay out of the audit log (the gemeente reads it)
        assert {"income", "no_go_wkt", "anchors"} <= set(entry.detail["changed"])
        assert "income" not in entry.detail["after"] and "no_go_wkt" not in entry.detail["after"]
        assert "1345" not in str(entry.detail)


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("birth in the future", {"birth_date": "2030-01-01"}, "f-birth_date", "toekomst"),
    ("13 years old", {"birth_date": "2013-06-01"}, "f-birth_date", "tussen 14 en 30"),
    ("31 years old", {"birth_date": "1990-01-01"}, "f-birth_date", "tussen 14 en 30"),
    ("not a date", {"birth_date": "2006-02-30"}, "f-birth_date", "bestaande datum"),
    ("negative income", {"income": "-10"}, "f-income", "niet negatief"),
    ("income NaN", {"income": "nan"}, "f-income", "eindig"),
    ("negative max rent", {"max_rent": "-1"}, "f-max_rent", "niet negatief"),
    ("unknown type", {"accepted_types": ["geen_type"]}, "f-accepted_types", "onbekend woningtype"),
    ("no type at all", {"accepted_types": []}, "f-accepted_types", "minstens één"),
    ("unknown area", {"preferred_areas": ["Atlantis"]}, "f-preferred_areas", "geen gebied"),
    ("unknown gemeente code", {"gemeente_code": "GM9999"}, "f-gemeente_code", "onbekend gebied"),
    (
        "anchor far away",
        {"anchor_werk": "{}, {}".format(*FAR_AWAY)},
        "f-anchor_werk",
        "buiten de regio",
    ),
    ("anchor unreadable", {"anchor_werk": "hier"}, "f-anchor_werk", "breedtegraad"),
]


def test_bad_input_gets_the_field_message_and_writes_nothing(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    emails = _regisseurs(session_factory)
    csrf = _open_form(client, emails[0])
    with session_factory() as s:
        _, x, y = inside_point(s)
        far_x, far_y = 233_000.0, 582_000.0  # RD New, Groningen: in the Netherlands, not here
        other = s.scalars(
            select(m.Youth.code)
            .join(m.User, m.Youth.regisseur_id == m.User.id)
            .where(m.User.email != emails[0])
        ).first()
        cases = [
            *BAD,
            (
                "self-intersecting polygon",
                {"no_go_drawing": dumps(bowtie_geojson(x, y, 500))},
                "f-no_go_wkt",
                "snijdt zichzelf",
            ),
            (
                "polygon outside the region",
                {"no_go_drawing": dumps(square_geojson(far_x, far_y, 500))},
                "f-no_go_wkt",
                "buiten de regio",
            ),
            ("polygon not GeoJSON", {"no_go_drawing": "{oops"}, "f-no_go_wkt", "geen geldige"),
            (
                "GeoJSON nested 5,000 deep",
                {"no_go_drawing": "[" * 5000 + "]" * 5000},
                "f-no_go_wkt",
                "geen geldige",
            ),
            (
                "polygon with NaN",
                {"no_go_drawing": '{"type":"Polygon","coordinates":[[[NaN,51],[5,51],[5,52]]]}'},
                "f-no_go_wkt",
                "geen geldige",
            ),
            (
                "polygon at 1e308",
                {
                    "no_go_drawing": '{"type":"Polygon","coordinates":'
                    "[[[1e308,51],[5,51],[5,52],[1e308,51]]]}"
                },
                "f-no_go_wkt",
                "buiten",
            ),
            (
                "a line, not an area",
                {"no_go_drawing": '{"type":"LineString","coordinates":[[5,51],[5.1,51.1]]}'},
                "f-no_go_wkt",
                "vlak",
            ),
            ("companion of another caseload", {"companions": other}, "f-companions", "caseload"),
            ("conflict unknown", {"conflicts": "J-999999"}, "f-conflicts", "caseload"),
        ]
        forms = [
            (name, youth_form(s, csrf, **change), fid, text) for name, change, fid, text in cases
        ]
    before = _counts(session_factory)
    for name, form, field_id, text in forms:
        answer = client.post("/regisseur/aanmelden", data=form, follow_redirects=False)
        assert answer.status_code == 422, name
        assert "Niet opgeslagen" in answer.text, name
        # the message sits at the field (its error element) and in the summary
        assert f'id="{field_id}-fout"' in answer.text, (name, field_id)
        message = answer.text.split(f'id="{field_id}-fout">', 1)[1].split("<", 1)[0]
        assert text in message, (name, message)
        assert _counts(session_factory) == before, name


def test_csrf_and_caseload_scope(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    emails = _regisseurs(session_factory)
    with session_factory() as s:
        theirs = s.scalars(
            select(m.Youth.code)
            .join(m.User, m.Youth.regisseur_id == m.User.id)
            .where(m.User.email == emails[1])
        ).first()
        form = youth_form(s, "wrong")
    csrf = _open_form(client, emails[0])
    before = _counts(session_factory)
    assert client.post("/regisseur/aanmelden", data=form).status_code == 403  # bad CSRF
    assert client.post("/regisseur/aanmelden", data={**form, "csrf_token": ""}).status_code == 403
    # another caseload's youth: unknown, on every intake route
    assert client.get(f"/regisseur/jongeren/{theirs}/gegevens").status_code == 404
    form["csrf_token"] = csrf
    assert client.post(f"/regisseur/jongeren/{theirs}/gegevens", data=form).status_code == 404
    status = {"csrf_token": csrf, "status": "inactive", "reason": "verhuisd"}
    assert client.post(f"/regisseur/jongeren/{theirs}/status", data=status).status_code == 404
    assert _counts(session_factory) == before
    # other roles never reach the intake (admin included: the case is the regisseur's)
    with session_factory() as s:
        others = {
            role: s.scalars(select(m.User.email).where(m.User.role == role)).first()
            for role in ("admin", "gemeente", "corporatie", "planner")
        }
    for role, email in others.items():
        assert email is not None
        client.cookies.clear()
        sign_in(client, email)
        for path in ("/regisseur/aanmelden", f"/regisseur/jongeren/{theirs}/gegevens"):
            assert client.get(path).status_code == 403, (role, path)
        token = csrf_in(client.get("/").text)
        answer = client.post(
            "/regisseur/aanmelden/voorbeeld", data={"csrf_token": token, "area": "x"}
        )
        assert answer.status_code == 403, role


def test_change_during_an_open_round_is_versioned_and_says_what_it_means(
    client: TestClient, session_factory: sessionmaker[Session], region: int
) -> None:
    """A matched youth gets a no-go square around the proposed option: the page says the
    current proposal is affected; the history lists the change with who made it."""
    with session_factory() as s:
        match = next(
            x for x in svc.latest_proposal(s, region).matches if x.youth.regisseur_id is not None
        )
        code, email = match.youth.code, match.youth.regisseur.email
        ox, oy = match.option.x, match.option.y
        option_code = match.option.code
    csrf = _open_form(client, email, f"/regisseur/jongeren/{code}/gegevens")
    page = client.get(f"/regisseur/jongeren/{code}/gegevens").text
    assert f'value="{match.youth.birth_date.isoformat()}"' in page  # the form is filled in
    with session_factory() as s:
        youth = s.scalars(select(m.Youth).where(m.Youth.code == code)).one()
        form = youth_form(
            s,
            csrf,
            birth_date=youth.birth_date.isoformat(),
            gemeente_code=youth.gemeente_code,
            accepted_types=[a.type.code for a in youth.accepted_types],
            no_go_drawing=dumps(square_geojson(ox, oy, 300)),
        )
    done = client.post(f"/regisseur/jongeren/{code}/gegevens", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    page = client.get(done.headers["location"]).text
    note = page.split('id="ronde-effect">', 1)[1].split("</p>", 1)[0]
    assert "raakt het huidige voorstel" in note and option_code in note
    assert "no-go" in note
    history = page.split('id="geschiedenis"', 1)[1]
    assert "gegevens gewijzigd" in history and "getekende no-go-gebieden" in history
    # a status change needs a reason; with one it is stored and in the history
    refused = client.post(
        f"/regisseur/jongeren/{code}/status",
        data={"csrf_token": csrf, "status": "inactive", "reason": " "},
    )
    assert refused.status_code == 422 and 'id="f-reason-fout"' in refused.text
    with session_factory() as s:
        assert s.scalars(select(m.Youth.status).where(m.Youth.code == code)).one() == "waiting"
    moved = client.post(
        f"/regisseur/jongeren/{code}/status",
        data={"csrf_token": csrf, "status": "inactive", "reason": "Verhuisd naar familie"},
        follow_redirects=False,
    )
    note = client.get(moved.headers["location"]).text.split('id="ronde-effect">', 1)[1]
    assert "raakt het huidige voorstel" in note.split("</p>", 1)[0] and "uitgeschreven" in note
    with session_factory() as s:
        assert s.scalars(select(m.Youth.status).where(m.Youth.code == code)).one() == "inactive"
    history = client.get(f"/regisseur/jongeren/{code}/gegevens").text.split('id="geschiedenis"', 1)[
        1
    ]
    assert "Verhuisd naar familie" in history and "wachtend → uitgeschreven" in history
    # every code on the page and in the history is shown by its Dutch label (the drawing's
    # GeoJSON text in its textarea is data, not a code shown to a person)
    for path in (f"/regisseur/jongeren/{code}/gegevens", "/regisseur/aanmelden"):
        html = re.sub(r"<textarea[^>]*>.*?</textarea>", "", client.get(path).text, flags=re.S)
        assert leaked_codes(html) == [], path


def test_preview_counts_the_options_a_no_go_choice_removes(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    csrf = _open_form(client, _regisseurs(session_factory)[0])
    with session_factory() as s:
        gemeente, name = s.execute(
            select(m.Area.code, m.Area.name).where(m.Area.level == "gemeente").order_by(m.Area.code)
        ).first()  # type: ignore[misc]
        expected = s.scalar(
            select(func.count())
            .select_from(m.HousingOption)
            .where(m.HousingOption.gemeente_code == gemeente, m.HousingOption.status == "available")
        )
        total = s.scalar(
            select(func.count())
            .select_from(m.HousingOption)
            .where(m.HousingOption.status == "available")
        )
    answer = client.post(
        "/regisseur/aanmelden/voorbeeld", data={"csrf_token": csrf, "area": f"{name} (gemeente)"}
    )
    assert answer.status_code == 200
    assert answer.json()["removed"] == expected and answer.json()["total"] == total
    assert f"{expected} van de {total}" in answer.json()["message"]
    unknown = client.post(
        "/regisseur/aanmelden/voorbeeld", data={"csrf_token": csrf, "area": "Atlantis"}
    )
    assert unknown.status_code == 422 and "Atlantis" in unknown.json()["error"]


def test_latlon_round_trip() -> None:
    """The helper's WGS84 text goes back to the same RD point through the form parser."""
    from api.services.places import parse_latlon

    back = parse_latlon(latlon(150_000.0, 410_000.0))
    assert back is not None
    assert abs(back[0] - 150_000.0) < 0.5 and abs(back[1] - 410_000.0) < 0.5


def test_an_anchor_chosen_by_place_name_lands_inside_that_place(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    email = _regisseurs(session_factory)[0]
    csrf = _open_form(client, email)
    with session_factory() as s:
        wijk = s.scalars(select(m.Area).where(m.Area.level == "wijk").order_by(m.Area.code)).first()
        assert wijk is not None
        label = next(c.label for c in area_choices(s) if c.code == wijk.code)
        shape = from_wkb(wijk.geometry)
        form = youth_form(s, csrf, anchor_school=label, anchor_werk="")
    done = client.post("/regisseur/aanmelden", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    code = done.headers["location"].split("/")[3]
    with session_factory() as s:
        youth = s.scalars(select(m.Youth).where(m.Youth.code == code)).one()
        (anchor,) = [a for a in youth.anchors if a.label == "school"]
        assert shape.contains(Point(anchor.x, anchor.y))  # RD New metres, inside the wijk
    # a name that is no place: the field says so, nothing is written
    before = _counts(session_factory)
    with session_factory() as s:
        form = youth_form(s, csrf, anchor_school="Atlantis")
    refused = client.post("/regisseur/aanmelden", data=form)
    assert refused.status_code == 422
    assert "geen plaats gevonden met de naam &#39;Atlantis&#39;" in refused.text
    assert _counts(session_factory) == before
