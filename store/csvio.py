"""CSV reading and writing per docs/file-formats.md, for files people export from Excel.

Reading is lenient where Excel varies (separator ``;`` or ``,``, decimal comma or point, BOM or
not, ISO or Dutch dates, ``ja``/``nee``/``true``/``false``/``1``/``0``/``waar``/``onwaar``) and
strict where a guess could be wrong (no thousands separators, every row the same number of
fields). Problems become :class:`RowError` items with Excel row numbers (the header is row 1), so
a whole file's problems can be reported at once. Writing always uses one canonical form:
semicolon, ISO dates, decimal point, ``ja``/``nee``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import numpy as np

LIST_SEPARATOR = "|"
WRITE_SEPARATOR = ";"
MAX_ERRORS = 1000
"""Row errors an import keeps as objects by default; the rest is only counted."""
FIELD_LIMIT = 1024 * 1024
"""Longest CSV field read (characters). Python's default of 131,072 is too short for a large
no-go polygon; anything longer is refused with the row named, never a server error."""
csv.field_size_limit(max(csv.field_size_limit(), FIELD_LIMIT))
_READ_CHUNK = 1024 * 1024


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


class RowErrors:
    """Row errors of one import, bounded: the ``limit`` first (by row) are kept, all are counted.

    A file of a million bad rows must not become a million objects: :meth:`append` keeps at most
    about ``2 * limit`` errors at any time. ``len()`` and truth are about *all* errors.
    """

    def __init__(self, limit: int = MAX_ERRORS, errors: Iterable[RowError] = ()) -> None:
        self.limit = max(1, int(limit))
        self.total = 0
        self._kept: list[RowError] = []
        self.extend(errors)

    def append(self, error: RowError) -> None:
        self.total += 1
        self._kept.append(error)
        if len(self._kept) >= 2 * self.limit:
            self._trim()

    def extend(self, errors: Iterable[RowError]) -> None:
        for error in errors:
            self.append(error)

    def count_more(self, n: int) -> None:
        """Count ``n`` errors that are known to sort after every kept one, without objects."""
        self.total += n

    def _trim(self) -> None:
        self._kept.sort(key=_error_order)
        del self._kept[self.limit :]

    def kept(self) -> list[RowError]:
        """The first ``limit`` errors by row, sorted."""
        self._trim()
        return list(self._kept)

    def __len__(self) -> int:
        return self.total

    def __bool__(self) -> bool:
        return self.total > 0

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.kept())


ErrorSink = RowErrors | list[RowError]


def _error_order(e: RowError) -> tuple[int, str, str]:
    return (e.row if e.row is not None else -1, e.field or "", e.message)


class ImportFailed(Exception):
    """An import was refused; nothing was written.

    ``errors`` holds the first problems by row (all of them for a small file; at most the
    :class:`RowErrors` limit for a large one), ``total`` counts every problem found.
    """

    def __init__(self, errors: Iterable[RowError] | RowErrors) -> None:
        if isinstance(errors, RowErrors):
            self.errors: list[RowError] = errors.kept()
            self.total = errors.total
        else:
            self.errors = sorted(errors, key=_error_order)
            self.total = len(self.errors)
        super().__init__(self.summary())

    @property
    def more(self) -> int:
        """Errors counted but not in :attr:`errors`."""
        return self.total - len(self.errors)

    def summary(self, limit: int | None = None) -> str:
        """The errors as Dutch text lines, optionally only the first ``limit``."""
        shown = self.errors[:limit]
        lines = [str(e) for e in shown]
        if self.total > len(shown):
            lines.append(more_errors(self.total - len(shown)))
        return f"import geweigerd, {self.total} fout(en):\n" + "\n".join(lines)


def more_errors(n: int) -> str:
    """``… en 12 andere fouten``: the line for errors counted but not listed."""
    return f"… en {n} andere {'fout' if n == 1 else 'fouten'}"


# --- spreadsheet formula injection --------------------------------------------------------------

# Excel, LibreOffice and Google Sheets start a formula (or DDE call) at these characters.
_FORMULA_START = frozenset("=+-@\t\r")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")


def _needs_guard(value: str) -> bool:
    """True when ``value`` (after any leading quotes) would start a formula and is no number."""
    bare = value.lstrip("'")
    return bool(bare) and bare[0] in _FORMULA_START and not _NUMBER_RE.match(bare)


def spreadsheet_safe(value: Any) -> Any:
    """A cell as a spreadsheet shows it without running it: text starting with ``=``, ``+``,
    ``-``, ``@``, tab or CR gets a leading ``'``; numbers (``-5``, ``+3,5``) and other values
    pass unchanged.

    Reversible by :func:`spreadsheet_unsafe`: text that already starts with quotes before such a
    character gets one quote more, so every value round-trips exactly (decision 21).
    """
    if isinstance(value, str) and _needs_guard(value):
        return "'" + value
    return value


def spreadsheet_unsafe(value: str) -> str:
    """The inverse of :func:`spreadsheet_safe` for a cell read back from a CSV file."""
    if value.startswith("'") and _needs_guard(value[1:]):
        return value[1:]
    return value


class SafeCsvWriter:
    """``csv.writer`` whose cells pass :func:`spreadsheet_safe`: the one writer for exports."""

    def __init__(self, fh: IO[str], delimiter: str = WRITE_SEPARATOR) -> None:
        self._writer = csv.writer(fh, delimiter=delimiter, lineterminator="\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_csv_text(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    """Rows as canonical ``;``-separated CSV text, every cell through :func:`spreadsheet_safe`."""
    out = io.StringIO(newline="")
    writer = SafeCsvWriter(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


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


class TableRows:
    """The data rows of a :class:`CsvTable`, read again from the file on every iteration.

    Rows are never all in memory: each pass parses the file, skips empty rows and rows of the
    wrong width (those are in ``table.errors``) and yields ``(excel_row, {column: value})``
    with only the known columns, values stripped and un-guarded (:func:`spreadsheet_unsafe`).
    """

    def __init__(self, records: Callable[[], Iterator[tuple[int, list[str]]]], count: int) -> None:
        self._records = records
        self._count = count
        self.header: list[str] = []
        self.known: frozenset[str] = frozenset()

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        header, known, width = self.header, self.known, len(self.header)
        for index, record in self._records():
            if len(record) != width or not any(cell.strip() for cell in record):
                continue
            yield (
                index,
                {
                    # most cells start with no quote: skip the call for them (a million rows)
                    h: spreadsheet_unsafe(t) if (t := v.strip()).startswith("'") else t
                    for h, v in zip(header, record, strict=True)
                    if h in known
                },
            )


@dataclass(slots=True)
class CsvTable:
    """A CSV file: lower-case header, its data rows (streamed, see :class:`TableRows`) keyed by
    it with Excel row numbers, and the row-shape errors found."""

    header: list[str]
    rows: TableRows
    separator: str
    errors: RowErrors


def detect_separator(header_line: str) -> str:
    """``;`` or ``,``, whichever occurs more often in the header (ties: ``;``, Dutch Excel)."""
    return ";" if header_line.count(";") >= header_line.count(",") else ","


def _open_binary(source: Path | bytes) -> IO[bytes]:
    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


def _check_encoding(source: Path | bytes) -> None:
    """Refuse a file that is not UTF-8 or holds a NUL character, naming its line (streamed)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0  # bytes fed before this chunk
    lines = 0  # newlines before this chunk
    with _open_binary(source) as fh:
        while chunk := fh.read(_READ_CHUNK):
            if (nul := chunk.find(b"\x00")) >= 0:
                line = lines + chunk[:nul].count(b"\n") + 1
                raise ImportFailed(
                    [RowError(line, None, "bestand bevat een NUL-teken; is het wel CSV?")]
                )
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = exc.object
                at = offset - pending + exc.start
                line = lines + bytes(data[: exc.start]).count(b"\n") + 1
                raise ImportFailed(
                    [
                        RowError(
                            line,
                            None,
                            f"bestand is geen geldige UTF-8 (byte {at}); "
                            "sla het op als 'CSV UTF-8' in Excel",
                        )
                    ]
                ) from None
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise ImportFailed(
                [
                    RowError(
                        lines + 1,
                        None,
                        f"bestand is geen geldige UTF-8 (byte {offset - 1}); "
                        "sla het op als 'CSV UTF-8' in Excel",
                    )
                ]
            ) from None


