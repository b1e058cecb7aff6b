"""One feature written through OGC API – Features Part 4, validated exactly as an imported row.

Why the importer's code rather than a second validator: a case posted by a field app and a case in an
imported file must be refused for the same reasons in the same words. Names are matched and values
converted by gis.io.mapping, geometries fitted, transformed and checked by gis.io.geometry, missing
columns derived as on import, and the codes, parents and keys checked by the named SQL checks of
gis.io.checks. Only the staging differs: an import COPYs thousands of rows into a TEMP table; one
feature is a one-row CTE with that table's name, so its checks are one statement without DDL (a TEMP
table per request would cost more than the write itself).

This module is pure: it builds values, SQL text and parameters; the caller (api/ogc/transactions.py)
runs them in one transaction. The SQL text depends only on the layer and on which values are NULL,
so prepared statements are reused.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
import shapely.geometry
from psycopg.types.json import Jsonb

from gis import crs as gcrs
from gis.catalog import Layer
from gis.errors import ImportRejected, InvalidInput
from gis.h3cells import latlng_cells, point_cells
from gis.io import checks
from gis.io import geometry as ggeom
from gis.io.layers import PG_TYPES, LayerSpec, get_layer, norm
from gis.io.load import _second_geometry
from gis.io.mapping import derive, map_fields
from gis.io.readers import RawTable
from gis.settings import STORAGE_SRID

#: The staging column holding the stored row's id (NULL on create): the key check leaves that row out.
SELF = "_self"


@dataclass
class Prepared:
    """A feature converted to stored values: `columns` holds every imported field (None when absent)."""

    spec: LayerSpec
    columns: dict[str, Any]
    geom: str | None          # hex EWKB in the storage CRS
    h3: int | None


def spec_of(layer: Layer) -> LayerSpec:
    if layer.write is None:
        raise InvalidInput(f"collection {layer.id} is read-only")
    return get_layer(layer.id)


#: EWKB of a 2D point with an SRID, little-endian (what shapely.to_wkb(hex=True, include_srid=True) gives).
_POINT_EWKB = struct.Struct("<BIIdd")


def _point_ewkb(x: float, y: float) -> str:
    """The hex EWKB of a point in the storage CRS, packed directly: shapely's set-up for one point (a
    geometry object, set_srid, to_wkb) cost ~15 µs, a quarter of a plain create's `prepare`."""
    return _POINT_EWKB.pack(1, 0x20000001, STORAGE_SRID, x, y).hex().upper()


def _ewkb(geom: Any) -> str | None:
    if geom is None:
        return None
    return shapely.to_wkb(shapely.set_srid(geom, STORAGE_SRID), hex=True, include_srid=True)


def _shape(value: Any, label: str) -> Any:
    try:
        return shapely.geometry.shape(value)
    except Exception as exc:  # shapely raises several kinds for malformed GeoJSON
        raise InvalidInput(f"{label}: not a GeoJSON geometry ({exc})") from None


def _plain_point(value: Any, kind: str | None, ref: gcrs.CrsRef, flip: bool) -> tuple[float, float] | None:
    """(lon, lat) of the commonest body, a GeoJSON Point in lon/lat (CRS84, EPSG:4326/4490) for a point
    layer, when it passes the importer's geometry steps unchanged: finite numbers, plausible degrees,
    inside China's box (a finite point is always valid, and these systems need no transformation).
    None for anything else, which then takes the importer's vectorised steps (and their error texts):
    on one feature their set-up (a dozen shapely/numpy calls on one-element arrays) costs more than the
    write's SQL."""
    if kind != "Point" or ref.name not in gcrs.LONLAT_EQUIVALENT or not isinstance(value, dict) \
            or value.get("type") != "Point":
        return None
    coords = value.get("coordinates")
    if not isinstance(coords, list | tuple) or len(coords) not in (2, 3) \
            or not all(type(c) in (int, float) for c in coords):
        return None
    x, y = (float(coords[1]), float(coords[0])) if flip else (float(coords[0]), float(coords[1]))
    if len(coords) == 3 and not math.isfinite(coords[2]):  # shapely would refuse or keep a NaN z: let it
        return None
    lon_lo, lon_hi = ggeom.CHINA_LON
    lat_lo, lat_hi = ggeom.CHINA_LAT
    if not (lon_lo <= x <= lon_hi and lat_lo <= y <= lat_hi):  # also false for NaN and infinities
        return None
    return x, y


