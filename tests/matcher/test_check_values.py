"""``check_values`` visits only containers and faulty scalars (a 300-youth snapshot in half the
time); it must still report the first fault in document order, with its path, exactly as a walk
over every node does. The oracle below is that plain walk (recursive, every node)."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.problem import InvalidRound
from matcher.roundfile_text import MAX_DEPTH, check_values, parse_round_text, refuse


def _oracle(data: Any, node: Any, path: list[str | int]) -> None:
    if len(path) > MAX_DEPTH:
        raise refuse(data, path[:MAX_DEPTH], f"dieper genest dan {MAX_DEPTH} niveaus")
    if isinstance(node, dict):
        duplicates = getattr(node, "duplicates", ())
        if duplicates:
            raise refuse(
                data,
                [*path, duplicates[0]],
                f"sleutel {duplicates[0]!r} komt meer dan eens voor in hetzelfde object (de"
                " laatste waarde zou de eerste stilzwijgend vervangen)",
            )
        for key in node:
            if not isinstance(key, str) or any(0xD800 <= ord(c) <= 0xDFFF for c in key):
                raise refuse(data, path, "sleutel is geen geldige tekst")
        for key, value in node.items():
            _oracle(data, value, [*path, key])
    elif isinstance(node, list):
        for k, value in enumerate(node):
            _oracle(data, value, [*path, k])
    elif isinstance(node, float) and not math.isfinite(node):
        what = "NaN" if math.isnan(node) else "oneindig (Infinity of een te groot getal)"
        raise refuse(data, path, f"{what} is geen getal; alleen eindige getallen zijn toegestaan")
    elif isinstance(node, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in node):
        raise refuse(data, path, "tekst met een ongeldig teken (losse UTF-16-surrogaat)")


def _message(check: Any, data: Any) -> str | None:
    try:
        check(data)
    except InvalidRound as exc:
        return str(exc)
    return None


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["O-1", "wijk é", "\ud800", "a\udfffb", ""]),
)
keys = st.sampled_from(["code", "x", "ankers", "\udc00", "é"])
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_first_fault_and_its_path_are_those_of_a_walk_over_every_node(data: Any) -> None:
    assert _message(check_values, data) == _message(lambda d: _oracle(d, d, []), data)


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 5])
@pytest.mark.parametrize("leaf", [1.5, "tekst", [], {}])
def test_depth_is_checked_at_the_leaves_too(depth: int, leaf: Any) -> None:
    data: Any = leaf
    for level in range(depth):
        data = {"a": data} if level % 2 else [data]
    expected = _message(lambda d: _oracle(d, d, []), data)
    assert _message(check_values, data) == expected
    assert (expected is None) == (depth <= MAX_DEPTH)


def test_a_repeated_key_after_a_bad_number_is_reported_in_document_order() -> None:
    data = parse_round_text('{"a": [1, {"b": 1e400}], "c": {"d": 1, "d": 2}}')
    message = _message(check_values, data)
    assert message is not None and "oneindig" in message  # a.1.b comes before c
    data = parse_round_text('{"c": {"d": 1, "d": 2}, "a": [1, {"b": 1e400}]}')
    message = _message(check_values, data)
    assert message is not None and "'d' komt meer dan eens voor" in message
