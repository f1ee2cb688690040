"""CSV reading and writing per docs/file-formats.md, for files people export from Excel.

Reading is lenient where Excel varies (separator ``;`` or ``,``, decimal comma or point, BOM or
not, ISO or Dutch dates, ``ja``/``nee``/``true``/``false``/``1``/``0``/``waar``/``onwaar``) and
strict where a guess could be wrong (no thousands separators, every row the same number of
fields). Problems become :class:`RowError` items with Excel row numbers (the header is row 1), so
a whole file's problems can be reported at once. Writing always uses one canonical form:
semicolon, ISO dates, decimal point, ``ja``/``nee``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

LIST_SEPARATOR = "|"
WRITE_SEPARATOR = ";"


@dataclass(frozen=True, slots=True, order=True)
class RowError:
    """One problem in an input file: ``rij N, veld X: message`` (row 1 is the header)."""

    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"rij {self.row}")
        if self.field:
            where.append(f"veld {self.field}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportFailed(Exception):
    """An import was refused; ``errors`` lists every problem found, nothing was written."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors: list[RowError] = sorted(
            errors, key=lambda e: (e.row if e.row is not None else -1, e.field or "", e.message)
        )
        super().__init__(self.summary())

    def summary(self, limit: int | None = None) -> str:
        """The errors as Dutch text lines, optionally only the first ``limit``."""
        lines = [str(e) for e in self.errors[:limit]]
        if limit is not None and len(self.errors) > limit:
            lines.append(f"... en nog {len(self.errors) - limit} fouten")
        return f"import geweigerd, {len(self.errors)} fout(en):\n" + "\n".join(lines)


# --- parsing single values (pure; raise ValueError with a Dutch message) -----------------------

_DECIMAL_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_ISO_DATE_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_NL_DATE_RE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
_TRUE = {"ja", "j", "true", "waar", "1", "yes", "y"}
_FALSE = {"nee", "n", "false", "onwaar", "0", "no"}


def parse_decimal(text: str) -> float:
    """``452,50`` or ``452.50`` -> 452.5. Thousands separators are refused (ambiguous)."""
    value = text.strip()
    if not _DECIMAL_RE.match(value):
        raise ValueError(f"geen getal: {text!r} (gebruik bijvoorbeeld 452,50 of 452.50)")
    return float(value.replace(",", "."))


def parse_int(text: str) -> int:
    """A whole number; ``3``, ``3,0`` and ``3.0`` all read as 3."""
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ValueError(f"geen geheel getal: {text!r}") from None
    if not value.is_integer():
        raise ValueError(f"geen geheel getal: {text!r}")
    return int(value)


def parse_date(text: str) -> date:
    """``YYYY-MM-DD`` (ISO) or ``DD-MM-YYYY`` (Dutch); single-digit day and month allowed."""
    value = text.strip()
    if m := _ISO_DATE_RE.match(value):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _NL_DATE_RE.match(value):
        d, mo, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
    else:
        raise ValueError(f"geen datum: {text!r} (gebruik JJJJ-MM-DD of DD-MM-JJJJ)")
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError(f"bestaat niet als datum: {text!r}") from None


def parse_bool(text: str | bool) -> bool:
    """``ja``/``nee``, ``true``/``false``, ``1``/``0`` (and Excel's ``waar``/``onwaar``)."""
    if isinstance(text, bool | np.bool_):
        return bool(text)
    value = str(text).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"geen ja/nee-waarde: {text!r} (gebruik ja/nee, true/false of 1/0)")


def parse_list(text: str) -> list[str]:
    """``kma|friends`` -> ``["kma", "friends"]``; empty items are dropped."""
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def format_amount(value: float) -> str:
    """Money and ordinary decimals for Dutch display: ``-12,00``."""
    return f"{value:.2f}".replace(".", ",")


# --- formatting (canonical export form) ---------------------------------------------------------


