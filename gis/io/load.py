"""The import engine: a file into one layer, all-or-nothing by default.

    read (pyogrio/csv) -> map fields -> geometry checks (shapely/numpy, in memory)
    -> one transaction: [replace: DELETE the layer] -> COPY into a TEMP staging table -> SQL checks
    -> one INSERT … SELECT of the good rows -> COMMIT

Any rejected row rolls the whole transaction back (the database is unchanged) and raises ImportRejected
listing every rejected row with its number, id and reasons. With `keep_good=True` the good rows are stored
and the rejected ones reported. Should the INSERT itself fail (a trigger or constraint the checks did not
foresee, e.g. the unit-grid assignment trigger), the rows at fault are found by bisection under
savepoints, so each still gets its own message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import shapely
from pyproj import CRS

from gis import crs as gcrs
from gis.errors import ImportRejected, InvalidInput, UnknownCRS
from gis.h3cells import point_cells
from gis.io import checks
from gis.io import geometry as ggeom
from gis.io import place as gplace
from gis.io.layers import PG_TYPES, LayerSpec, get_layer, norm
from gis.io.mapping import derive, duplicates, map_fields
from gis.io.readers import RawTable, read
from gis.settings import STORAGE_SRID

STAGE = checks.STAGE
CELLS = "_import_cells"
MODES = ("append", "replace")


@dataclass
class ImportReport:
    layer: str
    path: str
    format: str
    crs: str
    encoding: str
    mode: str
    keep_good: bool
    read: int = 0
    inserted: int = 0
    deleted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)   # seconds per phase

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_crs(declared: str | None, raw: RawTable, warnings: list[str]) -> gcrs.CrsRef:
    """--crs wins; else the CRS the file declares; else EPSG:4490 (with a warning)."""
    file_ref = None
    if raw.format == "GeoJSON" and raw.crs in (None, "EPSG:4326"):
        file_ref = gcrs.resolve("CRS84")     # RFC 7946 (GDAL reports it as EPSG:4326)
    elif raw.crs:
        try:
            file_ref = _ref_from_file(raw.crs)
        except UnknownCRS:
            if declared is None:
                raise
    if declared is not None:
        ref = gcrs.resolve(declared)
        if file_ref is not None and file_ref.name != ref.name and not _same(file_ref, ref):
            warnings.append(f"the file declares {file_ref.name}; --crs {ref.name} used instead")
        return ref
    if file_ref is not None:
        return file_ref
    warnings.append(f"the file declares no CRS: read as EPSG:{STORAGE_SRID} (pass --crs otherwise)")
    return gcrs.STORAGE


def _same(a: gcrs.CrsRef, b: gcrs.CrsRef) -> bool:
    geographic_wgs = {"CRS84", "EPSG:4326"}
    return {a.name, b.name} <= geographic_wgs


def _ref_from_file(text: str) -> gcrs.CrsRef:
    try:
        return gcrs.resolve(text)
    except UnknownCRS:
        pass
    try:
        proj = CRS.from_user_input(text)
    except Exception as exc:
        raise UnknownCRS(f"the file declares a CRS that cannot be read ({text[:60]}…): pass --crs") from exc
    code = proj.to_epsg(min_confidence=70)
    if code:
        return gcrs.resolve(code)
    return gcrs.CrsRef(proj.name or "file CRS", proj, f"urn:citygrid:crs:file:{proj.name}")


def _ewkb(geoms: np.ndarray) -> list[str | None]:
    present = ~shapely.is_missing(geoms)
    out = np.full(len(geoms), None, dtype=object)
    if present.any():
        out[present] = shapely.to_wkb(shapely.set_srid(geoms[present], STORAGE_SRID), hex=True, include_srid=True)
    return out.tolist()


def _geometries(raw: RawTable, spec: LayerSpec, ref: gcrs.CrsRef, errors: dict[int, list[str]],
                warnings: list[str], placed: dict[int, gplace.Placement] | None = None) -> list[str | None] | None:
    if spec.geometry is None:
        if raw.geometry is not None and (~shapely.is_missing(raw.geometry)).any():
            warnings.append(f"layer {spec.name} has no geometry: the file's geometries are ignored")
        return None
    if raw.geometry is None:
        raise ImportRejected(
            f"the file has no geometry; layer {spec.name} needs {spec.geometry}"
            + (" (CSV: give lon/lat columns or a WKT column)" if raw.format == "CSV" else ""), rows=[],
            code="no_geometry")
    missing = np.flatnonzero(shapely.is_missing(raw.geometry))
    for i in missing:
        if int(i) not in errors and not (placed and int(i) in placed):
            errors.setdefault(int(i), []).append("missing geometry")
    geoms = ggeom.fit_type(raw.geometry, spec.geometry, errors)
    geoms = ggeom.to_storage(geoms, ref, errors)
    geoms = ggeom.check_valid(geoms, errors)
    if placed:  # placed rows are already in the storage CRS
        rows = np.fromiter(placed, dtype=np.int64, count=len(placed))
        geoms[rows] = shapely.points([placed[int(i)].lon for i in rows], [placed[int(i)].lat for i in rows])
    return _ewkb(geoms)


#: Rows placed per call of the placer (the unit of the progress reports).
PLACE_CHUNK = 1000


def _place(conn: psycopg.Connection, raw: RawTable, spec: LayerSpec, columns: dict[str, list[Any]],
           errors: dict[int, list[str]], min_confidence: float, progress: Progress | None,
           placers: Mapping[str, gplace.PlaceFn] | None = None) -> dict[int, gplace.Placement]:
    """Places the rows without a geometry by the layer's placer; rows it cannot place get its reason.

    Fills the layer's `match_level` and `confidence` columns for the placed rows (rows with coordinates
    in the file keep what the file says, usually nothing: "given")."""
    name, source = spec.io.place  # type: ignore[misc]
    n = raw.n
    if raw.geometry is None:
        raw.geometry = np.full(n, None, dtype=object)
    todo = [int(i) for i in np.flatnonzero(shapely.is_missing(raw.geometry))]
    if not todo:
        return {}
    place = (placers or {}).get(name) or gplace.get(name)(conn)
    texts = columns.get(source) or [None] * n
    placed: dict[int, gplace.Placement] = {}
    level = list(columns.get("match_level") or [None] * n)
    conf = list(columns.get("confidence") or [None] * n)
    for start in range(0, len(todo), PLACE_CHUNK):
        part = todo[start:start + PLACE_CHUNK]
        for i, p in zip(part, place([texts[i] for i in part], min_confidence), strict=True):
            if p.reason is not None:
                errors.setdefault(i, []).append(p.reason)
            else:
                placed[i] = p
                level[i], conf[i] = p.level, p.confidence
        if progress:
            progress("place", min(start + PLACE_CHUNK, len(todo)), len(todo))
    if "match_level" in spec.columns:
        columns["match_level"], columns["confidence"] = level, conf
    return placed


def _second_geometry(values: list[Any], ref: gcrs.CrsRef, label: str, errors: dict[int, list[str]]) -> list:
    """A WKT (Multi)Polygon field, e.g. a waste facility's coverage, checked and transformed like the main one."""
    arr = np.array(values, dtype=object)
    geoms = shapely.from_wkt(arr, on_invalid="ignore")
    for i in np.flatnonzero(shapely.is_missing(geoms) & np.not_equal(arr, None)):
        errors.setdefault(int(i), []).append(f"unreadable {label} WKT")
    geoms = ggeom.fit_type(geoms, "MultiPolygon", errors, label)
    geoms = ggeom.to_storage(geoms, ref, errors, label)
    return _ewkb(ggeom.check_valid(geoms, errors, label))


