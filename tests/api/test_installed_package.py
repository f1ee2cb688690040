"""stek works as an installed package, not only from a development checkout (issue 15).

A wheel is built from a copy of the checkout and installed into an empty folder with
``pip install --target``; the CLI then runs from that folder (first on ``PYTHONPATH``, working
directory outside the checkout) against a fresh SQLite database: ``db upgrade``, ``demo load``,
``round export`` and ``solve`` of the exported file. Each step checks that the installed copy,
not the checkout, was imported. This catches data files a wheel lacks (the round-file schema,
the demo region, the migrations, templates).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("matcher", "supply", "store", "api", "maps", "fixtures")
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")

pytestmark = pytest.mark.slow


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package installed from a wheel of the checkout, in a folder of its own."""
    base = tmp_path_factory.mktemp("installed")
    # Build from a copy: an in-tree build would write build/ into the shared checkout.
    source = base / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=SKIP)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    wheels = base / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), "."],
        cwd=source,
        env=env,
    )
    (wheel,) = wheels.glob("stek-*.whl")
    target = base / "site"
    _run(
        [*pip, "install", "--no-deps", "-q", "--target", str(target), str(wheel)], cwd=base, env=env
    )
    return target


def test_installed_wheel_runs_upgrade_demo_export_and_solve(
    installed: Path, tmp_path: Path
) -> None:
    work = tmp_path / "elsewhere"  # outside the checkout: nothing is found relative to it
    work.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(installed),
        "STEK_DATABASE_URL": f"sqlite:///{tmp_path / 'stek.db'}",
    }
    env.pop("PYTHONSAFEPATH", None)

    where = _run(
        [
            sys.executable,
            "-c",
            "import api.cli, matcher.roundfile as r, fixtures, store.migrate as m; "
            "print(api.cli.__file__); print(r.__file__); print(api.cli.DEMO_DIR); "
            "print(m.MIGRATIONS); print(len(r.round_file_schema()['$defs']))",
        ],
        cwd=work,
        env=env,
    ).split()
    assert all(Path(p).is_relative_to(installed) for p in where[:4]), where
    assert not any(Path(p).is_relative_to(ROOT) for p in where[:4])
    assert int(where[4]) > 5

    stek = [sys.executable, "-m", "api.cli"]
    out = _run([*stek, "db", "upgrade"], cwd=work, env=env)
    assert "Database bijgewerkt" in out
    out = _run([*stek, "demo", "load"], cwd=work, env=env)
    assert "Demoregio geladen" in out
    out = _run(
        [*stek, "round", "export", "--month", "2026-12", "--out", "ROUND.json"], cwd=work, env=env
    )
    assert "Rondebestand 2026-12 geschreven" in out
    round_data = json.loads((work / "ROUND.json").read_text(encoding="utf-8"))
    assert len(round_data["youths"]) == 300 and len(round_data["options"]) == 400
    out = _run(
        [*stek, "solve", "ROUND.json", "--out", "RESULT.json", "--time-limit", "20"],
        cwd=work,
        env=env,
    )
    assert "gehuisvest" in out

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in RESULT.json")

    result = json.loads((work / "RESULT.json").read_text(encoding="utf-8"), parse_constant=refuse)
    assert result["youths"] == 300
    assert result["housed"] == len(result["assignment"]) > 0

    # The console script of the wheel is there and points at the same code.
    script = installed / "bin" / "stek"
    assert "api.cli" in script.read_text(encoding="utf-8")
