"""Benchmark: a national buurt layer (~14,000 synthetic polygons) as one offline folium page.

The polygons are synthetic: a Voronoi tessellation of points in a rough outline of the
Netherlands (RD New), edges cut every 25 m and bent by a smooth deterministic wiggle (shared
vertices move alike, so neighbours still fit), about the vertex density of CBS buurt boundaries.
Measured: stek's builder (simplify in RD New, WGS84 rounded to 5 decimals, one compact GeoJSON)
against a baseline in the same run: folium's own ``GeoJson`` on the unsimplified polygons.

Second target: the national gemeente map, the 342 real CBS gemeenten of 2025 (``fixtures/geo``;
CBS, Kadaster, CC BY 4.0) with a synthetic value each, as the app builds a supply map (labels,
legend, attribution, table beside the map): build time and HTML size (``national_*`` fields).
``--national-out FILE`` also writes it as a standalone file (for screenshots).
The last line is one JSON object.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import json
import time

import numpy as np
import shapely
from shapely.geometry import Polygon

# A rough outline of the Netherlands in RD New (metres); synthetic, for density only.
OUTLINE = Polygon(
    [
        (13_000, 370_000),
        (60_000, 440_000),
        (100_000, 560_000),
        (160_000, 615_000),
        (280_000, 600_000),
        (270_000, 480_000),
        (240_000, 440_000),
        (210_000, 370_000),
        (200_000, 310_000),
        (170_000, 306_000),
        (110_000, 360_000),
        (20_000, 355_000),
    ]
)


def synthetic_buurten(n: int, seed: int = 1, step_m: float = 25.0) -> list[Polygon]:
    """``n`` polygons tiling OUTLINE, with wiggly, densely noded boundaries."""
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = OUTLINE.bounds
    pts: list[tuple[float, float]] = []
    while len(pts) < n:
        xy = rng.uniform((minx, miny), (maxx, maxy), size=(n, 2))
        inside = shapely.contains_xy(OUTLINE, xy[:, 0], xy[:, 1])
        pts.extend(map(tuple, xy[inside]))
    cells = shapely.voronoi_polygons(shapely.multipoints(pts[:n]), extend_to=OUTLINE)
    parts = np.asarray(shapely.get_parts(cells))
    clipped = shapely.intersection(parts, OUTLINE)
    clipped = clipped[~shapely.is_empty(clipped)]
    dense = shapely.segmentize(clipped, step_m)

    def wiggle(c: np.ndarray) -> np.ndarray:
        x, y = c[:, 0], c[:, 1]
        dx = 60 * np.sin(y / 190.0 + x / 410.0) + 6 * np.sin(x / 13.0 + y / 17.0)
        dy = 60 * np.cos(x / 230.0 - y / 350.0) + 6 * np.cos(y / 11.0 - x / 19.0)
        return np.column_stack([x + dx, y + dy])

    bent = shapely.transform(dense, wiggle)
    polys = [g if g.geom_type == "Polygon" else max(g.geoms, key=lambda p: p.area) for g in bent]
    return [p if p.is_valid else p.buffer(0) for p in polys]


def stek_map(polys: list[Polygon], tolerance_m: float) -> tuple[float, float]:
    """Seconds and MB for stek's page (imports happen before the clock starts, as in the app)."""
    from maps.data import AreaShape, Measure, SupplyMapData
    from maps.supply import build_supply_map, render_html

    started = time.perf_counter()
    areas = tuple(
        AreaShape(f"BU{i:08d}", f"Buurt {i} (synthetisch)", "buurt", "GM0000", p)
        for i, p in enumerate(polys)
    )
    values = {a.code: float(i % 37) for i, a in enumerate(areas)}
    data = SupplyMapData(
        title="Synthetische buurten",
        level="buurt",
        areas=areas,
        measures=(Measure("places", "Plaatsen", values),),
    )
    html = render_html(build_supply_map(data, tolerance_m=tolerance_m))
    return time.perf_counter() - started, len(html.encode("utf-8")) / 1e6


