"""CSV/XLSX rows read into the shared records of ``matcher.records`` (issue 15 item 5).

A file's row passes two layers. The file's own syntax, as people export it from Excel, is read
here: decimal comma or point, ``ja``/``nee``, ISO or Dutch dates, lists with ``|``. The rules
of the field itself (required, ranges, codes, cross-field checks, the Dutch message) are the
record's, the same for the forms, the JSON API and the importers. A problem becomes a
``RowError`` on the file's column (``rij 4, veld kale_huur: mag niet negatief zijn``), with the
file's value when the record's message does not name it (a list's message names its item).
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from matcher.records import record_messages
from store.csvio import RowReader, parse_bool, parse_date, parse_decimal, parse_int, parse_list

__all__ = ["csv_value", "read_record"]

R = TypeVar("R", bound=BaseModel)

# The longest file value quoted back in a message; a longer one is given by its length.
QUOTE_LIMIT = 40


def _base(annotation: Any) -> Any:
    """``int | None`` -> ``int``; other annotations as they are."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


_PARSERS: dict[Any, Callable[[str], Any]] = {
    bool: parse_bool,
    int: parse_int,
    float: parse_decimal,
    date: parse_date,
}


def csv_value(annotation: Any, text: str) -> Any:
    """A file's text as the value a record field of ``annotation`` takes (ValueError in Dutch
    when the text is not of that kind at all: ``geen getal: 'abc'``)."""
    base = _base(annotation)
    if get_origin(base) is list:
        return parse_list(text)
    parser = _PARSERS.get(base)
    return parser(text) if parser is not None else text


def _quoted(text: str) -> str:
    return text if len(text) <= QUOTE_LIMIT else f"{len(text)} tekens"


def read_record(
    reader: RowReader,
    record: type[R],
    columns: Mapping[str, str],
    *,
    values: Mapping[str, Any] | None = None,
    context: Any = None,
) -> R | None:
    """The ``record`` of one row, or ``None`` with every problem added to ``reader``.

    ``columns`` maps the file's column to the record's field; an empty cell is a field not
    given (the record's default, or its "verplicht" message). ``values`` are fields the caller
    has already read from the file in a form of its own (an anchor list ``label@x,y``); their
    problems are reported on the column of the same field. ``context`` goes to pydantic (a
    ``RecordContext`` with the database's codes).
    """
    data: dict[str, Any] = dict(values or {})
    failed: set[str] = set()
    for column, name in columns.items():
        text = reader.raw(column)
        if text == "":
            continue
        try:
            data[name] = csv_value(record.model_fields[name].annotation, text)
        except ValueError as exc:
            reader.error(column, str(exc))
            failed.add(name)
    try:
        return record.model_validate(data, context=context)
    except ValidationError as exc:
        column_of = {name: column for column, name in columns.items()}
        for name, message in record_messages(record, exc):
            if name in failed:
                continue  # already reported as the file's syntax
            column = column_of.get(name, name)
            text = reader.raw(column)
            shown = _quoted(text)
            listed = get_origin(_base(record.model_fields[name].annotation)) is list
            if text and shown not in message and not listed and name not in (values or {}):
                message = f"{message} (in het bestand: {shown})"
            reader.error(column, message)
        return None
