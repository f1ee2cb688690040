"""The ``stek`` command line: database, demo data, imports, exports, fixtures, solving, serving."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from api.cli_maps import map_app
from api.cli_ops import load_settings, register_ops
from api.cli_supply import project_command, scenario_app
from api.cli_totp import totp_app
from api.cli_users import users_app
from api.observability import configure_logging
from store.db import database_url, make_engine, make_sessionmaker, unit_of_work

app = typer.Typer(help="stek: woningmatching en aanbodplanning voor jongeren uit de jeugdzorg.")
db_app = typer.Typer(help="Database: migraties.")
demo_app = typer.Typer(help="De synthetische demoregio Noordoost-Brabant.")
fixtures_app = typer.Typer(help="Synthetische testdata maken.")
round_app = typer.Typer(help="Rondebestanden: een maand uit de database, voor audit en herhaling.")
app.add_typer(db_app, name="db")
app.add_typer(round_app, name="round")
app.add_typer(demo_app, name="demo")
app.add_typer(fixtures_app, name="fixtures")
app.add_typer(map_app, name="map")
app.add_typer(scenario_app, name="scenario")
app.add_typer(users_app, name="users")
app.add_typer(totp_app, name="totp")
app.command("project")(project_command)
register_ops(app)  # retention, backup, restore (api/cli_ops.py)

console = Console(stderr=True)
DEMO_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "demo"
IMPORT_KINDS = ("areas", "organisations", "users", "types", "options", "youths", "contingents")
EXPORT_KINDS = ("organisations", "users", "types", "options", "youths", "contingents")

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="Database-URL (standaard STEK_DATABASE_URL of var/stek.db)"
    ),
]


def _fail(message: str, code: int = 1) -> None:
    # Escaped: messages quote codes from files, and "[...]" would be read as rich markup.
    console.print(f"[bold red]Fout:[/] {escape(message)}")
    raise typer.Exit(code)


@contextmanager
def _progress() -> Iterator[Progress]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        yield progress


def _row_callback(progress: Progress, description: str) -> Callable[[int, int], None]:
    task = progress.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    return update


# --------------------------------------------------------------------------- database


@db_app.command("upgrade")
def db_upgrade(database_url_: UrlOption = None) -> None:
    """Pas alle migraties toe (SQLite of PostgreSQL)."""
    from store.migrate import current, upgrade

    url = database_url(database_url_)
    upgrade(url)
    console.print(f"Database bijgewerkt tot revisie [bold]{current(url)}[/] ({_safe_url(url)})")


@db_app.command("current")
def db_current(database_url_: UrlOption = None) -> None:
    """Toon de huidige migratierevisie."""
    from store.migrate import current

    typer.echo(current(database_url(database_url_)) or "geen")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# --------------------------------------------------------------------------- imports


def _import_failed(exc: Exception) -> None:
    errors = getattr(exc, "errors", None) or []
    console.print(
        f"[bold red]Import afgebroken: er is niets weggeschreven.[/] {len(errors)} fout(en):"
    )
    for err in errors[:200]:
        console.print(f"  {err}")
    if len(errors) > 200:
        console.print(f"  … en nog {len(errors) - 200} fouten")
    raise typer.Exit(2)


@app.command("import")
def import_(
    kind: Annotated[
        str, typer.Argument(help="areas|organisations|users|types|options|youths|contingents")
    ],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    crs: Annotated[
        str | None, typer.Option(help="CRS voor gebieden zonder CRS, bv. EPSG:28992")
    ] = None,
    database_url_: UrlOption = None,
) -> None:
    """Importeer een bestand in één transactie: bij één foute rij wordt niets weggeschreven."""
    from store.importers import ImportFailed, import_file

    if kind not in IMPORT_KINDS:
        _fail(f"onbekende soort {kind!r}; kies uit {', '.join(IMPORT_KINDS)}")
    engine = make_engine(database_url(database_url_))
    kwargs: dict[str, Any] = {"crs": crs} if kind == "areas" else {}
    try:
        with _progress() as progress, unit_of_work(make_sessionmaker(engine)) as session:
            report = import_file(
                session,
                kind,
                file,
                progress=_row_callback(progress, f"{kind} {file.name}"),
                **kwargs,
            )
    except ImportFailed as exc:
        _import_failed(exc)
    finally:
        engine.dispose()
    console.print(f"[green]Geïmporteerd:[/] {report}")


@app.command("export")
def export(
    kind: Annotated[
        str, typer.Argument(help="organisations|users|types|options|youths|contingents|areas")
    ],
    file: Annotated[Path, typer.Argument(dir_okay=False)],
    level: Annotated[str, typer.Option(help="Voor areas: gemeente, wijk of buurt")] = "gemeente",
    crs: Annotated[str, typer.Option(help="Voor areas: CRS van het bestand")] = "EPSG:28992",
    database_url_: UrlOption = None,
) -> None:
    """Exporteer naar CSV (of GeoJSON voor gebieden) in het importformaat."""
    from store.exporters import export_areas_geojson, export_csv

    engine = make_engine(database_url(database_url_))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            if kind == "areas":
                n = export_areas_geojson(session, level, file, crs=crs)
            elif kind in EXPORT_KINDS:
                n = export_csv(session, kind, file)
            else:
                _fail(f"onbekende soort {kind!r}")
    finally:
        engine.dispose()
    console.print(f"[green]Geëxporteerd:[/] {n} records naar {file}")


# --------------------------------------------------------------------------- demo


def load_demo(
    url: str, folder: Path = DEMO_DIR, password: str = "demo", progress: Progress | None = None
) -> dict[str, int]:
    """Load the demo region from ``folder`` in one transaction; demo users get ``password``."""
    from sqlalchemy import select

    from api.security import hash_password
    from fixtures.generate import ROUND_MONTH
    from fixtures.output import IMPORT_ORDER
    from store.importers import import_file
    from store.models import User

    engine = make_engine(url)
    loaded: dict[str, int] = {}
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            for kind, name in IMPORT_ORDER:
                callback = _row_callback(progress, f"{kind}: {name}") if progress else None
                extra: dict[str, Any] = {"today": ROUND_MONTH} if kind == "youths" else {}
                report = import_file(session, kind, folder / name, progress=callback, **extra)
                loaded[name] = int(getattr(report, "count", 0) or 0)
                session.flush()
            hashed = hash_password(password)
            for user in session.scalars(select(User).where(User.password_hash.is_(None))):
                user.password_hash = hashed
    finally:
        engine.dispose()
    return loaded


def database_is_empty(url: str) -> bool:
    from sqlalchemy import func, select

    from store.models import Area

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return not conn.scalar(select(func.count()).select_from(Area))
    finally:
        engine.dispose()


@demo_app.command("load")
def demo_load(
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Alleen laden als de database leeg is")
    ] = False,
    folder: Annotated[Path, typer.Option(help="Map met de demobestanden")] = DEMO_DIR,
    database_url_: UrlOption = None,
) -> None:
    """Laad de synthetische demoregio (gebieden, organisaties, woningen, jongeren, contingenten)."""
    from store.importers import ImportFailed

    url = database_url(database_url_)
    if if_empty and not database_is_empty(url):
        console.print("Database bevat al gegevens: demo niet opnieuw geladen.")
        return
    started = time.perf_counter()
    try:
        with _progress() as progress:
            loaded = load_demo(url, folder, progress=progress)
    except ImportFailed as exc:
        _import_failed(exc)
    console.print(
        f"[green]Demoregio geladen[/] in {time.perf_counter() - started:.1f} s "
        f"({', '.join(f'{k}: {v}' for k, v in loaded.items())}). "
        "Alle demogebruikers hebben wachtwoord 'demo'."
    )


# --------------------------------------------------------------------------- fixtures


@fixtures_app.command("generate")
def fixtures_generate(
    youths: Annotated[int, typer.Option(min=1, max=50_000)] = 300,
    options: Annotated[int, typer.Option(min=1, max=50_000)] = 400,
    seed: Annotated[int, typer.Option()] = 20261201,
    scale: Annotated[str, typer.Option(help="regional of national")] = "regional",
    out: Annotated[Path, typer.Option(help="Doelmap")] = Path("var/fixtures"),
) -> None:
    """Maak een synthetische regio (deterministisch per seed), tot 20.000 × 20.000."""
    from fixtures.generate import generate_region, write_region

    if scale not in ("regional", "national"):
        _fail("scale moet regional of national zijn")
    started = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("genereren", total=None)

        def step(what: str, done: int, total: int) -> None:
            progress.update(task, description=what, completed=done, total=total)

        region = generate_region(youths, options, seed=seed, scale=scale, progress=step)
        progress.update(task, description="wegschrijven")
        files = write_region(region, out)
    console.print(
        f"[green]{len(files)} bestanden[/] in {out} ({time.perf_counter() - started:.1f} s)"
    )


# --------------------------------------------------------------------------- solving


BAD_INPUT = 2  # exit code for a bad argument or round file (typer uses 2 for usage errors too)


def _parse_month(text: str) -> date:
    try:
        year, month = text.split("-")[:2]
        return date(int(year), int(month), 1)
    except ValueError:
        _fail(f"maand {text!r} niet herkend; gebruik JJJJ-MM, bv. 2026-12", BAD_INPUT)
    raise AssertionError("unreachable")


def _check_pacing(pacing: str) -> None:
    from api.services.rounds import PACINGS

    if pacing not in PACINGS:
        _fail(f"--pacing: {' of '.join(repr(p) for p in PACINGS)}, niet {pacing!r}", BAD_INPUT)


def _round_from_database(url: str | None, month: str, seed: int, pacing: str) -> Any:
    """The month's round from the database (paced if asked); ``ProblemError`` if it is bad."""
    from api.services.rounds import paced_round
    from store.repository import load_round

    first = _parse_month(month)
    engine = make_engine(database_url(url))
    try:
        with unit_of_work(make_sessionmaker(engine)) as session:
            problem = load_round(session, first, seed=seed)
            if pacing == "budget":
                problem = paced_round(session, problem)
    finally:
        engine.dispose()
    return problem


