"""Grid versions for mobile clients: an ETag per layer and "what changed since version N".

Triggers log every insert, update, delete and truncate of the grid tables in `grid_changes` (migration
0002); a layer's version is its highest logged version. A client keeps the version it last saw and asks
for the changes since: it gets the current features of the keys that changed and the keys deleted.
A truncate in between, or a `since` the server never issued (a restored database), answers `reset: true`
with the whole layer. The version and the features are read in one REPEATABLE READ snapshot, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import psycopg

from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area


@dataclass(frozen=True)
class LayerDef:
    table: str
    key: str          # the key logged in grid_changes
    layer: str        # the catalog layer whose scope limits it to a caller's area
    where: str = ""


LAYERS: dict[str, LayerDef] = {
    "unit": LayerDef("unit_grids", "code", "unit_grids"),
    "eval": LayerDef("eval_grids", "code", "eval_grids"),
    "work": LayerDef("work_grids", "id::text", "work_grids"),
    "admin": LayerDef("admin_areas", "code", "admin_areas"),
}


def _layer(layer: str) -> LayerDef:
    if layer not in LAYERS:
        raise InvalidInput(f"unknown grid layer {layer!r}; layers are {', '.join(LAYERS)}")
    return LAYERS[layer]


def layer_version(conn: psycopg.Connection, layer: str) -> int:
    _layer(layer)
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM grid_changes WHERE layer = %s",
                            (layer,)).fetchone()[0])


def etag(layer: str, version: int, area: Area | None = None) -> str:
    """The layer's ETag; a scoped answer's names the area too, so that a client's cached whole layer
    never matches a scoped one (or one of another area) at the same version."""
    return f'"{layer}-{version}"' if area is None else f'"{layer}-{version}@{area.code}"'


def _features_json(conn: psycopg.Connection, d: LayerDef, keys: list[str] | None, area: Area | None = None) -> str:
    inside, values = scope.clause(d.layer, area, "t")
    filt = f"WHERE {inside}" + ("" if keys is None else f" AND {d.key} = ANY(%s)")
    sql = (
        "SELECT coalesce(json_agg(json_build_object('type', 'Feature', 'id', k, "
        "'geometry', ST_AsGeoJSON(g, 7)::json, 'properties', p) ORDER BY k), '[]')::text "
        f"FROM (SELECT {d.key} AS k, geom AS g, to_jsonb(t) - 'geom' AS p FROM {d.table} t {filt}) f"
    )
    return conn.execute(sql, (*values, keys) if keys is not None else values).fetchone()[0]


def snapshot(conn: psycopg.Connection, layer: str, area: Area | None = None) -> tuple[int, bytes]:
    """(version, GeoJSON FeatureCollection bytes) of a whole layer, or of its features inside `area`."""
    d = _layer(layer)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        version = layer_version(conn, layer)
        features = _features_json(conn, d, None, area)
    head = orjson.dumps({"type": "FeatureCollection", "layer": layer, "version": version})
    return version, head[:-1] + b',"features":' + features.encode() + b"}"


def changes_since(conn: psycopg.Connection, layer: str, since: int, area: Area | None = None) -> tuple[int, bytes]:
    """(version, JSON bytes) of `{layer, since, version, reset, upserted: [features], deleted: [keys]}`.
    Inside an `area`, a changed feature that is not (or no longer) inside it counts as deleted."""
    d = _layer(layer)
    if since < 0:
        raise InvalidInput(f"since must be a version ≥ 0, got {since}")
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        version = layer_version(conn, layer)
        rows = conn.execute(
            "SELECT DISTINCT key, op = 'truncate' FROM grid_changes WHERE layer = %s AND version > %s",
            (layer, since)).fetchall()
        reset = since > version or any(r[1] for r in rows)
        if reset:
            features = _features_json(conn, d, None, area)
            deleted: list[str] = []
        else:
            keys = sorted({r[0] for r in rows})
            features = _features_json(conn, d, keys, area) if keys else "[]"
            present = {f["id"] for f in orjson.loads(features)} if keys else set()
            deleted = [k for k in keys if k not in present]
    head = orjson.dumps({"layer": layer, "since": since, "version": version, "reset": reset, "deleted": deleted})
    return version, head[:-1] + b',"upserted":' + features.encode() + b"}"
