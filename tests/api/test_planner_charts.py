"""The planner page's fan charts and their CSV on both databases: per gemeente, woonvorm and
corporatie for the chosen scenario and the comparison, scoped per role, cached per inputs."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.services import supply as supply_svc
from api.settings import Settings
from store import models as m
from tests.page_helpers import sign_in
from tests.supply_helpers import load_region

FIGURE = re.compile(r'<figure class="chart" id="([a-z0-9-]+)">\s*<figcaption>([^<]*)</figcaption>')


@pytest.fixture
def client(db_url: str, tmp_path: Path) -> TestClient:
    load_region(db_url, tmp_path)
    supply_svc.CACHE.clear()
    return TestClient(create_app(Settings(database_url=db_url)))


def _as(client: TestClient, factory: sessionmaker[Session], role: str) -> str:
    with factory() as s:
        email = s.scalars(
            select(m.User.email).where(m.User.role == role).order_by(m.User.email)
        ).first()
    assert email is not None
    client.cookies.clear()
    sign_in(client, email)
    return email


def _names(factory: sessionmaker[Session], model: type, **where: str) -> dict[str, str]:
    with factory() as s:
        stmt = select(model.code, model.name)  # type: ignore[attr-defined]
        for key, value in where.items():
            stmt = stmt.where(getattr(model, key) == value)
        return {code: name for code, name in s.execute(stmt)}


def _csv(response: object) -> list[dict[str, str]]:
    body: bytes = response.content  # type: ignore[attr-defined]
    assert body.startswith(b"\xef\xbb\xbf"), "CSV without BOM"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _captions(html: str) -> list[str]:
    return [caption for _id, caption in FIGURE.findall(html)]


def test_planner_charts_per_gemeente_type_and_corporation(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _as(client, session_factory, "planner")
    gemeenten = _names(session_factory, m.Area, level="gemeente")
    types = _names(session_factory, m.HousingType)
    corporations = _names(session_factory, m.Organisation, kind="corporatie")

    page = client.get("/planner")
    assert page.status_code == 200
    captions = _captions(page.text)
    assert "Tekort (wachtend + geblokkeerd): hele regio" in captions
    assert "Contingent over: hele regio" in captions
    for name in gemeenten.values():  # both outputs for every gemeente (default breakdown)
        shown = name.replace("'", "&#39;")
        assert f"Tekort (wachtend + geblokkeerd): {shown}" in captions
        assert f"Contingent over: {shown}" in captions
    assert len(captions) == 2 + 2 * len(gemeenten)
    # every chart is an accessible SVG with Dutch months and a CSV link
    assert page.text.count('role="img"') == len(captions)
    assert page.text.count("<desc id=") == len(captions)
    assert page.text.count("/planner/grafiek.csv?") >= len(captions)
    assert re.search(r">(jan|feb|mrt|apr|mei|jun|jul|aug|sep|okt|nov|dec)</text>", page.text)
    assert "<script" not in page.text.split('id="grafieken-kop"')[1].split("</section>")[0]

    per_type = _captions(client.get("/planner", params={"grafieken": "woonvorm"}).text)
    assert {f"Tekort (wachtend + geblokkeerd): {n}" for n in types.values()} <= set(per_type)
    assert not any(c.startswith("Contingent over: ") and "hele regio" not in c for c in per_type)

    per_corp = _captions(client.get("/planner", params={"grafieken": "corporatie"}).text)
    assert {f"Contingent over: {n}" for n in corporations.values()} == {
        c for c in per_corp if "hele regio" not in c
    }
    assert not any("zorgaanbieder" in c for c in per_corp)  # the pseudo-corporation has none


def test_charts_follow_the_chosen_scenario_and_the_comparison(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _as(client, session_factory, "planner")
    total = {"uitkomst": "shortfall", "niveau": "total"}
    base = _csv(client.get("/planner/grafiek.csv", params=total))
    more = _csv(
        client.get("/planner/grafiek.csv", params={**total, "scenario": "instroom-plus-20"})
    )
    assert {r["reeks"] for r in base} == {"Basis (huidige gegevens)"}
    assert {r["reeks"] for r in more} == {"Voorbeeld: instroom +20 %"}
    last_base, last_more = int(base[-1]["mediaan"]), int(more[-1]["mediaan"])
    assert last_more > last_base  # 20 % more care leavers: more shortfall after two years

    page = client.get("/planner", params={"scenario": "instroom-plus-20", "vergelijk": "base"})
    assert "Voorbeeld: instroom +20 %" in page.text
    assert 'stroke-dasharray="7 4"' in page.text  # the compared scenario's median, dashed
    assert "Verschil in tekort (wachtend + geblokkeerd): hele regio" in page.text
    both = _csv(
        client.get(
            "/planner/grafiek.csv",
            params={**total, "scenario": "instroom-plus-20", "vergelijk": "base"},
        )
    )
    series = {r["reeks"] for r in both}
    difference = "verschil: Voorbeeld: instroom +20 % min Basis (huidige gegevens)"
    assert series == {"Voorbeeld: instroom +20 %", "Basis (huidige gegevens)", difference}
    # the comparison's scenario figures are the projection's (same seed, same runs)
    chosen = [r for r in both if r["reeks"] == "Voorbeeld: instroom +20 %"]
    assert [r["mediaan"] for r in chosen] == [r["mediaan"] for r in more]
    diff_last = [r for r in both if r["reeks"] == difference][-1]
    assert int(diff_last["p90"]) > 0


def test_chart_csv_is_guarded_named_and_refuses_bad_fields(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        area = s.scalars(select(m.Area).where(m.Area.level == "gemeente").order_by(m.Area.code))
        first = area.first()
        assert first is not None
        first.name = '=HYPERLINK("http://x")<script>'
        code = first.code
        s.commit()
    _as(client, session_factory, "planner")
    response = client.get(
        "/planner/grafiek.csv", params={"uitkomst": "shortfall", "niveau": "gemeente", "cel": code}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="grafiek-shortfall-gemeente-' in response.headers["content-disposition"]
    rows = _csv(response)
    assert rows and {r["code"] for r in rows} == {code}
    assert {r["naam"] for r in rows} == {'\'=HYPERLINK("http://x")<script>'}
    assert len(rows) == 24 and rows[0]["uitkomst"] == "tekort (wachtend + geblokkeerd)"
    # a month's mean with a decimal comma, or the word for a month hidden by small-cell
    # protection (then every figure of that month says so)
    for row in rows:
        figures = [row[k] for k in ("p10", "mediaan", "p90", "gemiddelde")]
        if "afgeschermd" in figures:
            assert set(figures) == {"afgeschermd"}
        else:
            assert "," in row["gemiddelde"] or row["gemiddelde"].isdigit()
            assert not any(0 < float(f.replace(",", ".")) < 5 for f in figures), row
    # the page escapes the same name inside the SVG
    page = client.get("/planner").text
    assert "<script>" not in page.split('id="grafieken-kop"')[1]
    assert "&lt;script&gt;" in page

    for params, word in (
        ({"uitkomst": "occupancy", "niveau": "total"}, "uitkomst"),
        ({"uitkomst": "shortfall", "niveau": "corporation"}, "niveau"),
        ({"uitkomst": "shortfall", "niveau": "gemeente", "cel": "GM9999"}, "cel"),
        ({"uitkomst": "shortfall", "niveau": "total", "scenario": "bestaat-niet"}, "scenario"),
    ):
        bad = client.get("/planner/grafiek.csv", params=params)
        assert bad.status_code == 422, params
        assert word in bad.text and "Geen cijfers" in bad.text


def test_corporation_sees_only_its_own_contingent(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    email = _as(client, session_factory, "corporatie")
    with session_factory() as s:
        own = s.scalars(select(m.Organisation).join(m.User).where(m.User.email == email)).one()
        own_code, own_name = own.code, own.name
    others = {
        name
        for code, name in _names(session_factory, m.Organisation, kind="corporatie").items()
        if code != own_code
    }
    page = client.get("/planner")
    assert page.status_code == 200
    captions = _captions(page.text)
    assert f"Contingent over: {own_name}" in captions
    assert not any(c.startswith("Tekort") for c in captions)
    assert not any(other in c for c in captions for other in others)
    # the per-gemeente charts are its own contingent in each gemeente
    assert all(c.endswith(own_name) for c in captions)

    rows = _csv(
        client.get(
            "/planner/grafiek.csv", params={"uitkomst": "contingent_left", "niveau": "corporation"}
        )
    )
    assert {r["code"] for r in rows} == {own_code}
    for params in (
        {"uitkomst": "shortfall", "niveau": "total"},
        {"uitkomst": "contingent_left", "niveau": "gemeente"},
        {"uitkomst": "contingent_left", "niveau": "corporation", "cel": sorted(others)[0]},
    ):
        assert client.get("/planner/grafiek.csv", params=params).status_code in (403, 422)
    other_code = next(
        code
        for code in _names(session_factory, m.Organisation, kind="corporatie")
        if code != own_code
    )
    refused = client.get(
        "/planner/grafiek.csv",
        params={"uitkomst": "contingent_left", "niveau": "corporation", "cel": other_code},
    )
    assert refused.status_code == 403


def test_planner_projection_is_cached_and_recomputed_when_the_data_change(
    client: TestClient, session_factory: sessionmaker[Session]
) -> None:
    _as(client, session_factory, "planner")
    supply_svc.CACHE.clear()
    first = client.get("/planner")
    client.get("/planner", params={"grafieken": "woonvorm"})
    client.get("/planner/grafiek.csv", params={"uitkomst": "shortfall", "niveau": "total"})
    assert (supply_svc.CACHE.misses, supply_svc.CACHE.hits) == (1, 2)
    client.get("/planner", params={"vergelijk": "instroom-plus-20"})
    client.get("/planner", params={"vergelijk": "instroom-plus-20", "grafieken": "corporatie"})
    assert (supply_svc.CACHE.misses, supply_svc.CACHE.hits) == (2, 3)
    with session_factory() as s:  # another process writes: the fingerprint changes
        for option in s.scalars(
            select(m.HousingOption).where(m.HousingOption.status == "available").limit(5)
        ):
            option.status = "withdrawn"
        s.commit()
    again = client.get("/planner")
    assert supply_svc.CACHE.misses == 3
    assert first.status_code == again.status_code == 200