def _open_text(source: Path | bytes) -> IO[str]:
    return io.TextIOWrapper(_open_binary(source), encoding="utf-8-sig", newline="")


def _header_line(fh: IO[str]) -> tuple[str | None, str]:
    """Read past Excel's ``sep=X`` hint line: (separator hint or None, first line of the table).

    Excel does not show the hint line, so the header stays row 1.
    """
    first = fh.readline()
    if first.lower().startswith("sep=") and len(first.strip()) == 5:
        return first[4], fh.readline()
    return None, first


def _csv_error(index: int, exc: csv.Error) -> ImportFailed:
    if "field larger than field limit" in str(exc):
        message = f"een veld is langer dan {FIELD_LIMIT} tekens"
    else:
        message = f"rij is geen geldige CSV ({exc})"
    return ImportFailed([RowError(index, None, message)])


def read_table(
    source: str | Path | bytes,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    max_errors: int = MAX_ERRORS,
) -> CsvTable:
    """Read a CSV file (path or raw bytes) and check its header.

    Raises :class:`ImportFailed` for problems that make the rows meaningless (not UTF-8, a NUL
    character, empty, a missing required column, a duplicated column, a field longer than
    :data:`FIELD_LIMIT`). Row-shape problems (a row with more or fewer fields than the header) are
    returned in ``table.errors`` (bounded by ``max_errors``, see :class:`RowErrors`), so a caller
    can add its value errors to them and report all together.
    The file is read in passes (streamed), never held in memory as a whole.
    """
    src: Path | bytes = source if isinstance(source, bytes) else Path(source)
    _check_encoding(src)
    with _open_text(src) as fh:
        hint, first_line = _header_line(fh)
    if not first_line.strip():
        raise ImportFailed([RowError(1, None, "bestand is leeg of de kopregel ontbreekt")])
    separator = hint or detect_separator(first_line.split("\n", 1)[0])

    def records() -> Iterator[tuple[int, list[str]]]:
        """(Excel row, fields) of every record, the header included as row 1."""
        with _open_text(src) as fh:
            _, line = _header_line(fh)
            reader = csv.reader(itertools.chain([line], fh), delimiter=separator)
            index = 1
            while True:
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise _csv_error(index, exc) from None
                yield index, record
                index += 1

    all_records = records()
    _, header_record = next(all_records)
    header = [h.strip().lower() for h in header_record]
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
    width = len(header)
    shape_errors = RowErrors(max_errors)
    count = 0
    for index, record in all_records:
        if not any(cell.strip() for cell in record):
            continue  # Excel leaves empty rows (";;;;") at the end
        if len(record) != width:
            shape_errors.append(
                RowError(
                    index,
                    None,
                    f"{len(record)} velden, de kopregel heeft er {width} "
                    f"(scheidingsteken '{separator}' of aanhalingstekens?)",
                )
            )
            continue
        count += 1

    def data_records() -> Iterator[tuple[int, list[str]]]:
        it = records()
        next(it)
        return it

    rows = TableRows(data_records, count)
    rows.header = header
    rows.known = frozenset(required) | frozenset(optional)
    return CsvTable(header=header, rows=rows, separator=separator, errors=shape_errors)


class RowReader:
    """Reads typed fields of one row, collecting errors instead of stopping at the first."""

    def __init__(self, row: int, values: dict[str, str], errors: ErrorSink) -> None:
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
    """Write the canonical form: UTF-8 without BOM, ``;``, ``\\n`` line ends, minimal quoting,
    cells guarded against formula injection (:func:`spreadsheet_safe`)."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        writer = SafeCsvWriter(fh)
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
