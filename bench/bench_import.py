"""Benchmark: importing 20,000 options and 20,000 youths (SQLite or PostgreSQL).

Run:  .venv/bin/python -m bench.bench_import [--url URL] [--n 20000] [--source grid]

The URL must point to an empty database (it is migrated here); without --url a temporary SQLite
file is used. The synthetic region is a grid of 11 gemeenten × 8 wijken × 12 buurten. Printed
beside each import is a baseline measured in the same process: a bare bulk INSERT of the same
number of main-table rows, without reading, validating or child rows — the floor the importer
can approach.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from store.db import make_engine, make_sessionmaker, unit_of_work
from store.exporters import export_csv
from store.importers import import_file
from store.migrate import upgrade
from store.models import HousingOption, HousingType, Youth
from store.repository import load_round

GEMEENTEN = ["0796", "0828", "1948", "1721", "0757", "0845", "0865", "1991", "1982", "0755", "0797"]
W, B = 8, 12  # wijken per gemeente, buurten per wijk
SIZE = 1000.0  # buurt edge in metres
TODAY = date(2026, 3, 1)


def _geojson(features: list[str]) -> str:
    crs = '{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}}'
    body = ",\n".join(features)
    return f'{{"type": "FeatureCollection", "crs": {crs}, "features": [\n{body}\n]}}\n'


def _feature(props: str, x0: float, y0: float, x1: float, y1: float) -> str:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return (
        f'{{"type": "Feature", "properties": {{{props}}}, '
        f'"geometry": {{"type": "Polygon", "coordinates": [{ring}]}}}}'
    )


def write_region(folder: Path, n: int, seed: int = 1) -> None:
    """Synthetic grid region plus ``n`` options and ``n`` youths as import files."""
    rng = random.Random(seed)
    gm, wk, bu = [], [], []
    for g, code in enumerate(GEMEENTEN):
        gx, gy = 100000 + g * W * SIZE, 400000.0
        gm.append(_feature(f'"gemeentecode": "GM{code}"', gx, gy, gx + W * SIZE, gy + B * SIZE))
        for w in range(W):
            wx = gx + w * SIZE
            wk.append(_feature(f'"wijkcode": "WK{code}{w:02d}"', wx, gy, wx + SIZE, gy + B * SIZE))
            for b in range(B):
                by = gy + b * SIZE
                bu.append(
                    _feature(f'"buurtcode": "BU{code}{w:02d}{b:02d}"', wx, by, wx + SIZE, by + SIZE)
                )
    for name, features in (("gemeenten", gm), ("wijken", wk), ("buurten", bu)):
        (folder / f"{name}.geojson").write_text(_geojson(features))
    (folder / "organisations.csv").write_text(
        "code;name;kind;gemeentecode;synthetic\n"
        + "".join(f"GM{c};Gemeente {c};gemeente;GM{c};ja\n" for c in GEMEENTEN)
        + "".join(f"CORP{i};Corporatie {i};corporatie;;ja\n" for i in range(5))
    )
    (folder / "users.csv").write_text(
        "email;name;role;organisation;synthetic\n"
        + "".join(f"r{i}@example.nl;R {i};regisseur;GM0796;ja\n" for i in range(50))
    )
    (folder / "housing_types.csv").write_text(
        "code;name;min_age;max_age;zelfstandig;provider_contract;persons_min;persons_max;"
        "support_min;support_max\n"
        "kma;KmA;18;23;nee;nee;1;1;0;2\nfriends;Friends;18;27;ja;nee;2;3;0;1\n"
        "hf;Housing First;16;23;ja;ja;1;1;2;3\nmentor;Mentorhuis;15;21;nee;ja;1;4;1;3\n"
    )
    width, height = len(GEMEENTEN) * W * SIZE, B * SIZE
    types = ["kma", "friends", "hf", "mentor"]
    lines = [
        "option_id;type;corporatie;x;y;kale_huur;servicekosten;capacity;shared_house_id;"
        "available_from;synthetic"
    ]
    for i in range(n):
        x = 100000 + rng.uniform(1, width - 1)
        y = 400000 + rng.uniform(1, height - 1)
        t = types[i % 4]
        house = f"H{i // 3}" if t == "friends" else ""
        lines.append(
            f"OPT-{i:06d};{t};CORP{i % 5};{x:.1f};{y:.1f};{rng.uniform(350, 700):.2f};25,00;1;"
            f"{house};2026-01-01;ja"
        )
    (folder / "options.csv").write_text("\n".join(lines) + "\n")
    lines = [
        "youth_code;birth_date;gemeentecode;income;support_need;accepted_types;preferred_areas;"
        "anchors;no_go_codes;urgency;companions;regisseur;synthetic"
    ]
    for i in range(n):
        code = GEMEENTEN[i % len(GEMEENTEN)]
        birth = TODAY - timedelta(days=rng.randint(17 * 365, 26 * 365))
        accepted = "|".join(rng.sample(types, 2))
        pref = f"GM{code}|BU{code}{rng.randrange(W):02d}{rng.randrange(B):02d}"
        ax = 100000 + rng.uniform(1, width - 1)
        anchor = f"school@{ax:.0f},{400000 + rng.uniform(1, height - 1):.0f}"
        companion = f"J-{i + 1:06d}" if i % 50 == 0 and i + 1 < n else ""
        lines.append(
            f"J-{i:06d};{birth.isoformat()};GM{code};{rng.uniform(300, 1600):.2f};"
            f"{rng.randrange(4)};{accepted};{pref};{anchor};WK{code}0{rng.randrange(W)};"
            f"{rng.randint(1, 5)};{companion};r{i % 50}@example.nl;ja"
        )
    (folder / "youths.csv").write_text("\n".join(lines) + "\n")


def _fixture_region(folder: Path, n: int, scale: str) -> bool:
    """Write the demo generator's region of ``n`` × ``n`` when that generator exists."""
    try:
        from fixtures.generate import generate_region
        from fixtures.generate import write_region as write_fixture_region
    except ImportError:
        return False
    write_fixture_region(generate_region(n, n, seed=20261201, scale=scale), folder)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=None)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument(
        "--source",
        choices=["auto", "fixtures", "grid"],
        default="auto",
        help="fixtures.generate when available (auto), or the built-in grid region",
    )
    parser.add_argument("--scale", choices=["regional", "national"], default="national")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="stek-bench-"))
    url = args.url or f"sqlite:///{folder / 'bench.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    today: date | None = TODAY
    if args.source != "grid" and _fixture_region(folder, args.n, args.scale):
        today = None  # the generator's ages are meant for the real today
        source = f"fixtures.generate ({args.scale})"
    elif args.source == "fixtures":
        raise SystemExit("fixtures.generate is not available")
    else:
        write_region(folder, args.n)
        source = "grid"
    with unit_of_work(factory) as session:
        for kind, name in [
            ("areas", "gemeenten.geojson"),
            ("areas", "wijken.geojson"),
            ("areas", "buurten.geojson"),
            ("organisations", "organisations.csv"),
            ("users", "users.csv"),
            ("types", "housing_types.csv"),
        ]:
            import_file(session, kind, folder / name)

    def timed_import(kind: str, **kw: Any) -> float:
        start = time.perf_counter()
        with unit_of_work(factory) as session:
            report = import_file(session, kind, folder / f"{kind}.csv", **kw)
        assert report.inserted == args.n, report
        return time.perf_counter() - start

    def baseline(model: type, rows: list[dict[str, object]]) -> float:
        start = time.perf_counter()
        with unit_of_work(factory) as session:
            for i in range(0, len(rows), 1000):
                session.execute(insert(model), rows[i : i + 1000])
        elapsed = time.perf_counter() - start
        with unit_of_work(factory) as session:
            session.execute(delete(model).where(model.code.like("BASE-%")))  # type: ignore[attr-defined]
        return elapsed

    with factory() as session:
        type_id = session.scalars(select(HousingType.id).order_by(HousingType.id)).first()
    option_rows: list[dict[str, object]] = [
        {
            "code": f"BASE-{i}",
            "type_id": type_id,
            "gemeente_code": "GM0796",
            "x": 0.0,
            "y": 0.0,
            "kale_huur": 1.0,
            "servicekosten": 0.0,
            "capacity": 1,
            "available_from": TODAY,
            "status": "available",
            "synthetic": True,
        }
        for i in range(args.n)
    ]
    youth_rows: list[dict[str, object]] = [
        {
            "code": f"BASE-{i}",
            "birth_date": date(2006, 1, 1),
            "gemeente_code": "GM0796",
            "income": 1.0,
            "support_need": 0,
            "urgency": 1,
            "household_size": 1,
            "status": "waiting",
            "synthetic": True,
        }
        for i in range(args.n)
    ]
    base_options = baseline(HousingOption, option_rows)
    base_youths = baseline(Youth, youth_rows)
    t_options = timed_import("options")
    t_youths = timed_import("youths", today=today)
    start = time.perf_counter()
    with factory() as session:
        rnd = load_round(session, TODAY)
    t_round = time.perf_counter() - start
    assert len(rnd.youths) == len(rnd.options) == args.n
    start = time.perf_counter()
    with factory() as session:
        export_csv(session, "youths", folder / "youths.out.csv")
        export_csv(session, "options", folder / "options.out.csv")
    t_export = time.perf_counter() - start
    dialect = engine.dialect.name
    print(f"database: {dialect}, rows: {args.n} options + {args.n} youths, region: {source}")
    print(f"import options: {t_options:6.2f} s   (baseline bare INSERT: {base_options:5.2f} s)")
    print(f"import youths:  {t_youths:6.2f} s   (baseline bare INSERT: {base_youths:5.2f} s)")
    print(f"total:          {t_options + t_youths:6.2f} s")
    print(f"load_round:     {t_round:6.2f} s   export youths + options: {t_export:5.2f} s")
    engine.dispose()


if __name__ == "__main__":
    main()