def prepare(layer: Layer, feature: Any, ref: gcrs.CrsRef, *, flip: bool = False, fid: str | None = None,
            current: dict[str, Any] | None = None) -> Prepared:
    """A GeoJSON Feature (`ref`: the CRS of its coordinates, `flip`: they are latitude/northing first)
    -> stored values, or InvalidInput naming every field at fault (nothing is written then).

    `fid` is the feature id of a replace (the id column, when imported, must agree with it); `current`
    the stored row of a replace or update (its `unit_grid_code` and hex `geom`), so that a moved feature
    whose unit grid was left as it was gets it derived again, as the assignment trigger would.
    """
    spec = spec_of(layer)
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput('the body must be a GeoJSON Feature ({"type": "Feature", …})')
    props = feature.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict):
        raise InvalidInput("properties: must be a JSON object")
    props = dict(props)
    id_field = _id_field(spec)
    if id_field is not None:  # the id is a stored, imported value (a component's 16-digit code)
        given = props.get(layer.id_column, feature.get("id"))
        if fid is not None and given is not None and str(given) != fid:
            raise InvalidInput(f"id: {given!r} differs from the feature id {fid!r} of the URL; ids do not change")
        props[layer.id_column] = given if given is not None else fid
    # Computed and server-kept properties (category names, last positions) may come back from a GET:
    # they are not the client's to set and are dropped; names no field takes are refused.
    props = {k: v for k, v in props.items() if norm(k) not in spec.readonly}
    unknown = [k for k in props if norm(k) not in spec.accepted]
    if unknown and not spec.extra_json:
        raise InvalidInput(f"properties: unknown {', '.join(map(repr, unknown))}; collection {layer.id} takes "
                           f"{', '.join(f.name for f in spec.fields)}")
    for f in _wkt_fields(spec):  # a second geometry published as GeoJSON comes back as GeoJSON
        if isinstance(props.get(f.name), dict):
            props[f.name] = _shape(props[f.name], f.name).wkt
    geometry = None
    point = None
    if spec.geometry is not None:
        raw_geom = feature.get("geometry")
        if raw_geom is None:
            raise InvalidInput(f"geometry: missing; collection {layer.id} takes a {spec.geometry}")
        point = _plain_point(raw_geom, spec.geometry, ref, flip)
        if point is None:
            geometry = _shape(raw_geom, "geometry")
            if flip:
                geometry = shapely.transform(geometry, lambda c: c[:, ::-1])
    raw = RawTable(list(props), [np.array([v], dtype=object) for v in props.values()],
                   None if geometry is None else np.array([geometry], dtype=object), None, "utf-8", "GeoJSON")
    try:
        mapped = map_fields(raw, spec)
    except ImportRejected as exc:
        raise InvalidInput(exc.detail.replace("the file has no field for", "the feature has no property for")
                           ) from None
    errors: dict[int, list[str]] = {}
    for i, msgs in mapped.errors.items():
        errors.setdefault(i, []).extend(msgs)
    columns = dict(mapped.columns)
    geom_hex = None
    if point is not None:  # already known to pass fit_type, to_storage and check_valid unchanged
        geom_hex = _point_ewkb(*point)
    elif geometry is not None:
        geoms = ggeom.fit_type(np.array([geometry], dtype=object), spec.geometry, errors)
        geoms = ggeom.check_valid(ggeom.to_storage(geoms, ref, errors), errors)
        geom_hex = _ewkb(geoms[0])
    for f in _wkt_fields(spec):
        if f.column in columns:
            columns[f.column] = _second_geometry(columns[f.column], ref, f.column, errors)
    derive(spec, columns, 1)
    if errors:
        reasons = list(dict.fromkeys(errors[0]))
        raise InvalidInput("; ".join(reasons), code="invalid_feature", extra={"reasons": reasons})
    values = {column: (columns[column][0] if column in columns else None) for column, _ in _columns(spec)}
    if current is not None and geom_hex is not None and "unit_grid_code" in values:
        moved = geom_hex.lower() != str(current.get("geom") or "").lower()
        if moved and values["unit_grid_code"] == current.get("unit_grid_code"):
            values["unit_grid_code"] = None
    h3 = None
    if spec.keeps_h3 and point is not None:
        h3 = int(latlng_cells(np.array([point[1]]), np.array([point[0]]))[0])
    elif spec.keeps_h3 and geom_hex is not None:
        h3 = point_cells(shapely.from_wkb(np.array([geom_hex], dtype=object)))[0]
    return Prepared(spec, values, geom_hex, None if h3 is None else int(h3))


@lru_cache(maxsize=64)
def _columns(spec: LayerSpec) -> tuple[tuple[str, str], ...]:
    """(column, type) of the layer's imported fields, in order: read for every write, so built once
    (`Field.column` is a property, and a create read it ~100 times)."""
    return tuple((f.column, f.type) for f in spec.fields)