def _stage_ddl(spec: LayerSpec) -> str:
    cols = [f"{f.column} {PG_TYPES[f.type]}" for f in spec.fields]
    if spec.geometry:
        cols.append("geom geometry")
    return (f"CREATE TEMP TABLE {STAGE} (row_no integer PRIMARY KEY, reasons text[] NOT NULL DEFAULT '{{}}', "
            f"{', '.join(cols)}) ON COMMIT DROP")


_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _array_literal(items: list[str]) -> str:
    return "{" + ",".join('"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items) + "}"


def _copy_text(values: list[Any], type_: str) -> list[str]:
    """A column in COPY text format (NULL is \\N); done per column so the row loop is a C-level join."""
    if type_ in ("text", "code", "wkt"):
        return ["\\N" if v is None else v.translate(_COPY_ESCAPE) for v in values]
    if type_ in ("int", "float"):
        return ["\\N" if v is None else repr(v) for v in values]
    if type_ == "bool":
        return ["\\N" if v is None else ("t" if v else "f") for v in values]
    if type_ in ("date", "timestamp"):
        return ["\\N" if v is None else v.isoformat() for v in values]
    if type_ == "textarr":
        return ["\\N" if v is None else _array_literal(v).translate(_COPY_ESCAPE) for v in values]
    if type_ == "json":
        return ["\\N" if v is None else json.dumps(v, ensure_ascii=False).translate(_COPY_ESCAPE) for v in values]
    raise ValueError(type_)


def _copy_rows(cur: psycopg.Cursor, spec: LayerSpec, n: int, columns: dict[str, list[Any]],
               reasons: dict[int, list[str]], geom: list | None) -> None:
    names = [c for c in spec.columns if c in columns]
    data = [[str(i) for i in range(1, n + 1)],
            [_array_literal(reasons[i]).translate(_COPY_ESCAPE) if i in reasons else "{}" for i in range(n)]]
    data += [_copy_text(columns[c], spec.get_field(c).type) for c in names]
    target = ["row_no", "reasons", *names]
    if geom is not None:
        target.append("geom")
        data.append(["\\N" if g is None else g for g in geom])
    with cur.copy(f"COPY {STAGE} ({', '.join(target)}) FROM STDIN") as cp:
        chunk = 20_000
        for start in range(0, n, chunk):
            rows = zip(*(col[start:start + chunk] for col in data), strict=True)
            cp.write("\n".join(map("\t".join, rows)) + "\n")


def _stage_cells(cur: psycopg.Cursor, geom: list[str | None]) -> None:
    """Stages the stored H3 cell of each point (heat layers aggregate on it; a NULL would make the first
    heat request fill the whole table row by row)."""
    cells = point_cells(shapely.from_wkb(geom))
    cur.execute(f"DROP TABLE IF EXISTS pg_temp.{CELLS}")
    cur.execute(f"CREATE TEMP TABLE {CELLS} (row_no int PRIMARY KEY, cell bigint) ON COMMIT DROP")
    with cur.copy(f"COPY {CELLS} (row_no, cell) FROM STDIN") as cp:
        for i, c in enumerate(cells, start=1):
            if c is not None:
                cp.write_row((i, c))


def _insert_sql(spec: LayerSpec, present: list[str]) -> str:
    cols = list(present)
    exprs = [f"coalesce({c}, '{{}}'::jsonb)" if spec.get_field(c).type == "json"
             else f"coalesce({c}, {spec.get_field(c).default})" if spec.get_field(c).default is not None
             else c for c in cols]
    if spec.keeps_h3:
        cols.append("h3_cell")
        exprs.append(f"(SELECT h.cell FROM {CELLS} h WHERE h.row_no = {STAGE}.row_no)")
    for c, v in spec.fixed.items():
        cols.append(c)
        exprs.append(f"'{v}'")
    if spec.geometry:
        cols.append("geom")
        exprs.append("geom")
    order = spec.io.order
    return (f"INSERT INTO {spec.table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {STAGE} "
            f"WHERE cardinality(reasons) = 0 AND (%(rows)s::int[] IS NULL OR row_no = ANY(%(rows)s::int[])) "
            f"ORDER BY {order}")


def _db_message(exc: psycopg.Error) -> str:
    diag = exc.diag
    msg = diag.message_primary or str(exc).splitlines()[0]
    return msg + (f" ({diag.message_detail})" if diag.message_detail else "")


def _insert(conn: psycopg.Connection, sql: str) -> tuple[int, list[tuple[int, str]]]:
    """Inserts the good rows; on a database error, bisects under savepoints to the rows at fault."""
    cur = conn.cursor()
    try:
        with conn.transaction():
            cur.execute(sql, {"rows": None})
            return cur.rowcount, []
    except psycopg.OperationalError:
        raise
    except psycopg.DatabaseError as exc:
        if (exc.sqlstate or "").startswith("42") and exc.sqlstate != "42501":
            raise  # a bug in the statement, not in the data
    cur.execute(f"SELECT row_no FROM {STAGE} WHERE cardinality(reasons) = 0 ORDER BY row_no")
    rows = [r[0] for r in cur.fetchall()]
    failed: list[tuple[int, str]] = []
    inserted = 0

    def attempt(part: list[int]) -> None:
        nonlocal inserted
        try:
            with conn.transaction():
                cur.execute(sql, {"rows": part})
                inserted += cur.rowcount
        except psycopg.OperationalError:
            raise
        except psycopg.DatabaseError as exc:
            if len(part) == 1:
                failed.append((part[0], _db_message(exc)))
                return
            mid = len(part) // 2
            attempt(part[:mid])
            attempt(part[mid:])

    attempt(rows)
    return inserted, failed


Progress = Callable[[str, int, int], None]


def import_file(conn: psycopg.Connection, layer: str, path: str | Path, *, crs: str | None = None,
                mode: str = "append", keep_good: bool = False, encoding: str | None = None,
                min_confidence: float = gplace.DEFAULT_MIN_CONFIDENCE,
                progress: Progress | None = None,
                placers: Mapping[str, gplace.PlaceFn] | None = None) -> ImportReport:
    """Imports `path` into `layer` on `conn` (committed unless the caller holds a transaction open).

    Raises ImportRejected (nothing stored) when any row is rejected and `keep_good` is false. Layers with
    a placer (shops) place rows that have no coordinates by it; `min_confidence` is its threshold.
    `progress(phase, done, total)` is called as rows are placed and stored (the HTTP upload's progress).
    `placers` overrides a placer by name (the server passes one over the index it already holds).
    """
    started = time.perf_counter()
    spec = get_layer(layer)
    if mode not in MODES:
        raise InvalidInput(f"unknown mode {mode!r}: use append or replace")
    path = Path(path)
    raw = read(path, encoding, layer=spec.name)
    if spec.io.route:
        routed = _routed_rows(raw, spec)
        if routed.any():
            return _import_routed(conn, spec, raw, routed, path, crs=crs, mode=mode, keep_good=keep_good,
                                  started=started)
    return _import_raw(conn, spec, raw, path, crs=crs, mode=mode, keep_good=keep_good, started=started,
                       min_confidence=min_confidence, progress=progress, placers=placers)


def _import_raw(conn: psycopg.Connection, spec: LayerSpec, raw: RawTable, path: Path, *, crs: str | None,
                mode: str, keep_good: bool, started: float,
                min_confidence: float = gplace.DEFAULT_MIN_CONFIDENCE,
                progress: Progress | None = None,
                placers: Mapping[str, gplace.PlaceFn] | None = None) -> ImportReport:
    """The import of one read table into one layer (see the module docstring)."""
    timings = {"read": time.perf_counter() - started}
    warnings = list(raw.warnings)
    ref = resolve_crs(crs, raw, warnings)
    mapped = map_fields(raw, spec)
    warnings += mapped.warnings
    errors: dict[int, list[str]] = {}
    for src in (raw.errors, mapped.errors):
        for i, msgs in src.items():
            errors.setdefault(i, []).extend(msgs)
    columns = dict(mapped.columns)
    placed: dict[int, gplace.Placement] = {}
    if spec.io.place is not None and spec.geometry:
        had_geometry = raw.geometry is not None and bool((~shapely.is_missing(raw.geometry)).any())
        placed = _place(conn, raw, spec, columns, errors, min_confidence, progress, placers)
        if not had_geometry:  # nothing was read as coordinates: the CRS guess is beside the point
            warnings[:] = [w for w in warnings if "declares no CRS" not in w]
        timings["place"] = time.perf_counter() - started - timings["read"]
    geom = _geometries(raw, spec, ref, errors, warnings, placed)
    for f in spec.fields:
        if f.type == "wkt" and f.column in columns:
            columns[f.column] = _second_geometry(columns[f.column], ref, f.column, errors)
    derive(spec, columns, raw.n)
    duplicates(spec, columns, raw.n, errors)
    report = ImportReport(spec.name, str(path), raw.format, ref.name, raw.encoding, mode, keep_good, read=raw.n,
                          warnings=warnings, timings=timings)
    timings["validate"] = time.perf_counter() - started - timings["read"] - timings.get("place", 0.0)
    if raw.n == 0:
        raise ImportRejected(f"{path.name} holds no features", rows=[], code="no_features")
    with conn.transaction():
        cur = conn.cursor()
        cur.execute(f"LOCK TABLE {spec.table} IN SHARE ROW EXCLUSIVE MODE")
        if mode == "replace":
            report.deleted = _delete_layer(conn, spec)
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
        cur.execute(_stage_ddl(spec))
        _copy_rows(cur, spec, raw.n, columns, errors, geom)
        if spec.keeps_h3 and geom is not None:
            _stage_cells(cur, geom)
        cur.execute(f"CREATE INDEX ON {STAGE} ({', '.join(spec.key)})")
        cur.execute(f"ANALYZE {STAGE}")
        present = [c for c in spec.columns if c in columns]
        checks.run(cur, spec, set(present), append=(mode == "append"))
        if keep_good:
            checks.propagate_rejected_parents(cur, spec)
        rejected = _rejected(cur, spec)
        mark = time.perf_counter()
        timings["stage+check"] = mark - started - sum(timings.values())
        if rejected and not keep_good:
            raise _rejection(path, raw.n, rejected)
        if progress:
            progress("store", 0, raw.n - len(rejected))
        inserted, failed = _insert(conn, _insert_sql(spec, present))
        if progress:
            progress("store", inserted, raw.n - len(rejected))
        timings["insert"] = time.perf_counter() - mark
        if failed:
            ids = _ids(cur, spec, [r for r, _ in failed])
            rejected = sorted(rejected + [{"row": r, "id": ids.get(r), "reasons": [m]} for r, m in failed],
                              key=lambda d: d["row"])
            if not keep_good:
                raise _rejection(path, raw.n, rejected)
        report.warnings += checks.after_insert(cur, spec)
        cur.execute(f"DROP TABLE IF EXISTS pg_temp.{STAGE}")
    report.inserted = inserted
    report.rejected = rejected
    report.seconds = round(time.perf_counter() - started, 3)
    report.timings = {k: round(v, 3) for k, v in timings.items()}
    return report


# ---- a file whose rows belong to two layers (the catalog's `Import.route`) ------------------------------
# GB/T 30428.3's 区域 layer holds districts, streets/towns, communities AND unit grids (6/9/12/15-digit
# AddID). Our schema keeps unit grids in their own table, so the 15-digit rows of such a file are routed
# to layer unit_grids (same transaction, after the regions they belong to), not refused.


def _routed_rows(raw: RawTable, spec: LayerSpec) -> np.ndarray:
    """Mask of the rows whose key code has the routed number of digits."""
    digits = spec.io.route[0]  # type: ignore[index]
    names = {norm(n) for n in spec.get_field(spec.id_column).accepted_names()}
    col = next((i for i, f in enumerate(raw.fields) if norm(f) in names), None)
    if col is None or raw.n == 0:
        return np.zeros(raw.n, dtype=bool)
    codes = np.array([str(v).strip() if v is not None else "" for v in raw.values[col]], dtype=object)
    return np.array([len(c) == digits and c.isdigit() for c in codes], dtype=bool)


def _subset(raw: RawTable, rows: np.ndarray) -> RawTable:
    """The rows `rows` (indexes into raw) as a table of their own; read errors follow their rows."""
    where = {int(r): i for i, r in enumerate(rows)}
    return replace(raw, values=[v[rows] for v in raw.values],
                   geometry=None if raw.geometry is None else raw.geometry[rows],
                   errors={where[i]: m for i, m in raw.errors.items() if i in where}, warnings=list(raw.warnings))


def _import_routed(conn: psycopg.Connection, spec: LayerSpec, raw: RawTable, grids: np.ndarray, path: Path, *,
                   crs: str | None, mode: str, keep_good: bool, started: float) -> ImportReport:
    """The layer's own rows first (regions), then the routed rows (unit grids) of the same file, in one
    transaction; one report whose row numbers are those of the file. In replace mode the routed layer is
    emptied before the layer itself."""
    region_rows, grid_rows = np.flatnonzero(~grids), np.flatnonzero(grids)
    digits, target = spec.io.route  # type: ignore[misc]
    grid_spec = get_layer(target)
    with conn.transaction():
        deleted = 0
        if mode == "replace":
            deleted += _delete_layer(conn, grid_spec)
        parts: list[tuple[ImportReport, np.ndarray]] = []
        try:
            if len(region_rows):
                parts.append((_import_raw(conn, spec, _subset(raw, region_rows), path, crs=crs,
                                          mode=mode, keep_good=keep_good, started=started), region_rows))
            parts.append((_import_raw(conn, grid_spec, _subset(raw, grid_rows), path, crs=crs, mode="append",
                                      keep_good=keep_good, started=started), grid_rows))
        except ImportRejected as exc:
            rows = region_rows if len(parts) == 0 and len(region_rows) else grid_rows
            moved = [{**r, "row": int(rows[r["row"] - 1]) + 1} for r in exc.rows]
            raise _rejection(path, raw.n, moved) from None
    first = parts[0][0]
    report = ImportReport(spec.name, str(path), first.format, first.crs, first.encoding, mode, keep_good,
                          read=raw.n, deleted=deleted + sum(p.deleted for p, _ in parts),
                          inserted=sum(p.inserted for p, _ in parts),
                          warnings=list(dict.fromkeys(w for p, _ in parts for w in p.warnings)))
    report.rejected = sorted(({**r, "row": int(rows[r["row"] - 1]) + 1} for p, rows in parts for r in p.rejected),
                             key=lambda r: r["row"])
    report.warnings.append(f"{len(grid_rows)} rows with a {digits}-digit code stored in layer {target}")
    report.seconds = round(time.perf_counter() - started, 3)
    report.timings = {"total": report.seconds}
    return report


def _delete_layer(conn: psycopg.Connection, spec: LayerSpec) -> int:
    cur = conn.cursor()
    try:
        with conn.transaction():
            cur.execute(f"DELETE FROM {spec.table}")
            return cur.rowcount
    except psycopg.errors.ForeignKeyViolation as exc:
        raise InvalidInput(f"cannot replace layer {spec.name}: {_db_message(exc)}; replace the layers that refer "
                           "to it first") from exc


def _rejected(cur: psycopg.Cursor, spec: LayerSpec) -> list[dict[str, Any]]:
    cur.execute(f"SELECT row_no, {spec.id_column}::text, reasons FROM {STAGE} WHERE cardinality(reasons) > 0 "
                "ORDER BY row_no")
    return [{"row": r, "id": i, "reasons": list(dict.fromkeys(m))} for r, i, m in cur.fetchall()]


def _ids(cur: psycopg.Cursor, spec: LayerSpec, rows: list[int]) -> dict[int, str | None]:
    cur.execute(f"SELECT row_no, {spec.id_column}::text FROM {STAGE} WHERE row_no = ANY(%s)", [rows])
    return dict(cur.fetchall())


def _rejection(path: Path, n: int, rejected: list[dict[str, Any]]) -> ImportRejected:
    return ImportRejected(f"{path.name}: {len(rejected)} of {n} rows rejected; nothing was imported", rejected)


def format_rejected(rows: list[dict[str, Any]]) -> list[str]:
    """One line per rejected row: 'row 3 (id 310113…): reason; reason'."""
    return [f"row {r['row']}" + (f" ({r['id']})" if r.get("id") else "") + ": " + "; ".join(r["reasons"])
            for r in rows]
