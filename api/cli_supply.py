"""``stek project`` and ``stek scenario``: supply projections and scenarios from the command line.

The CLI acts as the system (planner view, every row). Bad input (unknown scenario, gemeente,
type or corporation, negative count, a stay distribution that does not sum to one) stops with
a message naming the field and exit code 1; nothing is stored then (one transaction that rolls
back).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session

from store.csvio import spreadsheet_safe
from store.db import database_url, make_engine, make_sessionmaker, unit_of_work

console = Console(stderr=True)
scenario_app = typer.Typer(help="Scenario's voor de aanbodprognose: maken, tonen, vergelijken.")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database-URL (standaard STEK_DATABASE_URL of var/stek.db)"
    ),
]
MonthsOption = Annotated[int, typer.Option(min=1, max=120, help="Aantal prognosemaanden")]
RunsOption = Annotated[int, typer.Option(min=1, max=10_000, help="Monte-Carlo-runs")]
SeedOption = Annotated[int, typer.Option(min=0, help="Seed (zelfde seed, zelfde uitkomst)")]
StartOption = Annotated[
    str | None, typer.Option(help="Eerste prognosemaand JJJJ-MM (standaard deze maand)")
]


def _fail(message: str) -> None:
    console.print(f"[bold red]Fout:[/] {message}")
    raise typer.Exit(1)


@contextmanager
def _session(url: str | None) -> Iterator[Session]:
    engine = make_engine(database_url(url))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


@contextmanager
def _errors() -> Iterator[None]:
    from supply.model import SupplyInputError

    try:
        yield
    except SupplyInputError as exc:  # ScenarioError is one too
        _fail(str(exc))


def _progress_bar(description: str) -> tuple[Progress, Any]:
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return progress, update


def project_command(
    scenario: Annotated[str, typer.Option(help="Scenario (base = de database zoals hij is)")] = (
        "base"
    ),
    months: MonthsOption = 36,
    runs: RunsOption = 2000,
    seed: SeedOption = 0,
    start: StartOption = None,
    out: Annotated[Path | None, typer.Option(help="Alle uitkomsten als CSV (;)")] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Threads")] = 2,
    database_url_: UrlOption = None,
) -> None:
    """Maandelijkse tekortprognose met onzekerheid (P10/P50/P90) vanuit de database."""
    from api.services import supply as svc
    from supply.projection import write_projection_csv

    progress, update = _progress_bar(f"prognose {scenario}: chunks")
    with _errors(), _session(database_url_) as session, progress:
        projection = svc.project_for(
            session, scenario, months, runs, seed, start, progress=update, workers=workers
        )
    total = projection.get("shortfall", "total")
    table = Table(title=f"Tekort totaal, scenario {scenario} ({projection.runs} runs)")
    for column in ("maand", "P10", "P50", "P90"):
        table.add_column(column, justify="right")
    dates = projection.month_dates()
    for i in range(0, projection.months, max(1, projection.months // 12)):
        table.add_row(
            dates[i].strftime("%Y-%m"),
            *(str(int(total.quantiles[q][0, i])) for q in (0.1, 0.5, 0.9)),
        )
    console.print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = write_projection_csv(projection, out, spreadsheet_safe)
        console.print(f"{rows} rijen geschreven naar {out}")


@scenario_app.command("create")
def scenario_create(
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON: {name, description, changes: [{kind: add_places|contingent_change|"
            "inflow_factor|stay_shift, ...}]}"
        ),
    ],
    name: Annotated[str | None, typer.Option(help="Naam (overschrijft die in het bestand)")] = None,
    database_url_: UrlOption = None,
) -> None:
    """Sla een scenario op: de basis plus benoemde wijzigingen, gecontroleerd tegen de database."""
    from api.services import supply as svc
    from api.services.rounds import Actor

    try:
        record = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(f"{file}: bestand niet gevonden")
    except json.JSONDecodeError as exc:
        _fail(f"{file}: geen geldige JSON (regel {exc.lineno}, kolom {exc.colno})")
    if name is not None and isinstance(record, dict):
        record["name"] = name
    system = Actor.system()
    with _errors(), _session(database_url_) as session:
        stored = svc.create_scenario(session, system, record)
    console.print(f"Scenario {stored.name!r} opgeslagen met {len(stored.changes)} wijziging(en)")


@scenario_app.command("list")
def scenario_list(database_url_: UrlOption = None) -> None:
    """Toon de opgeslagen scenario's."""
    from api.services import supply as svc

    with _session(database_url_) as session:
        stored = svc.list_scenarios(session)
    table = Table(title="Scenario's (base = de database zoals hij is)")
    for column in ("naam", "wijzigingen", "omschrijving"):
        table.add_column(column)
    for s in stored:
        table.add_row(s.name, str(len(s.changes)), s.description)
    typer.echo("\n".join(s.name for s in stored))
    console.print(table)


