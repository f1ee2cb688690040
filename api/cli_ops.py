"""Operations commands: ``stek retention run``, ``stek backup``, ``stek restore`` (issue 17)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.retention_job import run_job
from api.settings import Settings, settings_problems
from matcher.glossary import label
from store.backup import BackupError, restore_backup, write_backup
from store.db import database_url, make_engine

console = Console()
retention_app = typer.Typer(help="Bewaartermijnen (AVG): verwijder wat over zijn termijn is.")

UrlOption = Annotated[
    str | None, typer.Option("--database-url", help="Anders STEK_DATABASE_URL of var/stek.db")
]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; a bad value stops with its Dutch message (exit 2)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        console.print(f"[red]stek start niet:[/] {escape(settings_problems(exc))}")
        raise typer.Exit(2) from exc


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Alleen tellen wat zou verdwijnen")
    ] = False,
    database_url_: UrlOption = None,
) -> None:
    """Verwijder of pseudonimiseer wat over zijn bewaartermijn is (docs/retention.md)."""
    overrides: dict[str, object] = {}
    if database_url_:  # an explicit URL is also the retention job's
        overrides = {"database_url": database_url_, "retention_database_url": database_url_}
    settings = load_settings(**overrides)
    report = run_job(settings, dry_run=dry_run)
    title = "Zou verdwijnen (proefdraai)" if dry_run else "Verwijderd of gepseudonimiseerd"
    table = Table(title=title)
    table.add_column("soort")
    table.add_column("ouder dan")
    table.add_column("aantal", justify="right")
    for kind, count in report.counts.items():
        table.add_row(label("retention_kind", kind), report.cutoffs[kind][:10], str(count))
    console.print(table)


def backup(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Doelbestand (.jsonl.gz)")],
    database_url_: UrlOption = None,
) -> None:
    """Volledige backup van de database: alle tabellen, ook rondes, matches en het auditlog."""
    engine = make_engine(database_url(database_url_))
    try:
        report = write_backup(engine, file)
    except BackupError as exc:
        console.print(f"[red]Backup mislukt:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    console.print(
        f"[green]Backup geschreven:[/] {file} ({sum(report.rows.values())} rijen in "
        f"{len(report.rows)} tabellen, schemaversie {report.revision})"
    )


def restore(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Een stek-backup")],
    force: Annotated[
        bool, typer.Option("--force", help="Overschrijf een database die al gegevens heeft")
    ] = False,
    database_url_: UrlOption = None,
) -> None:
    """Zet een backup terug in een lege database op dezelfde schemaversie."""
    engine = make_engine(database_url(database_url_))
    try:
        report = restore_backup(engine, file, force=force)
    except BackupError as exc:
        console.print(f"[red]Terugzetten mislukt, niets veranderd:[/] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    console.print(
        f"[green]Teruggezet:[/] {sum(report.rows.values())} rijen in {len(report.rows)} tabellen"
    )


def register_ops(app: typer.Typer) -> None:
    """Add the operations commands to the ``stek`` command line."""
    app.add_typer(retention_app, name="retention")
    app.command("backup")(backup)
    app.command("restore")(restore)