def national_map(out: Path | None = None) -> tuple[int, float, float]:
    """Gemeenten, seconds and MB for the national map of the 342 real CBS gemeenten."""
    from fixtures.cbs import ATTRIBUTION, read_gemeenten
    from maps.data import AreaShape, Measure, SupplyMapData
    from maps.supply import build_supply_map, render_html

    gemeenten = read_gemeenten()  # read (and cached) before the clock, as in a running app
    started = time.perf_counter()
    areas = tuple(AreaShape(g.code, g.name, "gemeente", g.code, g.geometry) for g in gemeenten)
    values = {a.code: float(int(a.code[2:]) % 23) for a in areas}  # synthetic values
    data = SupplyMapData(
        title="Plaatsen per gemeente (synthetische waarden)",
        level="gemeente",
        areas=areas,
        measures=(Measure("places", "Plaatsen totaal", values),),
        attribution=(ATTRIBUTION,),
    )
    element = build_supply_map(data)
    html = render_html(element)
    seconds = time.perf_counter() - started
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render_html(element, standalone=True), encoding="utf-8")
    return len(areas), seconds, len(html.encode("utf-8")) / 1e6


def folium_baseline(polys: list[Polygon]) -> tuple[float, float]:
    """Plain folium: GeoDataFrame to WGS84, ``folium.GeoJson``, no simplification."""
    import folium
    import geopandas as gpd

    started = time.perf_counter()
    gdf = gpd.GeoDataFrame(
        {
            "code": [f"BU{i:08d}" for i in range(len(polys))],
            "v": [i % 37 for i in range(len(polys))],
        },
        geometry=polys,
        crs="EPSG:28992",
    ).to_crs("EPSG:4326")
    m = folium.Map(location=[52.2, 5.3], zoom_start=8, tiles=None)
    folium.GeoJson(gdf, name="buurten").add_to(m)
    html = m.get_root().render()
    return time.perf_counter() - started, len(html.encode("utf-8")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polygons", type=int, default=14_000)
    parser.add_argument("--tolerance", type=float, default=25.0, help="metres in RD New")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-planner", action="store_true", help="skip the planner page")
    parser.add_argument("--national-out", type=Path, help="write the national map here too")
    args = parser.parse_args()

    t0 = time.perf_counter()
    polys = synthetic_buurten(args.polygons)
    vertices = int(shapely.get_num_coordinates(np.asarray(polys, dtype=object)).sum())
    print(
        f"{len(polys)} synthetic buurten, {vertices:,} vertices ({time.perf_counter() - t0:.1f} s)"
    )
    seconds, mb = stek_map(polys, args.tolerance)
    print(f"stek: {mb:.2f} MB HTML in {seconds:.2f} s (tolerance {args.tolerance:g} m)")
    result: dict[str, object] = {
        "polygons": len(polys),
        "vertices": vertices,
        "tolerance_m": args.tolerance,
        "html_mb": round(mb, 2),
        "seconds": round(seconds, 2),
    }
    n_gm, gm_seconds, gm_mb = national_map(args.national_out)
    print(f"national gemeente map: {n_gm} CBS gemeenten, {gm_mb:.2f} MB HTML in {gm_seconds:.2f} s")
    result["national_gemeenten"] = n_gm
    result["national_html_mb"] = round(gm_mb, 2)
    result["national_seconds"] = round(gm_seconds, 2)
    if not args.no_baseline:
        b_seconds, b_mb = folium_baseline(polys)
        print(f"baseline folium.GeoJson, unsimplified: {b_mb:.2f} MB HTML in {b_seconds:.2f} s")
        result["baseline_html_mb"] = round(b_mb, 2)
        result["baseline_seconds"] = round(b_seconds, 2)
    if not args.no_planner:  # the planner page on the demo region, beside the health endpoint
        from bench.planner_page import measure as planner_page

        result.update(planner_page())
        print(f"planner page {result['planner_page_ms']} ms, health {result['health_ms']} ms")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