@scenario_app.command("show")
def scenario_show(
    name: Annotated[str, typer.Argument(help="Scenarionaam")],
    database_url_: UrlOption = None,
) -> None:
    """Toon een scenario als JSON."""
    from api.services import supply as svc
    from store.supply_inputs import get_scenario

    with _errors(), _session(database_url_) as session:
        scenario = get_scenario(session, name)
    typer.echo(json.dumps(svc.scenario_record(scenario), ensure_ascii=False, indent=2))


def _comparison(
    name: str, base: str, months: int, runs: int, seed: int, start: str | None, url: str | None
) -> Any:
    from api.services import supply as svc

    with _errors(), _session(url) as session:
        return svc.compare(session, base, name, months, runs, seed, start)


@scenario_app.command("compare")
def scenario_compare(
    name: Annotated[str, typer.Argument(help="Scenarionaam")],
    base: Annotated[str, typer.Option(help="Vergelijk met dit scenario")] = "base",
    months: MonthsOption = 36,
    runs: RunsOption = 2000,
    seed: SeedOption = 0,
    start: StartOption = None,
    out: Annotated[Path | None, typer.Option(help="Vergelijking als CSV (;)")] = None,
    database_url_: UrlOption = None,
) -> None:
    """Scenario naast basis: verschil van de medianen met zijn band (P10–P90)."""
    from supply.scenario import write_comparison_csv

    with console.status("vergelijken"):
        comparison = _comparison(name, base, months, runs, seed, start, database_url_)
    diff = comparison.difference[("shortfall", "total")]
    median = comparison.median_difference("shortfall", "total")
    table = Table(title=f"Tekort totaal: {name} min {base}")
    for column in ("maand", "verschil P50", "band P10", "band P90"):
        table.add_column(column, justify="right")
    dates = [d.strftime("%Y-%m") for d in _months(comparison)]
    for i in range(0, comparison.months, max(1, comparison.months // 12)):
        table.add_row(
            dates[i],
            str(int(median[0, i])),
            str(int(diff.quantiles[0.1][0, i])),
            str(int(diff.quantiles[0.9][0, i])),
        )
    console.print(table)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        rows = write_comparison_csv(comparison, out, spreadsheet_safe)
        console.print(f"{rows} rijen geschreven naar {out}")


def _months(comparison: Any) -> list[Any]:
    from supply.model import month_at

    return [month_at(comparison.start, i) for i in range(comparison.months)]


@scenario_app.command("export")
def scenario_export(
    name: Annotated[str, typer.Argument(help="Scenarionaam")],
    out: Annotated[Path, typer.Option(help="Doelbestand (.csv)")],
    base: Annotated[str, typer.Option(help="Vergelijk met dit scenario")] = "base",
    months: MonthsOption = 36,
    runs: RunsOption = 2000,
    seed: SeedOption = 0,
    start: StartOption = None,
    database_url_: UrlOption = None,
) -> None:
    """Exporteer de vergelijking scenario tegen basis als CSV (alle uitkomsten en niveaus)."""
    from supply.scenario import write_comparison_csv

    comparison = _comparison(name, base, months, runs, seed, start, database_url_)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = write_comparison_csv(comparison, out, spreadsheet_safe)
    console.print(f"{rows} rijen geschreven naar {out}")
