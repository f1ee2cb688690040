"""The CLI's data commands against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from api.security import verify_password
from store.models import Area, HousingOption, User, Youth

runner = CliRunner()


def _count(factory: sessionmaker[Session], model: type) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_demo_load_fills_database_once(db_url: str, session_factory: sessionmaker[Session]) -> None:
    first = runner.invoke(app, ["demo", "load", "--if-empty", "--database-url", db_url])
    assert first.exit_code == 0, first.output
    assert "Demoregio geladen" in first.output
    areas, options, youths = (_count(session_factory, m) for m in (Area, HousingOption, Youth))
    assert areas > 11 and options == 400 and youths == 300
    with session_factory() as s:
        admin = s.scalar(select(User).where(User.role == "admin"))
        assert admin is not None and verify_password(admin.password_hash, "demo")
    again = runner.invoke(app, ["demo", "load", "--if-empty", "--database-url", db_url])
    assert again.exit_code == 0
    assert "niet opnieuw geladen" in again.output
    assert _count(session_factory, HousingOption) == options


def test_import_with_bad_rows_lists_every_error_and_writes_nothing(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    assert runner.invoke(app, ["demo", "load", "--database-url", db_url]).exit_code == 0
    before = _count(session_factory, HousingOption)
    bad = tmp_path / "options.csv"
    bad.write_text(
        "option_id;type;corporatie;x;y;kale_huur;servicekosten;capacity;available_from\n"
        "NEW-1;kma;;150000;411000;450,00;40;1;2026-12-01\n"
        "NEW-2;kma;;150000;411000;-12,00;40;1;2026-12-01\n"
        "NEW-3;onbekend;;150000;411000;450;40;1;2026-12-01\n",
        encoding="utf-8-sig",
    )
    result = runner.invoke(app, ["import", "options", str(bad), "--database-url", db_url])
    assert result.exit_code == 2, result.output
    assert "niets weggeschreven" in result.output
    assert "rij 3" in result.output and "kale_huur" in result.output
    assert "rij 4" in result.output and "type" in result.output
    assert _count(session_factory, HousingOption) == before


def test_export_then_import_round_trips(
    db_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    assert runner.invoke(app, ["demo", "load", "--database-url", db_url]).exit_code == 0
    out = tmp_path / "options.csv"
    exported = runner.invoke(app, ["export", "options", str(out), "--database-url", db_url])
    assert exported.exit_code == 0, exported.output
    assert "400 records" in exported.output
    again = runner.invoke(app, ["import", "options", str(out), "--database-url", db_url])
    assert again.exit_code == 0, again.output
    assert _count(session_factory, HousingOption) == 400
