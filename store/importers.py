"""Importers: files in the formats of docs/file-formats.md into the database.

Every import works in two phases. First the whole file is checked, on its own and against the
database (lookups are preloaded into dicts, so there is no query per row); every problem is
collected as a :class:`RowError`. If there is any, :class:`ImportFailed` is raised and nothing has
been written. Only then are the rows written in bulk. The functions never commit: the caller's
unit of work (``store.db.unit_of_work``) does, and rolls everything back if writing fails halfway.

Re-importing is an upsert keyed on the external identifier (area code, organisation code, user
email, type code, option_id, youth_code, contingent key corporatie × gemeente × year × type):
an existing row is updated in place (its database id, status and password stay), a new one is
inserted. For a youth, the file's lists (accepted types, preferred areas, anchors, no-go areas,
companions, conflicts) replace the stored ones.
"""

from __future__ import annotations

import inspect
import logging
import re
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import psycopg
import pyogrio
import pyproj
import shapely
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from matcher.problem import AreaLevel, area_level, gemeente_of
from matcher.records import (
    GEMEENTE_CODE,
    ContingentRecord,
    HousingTypeRecord,
    OptionRecord,
    OrganisationRecord,
    RecordContext,
    UserRecord,
    YouthRecord,
    parse_polygon_wkt,
)
from store.csvio import (
    MAX_ERRORS,
    ErrorSink,
    ImportFailed,
    RowError,
    RowErrors,
    RowReader,
    TableRows,
    parse_bool,
    parse_decimal,
    read_table,
)
from store.geometry import RD_NEW, to_wkb
from store.models import (
    Area,
    Contingent,
    HousingOption,
    HousingType,
    Organisation,
    User,
    Youth,
    YouthAcceptedType,
    YouthAnchor,
    YouthNoGoArea,
    YouthPreferredArea,
    YouthRelation,
)
from store.record_rows import read_record

__all__ = [
    "KINDS",
    "ImportFailed",
    "ImportReport",
    "Progress",
    "RowError",
    "import_areas",
    "import_contingents",
    "import_file",
    "import_housing_types",
    "import_options",
    "import_organisations",
    "import_users",
    "import_youths",
]

log = logging.getLogger(__name__)

KINDS = ("areas", "organisations", "users", "types", "options", "youths", "contingents")
Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)``; units are rows checked plus rows written (2 per row)."""

CHUNK = 1000  # rows per bulk statement and per IN (...) list: well under SQLite's variable limit
CRS_HINT = "geef het coördinatenstelsel op met --crs, bijvoorbeeld --crs EPSG:28992"

K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did: ``inserted`` new rows and ``updated`` existing ones."""

    kind: str
    inserted: int
    updated: int

    @property
    def rows(self) -> int:
        """Rows written (inserted plus updated)."""
        return self.inserted + self.updated

    @property
    def count(self) -> int:
        """Alias of :attr:`rows`."""
        return self.rows

    def __str__(self) -> str:
        return f"{self.kind}: {self.inserted} nieuw, {self.updated} bijgewerkt"


# --- helpers ------------------------------------------------------------------------------------


