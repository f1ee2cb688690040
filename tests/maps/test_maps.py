"""Map builders: geometry, offline assets, layers, and the scoped map data from the database."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import folium
import pytest
import shapely
from folium.plugins import Fullscreen
from shapely.geometry import Point, box
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from maps.assets import UnknownAsset, localise
from maps.colours import class_breaks, labels_for
from maps.data import AreaShape, Measure, NoGoShape, OptionPoint, OptionsMapData, SupplyMapData
from maps.geo import feature_collection, rd_to_wgs84, simplify_rd
from maps.options import build_options_map
from maps.supply import build_compare_map, build_supply_map, render_html

# Not requests: the SVG namespace and the link in Leaflet's attribution (only if clicked).
NOT_FETCHED = {"http://www.w3.org/2000/svg", "https://leafletjs.com"}


def external_urls(html: str) -> set[str]:
    """Every http(s) URL in ``html`` that is not on this machine."""
    urls = set(re.findall(r"https?://[^\s\"'<>)`]+", html))
    return {
        u
        for u in urls
        if not re.match(r"https?://(localhost|127\.0\.0\.1)(:\d+)?(/|$)", u)
        and u not in NOT_FETCHED
    }


def wiggly(x0: float, y0: float, size: float = 2000.0) -> shapely.Polygon:
    ring = shapely.segmentize(box(x0, y0, x0 + size, y0 + size), 10.0)
    return shapely.transform(ring, lambda c: c + 3.0 * ((c * 7.3) % 1.0))


def areas(n: int = 4) -> tuple[AreaShape, ...]:
    return tuple(
        AreaShape(
            f"GM{i:04d}",
            f"Gemeente {i}",
            "gemeente",
            f"GM{i:04d}",
            wiggly(150000 + 2500 * i, 410000),
        )
        for i in range(n)
    )


def supply_data(shift: int = 0) -> SupplyMapData:
    shapes = areas()
    months = (date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1))
    return SupplyMapData(
        title="Test",
        level="gemeente",
        areas=shapes,
        measures=(
            Measure(
                "shortfall",
                "Tekort",
                {a.code: [i + shift, i + 2 + shift, i + 4] for i, a in enumerate(shapes)},
                higher_is_worse=True,
                monthly=True,
            ),
            Measure("places:kma", "Plaatsen Kamers met Aandacht", {a.code: 3 for a in shapes}),
        ),
        months=months,
        options=(OptionPoint("OPT-1", "Kamers met Aandacht", 151000, 411000, ("KmA", "<b>x</b>")),),
    )


def test_simplify_reduces_vertices_and_keeps_every_polygon() -> None:
    shapes = [a.geometry for a in areas()]
    before = shapely.get_num_coordinates(shapes).sum()
    out = simplify_rd(shapes, 25.0)
    assert shapely.get_num_coordinates(out).sum() < before / 5
    assert all(g.is_valid and not g.is_empty for g in out)
    assert shapely.get_num_coordinates(simplify_rd(shapes, 0)).sum() == before
    with pytest.raises(ValueError, match="tolerantie"):
        simplify_rd(shapes, -1)


def test_tiny_polygon_survives_a_large_tolerance() -> None:
    tiny = box(155000, 463000, 155004, 463004)
    (out,) = simplify_rd([tiny], 50.0)
    assert not out.is_empty and out.is_valid


def test_rd_to_wgs84_amersfoort() -> None:
    (p,) = rd_to_wgs84([Point(155000, 463000)])
    assert p.x == pytest.approx(5.38721, abs=1e-4)
    assert p.y == pytest.approx(52.15517, abs=1e-4)


def test_feature_collection_needs_one_property_set_per_geometry() -> None:
    with pytest.raises(ValueError, match="evenveel"):
        feature_collection(rd_to_wgs84([Point(155000, 463000)]), [])


def test_breaks_and_dutch_labels() -> None:
    breaks = class_breaks([0, 3, 1250])
    assert breaks == [250, 500, 750, 1000]
    assert labels_for(breaks)[0] == "minder dan 250"
    assert labels_for(breaks)[-1] == "1.000 of meer"
    assert labels_for([0.5, 1.0, 1.5, 2.0])[1] == "0,5 tot 1"


def test_supply_map_is_offline_with_layers_legend_slider_and_markers() -> None:
    html = render_html(build_supply_map(supply_data()))
    assert external_urls(html) == set()
    assert '<script src="/static/vendor/leaflet/leaflet.js"></script>' in html
    assert "leaflet.markercluster.js" in html
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    assert "L.control.layers" in html and '"Tekort"' in html
    assert "stek-month" in html and "jan 2027" in html
    assert html.count("L.geoJson(") == 2
    assert "<b>x</b>" not in html  # popup text is data, set as text in the browser
    assert 'lang="nl"' in html


def test_every_asset_it_names_is_vendored() -> None:
    html = render_html(build_supply_map(supply_data()))
    static = Path(__file__).resolve().parents[2] / "api" / "static"
    for url in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert (static / url.removeprefix("/static/")).is_file(), url


def test_standalone_file_inlines_everything() -> None:
    html = render_html(build_supply_map(supply_data()), standalone=True)
    assert external_urls(html) == set()
    assert "/static/" not in html
    assert "L.markerClusterGroup" in html and "data:image/png;base64," in html


def test_compare_map_has_two_maps_one_scale_and_synced_views() -> None:
    html = render_html(build_compare_map(supply_data(), supply_data(shift=50)))
    assert external_urls(html) == set()
    assert html.count('class="folium-map"') == 2
    assert "setView(src.getCenter()" in html
    # one colour scale over both scenarios: the breaks reach the larger one's maximum
    assert '"bins":[20,40,60,80]' in html


def test_no_go_overlay_only_when_given() -> None:
    shapes = areas()
    base = OptionsMapData(
        title="Woonplekken",
        areas=shapes,
        options=(OptionPoint("OPT-1", "KmA", 151000, 411000, ("KmA",)),),
    )
    without = render_html(build_options_map(base))
    assert "No-go" not in without
    with_no_go = OptionsMapData(
        title=base.title,
        areas=shapes,
        options=base.options,
        no_go=(NoGoShape("Buurt X", box(150500, 410500, 151500, 411500)),),
    )
    html = render_html(build_options_map(with_no_go))
    assert "No-go-gebieden" in html and "No-go: Buurt X" in html
    assert external_urls(html) == set()


def test_unknown_plugin_asset_is_refused() -> None:
    m = folium.Map(tiles=None)
    Fullscreen().add_to(m)
    with pytest.raises(UnknownAsset, match="niet lokaal"):
        localise(m.get_root())


# --------------------------------------------------------------------------- from the database


@pytest.fixture
def loaded(db_url: str, tmp_path: Path, session_factory: sessionmaker[Session]) -> str:
    from api.cli import load_demo
    from fixtures.generate import generate_region, write_region

    folder = tmp_path / "region"
    write_region(generate_region(30, 60, seed=5), folder)
    load_demo(db_url, folder)
    return db_url


def test_corporation_sees_only_its_own_options_and_regisseur_no_supply_map(
    loaded: str, session_factory: sessionmaker[Session]
) -> None:
    from api.services.maps import supply_map_data
    from api.services.rounds import Actor, Forbidden
    from store import models as m

    with session_factory() as s:
        corp = s.scalars(select(m.Organisation).where(m.Organisation.kind == "corporatie")).first()
        assert corp is not None
        own = set(
            s.scalars(
                select(m.HousingOption.code).where(
                    m.HousingOption.corporation_id == corp.id,
                    m.HousingOption.status == "available",
                )
            )
        )
        data = supply_map_data(s, Actor(None, corp.id, "corporatie"), runs=20, months=3)
        assert {o.code for o in data.options} == own
        planner = supply_map_data(s, Actor(None, None, "planner"), runs=20, months=3)
        assert len(planner.options) > len(data.options)
        assert "Tekort (mediaan prognose)" in [x.title for x in planner.measures]
        with pytest.raises(Forbidden):
            supply_map_data(s, Actor(None, None, "regisseur"))


def test_options_map_no_go_only_for_own_regisseur(
    loaded: str, session_factory: sessionmaker[Session]
) -> None:
    from api.services.maps import options_map_data
    from api.services.rounds import Actor, Forbidden
    from store import models as m

    with session_factory() as s:
        youth = s.scalars(
            select(m.Youth).where(m.Youth.no_go_areas.any(), m.Youth.regisseur_id.is_not(None))
        ).first()
        assert youth is not None and youth.regisseur_id is not None
        own = options_map_data(s, Actor(youth.regisseur_id, None, "regisseur"), youth.id)
        assert own.no_go
        admin = options_map_data(s, Actor(None, None, "admin"), youth.id)
        assert admin.no_go == ()
        with pytest.raises(Forbidden):
            options_map_data(s, Actor(youth.regisseur_id + 999, None, "regisseur"), youth.id)
        with pytest.raises(Forbidden):
            options_map_data(s, Actor(None, 1, "corporatie"), youth.id)


def test_cli_writes_standalone_map_and_refuses_unknown_scenario(
    loaded: str, tmp_path: Path
) -> None:
    from api.cli import app

    out = tmp_path / "supply.html"
    runner = CliRunner()
    done = runner.invoke(
        app,
        [
            "map",
            "supply",
            "--scenario",
            "base",
            "--out",
            str(out),
            "--runs",
            "20",
            "--months",
            "3",
            "--database-url",
            loaded,
        ],
    )
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    assert external_urls(html) == set() and "/static/" not in html
    bad = runner.invoke(
        app,
        [
            "map",
            "supply",
            "--scenario",
            "nope",
            "--out",
            str(tmp_path / "x.html"),
            "--database-url",
            loaded,
        ],
    )
    assert bad.exit_code == 1 and "onbekend scenario" in bad.output
    assert not (tmp_path / "x.html").exists()


def test_supply_map_uses_stored_scenarios_on_the_projection_inputs(
    loaded: str, session_factory: sessionmaker[Session]
) -> None:
    """A planner's stored scenario is on the picker and changes the map's shortfall; the base
    map's shortfall comes from the same inputs as the supply API's projection."""
    from api.services.maps import UnknownScenario, scenario_names, supply_map_data
    from api.services.rounds import Actor
    from store.supply_inputs import save_scenario, supply_inputs_from_db

    start = date(2026, 12, 1)
    with session_factory() as s:
        base = supply_inputs_from_db(s, start=start, months=3)
        record = {"name": "veel-instroom", "changes": [{"kind": "inflow_factor", "factor": 5.0}]}
        save_scenario(s, record, base)
        s.commit()
    with session_factory() as s:
        assert "veel-instroom" in scenario_names(s)
        assert "veel-instroom" not in scenario_names()
        planner = Actor(None, None, "planner")
        low = supply_map_data(s, planner, "base", start=start, runs=20, months=3)
        high = supply_map_data(s, planner, "veel-instroom", start=start, runs=20, months=3)

        def total_shortfall(data: SupplyMapData) -> float:
            layer = next(x for x in data.measures if x.title == "Tekort (mediaan prognose)")
            total = 0.0
            for series in layer.values.values():
                values = series if isinstance(series, list | tuple) else [series]
                total += sum(float(v) for v in values if v is not None)  # type: ignore[arg-type]
            return total

        assert total_shortfall(high) > total_shortfall(low)
        with pytest.raises(UnknownScenario):
            supply_map_data(s, planner, "bestaat-niet", start=start, runs=20, months=3)


def test_corporation_map_applies_the_supply_api_scope(
    loaded: str, session_factory: sessionmaker[Session]
) -> None:
    """Issue 13 item 9: the supply API refuses a corporation the regional shortfall per
    gemeente (it sees only levels with its own corporation); the map must not show it either."""
    from api.services import supply as supply_svc
    from api.services.maps import supply_map_data
    from api.services.rounds import Actor, Forbidden
    from store import models as m

    with session_factory() as s:
        corp = s.scalars(select(m.Organisation).where(m.Organisation.kind == "corporatie")).first()
        assert corp is not None
        actor = Actor(None, corp.id, "corporatie")
        with pytest.raises(Forbidden):  # what the API says
            supply_svc.projection_access(s, actor, "gemeente")
        data = supply_map_data(s, actor, runs=20, months=3)
        keys = [x.key for x in data.measures]
        assert "shortfall" not in keys
        assert not any("Tekort" in x.title for x in data.measures)
        left = next(x for x in data.measures if x.key == "contingent_left")
        assert left.title == "Eigen contingent over (mediaan)"
        # its own contingents only: where it has no agreement, nothing is left of it
        own_gemeenten = set(
            s.scalars(
                select(m.Contingent.gemeente_code).where(m.Contingent.corporation_id == corp.id)
            )
        )
        assert own_gemeenten and own_gemeenten <= set(left.values)
        for gemeente, series in left.values.items():
            if gemeente not in own_gemeenten:
                assert not any(series), gemeente  # type: ignore[arg-type]
        html = render_html(build_supply_map(data))
        assert "Tekort" not in html
        for role in ("planner", "gemeente", "admin"):
            org_id = None
            if role == "gemeente":
                org_id = s.scalars(
                    select(m.Organisation.id).where(m.Organisation.kind == "gemeente")
                ).first()
            other = supply_map_data(s, Actor(None, org_id, role), runs=20, months=3)
            assert "shortfall" in [x.key for x in other.measures], role
