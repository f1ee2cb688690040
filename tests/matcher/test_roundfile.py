"""Round files: round trip, schema validity, and a named error for every bad case."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from shapely.geometry import Polygon

from matcher.policy_table import policy_at
from matcher.problem import Anchor, Contingent, InvalidRound, Round, UnknownHousingType
from matcher.records import SIMPLE_CODE, YouthFields
from matcher.roundfile import (
    dump_round_file,
    load_round_file,
    round_file_schema,
    round_from_data,
    round_to_data,
    stock_from_snapshot,
)
from matcher.roundfile_models import generated_schema, schema_text
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


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds(max_youths=5, max_options=5, fixed=True))
def test_the_housing_side_of_a_snapshot_is_the_round_without_young_people(rnd: Round) -> None:
    """Finalising reads options, types, contingents and policy only (no personal fields)."""
    data = round_to_data(rnd)
    stock = stock_from_snapshot(data)
    assert stock.youths == () and stock.fixed_pairs == () and stock.forbidden_pairs == ()
    assert stock.options == rnd.options
    assert stock.types == rnd.types
    assert stock.contingents == rnd.contingents
    assert (stock.policy, stock.move_in, stock.month) == (rnd.policy, rnd.move_in, rnd.month)
    assert data["youths"] == round_to_data(rnd)["youths"]  # the stored snapshot is untouched


def test_a_broken_snapshot_is_refused_by_the_housing_reader_too() -> None:
    with pytest.raises(InvalidRound):
        stock_from_snapshot([])
    data = round_to_data(make_round([make_youth("Y1")], [make_option("O1", kale_huur=400.0)]))
    data["options"][0]["x"] = float("nan")
    with pytest.raises(InvalidRound, match="NaN"):
        stock_from_snapshot(data)


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


# --------------------------------------------------------------------------- hostile round files
# Each case below got through (or ended in a traceback) before the checks of issue 15.


def _raw_write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "round.json"
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


def _with_literal(data: dict[str, Any], path: list[str | int], literal: str) -> str:
    """The JSON text of ``data`` with the value at ``path`` replaced by a raw JSON literal."""
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "@@LITERAL@@"
    return json.dumps(data).replace('"@@LITERAL@@"', literal)


def _good_with_anchor() -> dict[str, Any]:
    data = _good()
    data["youths"][0]["anchors"] = [{"label": "school", "x": 150_100.0, "y": 410_100.0}]
    data["youths"][0]["max_rent"] = 600.0
    return data


NON_FINITE_CASES = [
    (["options", 0, "kale_huur"], r"options\[0\] \(O-1\), veld options\.0\.kale_huur"),
    (["options", 1, "x"], r"options\[1\] \(O-2\), veld options\.1\.x"),
    (["youths", 0, "income"], r"youths\[0\] \(J-1\), veld youths\.0\.income"),
    (["youths", 0, "max_rent"], r"youths\[0\] \(J-1\), veld youths\.0\.max_rent"),
    (["youths", 0, "anchors", 0, "y"], r"youths\[0\] \(J-1\), veld youths\.0\.anchors\.0\.y"),
    (["policy", "basishuur"], r"bij policy, veld policy\.basishuur"),
]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize(("path", "named"), NON_FINITE_CASES)
def test_non_finite_numbers_are_refused_naming_record_and_field(
    tmp_path: Path, literal: str, path: list[str | int], named: str
) -> None:
    text = _with_literal(_good_with_anchor(), path, literal)
    with pytest.raises(InvalidRound, match=named + r": (NaN|oneindig).*eindige getallen"):
        load_round_file(_raw_write(tmp_path, text))


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["options", 0, "capacity"], "hoogstens 100"),
        (["contingents", 0, "amount"], "hoogstens 100000"),
        (["contingents", 0, "used"], "hoogstens 100000"),
        (["contingents", 0, "month_budget"], "hoogstens 100000"),
        (["seed"], "hoogstens 2147483647"),
        (["options", 0, "kale_huur"], "hoogstens 1000000"),
        (["options", 0, "y"], "hoogstens 10000000"),
        (["youths", 0, "household_size"], "hoogstens 20"),
    ],
)
@pytest.mark.parametrize("literal", ["1e308", "100000000000000000000000000000"])
def test_huge_numbers_are_refused_saying_what_is_allowed(
    tmp_path: Path, path: list[str | int], allowed: str, literal: str
) -> None:
    field = r"\.".join(str(p) for p in path)
    text = _with_literal(_good(), path, literal)
    with pytest.raises(InvalidRound, match=rf"veld {field}: .*buiten het bereik.*{allowed}"):
        load_round_file(_raw_write(tmp_path, text))


def test_integer_of_thousands_of_digits_is_refused_without_traceback(tmp_path: Path) -> None:
    text = _with_literal(_good(), ["options", 0, "capacity"], "9" * 5000)
    with pytest.raises(InvalidRound, match="geen bruikbare JSON"):
        load_round_file(_raw_write(tmp_path, text))


def test_fractional_capacity_is_refused(tmp_path: Path) -> None:
    data = _good()
    data["options"][0]["capacity"] = 1.5
    with pytest.raises(InvalidRound, match=r"options\.0\.capacity: verwacht een geheel getal"):
        load_round_file(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("path", "named"),
    [
        (["youths", 1, "birth_date"], r"youths\[1\] \(J-2\), veld youths\.1\.birth_date"),
        (["youths", 0, "care_end_date"], r"youths\[0\] \(J-1\), veld youths\.0\.care_end_date"),
        (
            ["options", 0, "available_from"],
            r"options\[0\] \(O-1\), veld options\.0\.available_from",
        ),
        (["month"], r"bij month, veld month"),
        (["move_in"], r"bij move_in, veld move_in"),
        (["policy", "valid_from"], r"bij policy, veld policy\.valid_from"),
    ],
)
def test_impossible_calendar_dates_are_refused(
    tmp_path: Path, path: list[str | int], named: str
) -> None:
    data = _good()
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = "2006-02-30"
    with pytest.raises(InvalidRound, match=named + r": '2006-02-30' is geen bestaande datum"):
        load_round_file(_write(tmp_path, data))


def test_latin1_file_is_refused_as_not_utf8(tmp_path: Path) -> None:
    data = _good()
    data["meta"] = {"regio": "Noordoost-Brabant, ’s-Hertogenbosch café"}
    text = json.dumps(data, ensure_ascii=False).replace("’", "'")
    with pytest.raises(InvalidRound, match=r"geen UTF-8: byte 0xE9 op regel 1 \(Latin-1"):
        load_round_file(_raw_write(tmp_path, text.encode("latin-1")))


@pytest.mark.parametrize(
    ("encoding", "said"),
    [
        ("utf-16", "is UTF-16 gecodeerd"),
        ("utf-16-le", "lijkt UTF-16 of UTF-32"),
        ("utf-16-be", "lijkt UTF-16 of UTF-32"),
        ("utf-32", "is UTF-32 gecodeerd"),
    ],
)
def test_utf16_and_utf32_files_are_refused_by_name(
    tmp_path: Path, encoding: str, said: str
) -> None:
    text = json.dumps(_good())
    with pytest.raises(InvalidRound, match=said + ".*sla het op als UTF-8"):
        load_round_file(_raw_write(tmp_path, text.encode(encoding)))


def test_utf8_with_bom_is_accepted(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbf" + json.dumps(_good()).encode("utf-8")
    assert len(load_round_file(_raw_write(tmp_path, raw)).youths) == 2


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_json_nested_100000_deep_is_refused_without_recursion_error(
    tmp_path: Path, opener: str
) -> None:
    closer = "]" if opener == "[" else "}"
    deep = opener * 100_000 + "1" + closer * 100_000
    text = _with_literal(_good(), ["meta"], deep)
    with pytest.raises(InvalidRound, match="dieper genest dan 32 niveaus"):
        load_round_file(_raw_write(tmp_path, text))


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    data = _good()
    data["meta"] = {"note": "[" * 1000 + '\\"{' * 100}
    assert load_round_file(_write(tmp_path, data)).meta["note"].startswith("[[[")


def test_deeply_nested_data_built_in_code_is_refused_without_recursion_error() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    data = _good()
    data["meta"] = {"x": deep}
    with pytest.raises(InvalidRound, match=r"veld meta\.x\.0\..*dieper genest dan 32"):
        round_from_data(data)


@pytest.mark.parametrize(
    ("text_of", "named"),
    [
        (
            lambda t: t.replace('"youths": [', '"youths": [], "youths": [', 1),
            r"bij youths, veld youths: sleutel 'youths' komt meer dan eens voor",
        ),
        (
            lambda t: t.replace('"kale_huur": ', '"kale_huur": 1.0, "kale_huur": ', 1),
            r"options\[0\] \(O-1\), veld options\.0\.kale_huur: sleutel 'kale_huur' komt",
        ),
    ],
)
def test_key_given_twice_is_refused(tmp_path: Path, text_of: Any, named: str) -> None:
    text = text_of(json.dumps(_good()))
    with pytest.raises(InvalidRound, match=named):
        load_round_file(_raw_write(tmp_path, text))


def test_month_must_be_the_first_day(tmp_path: Path) -> None:
    data = _good()
    data["month"] = "2026-01-15"
    with pytest.raises(InvalidRound, match=r"veld month: 2026-01-15 is niet de eerste dag"):
        load_round_file(_write(tmp_path, data))


def test_birth_date_after_the_round_month_is_refused(tmp_path: Path) -> None:
    data = _good()
    data["youths"][1]["birth_date"] = "2026-02-01"
    with pytest.raises(
        InvalidRound,
        match=r"youths\[1\] \(J-2\), veld youths\.1\.birth_date: geboortedatum 2026-02-01 ligt na",
    ):
        load_round_file(_write(tmp_path, data))


@pytest.mark.parametrize(
    ("shape", "said"),
    [
        # A bow tie: the ring crosses itself.
        ("POLYGON ((0 0, 10 10, 10 0, 0 10, 0 0))", "snijdt zichzelf"),
        ("POLYGON EMPTY", "leeg"),
        ("POLYGON ((0 0, nan 0, 10 10, 0 10, 0 0))", "zonder eindige coördinaten"),
    ],
)
def test_invalid_no_go_polygon_is_reported_not_repaired(
    tmp_path: Path, shape: str, said: str
) -> None:
    data = _good()
    data["youths"][0]["no_go_wkt"] = ["POLYGON ((0 0, 1 0, 1 1, 0 0))", shape]
    with pytest.raises(
        InvalidRound,
        match=rf"youths\[0\] \(J-1\), veld youths\.0\.no_go_wkt: getekend gebied 2: .*{said}",
    ):
        load_round_file(_write(tmp_path, data))


def test_capacity_above_the_types_persons_max_is_refused(tmp_path: Path) -> None:
    data = _good()
    data["options"][0]["capacity"] = 2  # an urgentiewoning houses one person
    with pytest.raises(
        InvalidRound,
        match=r"options\[0\] \(O-1\), veld options\.0\.capacity: capaciteit 2 is meer dan"
        r" persons_max 1 van woningtype urgentie \(toegestaan: 0 t/m 1\)",
    ):
        load_round_file(_write(tmp_path, data))


def test_lone_surrogate_in_a_code_is_refused(tmp_path: Path) -> None:
    text = json.dumps(_good()).replace('"J-2"', '"J-\\ud800"')
    with pytest.raises(InvalidRound, match=r"veld youths\.1\.code: tekst met een ongeldig teken"):
        load_round_file(_raw_write(tmp_path, text))


def test_data_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidRound, match=r"veld \(top\): verwacht een object"):
        round_from_data([])


# --------------------------------------------------------------------------- the core itself


NAN = float("nan")


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: make_option("O-7", kale_huur=NAN), r"woning O-7: kale_huur is geen eindig"),
        (lambda: make_option("O-7", x=float("inf")), r"woning O-7: x is geen eindig"),
        (lambda: make_option("O-7", servicekosten=NAN), r"woning O-7: servicekosten"),
        (lambda: make_option("O-7", capacity=10**12), r"woning O-7: capacity .*buiten bereik"),
        (lambda: make_youth("J-7", income=NAN), r"jongere J-7: income is geen eindig"),
        (lambda: make_youth("J-7", max_rent=NAN), r"jongere J-7: max_rent is geen eindig"),
        (
            lambda: make_youth("J-7", max_distance_m=float("inf")),
            r"jongere J-7: max_distance_m is geen eindig",
        ),
        (
            lambda: make_youth("J-7", anchors=(Anchor("werk", NAN, 410_000.0),)),
            r"jongere J-7, ankerpunt 'werk': x is geen eindig",
        ),
        (
            lambda: make_youth(
                "J-7", no_go_polygons=(Polygon([(0, 0), (NAN, 0), (1, 1), (0, 0)]),)
            ),
            r"jongere J-7: no-go-gebied 1 heeft een coördinaat die geen eindig getal is",
        ),
        (
            lambda: Contingent("WC-A", "GM0796", 2026, amount=NAN),  # type: ignore[arg-type]
            r"contingent WC-A/GM0796/2026: amount is geen eindig",
        ),
        (
            lambda: Contingent("WC-A", "GM0796", 2026, amount=10**30),
            r"contingent WC-A/GM0796/2026: amount .*buiten bereik",
        ),
        (
            lambda: replace(policy_at(date(2026, 1, 1)), max_rent_share_of_income=NAN),
            r"beleid vanaf 2026-01-01: max_rent_share_of_income is geen eindig",
        ),
        (
            lambda: make_round(gemeente_caps=(("GM0796", 10**20),)),
            r"plaatsingsplafond GM0796: max_placements .*buiten bereik",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_core_refuses_non_finite_numbers_built_in_code(build: Any, named: str) -> None:
    with pytest.raises(InvalidRound, match=named):
        build()


# --------------------------------------------------------------------------- the schema ships


def test_schema_ships_in_the_package_and_docs_holds_an_equal_copy() -> None:
    """The shipped schema is the one generated from the records (regenerate it with
    ``python -m matcher.roundfile_models > matcher/round-file.schema.json``)."""
    shipped = resources.files("matcher").joinpath("round-file.schema.json").read_text("utf-8")
    docs = Path(__file__).resolve().parents[2] / "docs" / "round-file.schema.json"
    assert shipped == schema_text()
    assert docs.read_text(encoding="utf-8") == shipped
    assert round_file_schema() == json.loads(shipped) == generated_schema()
    jsonschema.Draft202012Validator.check_schema(round_file_schema())


def test_the_schema_describes_the_shared_records() -> None:
    """Bounds and rules in the schema come from matcher.records: a change there shows here."""
    defs = generated_schema()["$defs"]
    youth, option = defs["RoundYouth"], defs["RoundOption"]
    assert (
        youth["properties"]["support_need"]["maximum"]
        == YouthFields.model_fields["support_need"].metadata[1].le
    )
    assert "regisseur" in youth["properties"] and "support_provider" not in youth["properties"]
    assert "shared_house_id" in option["properties"] and "address" not in option["properties"]
    assert defs["HousingTypeRecord"]["properties"]["code"]["pattern"] == SIMPLE_CODE
    assert set(generated_schema()["required"]) == {"month", "types", "options", "youths"}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        # The menukaart's own rule (forms and the types CSV say the same).
        (
            lambda d: d["types"][0].update(min_age=23, max_age=18),
            r"types\[0\] \(.*\), veld types\.0\.max_age: mag niet lager zijn dan de "
            r"minimumleeftijd \(23\)",
        ),
        # The youth record's rules (intake form and youths CSV alike).
        (
            lambda d: d["youths"][0].update(companions=["J-1"]),
            r"youths\[0\] \(J-1\), veld youths\.0\.companions: J-1 is de jongere zelf",
        ),
        (
            lambda d: d["youths"][0].update(accepted_types=["kma", "kma"]),
            r"veld youths\.0\.accepted_types: kma staat er twee keer in",
        ),
        (
            lambda d: d["youths"][0].update(anchors=[{"label": "school", "x": 5.3, "y": 51.7}]),
            r"veld youths\.0\.anchors\.0\.y: het ankerpunt ligt niet in Nederland",
        ),
        (
            lambda d: d["youths"][0].update(preferred_areas=["XX12"]),
            r"veld youths\.0\.preferred_areas: XX12 is geen CBS-gebiedscode",
        ),
        (
            lambda d: d["options"][0].update(capacity=10**29),
            r"veld options\.0\.capacity: 10{29} ligt buiten het bereik \(toegestaan: minimaal 0, "
            r"hoogstens 100\)",
        ),
        (
            lambda d: d["options"][0].update(available_from=20270101),
            r"veld options\.0\.available_from: vul een bestaande datum in",
        ),
        (
            lambda d: d["youths"][0].update(income="veel"),
            r"veld youths\.0\.income: verwacht een getal, niet 'veel'",
        ),
        (
            lambda d: d.update(corporations=["WC-A", "WC-A"]),
            r"veld corporations: de lijst bevat een waarde twee keer",
        ),
    ],
)
def test_the_round_file_refuses_what_the_records_refuse(
    tmp_path: Path, change: Any, said: str
) -> None:
    data = _good()
    change(data)
    with pytest.raises(InvalidRound, match=said):
        load_round_file(_write(tmp_path, data))


def test_result_json_refuses_nan_as_a_guard() -> None:
    from matcher.solve import solve

    rnd = round_from_data(_good())
    result = solve(rnd, seed=1)
    assert "NaN" not in result.to_json()
    broken = replace(result, objective=NAN)
    with pytest.raises(ValueError, match="not JSON compliant"):
        broken.to_json()
