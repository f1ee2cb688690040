"""The stek command line: database commands and argument errors."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from store.migrate import current

runner = CliRunner()


def test_db_upgrade_creates_schema_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    first = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert first.exit_code == 0, first.output
    head = current(url)
    assert head is not None
    second = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert second.exit_code == 0
    assert current(url) == head
    shown = runner.invoke(app, ["db", "current", "--database-url", url])
    assert shown.output.strip() == head


def test_import_unknown_kind_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "x.csv"
    file.write_text("a;b\n1;2\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "dwellings", str(file)])
    assert result.exit_code == 1
    assert "onbekende soort 'dwellings'" in result.output


def test_import_missing_file_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", "options", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert "does not exist" in result.output or "bestaat niet" in result.output


def test_solve_needs_exactly_one_source(tmp_path: Path) -> None:
    neither = runner.invoke(app, ["solve"])
    assert neither.exit_code == 2  # bad input to solve exits 2 (decision 29)
    assert "óf een rondebestand óf --month" in neither.output
    file = tmp_path / "r.json"
    file.write_text("{}", encoding="utf-8")
    both = runner.invoke(app, ["solve", str(file), "--month", "2026-12"])
    assert both.exit_code == 2  # bad input to solve exits 2 (decision 29)
