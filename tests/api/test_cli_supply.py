"""`stek project` and `stek scenario` on both databases: CSV out, stored scenarios, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from api.cli import app
from tests.supply_helpers import BAD_CHANGES, load_region, placed_gemeente_type, scenario_count

runner = CliRunner()


@pytest.fixture
def region(db_url: str, tmp_path: Path) -> str:
    return load_region(db_url, tmp_path)


def _place(db_url: str) -> tuple[str, str]:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        place = placed_gemeente_type(conn)
    engine.dispose()
    return place


def _count_scenarios(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = scenario_count(conn)
    engine.dispose()
    return n


def test_project_writes_csv_and_is_reproducible(region: str, tmp_path: Path) -> None:
    outs = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        result = runner.invoke(
            app,
            ["project", "--scenario", "base", "--months", "12", "--runs", "60", "--seed", "4",
             "--start", "2027-01", "--out", str(out), "--database-url", region],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    rows = list(csv.DictReader(outs[0].decode().splitlines(), delimiter=";"))
    totals = [r for r in rows if r["output"] == "shortfall" and r["level"] == "total"]
    assert [r["month"] for r in totals] == [f"2027-{i:02d}" for i in range(1, 13)]
    assert all(int(r["p10"]) <= int(r["p50"]) <= int(r["p90"]) for r in totals)


def test_scenario_create_list_show_compare_export(region: str, tmp_path: Path) -> None:
    gemeente, type_code = _place(region)
    spec = {
        "name": "meer plekken",
        "description": "10 extra",
        "changes": [
            {"kind": "add_places", "gemeente": gemeente, "type_code": type_code, "places": 10,
             "month": "2027-03"},
            {"kind": "inflow_factor", "factor": 1.2},
        ],
    }  # fmt: skip
    file = tmp_path / "scenario.json"
    file.write_text(json.dumps(spec), encoding="utf-8")
    url = ["--database-url", region]
    created = runner.invoke(app, ["scenario", "create", str(file), *url])
    assert created.exit_code == 0, created.output
    listed = runner.invoke(app, ["scenario", "list", *url])
    assert "meer plekken" in listed.output
    shown = runner.invoke(app, ["scenario", "show", "meer plekken", *url])
    assert json.loads(shown.stdout)["changes"][0]["places"] == 10
    common = ["--months", "12", "--runs", "40", "--start", "2027-01", *url]
    compared = runner.invoke(app, ["scenario", "compare", "meer plekken", *common])
    assert compared.exit_code == 0, compared.output
    out = tmp_path / "cmp.csv"
    exported = runner.invoke(
        app, ["scenario", "export", "meer plekken", "--out", str(out), *common]
    )
    assert exported.exit_code == 0, exported.output
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines(), delimiter=";"))
    inflow = [r for r in rows if r["output"] == "inflow" and r["level"] == "total"]
    # this small region's monthly inflow is below the small-cell threshold: every month is
    # hidden, flagged and without figures; the shortfall (20 % more inflow) is shown and grows
    assert inflow and all(r["hidden"] == "True" and r["base_p50"] == "" for r in inflow)
    shortfall = [r for r in rows if r["output"] == "shortfall" and r["level"] == "total"]
    assert shortfall and all(r["hidden"] == "False" for r in shortfall)
    assert all(int(r["scenario_p50"]) >= int(r["base_p50"]) for r in shortfall)


@pytest.mark.parametrize(
    ("change", "field"),
    [*BAD_CHANGES, ({"kind": "inflow_factor", "factor": -1}, "factor")],
)
def test_bad_scenario_fails_naming_the_field_and_stores_nothing(
    region: str, tmp_path: Path, change: dict, field: str
) -> None:
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"name": "slecht", "changes": [change]}), encoding="utf-8")
    result = runner.invoke(app, ["scenario", "create", str(file), "--database-url", region])
    assert result.exit_code == 1
    assert field in result.output
    assert _count_scenarios(region) == 0


def test_unknown_scenario_and_bad_json(region: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["project", "--scenario", "nope", "--months", "6", "--runs", "5",
              "--database-url", region],
    )  # fmt: skip
    assert result.exit_code == 1 and "onbekend scenario" in result.output
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    result = runner.invoke(app, ["scenario", "create", str(bad), "--database-url", region])
    assert result.exit_code == 1 and "geen geldige JSON" in result.output