def format_decimal(value: float | None) -> str:
    """Shortest exact decimal with a point, no exponent: 452.5, 149800, 0.1."""
    if value is None:
        return ""
    if not math.isfinite(value):
        raise ValueError(f"geen eindig getal: {value}")
    if float(value).is_integer():
        return str(int(value))
    return np.format_float_positional(float(value), trim="-")


def format_int(value: int | None) -> str:
    return "" if value is None else str(int(value))


def format_date(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def format_bool(value: bool | None) -> str:
    return "" if value is None else ("ja" if value else "nee")


def format_list(items: Iterable[str]) -> str:
    return LIST_SEPARATOR.join(items)


# --- reading a table ----------------------------------------------------------------------------


@dataclass(slots=True)
class CsvTable:
    """A decoded CSV file: lower-case header and data rows keyed by it, with Excel row numbers."""

    header: list[str]
    rows: list[tuple[int, dict[str, str]]]
    separator: str
    errors: list[RowError] = field(default_factory=list)


def detect_separator(header_line: str) -> str:
    """``;`` or ``,``, whichever occurs more often in the header (ties: ``;``, Dutch Excel)."""
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFailed(
            [
                RowError(
                    line,
                    None,
                    f"bestand is geen geldige UTF-8 (byte {exc.start}); "
                    "sla het op als 'CSV UTF-8' in Excel",
                )
            ]
        ) from None


def read_table(
    source: str | Path | bytes,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> CsvTable:
    """Read a CSV file (path or raw bytes) and check its header.

    Raises :class:`ImportFailed` for problems that make the rows meaningless (not UTF-8, empty,
    a missing required column, a duplicated column). Row-shape problems (a row with more or fewer
    fields than the header) are returned in ``table.errors`` with the other rows, so a caller can
    report them together with value errors.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    separator: str | None = None
    if first_line.lower().startswith("sep=") and len(first_line.strip()) == 5:
        # Excel's separator hint line; Excel does not show it, so the header stays row 1.
        separator = first_line[4]
        text = text.split("\n", 1)[1] if "\n" in text else ""
        first_line = text.split("\n", 1)[0]
    if not first_line.strip():
        raise ImportFailed([RowError(1, None, "bestand is leeg of de kopregel ontbreekt")])
    separator = separator or detect_separator(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    records = list(reader)
    header = [h.strip().lower() for h in records[0]]
    errors: list[RowError] = []
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            errors.append(RowError(1, name, "kolom komt twee keer voor"))
        seen.add(name)
    for name in required:
        if name not in seen:
            errors.append(RowError(1, name, "verplichte kolom ontbreekt"))
    if errors:
        raise ImportFailed(errors)
    known = set(required) | set(optional)
    width = len(header)
    table = CsvTable(header=header, rows=[], separator=separator)
    for index, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # Excel leaves empty rows (";;;;") at the end
        if len(record) != width:
            table.errors.append(
                RowError(
                    index,
                    None,
                    f"{len(record)} velden, de kopregel heeft er {width} "
                    f"(scheidingsteken '{separator}' of aanhalingstekens?)",
                )
            )
            continue
        table.rows.append(
            (index, {h: v.strip() for h, v in zip(header, record, strict=True) if h in known})
        )
    return table


class RowReader:
    """Reads typed fields of one row, collecting errors instead of stopping at the first."""

    def __init__(self, row: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.row = row
        self.values = values
        self.errors = errors
        self.count = 0  # errors recorded through this reader (the list is shared by all rows)

    @property
    def ok(self) -> bool:
        """No error was recorded for this row so far."""
        return self.count == 0

    def error(self, field_name: str | None, message: str) -> None:
        self.errors.append(RowError(self.row, field_name, message))
        self.count += 1

    def raw(self, name: str) -> str:
        return self.values.get(name, "")

    def text(self, name: str, *, required: bool = False, max_len: int | None = None) -> str | None:
        value = self.raw(name)
        if not value:
            if required:
                self.error(name, "verplicht veld is leeg")
            return None
        if max_len is not None and len(value) > max_len:
            self.error(name, f"te lang ({len(value)} tekens, hoogstens {max_len})")
            return None
        return value

    def decimal(
        self,
        name: str,
        *,
        required: bool = False,
        default: float | None = None,
        negative: str | None = "negatief bedrag",
        positive: bool = False,
    ) -> float | None:
        """A decimal; ``negative`` is the message for a value below 0 (None: allowed)."""
        value = self.raw(name)
        if not value:
            if required:
                self.error(name, "verplicht veld is leeg")
            return default
        try:
            number = parse_decimal(value)
        except ValueError as exc:
            self.error(name, str(exc))
            return None
        if negative is not None and number < 0:
            self.error(name, f"{negative} ({format_amount(number)})")
            return None
        if positive and number <= 0:
            self.error(name, f"moet groter zijn dan 0 ({format_amount(number)})")
            return None
        return number

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        default: int | None = None,
        lo: int | None = None,
        hi: int | None = None,
        what: str = "waarde",
    ) -> int | None:
        value = self.raw(name)
        if not value:
            if required:
                self.error(name, "verplicht veld is leeg")
            return default
        try:
            number = parse_int(value)
        except ValueError as exc:
            self.error(name, str(exc))
            return None
        if lo is not None and number < lo and lo == 0:
            self.error(name, f"negatieve {what} ({number})")
            return None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            bounds = f"{lo if lo is not None else ''}..{hi if hi is not None else ''}"
            self.error(name, f"{what} {number} ligt niet in {bounds}")
            return None
        return number

    def date(self, name: str, *, required: bool = False) -> date | None:
        value = self.raw(name)
        if not value:
            if required:
                self.error(name, "verplicht veld is leeg")
            return None
        try:
            return parse_date(value)
        except ValueError as exc:
            self.error(name, str(exc))
            return None

    def boolean(self, name: str, *, default: bool | None = None) -> bool | None:
        value = self.raw(name)
        if not value:
            if default is None:
                self.error(name, "verplicht veld is leeg")
            return default
        try:
            return parse_bool(value)
        except ValueError as exc:
            self.error(name, str(exc))
            return default

    def items(self, name: str) -> list[str]:
        return parse_list(self.raw(name))


def write_table(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write the canonical form: UTF-8 without BOM, ``;``, ``\\n`` line ends, minimal quoting."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=WRITE_SEPARATOR, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


# Column order of every CSV kind, as exported and as the fixtures write them (docs/file-formats.md).
HEADERS: dict[str, list[str]] = {
    "organisations": ["code", "name", "kind", "gemeentecode", "synthetic"],
    "users": ["email", "name", "role", "organisation", "synthetic"],
    "types": [
        "code",
        "name",
        "min_age",
        "max_age",
        "zelfstandig",
        "provider_contract",
        "persons_min",
        "persons_max",
        "support_min",
        "support_max",
        "stay_min_months",
        "stay_max_months",
        "uses_contingent",
        "max_age_gap",
        "description",
    ],
    "options": [
        "option_id",
        "type",
        "corporatie",
        "x",
        "y",
        "gemeentecode",
        "wijkcode",
        "buurtcode",
        "kale_huur",
        "servicekosten",
        "capacity",
        "shared_house_id",
        "available_from",
        "synthetic",
    ],
    "youths": [
        "youth_code",
        "birth_date",
        "gemeentecode",
        "income",
        "support_need",
        "accepted_types",
        "preferred_areas",
        "anchors",
        "no_go_codes",
        "no_go_wkt",
        "urgency",
        "care_end_date",
        "waiting_since",
        "companions",
        "conflicts",
        "regisseur",
        "max_rent",
        "household_size",
        "max_distance_m",
        "support_provider",
        "synthetic",
    ],
    "contingents": ["corporatie", "gemeentecode", "year", "type", "amount", "used", "synthetic"],
}
