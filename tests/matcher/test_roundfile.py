"""Round files: round trip, schema validity, and a named error for every bad case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from matcher.problem import InvalidRound, Round, UnknownHousingType
from matcher.roundfile import (
    dump_round_file,
    load_round_file,
    round_file_schema,
    round_to_data,
)
from tests.matcher.strategies import make_option, make_round, make_youth, rounds


def _shapes(rnd: Round) -> list[list[str]]:
    return [[g.wkt for g in y.no_go_polygons] for y in rnd.youths]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=5, fixed=True))
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, rnd: Round) -> None:
    path = tmp_path_factory.mktemp("rf") / "round.json"
    dump_round_file(rnd, path)
    jsonschema.validate(json.loads(path.read_text()), round_file_schema())
    back = load_round_file(path)
    # Geometry compares by WKT; everything else by value.
    assert _shapes(back) == _shapes(rnd)
    strip = [y.__class__(**{**_fields(y), "no_go_polygons": ()}) for y in rnd.youths]
    strip_back = [y.__class__(**{**_fields(y), "no_go_polygons": ()}) for y in back.youths]
    assert strip_back == strip
    assert back.options == rnd.options
    assert back.types == rnd.types
    assert back.contingents == rnd.contingents
    assert back.policy == rnd.policy
    assert (back.month, back.move_in, back.seed) == (rnd.month, rnd.move_in, rnd.seed)
    assert back.fixed_pairs == rnd.fixed_pairs
    assert back.forbidden_pairs == rnd.forbidden_pairs
    assert back.gemeente_caps == rnd.gemeente_caps


def _fields(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__slots__}


def _good() -> dict[str, Any]:
    rnd = make_round(
        [make_youth("J-1"), make_youth("J-2")],
        [make_option("O-1"), make_option("O-2", corporation=None)],
        fixed_pairs=(("J-1", "O-1"),),
    )
    return round_to_data(rnd)


def _write(tmp_path: Path, data: Any, raw: str | None = None) -> Path:
    path = tmp_path / "round.json"
    path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    return path


def test_good_file_loads_and_policy_date_is_an_alternative(tmp_path: Path) -> None:
    data = _good()
    assert len(load_round_file(_write(tmp_path, data)).youths) == 2
    del data["policy"]
    data["policy_date"] = "2025-03-01"
    assert load_round_file(_write(tmp_path, data)).policy.kwaliteitskortingsgrens == 477.20


def test_unknown_type_names_the_option(tmp_path: Path) -> None:
    data = _good()
    data["options"][1]["type_code"] = "iglo"
    with pytest.raises(InvalidRound, match=r"options\[1\] \(O-2\).*iglo") as err:
        load_round_file(_write(tmp_path, data))
    assert isinstance(err.value, UnknownHousingType)


def test_unknown_accepted_type_names_the_youth(tmp_path: Path) -> None:
    data = _good()
    data["youths"][0]["accepted_types"] = ["kma", "iglo"]
    with pytest.raises(InvalidRound, match=r"J-1.*iglo"):
        load_round_file(_write(tmp_path, data))


def test_negative_capacity_names_the_option(tmp_path: Path) -> None:
    data = _good()
    data["options"][0]["capacity"] = -1
    with pytest.raises(InvalidRound, match=r"options\[0\] \(O-1\).*capacity"):
        load_round_file(_write(tmp_path, data))


def test_option_without_location_names_the_option(tmp_path: Path) -> None:
    data = _good()
    del data["options"][1]["x"]
    with pytest.raises(InvalidRound, match=r"options\[1\] \(O-2\)"):
        load_round_file(_write(tmp_path, data))


def test_contingent_for_unknown_corporation(tmp_path: Path) -> None:
    data = _good()
    data["contingents"].append(
        {"corporation": "WC-X", "gemeente_code": "GM0796", "year": 2026, "amount": 3}
    )
    with pytest.raises(InvalidRound, match=r"contingents\[1\] \(WC-X/GM0796/2026\).*WC-X"):
        load_round_file(_write(tmp_path, data))
    # Listed in `corporations` (owning no option yet): known.
    data["corporations"].append("WC-X")
    assert len(load_round_file(_write(tmp_path, data)).contingents) == 2


def test_youth_with_no_accepted_type_names_the_youth(tmp_path: Path) -> None:
    data = _good()
    data["youths"][1]["accepted_types"] = []
    with pytest.raises(InvalidRound, match=r"youths\[1\] \(J-2\)"):
        load_round_file(_write(tmp_path, data))


@pytest.mark.parametrize("key", ["fixed_pairs", "forbidden_pairs"])
def test_unknown_codes_in_pairs(tmp_path: Path, key: str) -> None:
    data = _good()
    data[key] = [{"youth": "J-9", "option": "O-1"}]
    with pytest.raises(InvalidRound, match=rf"{key}\[0\].*onbekende jongere 'J-9'"):
        load_round_file(_write(tmp_path, data))
    data[key] = [{"youth": "J-1", "option": "O-9"}]
    with pytest.raises(InvalidRound, match=rf"{key}\[0\].*onbekende woning 'O-9'"):
        load_round_file(_write(tmp_path, data))


def test_malformed_json(tmp_path: Path) -> None:
    with pytest.raises(InvalidRound, match=r"geen geldige JSON.*regel 1"):
        load_round_file(_write(tmp_path, None, raw='{"month": "2026-12-01",'))


def test_bad_no_go_wkt_names_the_youth(tmp_path: Path) -> None:
    data = _good()
    data["youths"][0]["no_go_wkt"] = ["POLYGON ((0 0, 1 1"]
    with pytest.raises(InvalidRound, match=r"youths\[0\] \(J-1\).*WKT"):
        load_round_file(_write(tmp_path, data))


def test_solve_from_file_is_deterministic(tmp_path: Path) -> None:
    from matcher.solve import solve

    path = _write(tmp_path, _good())
    first = solve(load_round_file(path), seed=3).to_json()
    assert solve(load_round_file(path), seed=3).to_json() == first
    assert json.loads(first)["assignment"]["J-1"] == "O-1"


def test_month_budget_round_trips_and_a_negative_one_names_the_contingent(
    tmp_path: Path,
) -> None:
    data = _good()
    data["contingents"][0]["month_budget"] = 2
    rnd = load_round_file(_write(tmp_path, data))
    assert rnd.contingents[0].month_budget == 2
    back = load_round_file(_write(tmp_path, round_to_data(rnd)))
    assert back.contingents == rnd.contingents
    data["contingents"][0]["month_budget"] = -1
    with pytest.raises(InvalidRound, match=r"contingents\[0\].*month_budget"):
        load_round_file(_write(tmp_path, data))