PacingOption = Annotated[
    str,
    typer.Option(
        help="Met --month: 'budget' geeft elk contingent het budget van deze maand "
        "(jaar verdeeld naar verwachte instroom), 'none' het hele restant"
    ),
]


@app.command("solve")
def solve_cmd(
    round_file: Annotated[Path | None, typer.Argument(help="Rondebestand (JSON)")] = None,
    month: Annotated[
        str | None, typer.Option(help="Ronde uit de database voor deze maand, JJJJ-MM")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Resultaat als JSON")] = None,
    time_limit: Annotated[float, typer.Option(help="Tijdslimiet in seconden", min=0.1)] = 30.0,
    seed: Annotated[int | None, typer.Option(help="Seed voor de tie-break")] = None,
    pacing: PacingOption = "none",
    database_url_: UrlOption = None,
) -> None:
    """Reken een toewijzingsvoorstel door, uit een rondebestand of uit de database.

    Een fout rondebestand of argument geeft exitcode 2 met het record en veld in de melding.
    """
    if (round_file is None) == (month is None):
        _fail("geef óf een rondebestand óf --month", BAD_INPUT)
    _check_pacing(pacing)
    if pacing != "none" and round_file is not None:
        _fail(
            "--pacing werkt alleen met --month (een rondebestand draagt zijn eigen budgetten)",
            BAD_INPUT,
        )
    from matcher.problem import ProblemError
    from matcher.roundfile import load_round_file
    from matcher.solve import solve

    try:
        if round_file is not None:
            problem = load_round_file(round_file)
        else:
            problem = _round_from_database(database_url_, month or "", seed or 0, pacing)
    except ProblemError as exc:
        _fail(str(exc), BAD_INPUT)
    console.print(
        f"Ronde {problem.month:%Y-%m}: {len(problem.youths)} jongeren, "
        f"{len(problem.options)} woonplekken, {len(problem.contingents)} contingenten"
    )
    with _progress() as progress:
        task = progress.add_task("screenen", total=None)

        def report(phase: str, info: dict[str, Any]) -> None:
            detail = ""
            if "gap" in info:
                detail = f" gat {100 * float(info['gap']):.2f} %"
            progress.update(task, description=f"{phase}{detail}")

        try:
            result = solve(problem, time_limit_s=time_limit, seed=seed, progress=report)
        except ProblemError as exc:
            _fail(str(exc), BAD_INPUT)
    _print_result(result)
    if out is not None:
        _write_text(out, result.to_json())
        console.print(f"Resultaat geschreven naar {out}")


def _write_text(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        _fail(f"{path} niet te schrijven: {exc}")


@round_app.command("export")
def round_export(
    month: Annotated[str, typer.Option(help="De maand van de ronde, JJJJ-MM")],
    out: Annotated[Path, typer.Option(help="Het rondebestand (JSON) dat geschreven wordt")],
    seed: Annotated[int, typer.Option(help="Seed voor de tie-break in het bestand")] = 0,
    pacing: PacingOption = "none",
    database_url_: UrlOption = None,
) -> None:
    """Schrijf het rondebestand van een maand uit de database, voor audit en herhaling.

    `stek solve BESTAND` rekent daarna precies wat `stek solve --month` rekent.
    """
    from matcher.problem import ProblemError
    from matcher.roundfile import round_file_text, round_from_data, round_to_data

    _check_pacing(pacing)
    try:
        problem = _round_from_database(database_url_, month, seed, pacing)
    except ProblemError as exc:
        _fail(f"de ronde uit de database is ongeldig: {exc}")
    try:
        # A file the loader would refuse is no use for audit: check before writing.
        round_from_data(round_to_data(problem))
    except ProblemError as exc:
        _fail(f"de ronde van {problem.month:%Y-%m} geeft geen geldig rondebestand: {exc}")
    _write_text(out, round_file_text(problem))
    console.print(
        f"Rondebestand {problem.month:%Y-%m} geschreven naar {out}: {len(problem.youths)}"
        f" jongeren, {len(problem.options)} woonplekken, {len(problem.contingents)} contingenten"
    )


def _print_result(result: Any) -> None:
    table = Table(title="Toewijzingsvoorstel", show_header=False)
    table.add_row("status", str(result.status))
    table.add_row("gehuisvest", str(len(result.assignment)))
    table.add_row("zonder plek", str(len(result.unmatched)))
    table.add_row("doelwaarde", f"{result.objective:,.0f}")
    table.add_row("bovengrens", f"{result.bound:,.0f}")
    table.add_row("gat", f"{100 * result.gap:.3f} %")
    table.add_row(
        "tijd per fase", ", ".join(f"{k} {v:.2f}s" for k, v in result.phase_seconds.items())
    )
    console.print(table)


# --------------------------------------------------------------------------- serving


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    database_url_: UrlOption = None,
    proxy_headers: Annotated[
        bool, typer.Option(help="Schema (https) en client van de proxy overnemen")
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None, typer.Option(help="Proxy-adressen (komma's); anders STEK_TRUSTED_PROXIES")
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Aantal serverprocessen (PostgreSQL bij meer dan 1)")
    ] = 1,
    jobs: Annotated[
        bool,
        typer.Option(
            "--jobs/--no-jobs",
            help="Taken (doorrekenen) in de server uitvoeren, of alleen door `stek worker`",
        ),
    ] = True,
) -> None:
    """Start de webapplicatie."""
    import uvicorn

    from api.app import create_app
    from store.readiness import DatabaseNotReady, check_database

    settings = load_settings(database_url=database_url(database_url_), jobs_in_server=jobs)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        console.print(
            "[red]stek start niet:[/] meer dan één serverproces vraagt PostgreSQL "
            "(STEK_DATABASE_URL); SQLite is één bestand voor één proces."
        )
        raise typer.Exit(2)
    try:
        check_database(settings.database_url)
    except DatabaseNotReady as exc:
        console.print(f"[red]stek start niet:[/] {exc}")
        raise typer.Exit(1) from exc
    # proxy_headers off by default: uvicorn would otherwise believe X-Forwarded-* from any local
    # peer. On behind a TLS proxy (docs/deployment.md), only from the proxies named, so the
    # session cookie is Secure when the browser spoke https to the proxy.
    trusted = forwarded_allow_ips if forwarded_allow_ips is not None else settings.trusted_proxies
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,  # stek's own JSON logs (api/observability.py)
        "access_log": False,
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": trusted or "127.0.0.1",
    }
    if workers > 1:  # each process builds its app from the environment (api.app.app_from_env)
        os.environ["STEK_DATABASE_URL"] = settings.database_url
        os.environ["STEK_JOBS_IN_SERVER"] = "true" if jobs else "false"
        configure_logging(settings.log_format, settings.log_level)
        logging.getLogger("stek").info(
            "stek draait op http://%s:%s/ in %s processen (%s)",
            host,
            port,
            workers,
            _safe_url(settings.database_url),
        )
        uvicorn.run("api.app:app_from_env", factory=True, workers=workers, **options)
        return
    application = create_app(settings)  # sets up the JSON logs: from here on, log lines
    logging.getLogger("stek").info(
        "stek draait op http://%s:%s/ (%s)", host, port, _safe_url(settings.database_url)
    )
    uvicorn.run(application, **options)