class _Tracker:
    """Progress over 2 units per row: one when checked, one when written."""

    def __init__(self, callback: Progress | None, rows: int) -> None:
        self.callback = callback
        self.total = 2 * rows
        self.done = 0

    def advance(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.callback is not None:
            self.callback(self.done, self.total)

    def finish(self) -> None:
        self.advance(self.total - self.done)


def _chunks(items: Sequence[K], size: int = CHUNK) -> Iterator[Sequence[K]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


DUPLICATE_ROWS_SHOWN = 5


def _duplicate_errors(
    keyed_rows: Callable[[], Iterable[tuple[int, K]]],
    field: str,
    label: Callable[[K], str],
    errors: ErrorSink,
) -> None:
    """One error per key that occurs more than once in the file, on its first row, with the
    count and the first few rows; added to ``errors``.

    ``keyed_rows`` is called for one or two passes over ``(row, key)``. Memory stays small
    whatever the file: the first pass keeps only a 64-bit hash and the row number per row
    (numpy finds the repeated hashes); the second looks at the rows of the duplicates that will
    be listed and compares their real keys, so a hash collision never reports a false
    duplicate among them. Duplicates beyond the error limit are only counted.
    """
    hashes, rows = array("q"), array("q")
    for row, key in keyed_rows():
        hashes.append(hash(key))
        rows.append(row)
    if len(hashes) < 2:
        return
    h = np.frombuffer(hashes, dtype=np.int64)
    r = np.frombuffer(rows, dtype=np.int64)
    order = np.argsort(h, kind="stable")
    sorted_h = h[order]
    starts = np.flatnonzero(np.r_[True, sorted_h[1:] != sorted_h[:-1]])
    counts = np.diff(np.r_[starts, len(sorted_h)])
    repeated = counts > 1
    if not repeated.any():
        return
    first_rows = r[order[starts[repeated]]]  # stable sort: a group's first element comes first
    repeated_h = sorted_h[starts[repeated]]
    limit = errors.limit if isinstance(errors, RowErrors) else len(first_rows)
    shown = np.argsort(first_rows, kind="stable")[:limit]
    wanted = {int(repeated_h[i]) for i in shown}
    del hashes, rows, h, r, order, sorted_h
    groups: dict[int, tuple[K, list[int], list[int]]] = {}  # hash -> (key, rows, [count])
    for row, key in keyed_rows():
        hk = hash(key)
        if hk not in wanted:
            continue
        group = groups.get(hk)
        if group is None:
            groups[hk] = (key, [row], [1])
        elif group[0] == key:
            group[2][0] += 1
            if len(group[1]) < DUPLICATE_ROWS_SHOWN:
                group[1].append(row)
    for key, key_rows, (count,) in groups.values():
        if count < 2:
            continue  # a hash collision, not a duplicate
        where = ", ".join(str(x) for x in key_rows)
        if count > len(key_rows):
            where += f" en {count - len(key_rows)} andere"
        errors.append(
            RowError(key_rows[0], field, f"{label(key)} komt {count} keer voor (rij {where})")
        )
    if isinstance(errors, RowErrors):
        errors.count_more(int(repeated.sum()) - len(shown))


def _raw_duplicates(
    rows: TableRows,
    field: str,
    label: Callable[[str], str],
    errors: ErrorSink,
    key: Callable[[str], str] = lambda v: v,
) -> None:
    """Duplicate identifiers as written in the file, whatever else is wrong with the rows."""
    _duplicate_errors(
        lambda: ((row, key(raw[field])) for row, raw in rows if raw.get(field)),
        field,
        label,
        errors,
    )


def _keep(values: list[Any], item: Any, errors: ErrorSink) -> None:
    """Collect a checked row for writing, unless the file is refused anyway: then nothing is
    kept, so a file of bad rows costs no memory per row."""
    if errors:
        values.clear()
    else:
        values.append(item)


def _insert_chunk(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    # render_nulls: the ORM otherwise drops None values and splits the batch into one statement
    # per distinct pattern of empty fields (thousands of round trips on PostgreSQL).
    session.execute(insert(model).execution_options(render_nulls=True), list(rows))


def _copy_rows(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> bool:
    """PostgreSQL COPY in the session's transaction: several times faster than executemany.

    Columns missing from the rows get their scalar Python default (COPY knows only server
    defaults); returns False, copying nothing, when a missing column has a callable default.
    """
    table = model.__table__
    given = set(rows[0])
    columns, fill = [], {}
    for column in table.columns:
        if column.name in given:
            columns.append(column.name)
        elif column.default is not None:
            if not column.default.is_scalar:
                return False
            columns.append(column.name)
            fill[column.name] = column.default.arg
    driver_connection = session.connection().connection.driver_connection
    assert driver_connection is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([row[c] if c in given else fill[c] for c in columns])
    return True


def _bulk_insert(session: Session, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all carry the same keys (and every non-null column without default)."""
    if not rows:
        return
    connection = session.connection()
    if (
        connection.dialect.name == "postgresql"
        and connection.dialect.driver == "psycopg"
        and _copy_rows(session, model, rows)
    ):
        return
    for chunk in _chunks(rows):
        _insert_chunk(session, model, chunk)


def _bulk_update(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """ORM bulk UPDATE by primary key (every dict carries ``id``)."""
    for chunk in _chunks(rows):
        session.execute(update(model), list(chunk))


def _code_ids(session: Session, code_col: Any, id_col: Any) -> dict[str, int]:
    return {code: id_ for code, id_ in session.execute(select(code_col, id_col))}


def _write(session: Session, kind: str, action: Callable[[], None]) -> None:
    """Run the write phase; a database error becomes ImportFailed (the caller rolls back)."""
    try:
        # Bulk statements and COPY bypass the unit of work: flush the caller's pending objects
        # first so they are in the database before rows that may refer to them.
        session.flush()
        action()
    except (SQLAlchemyError, psycopg.Error) as exc:  # psycopg: from COPY on the raw connection
        cause = getattr(exc, "orig", None) or exc
        log.exception("import %s: writing failed", kind)
        raise ImportFailed(
            [
                RowError(
                    None,
                    None,
                    f"databasefout tijdens schrijven, niets opgeslagen: {cause}",
                )
            ]
        ) from exc


def _upsert(
    session: Session,
    kind: str,
    model: type[Any],
    values: Sequence[dict[str, Any]],
    key: Callable[[dict[str, Any]], Any],
    existing: dict[Any, int],
    tracker: _Tracker,
    *,
    new_defaults: dict[str, Any] | None = None,
    after: Callable[[], None] | None = None,
) -> ImportReport:
    """The write phase every import ends with: rows whose key is not in ``existing`` are
    inserted (with ``new_defaults``, in the order given: parents first), the others updated by
    id; ``after`` writes what hangs off the rows (a youth's lists). Progress per chunk."""
    new_rows = [{**(new_defaults or {}), **v} for v in values if key(v) not in existing]
    changed = [{"id": existing[key(v)], **v} for v in values if key(v) in existing]

    def write() -> None:
        for chunk in _chunks(new_rows):
            _bulk_insert(session, model, chunk)
            tracker.advance(len(chunk))
        _bulk_update(session, model, changed)
        if after is not None:
            after()

    _write(session, kind, write)
    tracker.finish()
    return ImportReport(kind, len(new_rows), len(changed))


@dataclass(frozen=True)
class Spec:
    """One kind of a plain CSV/XLSX import: its columns, how the file's duplicates are found,
    what is looked up before the rows are read, how a row becomes the model's values, and the
    natural key the upsert matches on (see :func:`run_spec`)."""

    kind: str
    model: type[Any]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    duplicates: Callable[[TableRows, ErrorSink], None]
    read_row: Callable[[RowReader, Any], dict[str, Any]]
    key: Callable[[dict[str, Any]], Any]
    existing: Callable[[Session], dict[Any, int]]
    lookups: Callable[[Session], Any] = lambda session: None


def run_spec(
    session: Session,
    spec: Spec,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import ``path`` as ``spec`` says: check every row (all problems collected, nothing
    written when there is one), then upsert the rows by their key."""
    table = read_table(path, list(spec.required), list(spec.optional), max_errors=max_errors)
    errors = table.errors
    tracker = _Tracker(progress, len(table.rows))
    spec.duplicates(table.rows, errors)
    context = spec.lookups(session)
    values: list[dict[str, Any]] = []
    for row, raw in table.rows:
        reader = RowReader(row, raw, errors)
        v = spec.read_row(reader, context)
        if reader.ok:
            _keep(values, v, errors)
    tracker.advance(len(table.rows))
    if errors:
        raise ImportFailed(errors)
    return _upsert(
        session, spec.kind, spec.model, values, spec.key, spec.existing(session), tracker
    )


def _valid_code(reader: RowReader, name: str, code: str, level: AreaLevel | None) -> bool:
    try:
        actual = area_level(code)
    except ValueError as exc:
        reader.error(name, str(exc))
        return False
    if level is not None and actual != level:
        reader.error(name, f"{code} is geen {level.value}code")
        return False
    return True


# --- areas --------------------------------------------------------------------------------------

_CODE_FIELDS = {
    AreaLevel.BUURT: ("buurtcode", "bu_code"),
    AreaLevel.WIJK: ("wijkcode", "wk_code"),
    AreaLevel.GEMEENTE: ("gemeentecode", "gm_code"),
}
_NAME_FIELDS = {
    AreaLevel.BUURT: ("buurtnaam", "bu_naam"),
    AreaLevel.WIJK: ("wijknaam", "wk_naam"),
    AreaLevel.GEMEENTE: ("gemeentenaam", "gm_naam"),
}
_LEVEL_ORDER = {AreaLevel.GEMEENTE: 0, AreaLevel.WIJK: 1, AreaLevel.BUURT: 2}


@dataclass(slots=True)
class _AreaRecord:
    row: int
    layer: str
    code: str
    level: AreaLevel
    name: str
    parent_code: str | None
    geometry: BaseGeometry
    synthetic: bool


def _prop(value: Any) -> str:
    """A feature property as stripped text; None and NaN are empty."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _file_format(path: Path) -> str:
    """``gpkg``, ``geojson`` or ``other``, by content: uploads may lack a telling suffix."""
    try:
        with path.open("rb") as fh:
            head = fh.read(64)
    except OSError:
        return "other"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"{"):
        return "geojson"
    return "other"


def _is_lonlat(crs: pyproj.CRS) -> bool:
    return bool(crs.is_geographic)


def _read_area_layer(
    path: Path, layer: str | None, crs: str | None, errors: ErrorSink
) -> gpd.GeoDataFrame | None:
    """Read one layer and settle its CRS (declared, or given); None when it cannot be used."""
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several types for unreadable files
        errors.append(RowError(None, None, f"bestand niet leesbaar: {exc}"))
        return None
    where = f"laag {layer}: " if layer else ""
    declared: pyproj.CRS | None = gdf.crs
    is_geojson = _file_format(path) == "geojson"
    if crs is not None:
        try:
            given = pyproj.CRS.from_user_input(crs)
        except CRSError:
            errors.append(RowError(None, "crs", f"onbekend coördinatenstelsel {crs!r}"))
            return None
        # GDAL reports WGS84 for every GeoJSON without a crs member (RFC 7946), so there a
        # geographic declaration is no real claim and --crs may override it.
        implicit = is_geojson and declared is not None and _is_lonlat(declared)
        if declared is not None and not implicit and not declared.equals(given):
            errors.append(
                RowError(
                    None,
                    "crs",
                    f"{where}het bestand verklaart {declared.to_string()}, maar --crs zegt {crs}; "
                    "laat --crs weg of corrigeer het bestand",
                )
            )
            return None
        gdf = gdf.set_crs(given, allow_override=True)
    elif declared is None:
        errors.append(
            RowError(None, "crs", f"{where}bestand heeft geen coördinatenstelsel; {CRS_HINT}")
        )
        return None
    assert gdf.crs is not None
    present = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if _is_lonlat(gdf.crs) and len(present):
        minx, miny, maxx, maxy = present.total_bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            errors.append(
                RowError(
                    None,
                    "crs",
                    f"{where}coördinaten ({minx:.0f}, {miny:.0f})-({maxx:.0f}, {maxy:.0f}) zijn "
                    f"geen lengte-/breedtegraden (WGS84, de standaard voor GeoJSON zonder crs); "
                    f"{CRS_HINT}",
                )
            )
            return None
    return gdf


def _area_records(gdf: gpd.GeoDataFrame, layer: str, errors: ErrorSink) -> list[_AreaRecord]:
    columns = {str(c).lower(): c for c in gdf.columns if c != gdf.geometry.name}
    where = f"laag {layer}: " if layer else ""

    def column(names: Sequence[str]) -> Any | None:
        return next((columns[n] for n in names if n in columns), None)

    code_cols = {lv: column(_CODE_FIELDS[lv]) for lv in _CODE_FIELDS}
    if all(c is None for c in code_cols.values()):
        errors.append(
            RowError(
                1,
                None,
                f"{where}geen kolom buurtcode, wijkcode of gemeentecode "
                "(of BU_CODE, WK_CODE, GM_CODE) gevonden",
            )
        )
        return []
    synth_col = column(("synthetic",))
    source_geoms = np.asarray(gdf.geometry.values, dtype=object)
    target = gdf.to_crs(RD_NEW) if not gdf.crs.equals(pyproj.CRS(RD_NEW)) else gdf
    target_geoms = np.asarray(target.geometry.values, dtype=object)
    rows = gdf.drop(columns=gdf.geometry.name).to_dict("records")

    records = []
    for i, props in enumerate(rows):
        reader = RowReader(i + 1, {}, errors)
        # The level is the finest code present on this feature: a buurt carries its wijkcode
        # and gemeentecode too, and one GeoJSON may mix levels.
        codes = {lv: _prop(props[c]) if c is not None else "" for lv, c in code_cols.items()}
        level = next((lv for lv in code_cols if codes[lv]), None)
        if level is None:
            reader.error(None, f"{where}geen buurtcode, wijkcode of gemeentecode ingevuld")
            continue
        code, code_field = codes[level], str(code_cols[level])
        name_col = column(_NAME_FIELDS[level])
        if not _valid_code(reader, code_field, code, level):
            continue
        parent: str | None = None
        if level == AreaLevel.BUURT:
            parent = "WK" + code[2:8]
            given_wijk = codes[AreaLevel.WIJK]
            if given_wijk and given_wijk != parent:
                reader.error(
                    str(code_cols[AreaLevel.WIJK]),
                    f"{code} ligt volgens CBS in {parent}, niet {given_wijk}",
                )
        elif level == AreaLevel.WIJK:
            parent = gemeente_of(code)
        given_gm = codes[AreaLevel.GEMEENTE]
        if level != AreaLevel.GEMEENTE and given_gm and given_gm != gemeente_of(code):
            reader.error(
                str(code_cols[AreaLevel.GEMEENTE]),
                f"{code} ligt volgens CBS in {gemeente_of(code)}, niet {given_gm}",
            )
        synthetic = False
        if synth_col is not None and _prop(props[synth_col]):
            try:
                synthetic = parse_bool(props[synth_col])
            except ValueError as exc:
                reader.error(str(synth_col), str(exc))
        geom = source_geoms[i]
        if geom is None or geom.is_empty:
            reader.error("geometrie", f"{where}{code}: geen geometrie")
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            reader.error(
                "geometrie",
                f"{where}{code}: geometrietype {geom.geom_type} niet toegestaan "
                "(alleen Polygon of MultiPolygon)",
            )
            continue
        if not shapely.is_valid(geom):
            reader.error(
                "geometrie",
                f"{where}{code}: ongeldige geometrie ({shapely.is_valid_reason(geom)}); "
                "niet automatisch gerepareerd",
            )
            continue
        rd = shapely.force_2d(target_geoms[i])
        if not shapely.is_valid(rd):
            reader.error(
                "geometrie",
                f"{where}{code}: ongeldig na omrekening naar RD New "
                f"({shapely.is_valid_reason(rd)})",
            )
            continue
        name = _prop(props[name_col]) if name_col is not None else ""
        if len(name) > 200:
            reader.error(str(name_col), "naam te lang (hoogstens 200 tekens)")
        if reader.ok:
            records.append(
                _AreaRecord(i + 1, layer, code, level, name or code, parent, rd, synthetic)
            )
    return records


def import_areas(
    session: Session,
    path: str | Path,
    crs: str | None = None,
    *,
    layer: str | None = None,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import CBS gemeenten, wijken or buurten from GeoJSON, GeoPackage or shapefile.

    A GeoPackage with several layers (as CBS ships it) is imported layer by layer, parents first,
    unless ``layer`` names one. ``crs`` states the coordinate system of a file that declares none
    (or a GeoJSON whose coordinates are not WGS84); it may not contradict a declared one.
    Geometry is reprojected to RD New and never repaired.
    """
    path = Path(path)
    errors = RowErrors(max_errors)
    if layer is not None:
        layer_names: list[str | None] = [layer]
    elif _file_format(path) == "gpkg":
        try:
            # Attribute-only tables (no geometry type) are not area layers.
            layer_names = [str(name) for name, kind in pyogrio.list_layers(path) if kind]
        except Exception as exc:
            raise ImportFailed([RowError(None, None, f"bestand niet leesbaar: {exc}")]) from exc
    else:
        layer_names = [None]
    records: list[_AreaRecord] = []
    for name in layer_names:
        gdf = _read_area_layer(path, name, crs, errors)
        if gdf is not None:
            records.extend(_area_records(gdf, (name or "") if len(layer_names) > 1 else "", errors))
    tracker = _Tracker(progress, len(records))
    tracker.advance(len(records))

    _duplicate_errors(lambda: ((r.row, r.code) for r in records), "code", str, errors)
    existing = {
        code: (id_, level)
        for code, id_, level in session.execute(select(Area.code, Area.id, Area.level))
    }
    in_file = {r.code for r in records}
    for r in records:
        if r.parent_code and r.parent_code not in in_file and r.parent_code not in existing:
            parent_level = "wijk" if r.level == AreaLevel.BUURT else "gemeente"
            errors.append(
                RowError(
                    r.row,
                    "code",
                    f"{r.code}: bovenliggende {parent_level} {r.parent_code} staat niet in de "
                    "database of in dit bestand",
                )
            )
    if errors:
        raise ImportFailed(errors)

    # Parents first: a buurt's wijk must exist when the buurt row is inserted.
    records.sort(key=lambda r: (_LEVEL_ORDER[r.level], r.code))
    values = []
    for r in records:
        minx, miny, maxx, maxy = r.geometry.bounds
        values.append(
            {
                "code": r.code,
                "level": r.level.value,
                "name": r.name,
                "gemeente_code": gemeente_of(r.code),
                "parent_code": r.parent_code,
                "geometry": to_wkb(r.geometry),
                "minx": minx,
                "miny": miny,
                "maxx": maxx,
                "maxy": maxy,
                "synthetic": r.synthetic,
            }
        )
    ids = {code: found[0] for code, found in existing.items()}
    return _upsert(session, "areas", Area, values, lambda v: v["code"], ids, tracker)


# --- organisations, users, types ----------------------------------------------------------------


def _organisation_row(r: RowReader, _: None) -> dict[str, Any]:
    rec = read_record(
        r,
        OrganisationRecord,
        {"code": "code", "name": "name", "kind": "kind", "gemeentecode": "gemeente_code"},
    )
    synthetic = r.boolean("synthetic", default=False)
    if rec is None:
        return {}
    return {
        "code": rec.code,
        "name": rec.name,
        "kind": rec.kind,
        "gemeente_code": rec.gemeente_code,
        "synthetic": synthetic,
    }


ORGANISATIONS = Spec(
    kind="organisations",
    model=Organisation,
    required=("code", "name", "kind"),
    optional=("gemeentecode", "synthetic"),
    duplicates=lambda rows, errors: _raw_duplicates(rows, "code", lambda c: f"code {c}", errors),
    read_row=_organisation_row,
    key=lambda v: v["code"],
    existing=lambda session: _code_ids(session, Organisation.code, Organisation.id),
)


def import_organisations(
    session: Session,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import ``organisations.csv``: ``code;name;kind;gemeentecode;synthetic``."""
    return run_spec(session, ORGANISATIONS, path, progress=progress, max_errors=max_errors)


# Roles whose organisation decides what they may see: the organisation must be of that kind.
_ROLE_ORG_KIND = {"gemeente": "gemeente", "corporatie": "corporatie"}


def _organisations(session: Session) -> dict[str, tuple[int, str]]:
    """Organisation code -> (id, kind)."""
    return {
        code: (id_, kind)
        for code, id_, kind in session.execute(
            select(Organisation.code, Organisation.id, Organisation.kind)
        )
    }


def _user_row(r: RowReader, orgs: dict[str, tuple[int, str]]) -> dict[str, Any]:
    rec = read_record(r, UserRecord, {c: c for c in ("email", "name", "role", "organisation")})
    synthetic = r.boolean("synthetic", default=False)
    # The database's part, on the file's text: reported even when another field is bad.
    org_code, role = r.raw("organisation"), r.raw("role").lower()
    org = orgs.get(org_code)
    if org_code and org is None:
        r.error("organisation", f"onbekende organisatie {org_code}")
    elif org is not None and role in _ROLE_ORG_KIND and org[1] != _ROLE_ORG_KIND[role]:
        r.error(
            "organisation",
            f"rol {role} hoort bij een organisatie van soort {_ROLE_ORG_KIND[role]}, "
            f"{org_code} is {org[1]}",
        )
    if rec is None or org is None:
        return {}
    return {
        "email": rec.email,
        "name": rec.name,
        "role": rec.role,
        "organisation_id": org[0],
        "synthetic": synthetic,
    }


USERS = Spec(
    kind="users",
    model=User,
    required=("email", "name", "role", "organisation"),
    optional=("synthetic",),
    duplicates=lambda rows, errors: _raw_duplicates(rows, "email", str, errors, key=str.lower),
    read_row=_user_row,
    key=lambda v: v["email"],
    existing=lambda session: {
        k.lower(): v for k, v in _code_ids(session, User.email, User.id).items()
    },
    lookups=_organisations,
)


def import_users(
    session: Session,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import ``users.csv``: ``email;name;role;organisation;synthetic``.

    E-mail addresses are stored in lower case and are the key. Passwords are never in the file;
    ``password_hash`` stays empty for new users and untouched for existing ones.
    """
    return run_spec(session, USERS, path, progress=progress, max_errors=max_errors)


_TYPE_COLUMNS = {name: name for name in HousingTypeRecord.model_fields}


def _type_row(r: RowReader, _: None) -> dict[str, Any]:
    rec = read_record(r, HousingTypeRecord, _TYPE_COLUMNS)
    synthetic = r.boolean("synthetic", default=False)
    return {} if rec is None else {**rec.model_dump(), "synthetic": synthetic}


HOUSING_TYPES = Spec(
    kind="types",
    model=HousingType,
    required=(
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
    ),
    optional=(
        "stay_min_months",
        "stay_max_months",
        "uses_contingent",
        "max_age_gap",
        "description",
        "synthetic",
    ),
    duplicates=lambda rows, errors: _raw_duplicates(rows, "code", lambda c: f"type {c}", errors),
    read_row=_type_row,
    key=lambda v: v["code"],
    existing=lambda session: _code_ids(session, HousingType.code, HousingType.id),
)


def import_housing_types(
    session: Session,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import the menukaart ``housing_types.csv`` (columns in docs/file-formats.md)."""
    return run_spec(session, HOUSING_TYPES, path, progress=progress, max_errors=max_errors)


# --- options ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _AreaIndex:
    """Areas in the database, for exact point-in-polygon lookups, finest level first."""

    trees: list[tuple[list[str], shapely.STRtree]]  # (codes sorted, tree) for buurt, wijk, gemeente
    parent: dict[str, str | None]
    levels: dict[str, str]  # every known area code -> level

    @classmethod
    def load(cls, session: Session) -> _AreaIndex:
        rows = session.execute(select(Area.code, Area.level, Area.parent_code)).all()
        levels = {code: level for code, level, _ in rows}
        parent = {code: parent for code, _, parent in rows}
        trees = []
        for level in (AreaLevel.BUURT, AreaLevel.WIJK, AreaLevel.GEMEENTE):
            geoms = session.execute(
                select(Area.code, Area.geometry)
                .where(Area.level == level.value)
                .order_by(Area.code)
            ).all()
            if geoms:
                polygons = shapely.from_wkb([g for _, g in geoms])
                trees.append(([code for code, _ in geoms], shapely.STRtree(polygons)))
        return cls(trees, parent, levels)

    @property
    def empty(self) -> bool:
        return not self.trees

    def locate(self, xs: Sequence[float], ys: Sequence[float]) -> list[str | None]:
        """The finest area code each point lies in (boundary counts; ties: lowest code).

        Buurten are tried first; points in no buurt fall back to wijken, then gemeenten, so a
        database with buurten for only part of the region still places every option.
        """
        found: list[str | None] = [None] * len(xs)
        if not len(xs):
            return found
        points = np.asarray(
            shapely.points(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)), dtype=object
        )
        todo = np.arange(len(xs))
        for codes, tree in self.trees:
            if not len(todo):
                break
            point_idx, area_idx = tree.query(points[todo], predicate="intersects")
            best = np.full(len(todo), len(codes), dtype=np.int64)
            # The tree holds areas sorted by code, so the smallest index is the lowest code.
            np.minimum.at(best, point_idx, area_idx)
            hit = best < len(codes)
            for i, j in zip(todo[hit], best[hit], strict=True):
                found[int(i)] = codes[int(j)]
            todo = todo[~hit]
        return found

    def chain(self, code: str) -> dict[str, str | None]:
        """Buurt, wijk and gemeente codes for a located area code."""
        out: dict[str, str | None] = {"buurt": None, "wijk": None, "gemeente": None}
        current: str | None = code
        while current is not None:
            out[self.levels[current]] = current
            current = self.parent.get(current)
        out["gemeente"] = out["gemeente"] or gemeente_of(code)
        return out


def _mixed_house_errors(
    rows: TableRows,
    house_hash: array[int],
    house_type: array[int],
    house_row: array[int],
    errors: ErrorSink,
) -> None:
    """An error on every row of a shared house whose options are not all of one type.

    The houses come as parallel arrays (hash of the house id, type id, row); numpy finds the
    houses with more than one type, and one more pass over the file names the listed rows'
    houses (only as many rows as the error list keeps; the others are counted).
    """
    if not house_hash:
        return
    h = np.frombuffer(house_hash, dtype=np.int64)
    t = np.frombuffer(house_type, dtype=np.int64)
    r = np.frombuffer(house_row, dtype=np.int64)
    order = np.lexsort((t, h))
    hs, ts = h[order], t[order]
    starts = np.r_[True, hs[1:] != hs[:-1]]
    group = np.cumsum(starts) - 1
    new_type = starts | np.r_[True, ts[1:] != ts[:-1]]
    types_per_house = np.bincount(group, weights=new_type.astype(np.int64))
    mixed_rows = np.sort(r[order][types_per_house[group] > 1])
    if not len(mixed_rows):
        return
    limit = errors.limit if isinstance(errors, RowErrors) else len(mixed_rows)
    listed = {int(x) for x in mixed_rows[:limit]}
    for row, raw in rows:
        if row in listed:
            house = raw.get("shared_house_id", "")
            errors.append(
                RowError(
                    row, "shared_house_id", f"huis {house} heeft woningen van verschillende typen"
                )
            )
    if isinstance(errors, RowErrors):
        errors.count_more(len(mixed_rows) - len(listed))


_OPTION_COLUMNS = {
    "option_id": "code",
    "type": "type_code",
    "x": "x",
    "y": "y",
    "kale_huur": "kale_huur",
    "servicekosten": "servicekosten",
    "capacity": "capacity",
    "available_from": "available_from",
    "address": "address",
    "accessibility_notes": "accessibility_notes",
}


def import_options(
    session: Session,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import housing options (``options.csv``); areas are derived from x,y.

    New options get status ``available``; a re-imported option keeps its status.
    """
    required = ["option_id", "type", "x", "y", "kale_huur", "available_from"]
    optional = [
        "corporatie",
        "gemeentecode",
        "wijkcode",
        "buurtcode",
        "servicekosten",
        "capacity",
        "shared_house_id",
        "address",
        "accessibility_notes",
        "synthetic",
    ]
    table = read_table(path, required, optional, max_errors=max_errors)
    errors = table.errors
    tracker = _Tracker(progress, len(table.rows))
    _raw_duplicates(table.rows, "option_id", str, errors)
    types = _code_ids(session, HousingType.code, HousingType.id)
    context = RecordContext(
        type_codes=frozenset(types),
        persons_max=dict(session.execute(select(HousingType.code, HousingType.persons_max)).all()),
    )
    corporations = {
        code: (id_, kind)
        for code, id_, kind in session.execute(
            select(Organisation.code, Organisation.id, Organisation.kind)
        )
    }
    areas = _AreaIndex.load(session)
    if areas.empty:
        errors.append(
            RowError(None, None, "er zijn nog geen gebieden in de database; importeer die eerst")
        )

    values: list[tuple[int, dict[str, Any]]] = []
    # Shared houses, per row that names one: (hash of the house id, type id, row). Arrays, so
    # a file of a million rows costs 24 bytes a row here; the houses are compared at the end.
    house_hash, house_type, house_row = array("q"), array("q"), array("q")

    def locate(parsed: list[tuple[RowReader, dict[str, Any], dict[str, str | None]]]) -> None:
        """Place a chunk of rows in their areas (one spatial query per chunk)."""
        located_rows = [
            (r, v, g) for r, v, g in parsed if v["x"] is not None and v["y"] is not None
        ]
        located = areas.locate(
            [v["x"] for _, v, _ in located_rows], [v["y"] for _, v, _ in located_rows]
        )
        for (r, v, given), code in zip(located_rows, located, strict=True):
            if areas.empty:
                continue
            if code is None:
                r.error("x/y", "locatie ligt in geen enkel bekend gebied")
                continue
            chain = areas.chain(code)
            for lvl in ("gemeente", "wijk", "buurt"):
                want = given[lvl]
                if want is not None and chain[lvl] != want:
                    # A finer level missing from the chain means no known area of that level
                    # holds the point, so the given code cannot hold it either.
                    actual = chain[lvl] or f"geen enkele bekende {lvl}"
                    r.error(
                        f"{lvl}code", f"{want} klopt niet met de locatie (die ligt in {actual})"
                    )
            if r.ok:
                v["gemeente_code"] = chain["gemeente"]
                v["wijk_code"] = chain["wijk"]
                v["buurt_code"] = chain["buurt"]
                if v["shared_house_id"]:
                    house_hash.append(hash(v["shared_house_id"]))
                    house_type.append(v["type_id"])
                    house_row.append(r.row)
                _keep(values, (r.row, v), errors)

    Located = tuple[dict[str, Any], dict[str, str | None]]

    def read(r: RowReader, raw: dict[str, str]) -> Located | None:
        """One row's values and the area codes it gives, or None when it has errors."""
        rec = read_record(r, OptionRecord, _OPTION_COLUMNS, context=context)
        corp_code = r.text("corporatie")
        corp = corporations.get(corp_code) if corp_code else None
        if corp_code and corp is None:
            r.error("corporatie", f"onbekende organisatie {corp_code}")
        elif corp is not None and corp[1] != "corporatie":
            r.error("corporatie", f"{corp_code} is geen corporatie maar {corp[1]}")
        given: dict[str, str | None] = {}
        for level, name in (
            (AreaLevel.GEMEENTE, "gemeentecode"),
            (AreaLevel.WIJK, "wijkcode"),
            (AreaLevel.BUURT, "buurtcode"),
        ):
            code = r.text(name)
            given[level.value] = None
            if code and _valid_code(r, name, code, level):
                if code in areas.levels:
                    given[level.value] = code
                else:
                    r.error(name, f"onbekend gebied {code}")
        shared = r.text("shared_house_id", max_len=40)
        synthetic = r.boolean("synthetic", default=False)
        if rec is None:
            return None
        v: dict[str, Any] = {
            "code": rec.code,
            "type_id": types[rec.type_code],
            "corporation_id": corp[0] if corp else None,
            "x": rec.x,
            "y": rec.y,
            "kale_huur": rec.kale_huur,
            "servicekosten": rec.servicekosten,
            "capacity": rec.capacity,
            "shared_house_id": shared,
            "available_from": rec.available_from,
            "synthetic": synthetic,
        }
        # Text columns the file may leave out: a file without them keeps what is stored.
        for column in ("address", "accessibility_notes"):
            if column in raw:
                v[column] = getattr(rec, column) or None
        return v, given

    parsed: list[tuple[RowReader, dict[str, Any], dict[str, str | None]]] = []
    for n, (row, raw) in enumerate(table.rows):
        r = RowReader(row, raw, errors)
        if (item := read(r, raw)) is not None:
            parsed.append((r, *item))
        if n % CHUNK == CHUNK - 1:
            locate(parsed)
            parsed = []
            tracker.advance(CHUNK)
    locate(parsed)
    _mixed_house_errors(table.rows, house_hash, house_type, house_row, errors)
    tracker.advance(tracker.total // 2 - tracker.done)
    if errors:
        raise ImportFailed(errors)

    return _upsert(
        session,
        "options",
        HousingOption,
        [v for _, v in values],
        lambda v: v["code"],
        _code_ids(session, HousingOption.code, HousingOption.id),
        tracker,
        new_defaults={"status": "available"},
    )


# --- youths -------------------------------------------------------------------------------------


def _parse_anchor(item: str) -> dict[str, Any]:
    """``school@149800,411500`` (or with decimal commas ``school@149800,5,411500,25``) as an
    anchor's fields; where it lies and how long its label may be is ``AnchorRecord``'s rule."""
    label, at, coords = item.rpartition("@")
    label = label.strip()
    if not at or not label:
        raise ValueError(f"anker {item!r}: verwacht label@x,y")
    parts = [p.strip() for p in coords.split(",")]
    if len(parts) == 2:
        xs, ys = parts
    elif len(parts) == 4:
        xs, ys = f"{parts[0]},{parts[1]}", f"{parts[2]},{parts[3]}"
    else:
        raise ValueError(f"anker {item!r}: verwacht label@x,y (x en y in RD New-meters)")
    try:
        return {"label": label, "x": parse_decimal(xs), "y": parse_decimal(ys)}
    except ValueError as exc:
        raise ValueError(f"anker {item!r}: {exc}") from None


_YOUTH_COLUMNS = {
    "youth_code": "code",
    "gemeentecode": "gemeente_code",
    **{
        name: name
        for name in (
            "birth_date",
            "income",
            "support_need",
            "accepted_types",
            "preferred_areas",
            "no_go_codes",
            "urgency",
            "care_end_date",
            "waiting_since",
            "companions",
            "conflicts",
            "max_rent",
            "household_size",
            "max_distance_m",
            "support_provider",
        )
    },
}


def import_youths(
    session: Session,
    path: str | Path,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import youths (``youths.csv``); ages are checked on ``today`` (default: the real today).

    New youths get status ``waiting``; a re-imported youth keeps its status and its lists are
    replaced by the file's. Companions are stored in both directions.
    """
    today = today or date.today()
    required = [
        "youth_code",
        "birth_date",
        "gemeentecode",
        "income",
        "support_need",
        "accepted_types",
    ]
    optional = [
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
    ]
    table = read_table(path, required, optional, max_errors=max_errors)
    errors = table.errors
    tracker = _Tracker(progress, len(table.rows))
    _raw_duplicates(table.rows, "youth_code", str, errors)
    types = _code_ids(session, HousingType.code, HousingType.id)
    area_levels = {code: level for code, level in session.execute(select(Area.code, Area.level))}
    users = {
        email.lower(): (id_, role)
        for email, id_, role in session.execute(select(User.email, User.id, User.role))
    }
    existing = _code_ids(session, Youth.code, Youth.id)
    file_codes: set[str] | None = None  # read only when a companion or conflict is not stored

    context = RecordContext(
        today=today, type_codes=frozenset(types), area_codes=frozenset(area_levels)
    )

    def read(r: RowReader) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """One row's values and lists, or None when it has errors."""
        given: dict[str, Any] = {}
        try:
            given["anchors"] = [_parse_anchor(item) for item in r.items("anchors")]
        except ValueError as exc:
            r.error("anchors", str(exc))
        if wkt := r.raw("no_go_wkt"):
            given["no_go_wkt"] = [wkt]
        rec = read_record(r, YouthRecord, _YOUTH_COLUMNS, values=given, context=context)
        nonlocal file_codes
        for kind in ("companions", "conflicts"):
            for other in r.items(kind):
                if other in existing or other == r.raw("youth_code"):
                    continue
                if file_codes is None:
                    file_codes = {raw.get("youth_code", "") for _, raw in table.rows}
                if other not in file_codes:
                    r.error(kind, f"onbekende jongere {other} (niet in dit bestand of de database)")
        regisseur_id = None
        if email := r.text("regisseur"):
            user = users.get(email.lower())
            if user is None:
                r.error("regisseur", f"onbekende gebruiker {email}")
            elif user[1] != "regisseur":
                r.error("regisseur", f"{email} heeft rol {user[1]}, niet regisseur")
            else:
                regisseur_id = user[0]
        synthetic = r.boolean("synthetic", default=False)
        if rec is None or not r.ok:
            return None
        v: dict[str, Any] = {
            "code": rec.code,
            "birth_date": rec.birth_date,
            "gemeente_code": rec.gemeente_code,
            "income": rec.income,
            "support_need": rec.support_need,
            "urgency": rec.urgency,
            "care_end_date": rec.care_end_date,
            "waiting_since": rec.waiting_since,
            "max_rent": rec.max_rent,
            "household_size": rec.household_size,
            "max_distance_m": rec.max_distance_m,
            "support_provider": rec.support_provider,
            "regisseur_id": regisseur_id,
            "synthetic": synthetic,
        }
        lists = {
            "accepted": [types[t] for t in rec.accepted_types],
            "preferred": rec.preferred_areas,
            "anchors": [(a.label, a.x, a.y) for a in rec.anchors],
            "no_go_codes": rec.no_go_codes,
            "no_go_geom": parse_polygon_wkt(rec.no_go_wkt[0]) if rec.no_go_wkt else None,
            "companions": rec.companions,
            "conflicts": rec.conflicts,
        }
        return v, lists

    records: list[tuple[int, dict[str, Any], dict[str, Any]]] = []
    for n, (row, raw) in enumerate(table.rows):
        r = RowReader(row, raw, errors)
        if (item := read(r)) is not None:
            _keep(records, (row, *item), errors)
        if n % CHUNK == CHUNK - 1:
            tracker.advance(CHUNK)
    tracker.advance(tracker.total // 2 - tracker.done)
    if errors:
        raise ImportFailed(errors)

    def write_lists() -> None:
        """The file's lists replace the stored ones of its youths."""
        ids = _code_ids(session, Youth.code, Youth.id)
        file_ids = [ids[v["code"]] for _, v, _ in records]
        replaced = [existing[v["code"]] for _, v, _ in records if v["code"] in existing]
        for id_chunk in _chunks(replaced):
            for model in (YouthAcceptedType, YouthPreferredArea, YouthAnchor, YouthNoGoArea):
                session.execute(delete(model).where(model.youth_id.in_(id_chunk)))
        for id_chunk in _chunks(file_ids):
            # The file is authoritative for its youths' relations; companion links are
            # symmetric, so a link stored from the other side goes too.
            session.execute(
                delete(YouthRelation).where(
                    or_(
                        YouthRelation.youth_id.in_(id_chunk),
                        (YouthRelation.other_youth_id.in_(id_chunk))
                        & (YouthRelation.kind == "companion"),
                    )
                )
            )
        accepted_rows, preferred_rows, anchor_rows, no_go_rows = [], [], [], []
        relation_keys: set[tuple[int, int, str]] = set()
        for _, v, lists in records:
            yid = ids[v["code"]]
            accepted_rows += [
                {"youth_id": yid, "rank": k, "type_id": t} for k, t in enumerate(lists["accepted"])
            ]
            preferred_rows += [
                {"youth_id": yid, "rank": k, "area_code": c}
                for k, c in enumerate(lists["preferred"])
            ]
            anchor_rows += [
                {"youth_id": yid, "label": label, "x": x, "y": y}
                for label, x, y in lists["anchors"]
            ]
            no_go_rows += [
                {"youth_id": yid, "area_code": c, "geometry": None} for c in lists["no_go_codes"]
            ]
            if lists["no_go_geom"] is not None:
                no_go_rows.append(
                    {"youth_id": yid, "area_code": None, "geometry": to_wkb(lists["no_go_geom"])}
                )
            for other in lists["companions"]:
                relation_keys.add((yid, ids[other], "companion"))
                relation_keys.add((ids[other], yid, "companion"))
            for other in lists["conflicts"]:
                relation_keys.add((yid, ids[other], "conflict"))
        _bulk_insert(session, YouthAcceptedType, accepted_rows)
        _bulk_insert(session, YouthPreferredArea, preferred_rows)
        _bulk_insert(session, YouthAnchor, anchor_rows)
        _bulk_insert(session, YouthNoGoArea, no_go_rows)
        _bulk_insert(
            session,
            YouthRelation,
            [{"youth_id": a, "other_youth_id": b, "kind": k} for a, b, k in sorted(relation_keys)],
        )

    return _upsert(
        session,
        "youths",
        Youth,
        [v for _, v, _ in records],
        lambda v: v["code"],
        existing,
        tracker,
        new_defaults={"status": "waiting"},
        after=write_lists,
    )


# --- contingents --------------------------------------------------------------------------------


_CONTINGENT_KEY = ("corporatie", "gemeentecode", "year", "type")


@dataclass(frozen=True)
class _ContingentLookups:
    types: dict[str, int]
    organisations: dict[str, tuple[int, str]]
    gemeenten: set[str]


def _contingent_lookups(session: Session) -> _ContingentLookups:
    return _ContingentLookups(
        _code_ids(session, HousingType.code, HousingType.id),
        _organisations(session),
        set(session.scalars(select(Area.code).where(Area.level == "gemeente"))),
    )


_CONTINGENT_COLUMNS = {
    "corporatie": "corporation",
    "gemeentecode": "gemeente_code",
    "year": "year",
    "type": "housing_type",
    "amount": "amount",
}


def _contingent_row(r: RowReader, known: _ContingentLookups) -> dict[str, Any]:
    rec = read_record(r, ContingentRecord, _CONTINGENT_COLUMNS)
    # File-only columns: the register's bookkeeping, not part of an agreement as entered.
    used = r.integer("used", default=0, lo=0, hi=100_000, what="hoeveelheid")
    synthetic = r.boolean("synthetic", default=False)
    # The database's part, on the file's text: reported even when another field is bad.
    corp_code, gm, type_code = r.raw("corporatie"), r.raw("gemeentecode"), r.raw("type")
    corp = known.organisations.get(corp_code)
    if corp_code and corp is None:
        r.error("corporatie", f"onbekende organisatie {corp_code}")
    elif corp is not None and corp[1] != "corporatie":
        r.error("corporatie", f"{corp_code} is geen corporatie maar {corp[1]}")
    if re.fullmatch(GEMEENTE_CODE, gm) and gm not in known.gemeenten:
        r.error("gemeentecode", f"onbekende gemeente {gm}")
    if type_code and type_code not in known.types:
        r.error("type", f"onbekend woningtype {type_code}")
    if rec is None or corp is None:
        return {}
    return {
        "corporation_id": corp[0],
        "gemeente_code": rec.gemeente_code,
        "year": rec.year,
        "type_id": known.types.get(rec.housing_type) if rec.housing_type else None,
        "amount": rec.amount,
        "used": used,
        "synthetic": synthetic,
    }


def _contingent_duplicates(rows: TableRows, errors: ErrorSink) -> None:
    # Keyed on the file's own text, so rows with other errors are still compared.
    _duplicate_errors(
        lambda: ((row, tuple(raw.get(f, "") for f in _CONTINGENT_KEY)) for row, raw in rows),
        "corporatie",
        lambda k: f"contingent {k[0]}/{k[1]}/{k[2]}/{k[3] or 'alle typen'}",
        errors,
    )


CONTINGENTS = Spec(
    kind="contingents",
    model=Contingent,
    required=("corporatie", "gemeentecode", "year", "amount"),
    optional=("type", "used", "synthetic"),
    duplicates=_contingent_duplicates,
    read_row=_contingent_row,
    key=lambda v: (v["corporation_id"], v["gemeente_code"], v["year"], v["type_id"]),
    existing=lambda session: {
        (c, g, y, t): id_
        for id_, c, g, y, t in session.execute(
            select(
                Contingent.id,
                Contingent.corporation_id,
                Contingent.gemeente_code,
                Contingent.year,
                Contingent.type_id,
            )
        )
    },
    lookups=_contingent_lookups,
)


def import_contingents(
    session: Session,
    path: str | Path,
    *,
    progress: Progress | None = None,
    max_errors: int = MAX_ERRORS,
) -> ImportReport:
    """Import contingents: ``corporatie;gemeentecode;year;type;amount;used;synthetic``.

    The key is corporatie × gemeente × year × type (empty type: all types).
    """
    return run_spec(session, CONTINGENTS, path, progress=progress, max_errors=max_errors)


# --- dispatch -----------------------------------------------------------------------------------

_IMPORTERS: dict[str, Callable[..., ImportReport]] = {
    "areas": import_areas,
    "organisations": import_organisations,
    "users": import_users,
    "types": import_housing_types,
    "options": import_options,
    "youths": import_youths,
    "contingents": import_contingents,
}


def import_file(
    session: Session,
    kind: str,
    path: str | Path,
    *,
    progress: Progress | None = None,
    **kw: Any,
) -> ImportReport:
    """Import ``path`` as ``kind`` (one of :data:`KINDS`); ``kw`` goes to the importer.

    For the CLI and API: ``kw`` may hold ``crs`` and ``layer`` (areas), ``today`` (youths) and
    ``max_errors`` (every kind: errors kept as objects, see :class:`~store.csvio.RowErrors`).
    """
    importer = _IMPORTERS.get(kind)
    if importer is None:
        raise ValueError(f"onbekende soort import {kind!r} (kies uit {', '.join(KINDS)})")
    # Options left at None by a generic caller (a CLI passing --crs to every kind) are dropped;
    # a real value for an option this kind does not take is an error, not silently ignored.
    kw = {k: v for k, v in kw.items() if v is not None}
    accepted = set(inspect.signature(importer).parameters) - {"session", "path", "progress"}
    if unknown := sorted(set(kw) - accepted):
        raise ValueError(f"import van {kind} kent geen optie {', '.join(unknown)}")
    return importer(session, path, progress=progress, **kw)
