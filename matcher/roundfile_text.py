"""Reading round file JSON and screening it before its meaning is checked.

Everything here works on the raw text or the parsed data and names the record and field of a
fault (``bij options[3] (O-3), veld options.3.kale_huur``): the encoding (UTF-8 only), nesting
depth (counted on the text, so no recursion limit is ever reached), keys given twice,
NaN/Infinity, lone surrogates, and the records' validation errors in Dutch.
``matcher.roundfile`` builds the round from what passes.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from matcher.problem import InvalidRound

# The deepest a valid round file goes is 5 (youths -> youth -> anchors -> anchor -> x);
# anything much deeper is refused before parsing, so no recursion limit is ever reached.
MAX_DEPTH = 32

_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")


class _DuplicateKeys(dict[str, Any]):
    """A JSON object that named a key more than once (the parser keeps the last value)."""

    duplicates: tuple[str, ...] = ()


# --------------------------------------------------------------------------- naming records


def record_name(data: Any, path: list[str | int]) -> str:
    """Human name of the record at a JSON path, e.g. ``options[3] (OPT-000003)``."""
    if not path or not isinstance(data, dict):
        return "het rondebestand"
    node: Any = data
    name = str(path[0])
    code = None
    for k, part in enumerate(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int):
            name = f"{path[k - 1]}[{part}]" if k else f"[{part}]"
            if isinstance(node, dict):
                code = node.get("code") or node.get("youth")
                if not isinstance(code, str) or _SURROGATE_RE.search(code):
                    code = None
            if k >= 1:
                break
    return f"{name} ({code})" if code else name


def _at(data: Any, path: list[str | int]) -> str:
    """``bij <record>, veld <dotted path>`` for a message."""
    field = ".".join(str(p) for p in path) or "(top)"
    return f"bij {record_name(data, path)}, veld {field}"


def refuse(data: Any, path: list[str | int], what: str) -> InvalidRound:
    return InvalidRound(f"rondebestand ongeldig {_at(data, path)}: {what}")


# --------------------------------------------------------------------------- reading the text


def decode_round_bytes(raw: bytes, name: str) -> str:
    """UTF-8 text (a UTF-8 BOM is allowed); other encodings are refused by name."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InvalidRound(f"rondebestand {name} is UTF-32 gecodeerd; sla het op als UTF-8")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidRound(f"rondebestand {name} is UTF-16 gecodeerd; sla het op als UTF-8")
    if b"\x00" in raw[:4]:
        # JSON starts with an ASCII character: a NUL beside it means UTF-16/32 without a BOM.
        raise InvalidRound(
            f"rondebestand {name} lijkt UTF-16 of UTF-32 (nul-bytes); sla het op als UTF-8"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidRound(
            f"rondebestand {name} is geen UTF-8: byte 0x{raw[exc.start]:02X} op regel {line}"
            " (Latin-1 of Windows-1252?); sla het op als UTF-8"
        ) from exc


def nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings, counted without recursion."""
    brackets = _NOT_BRACKET_RE.sub("", _STRING_RE.sub("", text))
    steps = (1 if c in "[{" else -1 for c in brackets)
    return max(accumulate(steps), default=0)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    duplicates = []
    for key, _ in pairs:
        if key in seen:
            duplicates.append(key)
        seen.add(key)
    marked = _DuplicateKeys(obj)
    marked.duplicates = tuple(duplicates)
    return marked


def parse_round_text(text: str, name: str = "rondebestand") -> Any:
    """Parse round file JSON; structural faults become ``InvalidRound``, never a traceback."""
    if nesting_depth(text) > MAX_DEPTH:
        raise InvalidRound(
            f"rondebestand {name} is dieper genest dan {MAX_DEPTH} niveaus (een geldig"
            " rondebestand gaat 5 diep)"
        )
    try:
        return json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as exc:
        raise InvalidRound(
            f"rondebestand {name} is geen geldige JSON (regel {exc.lineno}, kolom {exc.colno}:"
            f" {exc.msg})"
        ) from exc
    except RecursionError as exc:  # pragma: no cover - the depth check comes first
        raise InvalidRound(f"rondebestand {name} is te diep genest") from exc
    except ValueError as exc:
        # e.g. an integer of more than 4,300 digits (int_max_str_digits).
        raise InvalidRound(f"rondebestand {name} is geen bruikbare JSON: {exc}") from exc


# --------------------------------------------------------------------------- checking the data


# A node's place, spelled out only for an error: (key or index, the parent's place).
_Place = tuple[str | int, "_Place | None"] | None


def _path(place: _Place) -> list[str | int]:
    path: list[str | int] = []
    while place is not None:
        key, place = place
        path.append(key)
    return path[::-1]


def _visit(value: Any, depth: int) -> bool:
    """Whether ``value`` (at ``depth``) needs a visit: containers always; a scalar only when it
    is wrong (so the walk reports faults in document order without visiting every leaf)."""
    if isinstance(value, dict | list) or depth > MAX_DEPTH:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and not value.isascii() and bool(_SURROGATE_RE.search(value))


def check_values(data: Any) -> None:
    """Walk the data once (no recursion): depth, repeated keys, NaN/Infinity, lone surrogates.
    The first fault in document order is reported, with its path."""
    stack: list[tuple[Any, int, _Place]] = [(data, 0, None)]
    while stack:
        node, depth, place = stack.pop()
        if depth > MAX_DEPTH:
            raise refuse(data, _path(place)[:MAX_DEPTH], f"dieper genest dan {MAX_DEPTH} niveaus")
        if isinstance(node, dict):
            if isinstance(node, _DuplicateKeys) and node.duplicates:
                key = node.duplicates[0]
                raise refuse(
                    data,
                    [*_path(place), key],
                    f"sleutel {key!r} komt meer dan eens voor in hetzelfde object (de laatste"
                    " waarde zou de eerste stilzwijgend vervangen)",
                )
            children: list[tuple[Any, int, _Place]] = []
            for key, value in node.items():
                if not isinstance(key, str) or (not key.isascii() and _SURROGATE_RE.search(key)):
                    raise refuse(data, _path(place), "sleutel is geen geldige tekst")
                if _visit(value, depth + 1):
                    children.append((value, depth + 1, (key, place)))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(
                reversed(
                    [(v, depth + 1, (k, place)) for k, v in enumerate(node) if _visit(v, depth + 1)]
                )
            )
        elif isinstance(node, float):
            if not math.isfinite(node):
                what = "NaN" if math.isnan(node) else "oneindig (Infinity of een te groot getal)"
                raise refuse(
                    data,
                    _path(place),
                    f"{what} is geen getal; alleen eindige getallen zijn toegestaan",
                )
        elif isinstance(node, str) and _SURROGATE_RE.search(node):
            raise refuse(
                data, _path(place), "tekst met een ongeldig teken (losse UTF-16-surrogaat)"
            )


def _bounds(ctx: dict[str, Any]) -> str:
    said = {"ge": "minimaal", "gt": "meer dan", "le": "hoogstens", "lt": "minder dan"}
    return ", ".join(f"{said[k]} {ctx[k]}" for k in ("ge", "gt", "le", "lt") if k in ctx)


_TYPE_ERRORS = {
    "int_type": "een geheel getal",
    "int_parsing": "een geheel getal",
    "int_from_float": "een geheel getal",
    "float_type": "een getal",
    "float_parsing": "een getal",
    "string_type": "tekst",
    "bool_type": "true of false",
    "bool_parsing": "true of false",
    "list_type": "een lijst",
    "model_type": "een object",
    "model_attributes_type": "een object",
    "dict_type": "een object",
}


def round_message(error: Mapping[str, Any], allowed: str = "") -> str:
    """A record's validation error (pydantic) in Dutch for a round file, with the value given
    and what is allowed (``allowed``: the field's bounds, when the caller knows them)."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    loc = error.get("loc") or ()
    if kind in (
        "greater_than_equal",
        "greater_than",
        "less_than_equal",
        "less_than",
        "int_parsing_size",
    ):
        return f"{value!r} ligt buiten het bereik (toegestaan: {allowed or _bounds(ctx)})"
    if kind in _TYPE_ERRORS:
        return f"verwacht {_TYPE_ERRORS[kind]}, niet {value!r}"
    if kind == "missing":
        return f"verplicht veld {loc[-1] if loc else ''} ontbreekt"
    if kind == "extra_forbidden":
        return f"onbekend veld {loc[-1] if loc else ''}"
    if kind == "literal_error":
        return f"moet {ctx.get('expected')} zijn, niet {value!r}"
    if kind == "string_pattern_mismatch":
        return f"{value!r} heeft niet de vorm {ctx.get('pattern')}"
    if kind == "too_short":
        return f"de lijst moet minstens {ctx.get('min_length')} element(en) hebben"
    if kind in ("string_too_short", "string_too_long", "too_long"):
        return f"tekst van {ctx.get('min_length', 1)} tot {ctx.get('max_length', '∞')} tekens"
    if kind == "finite_number":
        return "NaN en oneindig zijn niet toegestaan: alleen eindige getallen"
    if kind == "value_error":
        return str(ctx.get("error", error.get("msg", "")))
    return str(error.get("msg", kind))
