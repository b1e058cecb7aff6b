"""Point → district, street, community, unit grid, evaluation grid and work grids, in bulk.

An in-memory index per layer (`gis.grids.pointindex`: a bucket grid over prepared polygons, queried with
whole numpy coordinate arrays) answers 10^5 points in a fraction of a second. The tie rule is the
database trigger's: among the grids a point intersects (a point on a shared edge or vertex intersects
several), the one with the SMALLEST code wins. Layers are held sorted by code, so "smallest code" is
"smallest rank" in the index.

The hierarchy above a unit grid comes from its code (its community is the first 12 digits, …), which the
schema guarantees; the admin-area indexes are queried only for points that fall in no unit grid. A point in
no unit grid and no area answers `outside: true`.

The index is rebuilt when the database's grid version (the highest `grid_changes.version`, bumped by
triggers on every grid-table change) differs from the one it was built at; that check is one indexed
read per request, so an edited grid is seen by the next request. PostGIS is the reference:
`locate_in_db` answers the same question in SQL and the tests compare the two.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import psycopg
import shapely
from numpy.typing import ArrayLike, NDArray

from gis import crs as gcrs
from gis.db import degraded
from gis.errors import DatabaseUnavailable, InvalidInput
from gis.grids.pointindex import PointIndex
from gis.security import scope
from gis.security.scope import Area

NONE = -1


@dataclass
class Layer:
    """One indexed layer, sorted by its sort key (code, or kind+code for work grids)."""

    codes: list[str]
    names: list[str | None]
    geoms: NDArray[np.object_]
    extra: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.position = {c: i for i, c in enumerate(self.codes)}
        self.index = PointIndex(self.geoms)

    def __len__(self) -> int:
        return len(self.codes)

    def smallest_hit(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Per point, the index (= rank by code) of the smallest-code geometry it intersects, or -1."""
        return self.index.smallest(x, y)

    def all_hits(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (point, geometry) pair that intersects, sorted by point then geometry rank."""
        return self.index.all(x, y)

    def ref(self, i: int) -> dict[str, Any] | None:
        if i < 0:
            return None
        return {"code": self.codes[i], "name": self.names[i], **(self.extra[i] if self.extra else {})}


@dataclass
class Located:
    """The answer for an array of points, as indices into the index's layers (-1: none)."""

    index: GridIndex
    district: NDArray[np.int64]
    street: NDArray[np.int64]
    community: NDArray[np.int64]
    unit: NDArray[np.int64]
    eval: NDArray[np.int64]
    work_point: NDArray[np.int64]   # sorted pairs: point index …
    work_grid: NDArray[np.int64]    # … and work-grid index

    def __len__(self) -> int:
        return len(self.unit)

    @property
    def outside(self) -> NDArray[np.bool_]:
        return (self.district < 0) & (self.unit < 0)

    def only(self, keep: NDArray[np.bool_]) -> Located:
        """The same answer with the points not in `keep` answered as outside everything (no district, no
        grid): how a caller limited to an area is told about points outside it."""
        drop = ~np.asarray(keep, dtype=bool)
        if not drop.any():
            return self
        pairs = ~drop[self.work_point] if len(self.work_point) else np.zeros(0, dtype=bool)

        def cut(a: NDArray[np.int64]) -> NDArray[np.int64]:
            return np.where(drop, NONE, a)

        return Located(self.index, cut(self.district), cut(self.street), cut(self.community), cut(self.unit),
                       cut(self.eval), self.work_point[pairs], self.work_grid[pairs])

    def work_slices(self) -> NDArray[np.int64]:
        """Start offset of each point's run in the work pairs (length n+1)."""
        return np.searchsorted(self.work_point, np.arange(len(self) + 1))

    def record(self, i: int) -> dict[str, Any]:
        ix = self.index
        bounds = np.searchsorted(self.work_point, [i, i + 1])
        return {
            "outside": bool(self.district[i] < 0 and self.unit[i] < 0),
            "district": ix.districts.ref(int(self.district[i])),
            "street": ix.streets.ref(int(self.street[i])),
            "community": ix.communities.ref(int(self.community[i])),
            "unit_grid": ix.units.ref(int(self.unit[i])),
            "eval_grid": ix.evals.ref(int(self.eval[i])),
            "work_grids": [ix.works.ref(int(g)) for g in self.work_grid[bounds[0]:bounds[1]]],
        }

    def records(self) -> list[dict[str, Any]]:
        """`record(i)` for every point. Points with the same grids share one record (built once: a batch of
        addresses falls into a few hundred grids), so the records are read-only."""
        starts = self.work_slices().tolist()
        works = self.work_grid.tolist()
        cols = zip(self.district.tolist(), self.street.tolist(), self.community.tolist(), self.unit.tolist(),
                   self.eval.tolist(), strict=True)
        ix = self.index
        built: dict[tuple, dict[str, Any]] = {}
        out: list[dict[str, Any]] = []
        for i, (d, s, c, u, e) in enumerate(cols):
            w = tuple(works[starts[i]:starts[i + 1]])
            key = (d, s, c, u, e, w)
            rec = built.get(key)
            if rec is None:
                rec = built[key] = {
                    "outside": d < 0 and u < 0,
                    "district": ix.districts.ref(d), "street": ix.streets.ref(s),
                    "community": ix.communities.ref(c), "unit_grid": ix.units.ref(u), "eval_grid": ix.evals.ref(e),
                    "work_grids": [ix.works.ref(g) for g in w],
                }
            out.append(rec)
        return out

    def _heads(self) -> tuple[list[bytes], NDArray[np.int64]]:
        """The grid part of each distinct answer, serialised once, and each point's answer number: points in
        one unit grid share it, so 10^5 points need ~10^4 orjson calls, not 10^5."""
        ix = self.index
        cols = [self.district, self.street, self.community, self.unit, self.eval]
        sizes = [len(ix.districts), len(ix.streets), len(ix.communities), len(ix.units), len(ix.evals)]
        if np.prod([float(n) + 1 for n in sizes]) < 2**62:
            key = np.zeros(len(self), dtype=np.int64)
            for col, n in zip(cols, sizes, strict=True):
                key = key * (n + 1) + (col + 1)
            _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        else:
            _, first, inverse = np.unique(np.stack(cols, axis=1), axis=0, return_index=True, return_inverse=True)
        heads = []
        for i in first.tolist():
            d, s, c, u, e = (int(col[i]) for col in cols)
            head = orjson.dumps({
                "outside": d < 0 and u < 0, "district": ix.districts.ref(d), "street": ix.streets.ref(s),
                "community": ix.communities.ref(c), "unit_grid": ix.units.ref(u), "eval_grid": ix.evals.ref(e),
            })
            heads.append(head[:-1] + b',"work_grids":[')
        return heads, inverse.ravel()

    def encode(self, ndjson: bool = False, chunk: int = 20_000) -> Iterator[bytes]:
        """The answers as one JSON array (or NDJSON), in input order, in byte chunks of `chunk` points.

        Vectorised: every answer is head + work grids + tail, so the byte pieces of a chunk are laid out in
        a numpy object array by fancy indexing and joined once; no per-point Python code runs."""
        n = len(self)
        heads, inverse = self._heads()
        head_arr = np.empty(len(heads), dtype=object)
        head_arr[:] = heads
        work = np.empty(len(self.index.work_json), dtype=object)
        work[:] = self.index.work_json
        work_more = np.empty(len(work), dtype=object)
        work_more[:] = [b"," + w for w in self.index.work_json]
        starts = self.work_slices()
        m = np.diff(starts)
        rank = np.arange(len(self.work_point)) - starts[self.work_point]
        sep = b"]}\n" if ndjson else b"]},"
        if not ndjson:
            yield b"["
        if n == 0:
            yield b"" if ndjson else b"]"
            return
        for a in range(0, n, chunk):
            b = min(a + chunk, n)
            size = 2 + m[a:b]
            off = np.concatenate([[0], np.cumsum(size)[:-1]])
            pieces = np.empty(int(size.sum()), dtype=object)
            pieces[off] = head_arr[inverse[a:b]]
            pieces[off + 1 + m[a:b]] = sep
            if not ndjson and b == n:
                pieces[-1] = b"]}]"
            w0, w1 = starts[a], starts[b]
            wp, wg, wr = self.work_point[w0:w1], self.work_grid[w0:w1], rank[w0:w1]
            pos = off[wp - a] + 1 + wr
            lead = wr == 0
            pieces[pos[lead]] = work[wg[lead]]
            pieces[pos[~lead]] = work_more[wg[~lead]]
            yield b"".join(pieces.tolist())

    def json_lines(self) -> Iterator[bytes]:
        """Each point's answer as compact JSON bytes, in input order."""
        for block in self.encode(ndjson=True):
            yield from block.splitlines()


class GridIndex:
    """All grid layers of one database at one grid version."""

    def __init__(self, version: int, districts: Layer, streets: Layer, communities: Layer, units: Layer,
                 evals: Layer, works: Layer, unit_eval: NDArray[np.int64]):
        self.version = version
        self.districts, self.streets, self.communities = districts, streets, communities
        self.units, self.evals, self.works = units, evals, works
        self.unit_eval = unit_eval
        # Parents by code prefix (the schema ties each code to its parent's).
        self.unit_community = self._parent_of(units.codes, communities, 12)
        self.community_street = self._parent_of(communities.codes, streets, 9)
        self.street_district = self._parent_of(streets.codes, districts, 6)
        self.work_json = [orjson.dumps(works.ref(i)) for i in range(len(works))]

    @staticmethod
    def _parent_of(codes: list[str], parents: Layer, n: int) -> NDArray[np.int64]:
        return np.array([parents.position.get(c[:n], NONE) for c in codes], dtype=np.int64)

    @staticmethod
    def _take(mapping: NDArray[np.int64], idx: NDArray[np.int64]) -> NDArray[np.int64]:
        out = np.full(len(idx), NONE, dtype=np.int64)
        ok = idx >= 0
        if len(mapping):
            out[ok] = mapping[idx[ok]]
        return out

    def locate_storage(self, x: ArrayLike, y: ArrayLike) -> Located:
        """Locates storage-CRS (EPSG:4490) coordinates."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        unit = self.units.smallest_hit(x, y)
        community = self._take(self.unit_community, unit)
        miss = np.flatnonzero(community < 0)
        if len(miss):
            community[miss] = self.communities.smallest_hit(x[miss], y[miss])
        street = self._take(self.community_street, community)
        miss = np.flatnonzero(street < 0)
        if len(miss):
            street[miss] = self.streets.smallest_hit(x[miss], y[miss])
        district = self._take(self.street_district, street)
        miss = np.flatnonzero(district < 0)
        if len(miss):
            district[miss] = self.districts.smallest_hit(x[miss], y[miss])
        ev = self._take(self.unit_eval, unit)
        miss = np.flatnonzero(ev < 0)
        if len(miss) and len(self.evals):
            ev[miss] = self.evals.smallest_hit(x[miss], y[miss])
        wp, wg = self.works.all_hits(x, y)
        return Located(self, district, street, community, unit, ev, wp, wg)

    def locate(self, x: ArrayLike, y: ArrayLike, crs: str | int | None = None) -> Located:
        """Locates coordinates given in `crs` (any CRS `gis.crs` knows, GCJ-02 and BD-09 included)."""
        xs, ys = check_coordinates(x, y, crs)
        sx, sy = gcrs.to_storage(xs, ys, crs)
        return self.locate_storage(sx, sy)


def check_coordinates(x: ArrayLike, y: ArrayLike, crs: str | int | None) -> tuple[NDArray, NDArray]:
    """Finite, plausible coordinates for `crs`, or InvalidInput naming the first bad point."""
    ref = gcrs.resolve(crs)
    try:
        xs = np.atleast_1d(np.asarray(x, dtype=np.float64))
        ys = np.atleast_1d(np.asarray(y, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"coordinates must be numbers: {exc}") from exc
    if xs.shape != ys.shape:
        raise InvalidInput("as many x as y coordinates are needed")
    ok = gcrs.plausible(xs, ys, ref)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InvalidInput(f"point {i} ({xs[i]:g}, {ys[i]:g}) is not a valid position in {ref.name}",
                           extra={"index": i})
    return xs, ys


# -- loading and caching -------------------------------------------------------------------------


def grid_version(conn: psycopg.Connection) -> int:
    """The database's grid version: one index-only read."""
    try:
        return int(conn.execute("SELECT coalesce(max(version), 0) FROM grid_changes").fetchone()[0])
    except psycopg.errors.UndefinedTable:
        raise DatabaseUnavailable(
            "table grid_changes is missing: this database was migrated while migration 0002 was still empty; "
            "apply gis/db/sql/0002_grids.sql to it once (the file is re-runnable)") from None


def _layer(rows: list[tuple], extra_cols: tuple[str, ...] = ()) -> Layer:
    geoms = shapely.from_wkb([r[2] for r in rows]) if rows else np.empty(0, dtype=object)
    extra = [{k: r[3 + j] for j, k in enumerate(extra_cols)} for r in rows] if extra_cols else []
    return Layer([r[0] for r in rows], [r[1] for r in rows], np.asarray(geoms, dtype=object), extra)


def load_index(conn: psycopg.Connection, bbox: tuple[float, float, float, float] | None = None) -> GridIndex:
    """Reads every grid layer. The version is read first, so a change racing the load only makes the
    next request rebuild again (never serve stale data as current).

    With `bbox` (storage lon/lat), only the large layers' geometries touching it are read — unit, evaluation
    and work grids (plus the evaluation grids those units name) — which answers every point inside the bbox
    exactly as the whole index would: a spatially partitioned batch task loads just its part. The
    administrative areas (a few thousand per city) are always read whole, so parents by code prefix resolve."""
    version = grid_version(conn)
    env, params = "", {}
    if bbox is not None:
        env = " WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4490)"
        params = dict(zip(("x0", "y0", "x1", "y1"), map(float, bbox), strict=True))

    def areas(level: str) -> Layer:
        return _layer(conn.execute(
            "SELECT code, name, ST_AsBinary(geom) FROM admin_areas WHERE level = %s ORDER BY code",
            (level,)).fetchall())

    units_rows = conn.execute(
        f"SELECT code, name, ST_AsBinary(geom), eval_code FROM unit_grids{env} ORDER BY code", params or None
    ).fetchall()
    units = _layer([r[:3] for r in units_rows])
    eval_where = env and env + " OR code = ANY(%(evals)s)"
    evals = _layer(conn.execute(
        f"SELECT code, name, ST_AsBinary(geom), area_class FROM eval_grids{eval_where} ORDER BY code",
        {**params, "evals": sorted({r[3] for r in units_rows if r[3]})} if env else None).fetchall(),
        ("area_class",))
    works = _layer(conn.execute(
        f"SELECT code, name, ST_AsBinary(geom), kind, assignee, team FROM work_grids{env} ORDER BY kind, code, id",
        params or None).fetchall(), ("kind", "assignee", "team"))
    unit_eval = np.array([evals.position.get(r[3], NONE) if r[3] else NONE for r in units_rows], dtype=np.int64)
    return GridIndex(version, areas("district"), areas("street"), areas("community"), units, evals, works,
                     unit_eval)


class IndexCache:
    """One index per database, rebuilt when the grid version moves.

    With no connection (the database is unreachable) the last index checked against the database
    answers instead, and the answer is noted as possibly stale (gis/db/degraded.py).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._indexes: dict[tuple, GridIndex] = {}
        self._confirmed: degraded.LastConfirmed[GridIndex] = degraded.LastConfirmed("grid index")

    @staticmethod
    def _key(conn: psycopg.Connection) -> tuple:
        info = conn.info
        return (info.host, info.port, info.dbname)

    def get(self, conn: psycopg.Connection | None) -> GridIndex:
        return self._confirmed.get(conn, self._current)

    def last(self) -> GridIndex:
        """The last confirmed index, noted as maybe stale; DatabaseUnavailable when there is none."""
        return self._confirmed.last()

    def _current(self, conn: psycopg.Connection) -> GridIndex:
        key = self._key(conn)
        version = grid_version(conn)
        current = self._indexes.get(key)
        if current is not None and current.version == version:
            return current
        with self._lock:
            current = self._indexes.get(key)
            if current is None or current.version != grid_version(conn):
                current = load_index(conn)
                self._indexes[key] = current
            return current

    def clear(self) -> None:
        with self._lock:
            self._indexes.clear()
            self._confirmed.forget()


#: The cache of callers without an app (CLI, benchmarks, engine tests); the server holds its own
#: IndexCache on `app.state.services` and passes it in.
cache = IndexCache()


def locate(conn: psycopg.Connection | None, x: ArrayLike, y: ArrayLike, crs: str | int | None = None,
           indexes: IndexCache | None = None) -> Located:
    """Locates points with the current index of `conn`'s database (from `indexes`, else the default);
    with no connection, the last index loaded, noted as maybe stale."""
    return (indexes or cache).get(conn).locate(x, y, crs)


def locate_in_area(conn: psycopg.Connection | None, x: ArrayLike, y: ArrayLike, crs: str | int | None = None,
                   indexes: IndexCache | None = None, area: Area | None = None) -> Located:
    """`locate`, for a caller limited to `area`: points outside it answer `outside: true` with nothing
    else (no match, as for a point outside the district), judged by `scope.points_inside`."""
    index = (indexes or cache).get(conn)
    if area is None:
        return index.locate(x, y, crs)
    xs, ys = check_coordinates(x, y, crs)
    sx, sy = gcrs.to_storage(xs, ys, crs)
    return index.locate_storage(sx, sy).only(np.asarray(scope.points_inside(conn, area, sx, sy), dtype=bool))


def locate_point(conn: psycopg.Connection | None, x: float, y: float, crs: str | int | None = None,
                 indexes: IndexCache | None = None, area: Area | None = None) -> dict[str, Any]:
    """One point's full hierarchy (the `GET /api/grids/locate` answer)."""
    return locate_in_area(conn, [x], [y], crs, indexes, area).record(0)


def locate_in_db(conn: psycopg.Connection, x: float, y: float) -> dict[str, str | None]:
    """The reference answer computed by PostGIS (storage CRS): codes only, same tie rule."""
    row = conn.execute(
        """WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%s, %s), 4490) AS g),
           u AS (SELECT u.code, u.eval_code FROM unit_grids u, p WHERE ST_Intersects(u.geom, p.g)
                 ORDER BY u.code LIMIT 1)
           SELECT (SELECT code FROM u), (SELECT eval_code FROM u),
                  (SELECT min(a.code) FROM admin_areas a, p WHERE a.level = 'community' AND ST_Intersects(a.geom, p.g)),
                  (SELECT min(a.code) FROM admin_areas a, p WHERE a.level = 'street' AND ST_Intersects(a.geom, p.g)),
                  (SELECT min(a.code) FROM admin_areas a, p WHERE a.level = 'district' AND ST_Intersects(a.geom, p.g)),
                  (SELECT min(e.code) FROM eval_grids e, p WHERE ST_Intersects(e.geom, p.g)),
                  (SELECT array_agg(w.kind || ':' || w.code ORDER BY w.kind, w.code, w.id)
                     FROM work_grids w, p WHERE ST_Intersects(w.geom, p.g))""",
        (x, y),
    ).fetchone()
    unit, unit_eval, community, street, district, ev, works = row
    return {
        "unit_grid": unit,
        "community": unit[:12] if unit else community,
        "street": unit[:9] if unit else street,
        "district": unit[:6] if unit else district,
        "eval_grid": unit_eval or ev,
        "work_grids": works or [],
    }
