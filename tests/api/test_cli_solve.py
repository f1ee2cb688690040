"""`stek solve` on a round file and from the database: a verified, reproducible proposal."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.cli import app
from fixtures.generate import generate_region, to_round
from matcher.roundfile import dump_round_file, load_round_file, round_to_data
from matcher.verifier import verify
from tests.matcher.strategies import make_option, make_round, make_youth

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
    assert result.exit_code == 2
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
    assert result.exit_code == 2
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
    assert result.exit_code == 2 and "lente" in result.output
    result = runner.invoke(app, ["solve", str(_small_round_file(tmp_path)), "--pacing", "budget"])
    assert result.exit_code == 2 and "--month" in result.output


# --------------------------------------------------------------------------- hostile round files


def _good_data() -> dict[str, Any]:
    rnd = make_round(
        [make_youth("J-1"), make_youth("J-2")],
        [make_option("O-1"), make_option("O-2", corporation=None)],
    )
    return round_to_data(rnd)


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], bytes]:
    def change(data: dict[str, Any]) -> bytes:
        node: Any = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = "@@VALUE@@"
        return json.dumps(data).replace('"@@VALUE@@"', value).encode("utf-8")

    return change


def _text(change: Callable[[str], str]) -> Callable[[dict[str, Any]], bytes]:
    return lambda data: change(json.dumps(data)).encode("utf-8")


BOW_TIE = '"POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))"'
HOSTILE_FILES = {
    "nan-rent": (
        _set(["options", 0, "kale_huur"], "NaN"),
        "options[0] (O-1), veld options.0.kale_huur: NaN is geen getal",
    ),
    "nan-coordinate": (
        _set(["options", 1, "y"], "NaN"),
        "options[1] (O-2), veld options.1.y: NaN",
    ),
    "infinite-income": (
        _set(["youths", 0, "income"], "Infinity"),
        "youths[0] (J-1), veld youths.0.income: oneindig",
    ),
    "huge-capacity": (
        _set(["options", 0, "capacity"], "1e308"),
        "veld options.0.capacity: 1e+308 ligt buiten het bereik (toegestaan: minimaal 0,"
        " hoogstens 100)",
    ),
    "huge-contingent": (
        _set(["contingents", 0, "amount"], "1e308"),
        "veld contingents.0.amount: 1e+308 ligt buiten het bereik",
    ),
    "impossible-date": (
        _set(["youths", 1, "birth_date"], '"2006-02-30"'),
        "youths[1] (J-2), veld youths.1.birth_date: '2006-02-30' is geen bestaande datum",
    ),
    "latin-1": (
        lambda data: json.dumps(
            {**data, "meta": {"plaats": "Sint-Michielsgestel é"}}, ensure_ascii=False
        ).encode("latin-1"),
        "is geen UTF-8: byte 0xE9",
    ),
    "utf-16": (lambda data: json.dumps(data).encode("utf-16"), "is UTF-16 gecodeerd"),
    "deep": (
        _set(["meta"], "[" * 100_000 + "]" * 100_000),
        "dieper genest dan 32 niveaus",
    ),
    "duplicate-key": (
        _text(lambda t: t.replace('"youths": [', '"youths": [], "youths": [', 1)),
        "veld youths: sleutel 'youths' komt meer dan eens voor",
    ),
    "month-not-first": (
        _set(["month"], '"2026-01-15"'),
        "veld month: 2026-01-15 is niet de eerste dag van een maand",
    ),
    "born-after-round": (
        _set(["youths", 0, "birth_date"], '"2026-03-01"'),
        "youths[0] (J-1), veld youths.0.birth_date: geboortedatum 2026-03-01 ligt na de"
        " rondemaand 2026-01",
    ),
    "self-intersecting-no-go": (
        _set(["youths", 0, "no_go_wkt"], f"[{BOW_TIE}]"),
        "youths[0] (J-1), veld youths.0.no_go_wkt: getekend gebied 1: de rand van het no-go-gebied "
        "snijdt zichzelf",
    ),
    "capacity-above-persons-max": (
        _set(["options", 0, "capacity"], "3"),
        "options[0] (O-1), veld options.0.capacity: capaciteit 3 is meer dan persons_max 1",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_FILES))
def test_solve_refuses_hostile_round_files_with_exit_2_and_no_traceback(
    tmp_path: Path, case: str
) -> None:
    make_bytes, message = HOSTILE_FILES[case]
    round_file = tmp_path / "round.json"
    round_file.write_bytes(make_bytes(_good_data()))
    out = tmp_path / "result.json"
    result = runner.invoke(app, ["solve", str(round_file), "--out", str(out)])
    output = " ".join(result.output.split())  # rich wraps long lines
    assert result.exit_code == 2, output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in output
    assert "Fout: rondebestand" in output
    assert message in output
    assert not out.exists()


def test_solve_result_file_is_strict_json(tmp_path: Path) -> None:
    round_file = tmp_path / "round.json"
    round_file.write_text(json.dumps(_good_data()), encoding="utf-8")
    out = tmp_path / "result.json"
    assert runner.invoke(app, ["solve", str(round_file), "--out", str(out)]).exit_code == 0

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the result file")

    assert json.loads(out.read_text(encoding="utf-8"), parse_constant=refuse)["housed"] == 2


# --------------------------------------------------------------------------- stek round export


def test_round_export_reproduces_solve_month(db_url: str, tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "load", "--database-url", db_url]).exit_code == 0
    round_file = tmp_path / "audit" / "round.json"
    args = ["round", "export", "--month", "2026-12", "--out", str(round_file)]
    result = runner.invoke(app, [*args, "--database-url", db_url])
    assert result.exit_code == 0, result.output
    assert "300 jongeren, 400 woonplekken" in " ".join(result.output.split())
    data = json.loads(round_file.read_text(encoding="utf-8"))
    assert data["month"] == "2026-12-01" and len(data["youths"]) == 300
    assert load_round_file(round_file).month == date(2026, 12, 1)
    outs = {}
    for name, source in (("file", [str(round_file)]), ("db", ["--month", "2026-12"])):
        out = tmp_path / f"{name}.json"
        args = ["solve", *source, "--database-url", db_url, "--time-limit", "10"]
        result = runner.invoke(app, [*args, "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs[name] = json.loads(out.read_text(encoding="utf-8"))
    assert outs["file"]["assignment"] == outs["db"]["assignment"]
    assert outs["file"]["housed"] == outs["db"]["housed"] > 0


@pytest.mark.parametrize("month", ["december", "2026-13", "2026"])
def test_round_export_bad_month_exits_2_in_dutch(tmp_path: Path, month: str) -> None:
    out = tmp_path / "round.json"
    result = runner.invoke(app, ["round", "export", "--month", month, "--out", str(out)])
    assert result.exit_code == 2
    assert f"maand {month!r} niet herkend; gebruik JJJJ-MM" in " ".join(result.output.split())
    assert not out.exists()
