"""``stek map supply``: write the supply map as one standalone HTML file.

Standalone means every script and style is inlined (Leaflet and markercluster from
``api/static/vendor``, Leaflet's control images as data: URLs), so the file opens offline, from
a mail attachment or a USB stick, and makes no request at all. The CLI runs as the system
(planner view: every option, every contingent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

map_app = typer.Typer(help="Kaarten als losse HTML-bestanden (offline te openen).")


@map_app.command("supply")
def map_supply(
    scenario: Annotated[str, typer.Option(help="Scenario, bv. base")] = "base",
    out: Annotated[Path, typer.Option(help="Doelbestand (.html)")] = Path("supply.html"),
    level: Annotated[str, typer.Option(help="gemeente, wijk of buurt")] = "gemeente",
    months: Annotated[int, typer.Option(min=1, max=120, help="Prognosemaanden")] = 24,
    runs: Annotated[int, typer.Option(min=1, max=10_000, help="Monte-Carlo-runs")] = 200,
    tolerance: Annotated[float, typer.Option(min=0, help="Vereenvoudiging in meter")] = 25.0,
    database_url_: Annotated[
        str | None, typer.Option("--database-url", help="Database-URL")
    ] = None,
) -> None:
    """Schrijf de aanbodkaart (choropleet, tijdschuif, woonplekken) als één HTML-bestand."""
    from api.cli import _fail, console
    from api.services.maps import LEVELS, UnknownScenario, scenario_names, supply_map_data
    from api.services.rounds import Actor
    from maps.supply import build_supply_map, render_html
    from store.db import database_url, make_engine, make_sessionmaker, unit_of_work

    if level not in LEVELS:
        _fail(f"onbekend niveau {level!r}; kies uit {', '.join(LEVELS)}")
    engine = make_engine(database_url(database_url_))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            names = scenario_names(session)
            if scenario not in names:
                raise UnknownScenario(
                    f"onbekend scenario {scenario!r}; kies uit {', '.join(names)}"
                )
            data = supply_map_data(
                session, Actor.system(), scenario, level, months=months, runs=runs
            )
    except UnknownScenario as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    if not data.areas:
        _fail("geen gebieden in de database: laad eerst gebieden (stek demo load)")
    html = render_html(build_supply_map(data, tolerance_m=tolerance), standalone=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    for note in data.notes:
        console.print(f"[yellow]Let op:[/] {note}")
    console.print(
        f"[green]Kaart geschreven:[/] {out} ({len(html.encode()) / 1e6:.1f} MB, "
        f"{len(data.areas)} gebieden, {len(data.options)} woonplekken)"
    )