@lru_cache(maxsize=64)
def _id_field(spec: LayerSpec) -> Any:
    return next((f for f in spec.fields if f.column == spec.layer.id_column), None)


@lru_cache(maxsize=64)
def _wkt_fields(spec: LayerSpec) -> tuple[Any, ...]:
    return tuple(f for f in spec.fields if f.type == "wkt")


@lru_cache(maxsize=64)
def _checks(spec: LayerSpec) -> tuple[checks.Check, ...]:
    """The checks of a one-feature write of `spec` (pure functions of the catalog: built once)."""
    found = checks.key_checks(spec, True, other_than=SELF) + checks.layer_checks(spec, set(spec.columns))
    ext = checks.extent_check(spec)
    if ext is not None:
        found.append(ext)
    return tuple(found)


@lru_cache(maxsize=256)
def _stage_sql(spec: LayerSpec, absent: frozenset[str] = frozenset()) -> str:
    """`WITH <stage> AS (one row of the feature's values), _reasons AS (the failed checks' messages)`:
    the text depends on the layer alone (and on `absent`, staged columns known to be NULL: the checks
    that need one of them cannot fire and are left out), so it is built once."""
    cols = [f"%s::{PG_TYPES[f.type]} AS {f.column}" for f in spec.fields]
    if spec.geometry:
        cols.append("%s::geometry AS geom")
    cols.append(f"%s::{spec.layer.key_sql_type} AS {SELF}")
    # The checks' messages are format() strings: their % must reach the server as written.
    cases = ", ".join(f"CASE WHEN {c.where} THEN ({c.message})::text END" for c in _checks(spec)
                      if absent.isdisjoint(c.needs)).replace("%", "%%")
    return (f"WITH {checks.STAGE} AS (SELECT 1 AS row_no, {', '.join(cols)}), "
            f"_reasons AS (SELECT array_remove(ARRAY[{cases}]::text[], NULL) AS reasons FROM {checks.STAGE} s)")


def _stage(p: Prepared, self_id: object | None) -> tuple[str, list]:
    """The staging CTEs and their parameters: the feature's values, its geometry, `self_id`."""
    spec = p.spec
    values = p.columns
    params: list[Any] = [Jsonb(values[c]) if t == "json" and values[c] is not None else values[c]
                         for c, t in _columns(spec)]
    if spec.geometry:
        params.append(p.geom)
    params.append(self_id)
    return _stage_sql(spec), params


def check_sql(p: Prepared, self_id: object | None) -> tuple[str, list] | None:
    """The import's named checks (+ the key and the district-extent check) over the one staged row:
    SQL answering one text[] of reasons, and its parameters; None when the layer has no checks."""
    if not _checks(p.spec):
        return None
    sql, params = _stage(p, self_id)
    return sql + " SELECT reasons FROM _reasons", params


def create_sql(p: Prepared) -> tuple[str, list]:
    """The checks and the INSERT in one statement (one round trip, atomic without BEGIN/COMMIT): answers
    one row (reasons text[], id, ETag); the INSERT happens only when `reasons` is empty, and then id and
    ETag are those of the new row (else NULL). The inserted values are the staged ones, so the checks
    judge exactly what is stored; a NULL value is left out of the column list (its DEFAULT applies,
    as insert_sql's DEFAULT)."""
    if not _checks(p.spec):
        sql, params = insert_sql(p)
        return f"WITH _ins AS ({sql}) SELECT '{{}}'::text[], _ins.* FROM _ins", params
    _, params = _stage(p, None)
    values = _target_values(p)
    staged = _staged_columns(p.spec)
    targets = _target_casts(p.spec)
    params += [v for (column, _), v in zip(targets, values, strict=True) if v is not None and column not in staged]
    return _create_text(p.spec, tuple(v is None for v in values)), params


@lru_cache(maxsize=64)
def _staged_columns(spec: LayerSpec) -> frozenset[str]:
    return frozenset(f.column for f in spec.fields) | ({"geom"} if spec.geometry else frozenset())


