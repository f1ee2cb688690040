"""Hypothesis strategies and hand-building helpers for small, valid allocation rounds.

Shared by the matcher tests (eligibility, verifier, solver). The API is kept stable:

* ``rounds(max_youths=6, max_options=6, shared=True, contingents=True, forbidden=True,
  fixed=False, caps=True) -> SearchStrategy[Round]``
* ``make_round(youths, options, ...)``, ``make_youth(code, ...)``, ``make_option(code, ...)``,
  ``make_type(code, ...)`` and ``TYPES`` (a small synthetic menukaart) for hand-built cases.
* ``instance_of(round)``: the solver's array form of a round (screened and scored).

Values are drawn near the policy boundaries on purpose: ages around the type limits and the
young-tenant ages, birthdays on the move-in day, rents equal to the kwaliteitskortingsgrens and
the maximale huurgrens, option points on a 100 m grid so they fall on no-go polygon edges.
Everything generated is synthetic.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from hypothesis import strategies as st
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from matcher.policy_table import policy_at
from matcher.problem import (
    Anchor,
    Contingent,
    HousingType,
    Option,
    Policy,
    Round,
    Youth,
)

if TYPE_CHECKING:
    from matcher.instance import Instance


def make_type(code: str, **overrides: Any) -> HousingType:
    """A housing type with sensible defaults (zelfstandig single dwelling, 18-27)."""
    values: dict[str, Any] = {
        "code": code,
        "name": code,
        "min_age": 18,
        "max_age": 27,
        "zelfstandig": True,
        "provider_contract": False,
        "persons_min": 1,
        "persons_max": 1,
        "support_min": 0,
        "support_max": 3,
        "uses_contingent": True,
        "max_age_gap": None,
    }
    values.update(overrides)
    return HousingType(**values)


# A small synthetic menukaart covering every rule the matcher reads.
TYPES: tuple[HousingType, ...] = (
    make_type("urgentie", name="Urgentiewoning", support_max=2),
    make_type("kma", name="Kamers met Aandacht", max_age=23, zelfstandig=False, support_min=1),
    make_type(
        "friends", name="Friendswonen", persons_min=2, persons_max=3, support_max=2, max_age_gap=5
    ),
    make_type(
        "mentorhuis",
        name="Mentorhuis",
        min_age=16,
        max_age=21,
        zelfstandig=False,
        provider_contract=True,
        persons_max=2,
        support_min=1,
        uses_contingent=False,
    ),
    make_type(
        "bwlight",
        name="Beschermd wonen light",
        max_age=26,
        zelfstandig=False,
        persons_max=6,
        support_min=1,
        uses_contingent=False,
    ),
    make_type(
        "housingfirst",
        name="Housing First jongeren",
        min_age=16,
        max_age=23,
        provider_contract=True,
        support_min=3,
    ),
)
# Types with no house rule that can bind when capacity <= persons_max (pure flow rounds).
SINGLE_TYPES = tuple(t for t in TYPES if t.persons_min == 1 and t.max_age_gap is None)

GEMEENTEN = ("GM0796", "GM0828", "GM1948")
CORPORATIONS = ("WC-A", "WC-B")
X0, Y0 = 150_000.0, 410_000.0  # RD New, around 's-Hertogenbosch (synthetic points)
GRID = 100.0  # metres between grid points


def wijk_of(gemeente: str, k: int) -> str:
    return f"WK{gemeente[2:]}{k:02d}"


def buurt_of(wijk: str, k: int) -> str:
    return f"BU{wijk[2:]}{k:02d}"


def make_youth(code: str = "J-0001", **overrides: Any) -> Youth:
    """A youth with defaults: 22 on 2026-01-01, income 1,345, light support, any type."""
    values: dict[str, Any] = {
        "code": code,
        "birth_date": date(2003, 6, 1),
        "gemeente_code": "GM0796",
        "income": 1345.0,
        "support_need": 1,
        "accepted_types": tuple(t.code for t in TYPES),
    }
    values.update(overrides)
    return Youth(**values)


def make_option(code: str = "O-0001", **overrides: Any) -> Option:
    """An option with defaults: an urgentiewoning of WC-A in GM0796 at (150000, 410000)."""
    values: dict[str, Any] = {
        "code": code,
        "type_code": "urgentie",
        "corporation": "WC-A",
        "gemeente_code": "GM0796",
        "wijk_code": "WK079601",
        "buurt_code": "BU07960101",
        "x": X0,
        "y": Y0,
        "kale_huur": 450.0,
        "servicekosten": 20.0,
        "capacity": 1,
    }
    values.update(overrides)
    return Option(**values)


def make_round(
    youths: tuple[Youth, ...] | list[Youth] = (),
    options: tuple[Option, ...] | list[Option] = (),
    *,
    types: tuple[HousingType, ...] = TYPES,
    contingents: tuple[Contingent, ...] | list[Contingent] | None = None,
    month: date = date(2026, 1, 1),
    move_in: date | None = None,
    policy: Policy | None = None,
    **kwargs: Any,
) -> Round:
    """A round from hand-made parts.

    ``contingents=None`` adds one generous general contingent (amount 100) for every
    (corporation, gemeente) of the options in the move-in year, so hand-made cases are not
    blocked by a missing contingent unless they ask for it (pass ``()`` for none).
    """
    move_in = move_in or month
    if contingents is None:
        keys = sorted({(o.corporation, o.gemeente_code) for o in options if o.corporation})
        contingents = tuple(
            Contingent(corporation=c, gemeente_code=g, year=move_in.year, amount=100)
            for c, g in keys
        )
    return Round(
        month=month,
        move_in=move_in,
        types=tuple(types),
        options=tuple(options),
        youths=tuple(youths),
        contingents=tuple(contingents),
        policy=policy or policy_at(month),
        **kwargs,
    )


# ---------------------------------------------------------------------------------------------
# Hypothesis strategies


@st.composite
def _month(draw: st.DrawFn) -> date:
    return date(draw(st.integers(2024, 2026)), draw(st.integers(1, 12)), 1)


def _rent_values(policy: Policy) -> st.SearchStrategy[float]:
    boundaries = [
        policy.kwaliteitskortingsgrens,
        policy.aftoppingsgrens_1_2,
        policy.aftoppingsgrens_3plus,
        policy.maximale_huurgrens,
        policy.basishuur,
    ]
    return st.one_of(
        st.sampled_from(boundaries),
        st.sampled_from([0.0, 250.0, 300.0, 450.0, 520.0, 612.0, 950.0]),
        st.integers(150, 700).map(float),
    )


@st.composite
def _polygon(draw: st.DrawFn) -> BaseGeometry:
    """A square on the grid, sometimes with a square hole (points in the hole are allowed)."""
    i = draw(st.integers(-2, 8))
    j = draw(st.integers(-2, 8))
    size = draw(st.integers(1, 6))
    x0, y0 = X0 + i * GRID, Y0 + j * GRID
    outer = box(x0, y0, x0 + size * GRID, y0 + size * GRID)
    if size >= 3 and draw(st.booleans()):
        hole = box(x0 + GRID, y0 + GRID, x0 + (size - 1) * GRID, y0 + (size - 1) * GRID)
        return Polygon(outer.exterior.coords, [hole.exterior.coords])
    if draw(st.booleans()):
        # A triangle: its bounding box holds points that lie outside it.
        return Polygon([(x0, y0), (x0 + size * GRID, y0), (x0, y0 + size * GRID)])
    return outer


def _point() -> st.SearchStrategy[tuple[float, float]]:
    return st.tuples(st.integers(0, 8), st.integers(0, 8)).map(
        lambda ij: (X0 + ij[0] * GRID, Y0 + ij[1] * GRID)
    )


@st.composite
def _area(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    gm = draw(st.sampled_from(GEMEENTEN))
    wk = wijk_of(gm, draw(st.integers(1, 2)))
    bu = buurt_of(wk, draw(st.integers(1, 2)))
    level = draw(st.integers(0, 4))
    # Wijk and buurt are sometimes unknown (None), as in imported data.
    return gm, (wk if level != 0 else None), (bu if level >= 2 else None)


@st.composite
def rounds(
    draw: st.DrawFn,
    max_youths: int = 6,
    max_options: int = 6,
    shared: bool = True,
    contingents: bool = True,
    forbidden: bool = True,
    fixed: bool = False,
    caps: bool = True,
) -> Round:
    """A small random valid round.

    ``shared=False``: no shared houses, companions or conflicts, and only types whose house rules
    cannot bind (persons_min 1, no age gap, capacity <= persons_max): a pure flow problem.
    ``contingents=False``: no contingents and every option provider-owned (corporation None).
    ``fixed=True`` adds a few fixed pairs, drawn at random (they may be ineligible or conflict).
    """
    month = draw(_month())
    move_in = month + timedelta(days=draw(st.sampled_from([0, 0, 14, 27])))
    policy = policy_at(month)
    types = TYPES if shared else SINGLE_TYPES
    type_codes = [t.code for t in types]
    types_by_code = {t.code: t for t in types}

    n_options = draw(st.integers(0, max_options))
    options: list[Option] = []
    houses = [f"H-{k}" for k in range(max(1, n_options // 2))]
    for k in range(n_options):
        t = types_by_code[draw(st.sampled_from(type_codes))]
        gm, wk, bu = draw(_area())
        x, y = draw(_point())
        corporation = draw(st.sampled_from([*CORPORATIONS, None])) if contingents else None
        house = None
        if shared and t.persons_max > 1 and draw(st.booleans()):
            house = draw(st.sampled_from(houses))
        # Half the options are plain (available, a place, modest rent) so rounds have eligible
        # pairs; the others probe the boundaries.
        easy = draw(st.booleans())
        capacity = min(draw(st.sampled_from([1, 2] if easy else [1, 2, 0])), t.persons_max)
        rent = draw(st.sampled_from([250.0, 300.0, 350.0]) if easy else _rent_values(policy))
        days = draw(st.just(0) if easy else st.sampled_from([0, -30, 1]))
        options.append(
            Option(
                code=f"O-{k:03d}",
                type_code=t.code,
                corporation=corporation,
                gemeente_code=gm,
                wijk_code=wk,
                buurt_code=bu,
                x=x,
                y=y,
                kale_huur=rent,
                servicekosten=draw(st.sampled_from([0.0, 0.0, 15.0, 45.5, 80.0])),
                capacity=capacity,
                shared_house_id=house,
                available_from=move_in + timedelta(days=days),
            )
        )
    # A shared house lies at one address in one area: align members with the first one.
    first_of: dict[str, Option] = {}
    for k, o in enumerate(options):
        if o.shared_house_id is None:
            continue
        head = first_of.setdefault(o.shared_house_id, o)
        options[k] = replace(
            o,
            gemeente_code=head.gemeente_code,
            wijk_code=head.wijk_code,
            buurt_code=head.buurt_code,
            x=head.x,
            y=head.y,
        )

    n_youths = draw(st.integers(0, max_youths))
    codes = [f"J-{k:03d}" for k in range(n_youths)]
    all_areas = sorted(
        {c for o in options for c in o.area_codes} | set(GEMEENTEN) | {wijk_of(GEMEENTEN[0], 1)}
    )
    youths: list[Youth] = []
    for code in codes:
        # Half the youths are plain (19-23, light support, good income, every type, no limits)
        # so rounds have eligible pairs; the others probe the boundaries.
        easy = draw(st.booleans())
        age = draw(st.integers(19, 23) if easy else st.integers(15, 28))
        # Birthdays close to the move-in day (on it, just before, just after).
        offset = draw(st.sampled_from([-120, 0, -1, 1, 150]))
        birth = date(move_in.year - age, move_in.month, move_in.day) + timedelta(days=offset)
        accepted = draw(
            st.permutations(type_codes)
            if easy
            else st.lists(
                st.sampled_from(type_codes), min_size=1, max_size=len(type_codes), unique=True
            )
        )
        anchors = tuple(
            Anchor(label=f"a{i}", x=p[0], y=p[1])
            for i, p in enumerate(draw(st.lists(_point(), max_size=2)))
        )
        others = [c for c in codes if c != code]
        companions: tuple[str, ...] = ()
        conflicts: tuple[str, ...] = ()
        if shared and others:
            companions = tuple(draw(st.lists(st.sampled_from(others), max_size=1, unique=True)))
            conflicts = tuple(draw(st.lists(st.sampled_from(others), max_size=1, unique=True)))
        youths.append(
            Youth(
                code=code,
                birth_date=birth,
                gemeente_code=draw(st.sampled_from(GEMEENTEN)),
                income=draw(
                    st.integers(1500, 3000).map(float)
                    if easy
                    else st.one_of(
                        st.sampled_from([0.0, 330.0, 1050.0, 1345.0, 2500.0]),
                        st.integers(0, 3000).map(float),
                    )
                ),
                support_need=draw(st.just(1) if easy else st.integers(0, 3)),
                accepted_types=tuple(accepted),
                preferred_areas=tuple(
                    draw(st.lists(st.sampled_from(all_areas), max_size=2, unique=True))
                ),
                anchors=anchors,
                no_go_codes=tuple(
                    draw(
                        st.lists(st.sampled_from(all_areas), max_size=0 if easy else 2, unique=True)
                    )
                ),
                no_go_polygons=tuple(draw(st.lists(_polygon(), max_size=0 if easy else 2))),
                urgency=draw(st.integers(1, 5)),
                care_end_date=draw(
                    st.one_of(
                        st.none(), st.integers(-60, 180).map(lambda d: move_in + timedelta(d))
                    )
                ),
                waiting_since=draw(
                    st.one_of(st.none(), st.integers(1, 700).map(lambda d: move_in - timedelta(d)))
                ),
                companions=companions,
                conflicts=conflicts,
                max_rent=draw(
                    st.none() if easy else st.one_of(st.none(), st.sampled_from([400.0, 470.0]))
                ),
                household_size=draw(st.sampled_from([1, 1, 1, 2, 3])),
                max_distance_m=draw(
                    st.sampled_from([None, 1000.0] if easy else [None, 150.0, 300.0, 1000.0])
                ),
            )
        )
    # Companions are symmetric (the importer makes them so).
    comp: dict[str, set[str]] = {yo.code: set(yo.companions) for yo in youths}
    for yo in youths:
        for c in yo.companions:
            comp[c].add(yo.code)
    youths = [replace(yo, companions=tuple(sorted(comp[yo.code]))) for yo in youths]

    cont: list[Contingent] = []
    if contingents:
        keys = sorted({(o.corporation, o.gemeente_code) for o in options if o.corporation})
        for corp, gm in keys:
            if draw(st.integers(0, 4)) == 0:
                continue  # sometimes missing: those options are ineligible
            typed = draw(st.one_of(st.none(), st.sampled_from(type_codes)))
            cont.append(
                Contingent(
                    corporation=corp,
                    gemeente_code=gm,
                    year=move_in.year,
                    amount=draw(st.integers(0, 3)),
                    type_code=typed,
                    used=draw(st.integers(0, 1)),
                )
            )
            if typed is not None and draw(st.booleans()):
                cont.append(
                    Contingent(
                        corporation=corp,
                        gemeente_code=gm,
                        year=move_in.year,
                        amount=draw(st.integers(0, 2)),
                    )
                )

    pairs = [(yo.code, o.code) for yo in youths for o in options]
    forbidden_pairs: tuple[tuple[str, str], ...] = ()
    if forbidden and pairs:
        forbidden_pairs = tuple(draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True)))
    fixed_pairs: tuple[tuple[str, str], ...] = ()
    if fixed and pairs:
        fixed_pairs = tuple(draw(st.lists(st.sampled_from(pairs), max_size=2, unique=True)))
    gemeente_caps: tuple[tuple[str, int], ...] = ()
    if caps:
        gemeente_caps = tuple(
            (gm, draw(st.integers(0, 3)))
            for gm in draw(st.lists(st.sampled_from(GEMEENTEN), max_size=1, unique=True))
        )
    return Round(
        month=month,
        move_in=move_in,
        types=types,
        options=tuple(options),
        youths=tuple(youths),
        contingents=tuple(cont),
        policy=policy,
        fixed_pairs=fixed_pairs,
        forbidden_pairs=forbidden_pairs,
        gemeente_caps=gemeente_caps,
        seed=draw(st.integers(0, 3)),
    )


def instance_of(rnd: Round) -> Instance:
    """The solver's array form of ``rnd``: canonical order, screened, scored (default seed)."""
    from matcher.instance import build_instance
    from matcher.rules import screen
    from matcher.scoring import pair_values
    from matcher.solve import canonical_round

    canon = canonical_round(rnd)
    sc = screen(canon)
    pv = pair_values(canon, sc)
    return build_instance(
        canon, sc.youth_idx, sc.option_idx, pv.value, pv.urgency, sc.option_contingent
    )


def placed_codes(inst: Instance, assign: np.ndarray) -> dict[str, str]:
    """Youth code -> option code of an assignment (youth index -> option index, -1 unplaced)."""
    return {
        inst.youth_codes[y]: inst.option_codes[o] for y, o in enumerate(assign.tolist()) if o >= 0
    }


def assignment_of_codes(inst: Instance, placed: dict[str, str]) -> np.ndarray:
    """The assignment (youth index -> option index, -1 unplaced) of youth code -> option code."""
    assign = np.full(inst.n_youths, -1, dtype=np.int64)
    for y, o in placed.items():
        assign[inst.youth_codes.index(y)] = inst.option_codes.index(o)
    return assign
