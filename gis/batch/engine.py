"""Batch work on Dask distributed: locating millions of points, aggregating history into H3 heat, and (from
`geocoder.batchjobs`) geocoding address lists — with the same engine code the server runs.

Why Dask (and not Apache Sedona): the work is the project's own numpy/shapely engines (the grid locate
index, the geocoder's reference index), which Dask runs unchanged in worker processes; Sedona would need
the engines re-expressed as Spark SQL over a JVM, which is not packaged here, for no gain at these sizes.

Spatial partitioning: points are ordered along a Hilbert curve over their extent (2^order × 2^order
cells) and cut into `partitions` runs of about equal size at cell boundaries; a run is spatially compact,
so its bbox is small, and its task loads only the unit, evaluation and work grids touching that bbox
(`gis.grids.locate.load_index(conn, bbox)`), cached per worker process by (database, grid version, bbox).

A LocalCluster (processes, one thread each: the engines hold the GIL) by default; `--scheduler ADDRESS`
uses a running cluster, whose workers need this package installed and the database reachable.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

LEVELS = ("district", "street", "community", "unit_grid", "eval_grid")
_index_cache: dict[tuple[Any, ...], Any] = {}
_cache_lock = threading.Lock()


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A Dask client: to `scheduler` when given, else to a fresh LocalCluster of `workers` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster, Client(cluster) as client:
        yield client


def hilbert_key(ix: NDArray[np.int64], iy: NDArray[np.int64], order: int) -> NDArray[np.int64]:
    """Position along the Hilbert curve of cells (ix, iy) on a 2^order grid (vectorised xy→d)."""
    x, y = ix.astype(np.int64).copy(), iy.astype(np.int64).copy()
    d = np.zeros(x.shape, dtype=np.int64)
    s = 1 << (order - 1)
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx) ^ ry)
        flip = ~ry
        swap_x = np.where(flip & rx, s - 1 - x, x)
        swap_y = np.where(flip & rx, s - 1 - y, y)
        x, y = np.where(flip, swap_y, swap_x), np.where(flip, swap_x, swap_y)
        s >>= 1
    return d


def spatial_partitions(x: NDArray[np.float64], y: NDArray[np.float64], partitions: int, order: int = 6
                       ) -> list[NDArray[np.int64]]:
    """Point indices per partition: Hilbert-ordered runs of about equal size, cut at cell boundaries."""
    n = x.size
    if n == 0:
        return []
    finite = np.isfinite(x) & np.isfinite(y)
    x0, x1 = (float(x[finite].min()), float(x[finite].max())) if finite.any() else (0.0, 1.0)
    y0, y1 = (float(y[finite].min()), float(y[finite].max())) if finite.any() else (0.0, 1.0)
    cells = 1 << order
    ix = np.clip(((np.nan_to_num(x, nan=x0) - x0) / max(x1 - x0, 1e-12) * cells).astype(np.int64), 0, cells - 1)
    iy = np.clip(((np.nan_to_num(y, nan=y0) - y0) / max(y1 - y0, 1e-12) * cells).astype(np.int64), 0, cells - 1)
    key = hilbert_key(ix, iy, order)
    order_idx = np.argsort(key, kind="stable")
    sorted_key = key[order_idx]
    cuts = [0]
    for k in range(1, partitions):
        at = int(np.searchsorted(sorted_key, sorted_key[min(n - 1, k * n // partitions)], side="left"))
        if at > cuts[-1]:
            cuts.append(at)
    cuts.append(n)
    return [order_idx[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def _sub_index(db_url: str, bbox: tuple[float, float, float, float]) -> Any:
    """The grid index of `bbox`, loaded once per worker process and grid version."""
    from gis.grids import locate

    with psycopg.connect(db_url, autocommit=True) as conn:
        key = (db_url, locate.grid_version(conn), bbox)
        with _cache_lock:
            hit = _index_cache.get(key)
        if hit is None:
            hit = locate.load_index(conn, bbox)
            with _cache_lock:
                if len(_index_cache) > 64:
                    _index_cache.clear()
                _index_cache[key] = hit
    return hit


def locate_task(db_url: str, x: NDArray[np.float64], y: NDArray[np.float64]) -> dict[str, Any]:
    """One partition: per level, indices into a code list (-1: none), and (point, code) work-grid pairs."""
    ok = np.isfinite(x) & np.isfinite(y)
    bbox = ((float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max()))
            if ok.any() else (0.0, 0.0, 0.0, 0.0))
    index = _sub_index(db_url, bbox)
    got = index.locate_storage(x, y)
    layers = {"district": index.districts, "street": index.streets, "community": index.communities,
              "unit_grid": index.units, "eval_grid": index.evals}
    out: dict[str, Any] = {}
    for level in LEVELS:
        idx = getattr(got, {"unit_grid": "unit", "eval_grid": "eval"}.get(level, level))
        used = np.unique(idx[idx >= 0])
        remap = np.full(len(layers[level]) + 1, -1, dtype=np.int32)
        remap[used] = np.arange(used.size, dtype=np.int32)
        out[level] = (np.where(idx >= 0, remap[idx], -1).astype(np.int32), [layers[level].codes[i] for i in used])
    works = index.works
    out["work_grids"] = (got.work_point.astype(np.int64), [f"{works.extra[g]['kind']}:{works.codes[g]}"
                                                           for g in got.work_grid.tolist()])
    return out


@dataclass
class BatchLocated:
    """Answers for n points: per level an int32 index into `codes[level]` (-1: none); work grids as pairs."""

    n: int
    index: dict[str, NDArray[np.int32]]
    codes: dict[str, list[str]]
    work_point: NDArray[np.int64]
    work_code: list[str]

    def row(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {lv: (self.codes[lv][self.index[lv][i]] if self.index[lv][i] >= 0 else None)
                               for lv in LEVELS}
        lo, hi = np.searchsorted(self.work_point, [i, i + 1])
        out["work_grids"] = sorted(self.work_code[lo:hi])
        return out


def locate_points(client: Any, db_url: str, x: NDArray[np.float64], y: NDArray[np.float64],
                  partitions: int | None = None) -> BatchLocated:
    """Locates storage-CRS points on the cluster of `client`; answers in input order."""
    n = int(x.size)
    nworkers = max(1, len(client.scheduler_info()["workers"]))
    parts = spatial_partitions(x, y, partitions or max(4 * nworkers, n // 250_000 + 1))
    futures = [client.submit(locate_task, db_url, x[idx], y[idx], pure=False) for idx in parts]
    index = {lv: np.full(n, -1, dtype=np.int32) for lv in LEVELS}
    codes: dict[str, list[str]] = {lv: [] for lv in LEVELS}
    work_pts, work_codes = [], []
    for idx, fut in zip(parts, futures, strict=True):
        res = fut.result()
        for lv in LEVELS:
            local, names = res[lv]
            index[lv][idx] = np.where(local >= 0, local + len(codes[lv]), -1)
            codes[lv].extend(names)
        wp, wc = res["work_grids"]
        work_pts.append(idx[wp])
        work_codes.extend(wc)
        fut.release()
    wp_all = np.concatenate(work_pts) if work_pts else np.zeros(0, dtype=np.int64)
    order = np.argsort(wp_all, kind="stable")
    return BatchLocated(n, index, codes, wp_all[order], [work_codes[i] for i in order.tolist()])


def heat_task(db_url: str, table: str, start: str, end: str, res: int) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """H3 counts of one time slice of `positions` or `cases` (the database does the cell arithmetic)."""
    from gis.h3cells import latlng_cells

    col = {"positions": "ts", "cases": "reported_at"}[table]
    with psycopg.connect(db_url, autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT ST_X(geom), ST_Y(geom) FROM {table} WHERE {col} >= %s AND {col} < %s AND geom IS NOT NULL",
            (start, end)).fetchall()
    if not rows:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    arr = np.array(rows, dtype=np.float64)
    cells = np.asarray(latlng_cells(arr[:, 1], arr[:, 0], res), dtype=np.uint64)
    uniq, counts = np.unique(cells, return_counts=True)
    return uniq, counts.astype(np.int64)


def heat(client: Any, db_url: str, table: str, start: str, end: str, res: int = 8) -> dict[int, int]:
    """H3 cell → count over [start, end), one task per month (a time partition: positions are stored by month)."""
    import datetime as dt

    lo = dt.datetime.fromisoformat(start)
    hi = dt.datetime.fromisoformat(end)
    slices, cur = [], lo
    while cur < hi:
        nxt = (cur.replace(day=1) + dt.timedelta(days=32)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        slices.append((cur.isoformat(), min(nxt, hi).isoformat()))
        cur = nxt
    futures = [client.submit(heat_task, db_url, table, a, b, res, pure=False) for a, b in slices]
    total: dict[int, int] = {}
    for fut in futures:
        cells, counts = fut.result()
        for c, k in zip(cells.tolist(), counts.tolist(), strict=True):
            total[c] = total.get(c, 0) + k
    return total