@lru_cache(maxsize=1024)
def _create_text(spec: LayerSpec, nulls: tuple[bool, ...]) -> str:
    """create_sql's text for a layer and the pattern of NULL values (cached: the same few patterns recur,
    and one str object per pattern keeps psycopg's per-query caches from hashing kilobytes each time)."""
    staged = _staged_columns(spec)
    absent = frozenset(column for (column, _), null in zip(_target_casts(spec), nulls, strict=True)
                       if null and column in staged)
    cols, exprs = [], []
    for (column, cast), null in zip(_target_casts(spec), nulls, strict=True):
        if null:
            continue
        cols.append(column)
        exprs.append(f"s.{column}" if column in staged else f"%s::{cast}")
    layer = spec.layer
    return (f"{_stage_sql(spec, absent)}, _ins AS (INSERT INTO {layer.table} AS t ({', '.join(cols)}) "
            f"SELECT {', '.join(exprs)} FROM {checks.STAGE} s, _reasons r WHERE cardinality(r.reasons) = 0 "
            f"{returning(layer)}) SELECT r.reasons, _ins.* FROM _reasons r LEFT JOIN _ins ON true")


def batch_key(p: Prepared) -> tuple | None:
    """What a create must share with others to go into one statement with them (create_batch_sql), or
    None when it must be written alone: its layer and its pattern of NULL values (one statement text),
    provided the database numbers the layer's features (an imported id cannot be told apart from
    another request's in the answer), the feature sets no key column (two features of one batch with
    the same code would be judged against each other, not against the table: the import's check of a
    file, not a write's), and no check of the statement reads other staged rows."""
    spec = p.spec
    if spec.layer.id_column in _staged_columns(spec) or any(p.columns.get(k) is not None for k in spec.key):
        return None
    nulls = tuple(v is None for v in _target_values(p))
    return (spec, nulls) if _batch_safe(spec, nulls) else None


@lru_cache(maxsize=1024)
def _batch_safe(spec: LayerSpec, nulls: tuple[bool, ...]) -> bool:
    return not any(checks.STAGE in c.where for c in _checks(spec) if _absent(spec, nulls).isdisjoint(c.needs))


def _absent(spec: LayerSpec, nulls: tuple[bool, ...]) -> frozenset[str]:
    staged = _staged_columns(spec)
    return frozenset(column for (column, _), null in zip(_target_casts(spec), nulls, strict=True)
                     if null and column in staged)


def create_batch_sql(ps: list[Prepared]) -> tuple[str, list]:
    """create_sql for several features of one batch_key: one statement (one round trip, one commit, one
    run of the table's statement triggers for all of them) answering one row per feature, in order:
    (reasons text[], id, ETag). Each feature is judged by the same checks as alone, on its own staged
    row; only the rows without reasons are inserted, so a refused feature leaves the others' rows
    standing. The ids are drawn from the id column's sequence before the INSERT, which is how each
    answer row finds its feature (RETURNING cannot name a staged row).

    The placeholders are PostgreSQL's own ($1, $2 …: run it with a RawCursor): a batch's text is
    longer than psycopg caches its %s parsing for (4 KiB, 50 parameters), and parsing it again for
    every batch cost the server more than the batching saved it."""
    spec = ps[0].spec
    targets = _target_casts(spec)
    staged = _staged_columns(spec)
    params: list[Any] = []
    for p in ps:
        _, row = _stage(p, None)
        params += row
        params += [v for (column, _), v in zip(targets, _target_values(p), strict=True)
                   if v is not None and column not in staged]
    return _batch_text(spec, tuple(v is None for v in _target_values(ps[0])), len(ps)), params


@lru_cache(maxsize=256)
def _batch_text(spec: LayerSpec, nulls: tuple[bool, ...], n: int) -> str:
    staged = _staged_columns(spec)
    layer = spec.layer
    names = [f.column for f in spec.fields] + (["geom"] if spec.geometry else []) + [SELF]
    casts = [PG_TYPES[f.type] for f in spec.fields] + (["geometry"] if spec.geometry else []) + \
        [layer.key_sql_type]
    cols, exprs = [layer.id_column], ["s._id"]
    for i, ((column, cast), null) in enumerate(zip(_target_casts(spec), nulls, strict=True)):
        if null:
            continue
        cols.append(column)
        if column in staged:
            exprs.append(f"s.{column}")
        else:  # a value not staged (a fixed column, the H3 cell): an extra column of the VALUES row
            names.append(f"_t{i}")
            casts.append(cast)
            exprs.append(f"s._t{i}")
    width = len(casts)
    values = ", ".join(f"({k + 1}, " + ", ".join(f"${k * width + i + 1}::{cast}" for i, cast in enumerate(casts)) + ")"
                       for k in range(n))
    # the checks' text without the %% a client-side %s query needs
    reasons = _stage_sql(spec, _absent(spec, nulls)).split(", _reasons AS (", 1)[1].replace("%%", "%")
    return (f"WITH {checks.STAGE} AS (SELECT * FROM (VALUES {values}) AS v(row_no, {', '.join(names)})), "
            f"_reasons AS ({reasons.replace(' AS reasons FROM', ' AS reasons, s.row_no FROM', 1)}, "
            f"_ok AS MATERIALIZED (SELECT s.*, nextval(pg_get_serial_sequence('{layer.table}', "
            f"'{layer.id_column}')) AS _id FROM {checks.STAGE} s JOIN _reasons r ON r.row_no = s.row_no "
            f"WHERE cardinality(r.reasons) = 0 ORDER BY s.row_no), "
            f"_ins AS (INSERT INTO {layer.table} AS t ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM _ok s "
            f"ORDER BY s.row_no RETURNING t.{layer.id_column} AS _key, t.{layer.id_column}::text AS _fid, "
            f"{layer.etag_sql} AS _etag) "
            f"SELECT r.reasons, i._fid, i._etag FROM _reasons r LEFT JOIN _ok o ON o.row_no = r.row_no "
            f"LEFT JOIN _ins i ON i._key = o._id ORDER BY r.row_no")


