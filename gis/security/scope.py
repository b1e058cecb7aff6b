"""Area scope: what part of the city a principal may see and change (issue 17, part 3).

A principal (a key today, a user's session later: both through `Principal.area`) may carry an area: a
6/9/12-digit region code (district, street, community) or a work/responsibility-grid code. Every
published layer declares in the catalog how it is scoped (`Layer.scope`, gis/catalog/model.py); this
module turns that declaration and an area into ONE SQL condition over the layer's row alias, which
every reader (OGC items and tiles, heat, flows, stats, alarms, tracks) adds to its WHERE clause and
every writer checks on the row before and after the write. One mechanism, no per-router rules.

Why the area's geometry stays in the database: the condition names it as an uncorrelated sub-select
(`(SELECT geom FROM admin_areas WHERE code = %s)`), which PostgreSQL evaluates once per statement (an
InitPlan: one primary-key probe) and which still drives the GiST index. The parameters stay a short
code, so cache keys (counts, tiles, layer answers) stay small, and an edited boundary takes effect at
once. What is resolved once per area and kept on the app state (`Areas`) is the rest: that the code
exists, its kind, its name for messages.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import psycopg

from gis.errors import DatabaseUnavailable, Forbidden, InvalidInput

if TYPE_CHECKING:
    from gis.catalog.model import Layer

REGION_LEVELS = {6: "district", 9: "street", 12: "community"}


@dataclass(frozen=True)
class Area:
    """A resolved area: `code` as stored on the key (the region code, or `code` / `kind:code` of a work
    grid), its kind (district, street, community, or the work-grid kind) and its name."""

    code: str
    kind: str
    name: str
    region: str | None = None            # the region code, when the area is a region
    grid_code: str | None = None         # the work-grid code, when it is a grid
    grid_kinds: tuple[str, ...] = ()
    #: (west, south, east, north) in EPSG:4490: lets viewport-driven readers (heat) skip what lies
    #: outside the area before they query.
    bbox: tuple[float, float, float, float] | None = None

    @property
    def label(self) -> str:
        """How messages name it: `吴淞街道 (310113003)`."""
        return f"{self.name} ({self.code})"

    def geom_sql(self) -> tuple[str, tuple]:
        """A sub-select yielding the area's geometry (EPSG:4490) and its parameters."""
        if self.region is not None:
            return "(SELECT sa.geom FROM admin_areas sa WHERE sa.code = %s)", (self.region,)
        return ("(SELECT ST_Union(sw.geom) FROM work_grids sw WHERE sw.code = %s AND sw.kind = ANY(%s))",
                (self.grid_code, list(self.grid_kinds)))


def _split(code: str) -> tuple[str | None, str]:
    """`kind:code` → (kind, code); `code` → (None, code)."""
    kind, sep, rest = code.partition(":")
    return (kind.strip(), rest.strip()) if sep else (None, code.strip())


def resolve(conn: psycopg.Connection, code: str) -> Area:
    """The area of `code`, or InvalidInput saying why it is not one (unknown region, unknown grid, a
    grid code shared by several kinds)."""
    code = (code or "").strip()
    if not code:
        raise InvalidInput("the area is empty: give a 6/9/12-digit region code or a work-grid code")
    kind, bare = _split(code)
    if kind is None and bare.isdigit() and len(bare) in REGION_LEVELS:
        row = conn.execute("SELECT level, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) "
                           "FROM admin_areas WHERE code = %s", (bare,)).fetchone()
        if row is not None:
            return Area(bare, row[0], row[1], region=bare, bbox=tuple(row[2:6]))
    rows = conn.execute(
        "SELECT kind, name, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM work_grids "
        "WHERE code = %s AND (%s::text IS NULL OR kind = %s) ORDER BY kind", (bare, kind, kind)).fetchall()
    if len(rows) == 1:
        return Area(code, rows[0][0], rows[0][1], grid_code=bare, grid_kinds=(rows[0][0],), bbox=tuple(rows[0][2:6]))
    if len(rows) > 1:
        kinds = ", ".join(f"{r[0]}:{bare}" for r in rows)
        raise InvalidInput(f"area {code!r} is a work-grid code of several kinds; name one: {kinds}")
    if bare.isdigit() and len(bare) in REGION_LEVELS and kind is None:
        raise InvalidInput(f"area {code!r}: no {REGION_LEVELS[len(bare)]} with this code in admin_areas "
                           "(load the regions first, or check the code)")
    raise InvalidInput(f"area {code!r} is neither a 6/9/12-digit region code of admin_areas nor a "
                       "work-grid code (work_grids.code, or kind:code)")