@app.command()
def worker(
    database_url_: UrlOption = None,
    poll: Annotated[
        float, typer.Option(min=0.05, max=60.0, help="Seconden tussen twee blikken in de wachtrij")
    ] = 0.5,
) -> None:
    """Voer taken uit de wachtrij uit (doorrekenen van rondes) tot SIGTERM of Ctrl-C."""
    import signal

    from api.worker import Worker
    from store.readiness import DatabaseNotReady, check_database

    settings = load_settings(database_url=database_url(database_url_))
    try:
        check_database(settings.database_url)
    except DatabaseNotReady as exc:
        console.print(f"[red]stek worker start niet:[/] {exc}")
        raise typer.Exit(1) from exc
    configure_logging(settings.log_format, settings.log_level)
    engine = make_engine(settings.database_url)
    runner = Worker(
        make_sessionmaker(engine), settings.database_url, lease_s=settings.job_lease_s, poll_s=poll
    )
    from api.services.rounds import start_solver_processes

    start_solver_processes()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runner.stop.set())
    logging.getLogger("stek").info(
        "worker %s wacht op taken (%s)", runner.name, _safe_url(settings.database_url)
    )
    try:
        runner.run()  # a job in progress is finished first; SIGKILL: its lease runs out
    finally:
        engine.dispose()


def main() -> None:  # pragma: no cover - console entry point
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(message)s")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