@lru_cache(maxsize=64)
def _target_casts(spec: LayerSpec) -> tuple[tuple[str, str], ...]:
    """(column, SQL cast) of every stored column a write sets, in `_targets` order."""
    out = [(f.column, PG_TYPES[f.type]) for f in spec.fields]
    out += [(column, "text") for column in spec.fixed]
    if spec.keeps_h3:
        out.append(("h3_cell", "bigint"))
    if spec.geometry:
        out.append(("geom", "geometry"))
    return tuple(out)


def _target_values(p: Prepared) -> list[Any]:
    """The values of `_target_casts`' columns (None: NULL, the column's DEFAULT applies)."""
    spec = p.spec
    values = p.columns
    out = [Jsonb(values[c]) if t == "json" and values[c] is not None else values[c] for c, t in _columns(spec)]
    out += list(spec.fixed.values())
    if spec.keeps_h3:
        out.append(p.h3)
    if spec.geometry:
        out.append(p.geom)
    return out


def _targets(p: Prepared) -> list[tuple[str, str | None, Any]]:
    """(column, SQL cast or None for DEFAULT, value) of every stored column a write sets."""
    return [(column, None if value is None else cast, value)
            for (column, cast), value in zip(_target_casts(p.spec), _target_values(p), strict=True)]


def returning(layer: Layer) -> str:
    """What a write answers: the feature id and the ETag of the stored row (Layer.etag_sql)."""
    return f"RETURNING t.{layer.id_column}::text, {layer.etag_sql}"


def insert_sql(p: Prepared) -> tuple[str, list]:
    cols, exprs, params = [], [], []
    for column, cast, value in _targets(p):
        cols.append(column)
        if cast is None:
            exprs.append("DEFAULT")
        else:
            exprs.append(f"%s::{cast}")
            params.append(value)
    layer = p.spec.layer
    sql = (f"INSERT INTO {layer.table} AS t ({', '.join(cols)}) VALUES ({', '.join(exprs)}) "
           + returning(layer))
    return sql, params


def update_sql(p: Prepared, fid: object) -> tuple[str, list]:
    sets, params = [], []
    for column, cast, value in _targets(p):
        if cast is None:
            sets.append(f"{column} = DEFAULT")
        else:
            sets.append(f"{column} = %s::{cast}")
            params.append(value)
    layer = p.spec.layer
    sql = (f"UPDATE {layer.table} AS t SET {', '.join(sets)} WHERE t.{layer.id_column} = %s "
           + returning(layer))
    return sql, [*params, fid]


def current_sql(layer: Layer) -> str:
    """The stored row of a replace or update, locked: ETag, imported values (a second geometry as WKT),
    the geometry as hex EWKB and as storage-CRS GeoJSON (the base of a merge patch)."""
    spec = spec_of(layer)
    pairs = ", ".join(f"'{f.column}', " + (f"ST_AsText(t.{f.column})" if f.type == "wkt" else f"t.{f.column}")
                      for f in spec.fields)
    geom = "t.geom" if spec.geometry else "NULL::geometry"
    return (f"SELECT {layer.etag_sql}, jsonb_build_object({pairs})::text, {geom}::text, ST_AsGeoJSON({geom}, 15)::text "
            f"FROM {layer.table} AS t WHERE t.{layer.id_column} = %s FOR UPDATE")


def delete_sql(layer: Layer) -> str:
    return f"DELETE FROM {layer.table} AS t WHERE t.{layer.id_column} = %s"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON Merge Patch: objects merge recursively, null removes a member, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