def validate(conn: psycopg.Connection, code: str) -> str:
    """The area as a key or a user stores it, or InvalidInput saying why `code` is not one.

    The one check behind `keys create --area` and `users create --area` (and the engines they call), so
    that an unknown region code or grid is refused the same way for both and nothing is stored."""
    return resolve(conn, code).code


class Areas:
    """Areas resolved once per `ttl_s` and kept on the app state (`app.state.services.areas`).

    The conditions always use the stored geometry (a sub-select), so an edited boundary applies at
    once to every read and write; what the TTL bounds is how long the name and the box (the heat
    viewport shortcut) may lag an edit. An area that disappears from the tables matches nothing
    (the sub-select yields NULL): a stale entry can only hide features, never show more."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, Area]] = {}

    def cached(self, code: str) -> Area | None:
        """The area while its resolution is fresh, else None."""
        kept = self._known.get(code)
        return kept[1] if kept is not None and time.monotonic() - kept[0] < self.ttl_s else None

    def get(self, conn: psycopg.Connection, code: str) -> Area:
        found = self.cached(code)
        if found is None:
            found = resolve(conn, code)
            with self._lock:
                self._known[code] = (time.monotonic(), found)
        return found

    def clear(self) -> None:
        with self._lock:
            self._known.clear()


@lru_cache(maxsize=4096)
def condition(layer: Layer, area: Area, alias: str = "t") -> tuple[str, tuple]:
    """The SQL condition (over the row alias `alias`) keeping `layer`'s rows inside `area`, and its
    positional parameters. Derived from the layer's catalog declaration (`Layer.scope`) only."""
    s = layer.scope
    geom, geom_params = area.geom_sql()
    if s.vehicle:
        if area.region is not None:
            within, params = "starts_with(sf.area_code, %s)", (area.region,)
        else:
            within = f"ST_CoveredBy((SELECT sa.geom FROM admin_areas sa WHERE sa.code = sf.area_code), {geom})"
            params = geom_params
        return (f"{alias}.{s.vehicle} IN (SELECT sv.id FROM vehicles sv JOIN fleet_areas sf "
                f"ON sf.fleet = sv.vehicle_group WHERE {within})", params)
    if s.code and area.region is not None and len(area.region) <= s.digits:
        # Rows without a code: their ids, found once per statement by geometry (an InitPlan over the
        # partial index `<table>_scope_nocode_idx`, gis.db.catalog_sync). The row itself is tested on
        # its code and id only, which `<table>_h3_scope_idx` covers: heat stays an index-only scan,
        # and the planner does not cost every row at ST_Intersects' 10,000 (a parallel full scan
        # for a 100-row page).
        col = f"{alias}.{s.code}"
        nocode = (f"ARRAY(SELECT sn.{layer.id_column} FROM {layer.table} sn WHERE sn.{s.code} IS NULL "
                  f"AND ST_Intersects(sn.{layer.geometry}, {geom}))")
        return (f"(CASE WHEN {col} IS NULL THEN {alias}.{layer.id_column} = ANY({nocode}) "
                f"ELSE starts_with({col}::text, %s) END)", (*geom_params, area.region))
    return f"ST_Intersects({alias}.{layer.geometry}, {geom})", geom_params


def clause(layer: Layer | str, area: Area | None, alias: str = "t") -> tuple[str, tuple]:
    """`condition` for engines that take an optional area: `("TRUE", ())` without one. `layer` may be a
    catalog id."""
    if area is None:
        return "TRUE", ()
    if isinstance(layer, str):
        from gis import catalog

        layer = catalog.get(layer)
    return condition(layer, area, alias)


