"""`stek solve` on a round file and from the database: a verified, reproducible proposal."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from fixtures.generate import generate_region, to_round
from matcher.roundfile import dump_round_file, load_round_file
from matcher.verifier import verify

runner = CliRunner()


def _small_round_file(tmp_path: Path) -> Path:
    region = generate_region(40, 60, seed=3)
    path = tmp_path / "round.json"
    dump_round_file(to_round(region, date(2026, 12, 1)), path)
    return path


def test_solve_round_file_writes_verified_reproducible_result(tmp_path: Path) -> None:
    round_file = _small_round_file(tmp_path)
    outs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        result = runner.invoke(
            app, ["solve", str(round_file), "--out", str(out), "--seed", "5", "--time-limit", "10"]
        )
        assert result.exit_code == 0, result.output
        assert "gehuisvest" in result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["housed"] == len(data["assignment"]) > 0
    assert data["youths"] == data["housed"] + len(data["unmatched"])
    assert verify(load_round_file(round_file), data["assignment"]) == []


def test_solve_bad_round_file_names_the_record(tmp_path: Path) -> None:
    round_file = _small_round_file(tmp_path)
    data = json.loads(round_file.read_text(encoding="utf-8"))
    data["options"][0]["type_code"] = "paleis"
    round_file.write_text(json.dumps(data), encoding="utf-8")
    result = runner.invoke(app, ["solve", str(round_file)])
    assert result.exit_code == 1
    assert "paleis" in result.output


def test_solve_month_from_database(db_url: str) -> None:
    assert runner.invoke(app, ["demo", "load", "--database-url", db_url]).exit_code == 0
    result = runner.invoke(
        app, ["solve", "--month", "2026-12", "--database-url", db_url, "--time-limit", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "Ronde 2026-12: 300 jongeren, 400 woonplekken" in result.output


def test_solve_bad_month_is_explained(db_url: str) -> None:
    result = runner.invoke(app, ["solve", "--month", "december", "--database-url", db_url])
    assert result.exit_code == 1
    assert "JJJJ-MM" in result.output


def test_solve_month_with_pacing_spends_at_most_the_month_budget(
    db_url: str, tmp_path: Path
) -> None:
    assert runner.invoke(app, ["demo", "load", "--database-url", db_url]).exit_code == 0
    details = {}
    for pacing in ("none", "budget"):
        out = tmp_path / f"{pacing}.json"
        args = ["solve", "--month", "2026-03", "--database-url", db_url, "--time-limit", "5"]
        result = runner.invoke(app, [*args, "--pacing", pacing, "--out", str(out)])
        assert result.exit_code == 0, result.output
        details[pacing] = json.loads(out.read_text(encoding="utf-8"))["contingent_use_detail"]
    assert details["none"].keys() == details["budget"].keys()
    for key, paced in details["budget"].items():
        assert paced["used"] <= paced["left"] <= details["none"][key]["left"]
    # In March a contingent may spend a quarter of its year, not all that is left of it.
    assert any(p["left"] < details["none"][k]["left"] for k, p in details["budget"].items())


def test_solve_pacing_refuses_bad_values_and_round_files(tmp_path: Path) -> None:
    result = runner.invoke(app, ["solve", "--month", "2026-03", "--pacing", "lente"])
    assert result.exit_code == 1 and "lente" in result.output
    result = runner.invoke(app, ["solve", str(_small_round_file(tmp_path)), "--pacing", "budget"])
    assert result.exit_code == 1 and "--month" in result.output