def points_inside(conn: psycopg.Connection | None, area: Area | None, lon, lat) -> list[bool]:
    """For points that are no stored row (geocoding candidates, reverse and locate queries, in EPSG:4490):
    whether each lies inside `area`. The catalog's rule for a feature without a code: the geometry
    (`ST_Intersects` with the area, as `condition` falls back to). All True without an area; without a
    database (an in-memory answer while it is down) a scoped caller gets 503, never an unscoped answer."""
    if area is None or not len(lon):
        return [True] * len(lon)
    if conn is None:
        raise DatabaseUnavailable(f"the database is unreachable: answers limited to the area {area.label} "
                                  "need it; try again shortly")
    geom, params = area.geom_sql()
    rows = conn.execute(
        f"SELECT coalesce(ST_Intersects(ST_SetSRID(ST_MakePoint(p.x, p.y), 4490), {geom}), false) "
        "FROM unnest(%s::float8[], %s::float8[]) WITH ORDINALITY AS p(x, y, n) ORDER BY p.n",
        (*params, [float(v) for v in lon], [float(v) for v in lat])).fetchall()
    return [bool(r[0]) for r in rows]


def named(sql: str, params: tuple, prefix: str = "scope") -> tuple[str, dict]:
    """The condition with `%(scopeN)s` placeholders, for queries that pass parameters by name."""
    parts = sql.split("%s")
    assert len(parts) == len(params) + 1
    out = parts[0]
    values: dict = {}
    for i, (value, rest) in enumerate(zip(params, parts[1:], strict=True)):
        out += f"%({prefix}{i})s" + rest
        values[f"{prefix}{i}"] = value
    return out, values


def vehicle_in_area(conn: psycopg.Connection, vehicle_id: str, area: Area) -> bool:
    """Does the vehicle belong to the area (through its fleet)?"""
    from gis import catalog

    cond, params = condition(catalog.get("vehicles"), area, "t")
    row = conn.execute(f"SELECT {cond} FROM vehicles t WHERE t.id = %s", (*params, vehicle_id)).fetchone()
    return bool(row and row[0])


def inside(conn: psycopg.Connection, layer: Layer, area: Area, fid: object) -> bool | None:
    """Does the stored row `fid` of `layer` lie inside `area`? None when there is no such row."""
    cond, params = condition(layer, area)
    row = conn.execute(f"SELECT {cond} FROM {layer.from_sql} WHERE {layer.id_sql} = %s", (*params, fid)).fetchone()
    return None if row is None else bool(row[0])


def require_inside(conn: psycopg.Connection, layer: Layer, area: Area | None, fid: object, label: str) -> None:
    """Forbidden (403) naming the area unless the row `fid` lies inside it; writers check the row before
    and after a change, inside their transaction (a refused change leaves nothing behind). A missing row
    passes: the write itself answers 404."""
    if area is not None and inside(conn, layer, area, fid) is False:
        raise Forbidden(f"{label} outside the area {area.label} this principal is limited to",
                        code="outside_area", extra={"area": area.code})


@contextmanager
def changed_inside(conn: psycopg.Connection, layer: Layer, area: Area | None, fid: object,
                   noun: str) -> Iterator[None]:
    """One transaction around a change of the row `fid` (replace, delete): 403 naming the area unless the
    row lies inside it before the change and, when it is still there, after it."""
    with conn.transaction():
        require_inside(conn, layer, area, fid, f"{noun} {fid} lies")
        yield
        require_inside(conn, layer, area, fid, f"{noun} {fid} would lie")


def trim_draws(conn: psycopg.Connection, layer: Layer, area: Area, draws: list[dict], items: str, key: str) -> None:
    """Stored draws (evaluation grids, sample points) as a caller limited to `area` sees them: each keeps
    only its `items` whose `key` (a feature id of `layer`) lies inside the area, and loses the city-wide
    pool sizes (`available`)."""
    mine = keep(conn, layer, area, list({item[key] for d in draws for item in d[items]}))
    for d in draws:
        d[items] = [item for item in d[items] if item[key] in mine]
        d.pop("available", None)


def keep(conn: psycopg.Connection, layer: Layer, area: Area | None, ids: list) -> set:
    """Those of `ids` (feature ids of `layer`) that lie inside `area` (all of them without an area): for
    readers that assemble their answer elsewhere and filter it here, by the same condition."""
    if area is None or not ids:
        return set(ids)
    cond, params = condition(layer, area)
    rows = conn.execute(f"SELECT {layer.id_sql} FROM {layer.from_sql} WHERE {layer.id_sql} = ANY(%s) AND {cond}",
                        (list(ids), *params)).fetchall()
    return {r[0] for r in rows}
