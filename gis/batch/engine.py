"""Batch work on Dask distributed: locating millions of points, aggregating history into H3 heat, and (from
`geocoder.batchjobs`) geocoding address lists — with the same engine code the server runs.

Why Dask (and not Apache Sedona): the work is the project's own numpy/shapely engines (the grid locate
index, the geocoder's reference index), which Dask runs unchanged in worker processes; Sedona would need
the engines re-expressed as Spark SQL over a JVM, which is not packaged here, for no gain at these sizes.

Spatial partitioning: points are ordered along a Hilbert curve over their extent (2^order × 2^order
cells) and cut into `partitions` runs of about equal size at cell boundaries; a run is spatially compact,
so its bbox is small. A worker keeps its grid index across tasks (on the Dask worker): the whole index for
a district-sized database, else the grids touching a task's bbox (`_sub_index` says why).

Everything that travels is arrays: coordinates are scattered to the workers, answers come back as int32
indices into the few codes a partition used, and are put in input order by vectorised scatters; with
`locate_to_files` the workers write their partitions as CSV part files themselves.

A LocalCluster (processes, one thread each: the engines hold the GIL) by default; `--scheduler ADDRESS`
uses a running cluster, whose workers need this package installed and the database reachable.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from numpy.typing import NDArray

LEVELS = ("district", "street", "community", "unit_grid", "eval_grid")
#: Up to this many unit grids a worker holds the whole grid index (see `_sub_index`).
WHOLE_INDEX_MAX_UNITS = 50_000
_cache_lock = threading.Lock()
#: glibc malloc settings for LocalCluster workers. Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 so idle
#: workers hand memory back; that also stops glibc raising its mmap threshold, so every temporary array of
#: the numpy engines (MBs, thousands per task) is a fresh mmap whose pages fault in again. Measured on
#: the demo district: 10^6 points located in a worker took 1.2–1.5 CPU s with Dask's setting, 0.5–0.6 s
#: in a plain process. Here temporaries below 64 MiB come from the heap and up to 256 MiB of it is kept.
#: Workers of a cluster given by address are configured by whoever runs them (the same two variables).
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": str(256 << 20),
                  "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_": str(64 << 20)}


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int = 2) -> Iterator[Any]:
    """A Dask client: to `scheduler` when given, else to a fresh LocalCluster of `workers` processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    import dask

    with dask.config.set(WORKER_ENVIRON), LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
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


def _cell_keys(x: NDArray[np.float64], y: NDArray[np.float64], order: int) -> NDArray[np.int64]:
    """Each point's Hilbert cell on a 2^order × 2^order grid over the points' extent (NaN → a corner cell).
    The curve is computed once per cell (65,536 at order 8), then looked up per point: one gather instead
    of `order` rounds of array arithmetic over every point."""
    finite = np.isfinite(x) & np.isfinite(y)
    every = bool(finite.all())                                  # the usual case: no copies to drop NaN
    fx, fy = (x, y) if every else (x[finite], y[finite])
    x0, x1 = (float(fx.min()), float(fx.max())) if fx.size else (0.0, 1.0)
    y0, y1 = (float(fy.min()), float(fy.max())) if fy.size else (0.0, 1.0)
    cells = 1 << order
    gx, gy = np.meshgrid(np.arange(cells, dtype=np.int64), np.arange(cells, dtype=np.int64))
    table = hilbert_key(gx.ravel(), gy.ravel(), order)          # row-major cell → curve position

    def axis(v: NDArray[np.float64], v0: float, v1: float) -> NDArray[np.int32]:
        f = v - v0
        if not every:
            f[~np.isfinite(f)] = 0.0
        f *= cells / max(v1 - v0, 1e-12)
        np.clip(f, 0, cells - 1, out=f)
        return f.astype(np.int32)

    return table[axis(y, y0, y1) * cells + axis(x, x0, x1)]


def partition_labels(x: NDArray[np.float64], y: NDArray[np.float64], partitions: int, order: int = 8
                     ) -> tuple[NDArray[np.int16], int]:
    """Per point, its partition: Hilbert-ordered runs of cells of about equal point counts (a cell is never
    split, so a run is spatially compact). Returns the labels and the number of partitions used."""
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int16), 0
    partitions = max(1, min(int(partitions), 1 << 14))
    key = _cell_keys(x, y, order)
    counts = np.bincount(key, minlength=1 << (2 * order))
    start = np.cumsum(counts) - counts                            # points before each cell along the curve
    part_of_cell = np.minimum(start * partitions // n, partitions - 1).astype(np.int16)   # empty tail cells: n
    used = np.unique(part_of_cell[counts > 0])                    # renumber: no empty partitions
    remap = np.zeros(partitions, dtype=np.int16)
    remap[used] = np.arange(used.size, dtype=np.int16)
    return remap[part_of_cell][key], int(used.size)


def spatial_partitions(x: NDArray[np.float64], y: NDArray[np.float64], partitions: int, order: int = 8
                       ) -> list[NDArray[np.int64]]:
    """Point indices per partition, ascending within each (so answers scatter back in order cheaply).
    A stable sort of 16-bit labels is a radix sort in numpy: linear, ~0.1 s for 10^7 points.

    A partition more than twice the target size (points crowded into a few cells: one busy site) is cut
    into target-sized pieces, so the work still spreads over the workers; its points share a cell or a
    few, so each piece is still compact."""
    labels, used = partition_labels(x, y, partitions, order)
    if used == 0:
        return []
    order_idx = np.argsort(labels, kind="stable")
    bounds = np.cumsum(np.bincount(labels, minlength=used))
    target = -(-x.size // max(1, int(partitions)))
    out: list[NDArray[np.int64]] = []
    for part in np.split(order_idx, bounds[:-1]):
        out.extend(np.array_split(part, -(-part.size // target)) if part.size > 2 * target else [part])
    return out


def _worker_cache() -> dict[tuple[Any, ...], Any]:
    """The grid sub-indexes of the Dask worker running this task, kept on the worker (as the server keeps
    its index on app.state), or a throwaway dict outside a worker."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return {}
    cache = getattr(worker, "citygrid_grid_indexes", None)
    if cache is None:
        cache = worker.citygrid_grid_indexes = {}
    return cache


def _covers(outer: tuple[float, ...], inner: tuple[float, ...]) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and outer[2] >= inner[2] and outer[3] >= inner[3]


def _sub_index(db_url: str, bbox: tuple[float, float, float, float], whole_max: int = WHOLE_INDEX_MAX_UNITS) -> Any:
    """A grid index answering every point of `bbox`, kept on the worker across tasks (same database and
    grid version — one indexed read per task).

    Up to `whole_max` unit grids the worker loads the whole index once: measured on the demo
    district, a bbox sub-index answers ~2× slower per point, because the point index sizes its buckets by
    polygon count over the layer's extent, and the few large work grids touching a bbox reach far
    outside it (coarse buckets → many exact edge tests). Past that (a city or province), each task loads
    the grids touching its bbox, which a compact Hilbert partition keeps small; a cached sub-index whose
    bbox covers a later task's is reused."""
    from gis.grids import locate

    cache = _worker_cache()
    with psycopg.connect(db_url, autocommit=True) as conn:
        version = locate.grid_version(conn)
        with _cache_lock:
            hit = next((ix for (db, ver, box), ix in cache.items()
                        if db == db_url and ver == version and _covers(box, bbox)), None)
        if hit is None:
            units = conn.execute("SELECT count(*) FROM unit_grids").fetchone()[0]
            if units <= whole_max:
                bbox = (-np.inf, -np.inf, np.inf, np.inf)
            hit = locate.load_index(conn, None if units <= whole_max else bbox)
            with _cache_lock:
                for key in [k for k in cache if k[0] != db_url or k[1] != version or len(cache) >= 8]:
                    del cache[key]
                cache[(db_url, version, bbox)] = hit
    return hit


def locate_task(db_url: str, xy: NDArray[np.float64], whole_max: int = WHOLE_INDEX_MAX_UNITS) -> dict[str, Any]:
    """One partition (`xy`: 2 × n storage coordinates). The answer is compact arrays, not per-point
    records: per level an int16/int32 index into the few codes the partition used (-1: none), and the
    work grids as CSR without its pointer: per point how many (uint8 unless one has ≥ 256), then the
    int16/int32 indices into the partition's work codes, by point then rank."""
    x, y = np.ascontiguousarray(xy[0]), np.ascontiguousarray(xy[1])
    ok = np.isfinite(x) & np.isfinite(y)
    bbox = ((float(x[ok].min()), float(y[ok].min()), float(x[ok].max()), float(y[ok].max()))
            if ok.any() else (0.0, 0.0, 0.0, 0.0))
    index = _sub_index(db_url, bbox, whole_max)
    got = index.locate_storage(x, y)
    layers = {"district": index.districts, "street": index.streets, "community": index.communities,
              "unit_grid": index.units, "eval_grid": index.evals}
    out: dict[str, Any] = {"n": int(x.size)}
    for level in LEVELS:
        idx = getattr(got, {"unit_grid": "unit", "eval_grid": "eval"}.get(level, level))
        local, used = _compact(idx, len(layers[level]))
        out[level] = (local, [layers[level].codes[i] for i in used.tolist()])
    local, used = _compact(got.work_grid, len(index.works))
    works = index.works
    counts = np.bincount(got.work_point, minlength=x.size)
    out["work"] = (counts.astype(np.uint8 if counts.max(initial=0) < 256 else np.int32), local,
                   [f"{works.extra[g]['kind']}:{works.codes[g]}" for g in used.tolist()])
    return out


def _compact(idx: NDArray[np.int64], size: int) -> tuple[NDArray[np.signedinteger], NDArray[np.int64]]:
    """Indices into a layer of `size` → indices into the sorted list of those used (-1 stays -1): int16
    when fewer than 32,767 are used (a compact partition uses a few thousand grids at most), halving
    what travels back and is scattered on the client; else int32."""
    seen = np.zeros(size + 1, dtype=bool)
    seen[idx] = True                                              # -1 marks seen[size], never used
    used = np.flatnonzero(seen[:size])
    dtype = np.int16 if used.size < 32_767 else np.int32
    remap = np.full(size + 1, -1, dtype=dtype)                    # remap[-1] (= remap[size]) stays -1
    remap[used] = np.arange(used.size, dtype=dtype)
    return remap[idx], used


@dataclass
class BatchLocated:
    """Answers for n points in input order: per level an int32 index into `codes[level]` (-1: none); work
    grids as runs — point i's are `work_codes[work_grid[work_start[i]:work_start[i] + work_count[i]]]`, in
    rank order. Runs, not one CSR pointer: the partitions' grid arrays are simply concatenated, in
    partition order, instead of being re-placed into input order (that placement cost the client ~1 CPU s
    per 10^7 points, while the workers waited)."""

    n: int
    index: dict[str, NDArray[np.int32]]
    codes: dict[str, list[str]]
    work_start: NDArray[np.int64]
    work_count: NDArray[np.int32]
    work_grid: NDArray[np.int32]
    work_codes: list[str]

    def row(self, i: int) -> dict[str, Any]:
        out: dict[str, Any] = {lv: (self.codes[lv][self.index[lv][i]] if self.index[lv][i] >= 0 else None)
                               for lv in LEVELS}
        a = int(self.work_start[i])
        out["work_grids"] = sorted(self.work_codes[g] for g in self.work_grid[a:a + int(self.work_count[i])])
        return out

    def write_csv(self, fh: Any, ids: Any) -> None:
        """All answers as CSV (`CSV_HEADER`), in input order."""
        write_csv(fh, ids, self.codes, self.index, self.work_start, self.work_count, self.work_grid,
                  self.work_codes)


def default_partitions(n: int, workers: int) -> int:
    """Big tasks (≥ ~1 M points: the per-task costs — an index read, a scheduler round trip — vanish
    beside the work), but at least two per worker so a slow one does not hold the run."""
    return max(2 * workers, -(-n // 1_250_000))


def locate_points(client: Any, db_url: str, x: NDArray[np.float64], y: NDArray[np.float64],
                  partitions: int | None = None, whole_max: int = WHOLE_INDEX_MAX_UNITS) -> BatchLocated:
    """Locates storage-CRS points on the cluster of `client`; answers in input order. `whole_max`: up to
    this many unit grids a worker holds the whole index, else a bbox sub-index per task (`_sub_index`).

    Each partition's coordinates are scattered straight to a worker (not embedded in the task graph that
    goes through the scheduler) and its task submitted at once, so the first worker starts while later
    partitions are still cut; answers come back as compact arrays and are put in input order by
    vectorised scatters (partition indices are ascending, so no sort is needed)."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n = int(x.size)
    nworkers = max(1, len(client.scheduler_info()["workers"]))
    parts = spatial_partitions(x, y, partitions or default_partitions(n, nworkers))
    sent = [_submit(client, locate_task, (x, y), idx, db_url, whole_max) for idx in parts]
    index = {lv: np.full(n, -1, dtype=np.int32) for lv in LEVELS}
    codes: dict[str, list[str]] = {lv: [] for lv in LEVELS}
    start = np.zeros(n, dtype=np.int64)
    count = np.zeros(n, dtype=np.int32)
    grids: list[NDArray[np.int32]] = []
    done = 0                                                      # work grids of the partitions so far
    work_codes: list[str] = []
    for idx, (d, fut) in zip(parts, sent, strict=True):
        res = fut.result()
        fut.release()
        d.release()
        for lv in LEVELS:
            local, names = res[lv]
            remap = np.arange(len(codes[lv]), len(codes[lv]) + len(names) + 1, dtype=np.int32)
            remap[-1] = -1                                      # local -1 (none) stays -1
            index[lv][idx] = remap[local]
            codes[lv].extend(names)
        wc, wg, names = res["work"]
        count[idx] = wc
        local = np.cumsum(wc, dtype=np.int64)
        local -= wc
        local += done
        start[idx] = local
        done += wg.size
        grids.append(wg + np.int32(len(work_codes)))
        work_codes.extend(names)
    grid = np.concatenate(grids) if grids else np.zeros(0, dtype=np.int32)
    return BatchLocated(n, index, codes, start, count, grid, work_codes)


def _submit(client: Any, task: Any, xy: tuple[NDArray[np.float64], NDArray[np.float64]], idx: NDArray[np.int64],
            *args: Any) -> tuple[Any, Any]:
    """One partition's coordinates (2 × n, gathered straight into one array) scattered to a worker without
    hashing them (they are never scattered twice), and `task(args[0], data, *args[1:])` submitted on it."""
    data = np.empty((2, idx.size))
    np.take(xy[0], idx, out=data[0])
    np.take(xy[1], idx, out=data[1])
    d = client.scatter(data, hash=False, direct=True)
    return d, client.submit(task, args[0], d, *args[1:], pure=False)


def code_columns(codes: dict[str, list[str]], index: dict[str, NDArray[np.int32]]) -> list[NDArray[np.object_]]:
    """Per level, the code of each point ('' for none): one gather per level (index -1 picks the '' put
    at the end of the lookup)."""
    return [np.array([*codes[lv], ""], dtype=object)[index[lv]] for lv in LEVELS]


def work_column(start: NDArray[np.int64], count: NDArray[np.integer], grid: NDArray[np.int32],
                names: list[str]) -> NDArray[np.object_]:
    """Per point, its work grids (`grid[start:start + count]`) as 'kind:code;…' sorted; points with the
    same set share one string (a dict over slices: measured 7× faster than `np.unique(axis=0)` over a
    padded matrix of the sets)."""
    g = grid.tolist()
    built: dict[tuple[int, ...], str] = {}
    out = []
    for a, b in zip(start.tolist(), (start + count).tolist(), strict=True):
        key = tuple(g[a:b])
        s = built.get(key)
        if s is None:
            s = built[key] = ";".join(sorted(names[i] for i in key))
        out.append(s)
    return np.array(out, dtype=object)


CSV_HEADER = ["id", *LEVELS, "work_grids"]


def _quote(value: str) -> str:
    """A CSV field as csv.writer (minimal quoting) writes it."""
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


def write_csv(fh: Any, ids: Any, codes: dict[str, list[str]], index: dict[str, NDArray[np.int32]],
              start: NDArray[np.int64], count: NDArray[np.integer], grid: NDArray[np.int32], names: list[str],
              header: bool = True) -> None:
    """Answers as CSV rows (`CSV_HEADER`, as csv.writer writes them), built column-wise: each column an
    object array of str, the lines made by numpy's element-wise `+` over those arrays (a C loop) and
    written as one string — csv.writerows cost ~3× more per row, more than locating the point."""
    quoted = {lv: [_quote(c) for c in codes[lv]] for lv in LEVELS}
    cols = code_columns(quoted, index)
    works = work_column(start, count, grid, names)
    if any(_quote(n) != n for n in names):          # never for real codes: the slow path stays correct
        works = np.array([_quote(w) for w in works], dtype=object)
    if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu":
        lines = np.array(ids.astype(str), dtype=object)
    else:
        lines = np.array([_quote(str(i)) for i in ids], dtype=object)
    if header:
        fh.write(",".join(CSV_HEADER) + "\r\n")
    for col in (*cols, works):
        lines = lines + "," + col
    fh.write("".join((lines + "\r\n").tolist()))


def locate_file_task(db_url: str, payload: tuple[NDArray[np.float64], Any], path: str,
                     whole_max: int = WHOLE_INDEX_MAX_UNITS) -> int:
    """One partition located and written by the worker itself to `path` (CSV, `CSV_HEADER`): nothing but
    a count goes back to the client. `payload`: 2 × n coordinates and the points' ids (or row numbers)."""
    xy, ids = payload
    res = locate_task(db_url, xy, whole_max)
    counts, grid, wc = res["work"]
    start = np.cumsum(counts, dtype=np.int64) - counts
    index = {lv: res[lv][0] for lv in LEVELS}
    codes = {lv: res[lv][1] for lv in LEVELS}
    tmp = f"{path}.tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        write_csv(fh, ids, codes, index, start, counts, grid, wc)
    import os

    os.replace(tmp, path)       # a part file is whole or absent
    return res["n"]


def locate_to_files(client: Any, db_url: str, x: NDArray[np.float64], y: NDArray[np.float64], outdir: str,
                    ids: list[str] | None = None, partitions: int | None = None,
                    whole_max: int = WHOLE_INDEX_MAX_UNITS) -> list[str]:
    """Locates points and has each worker write its partition to `outdir/part-NNNNN.csv` (rows in input
    order within a part; the `id` column — the input id or 1-based row number — ties them back). The
    directory must be reachable by the workers (a LocalCluster: any local path). Returns the part paths."""
    import os

    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    nworkers = max(1, len(client.scheduler_info()["workers"]))
    parts = spatial_partitions(x, y, partitions or default_partitions(int(x.size), nworkers))
    os.makedirs(outdir, exist_ok=True)
    paths = [os.path.join(os.path.abspath(outdir), f"part-{k:05d}.csv") for k in range(len(parts))]
    ids_arr = np.asarray(ids, dtype=object) if ids is not None else None
    payload = [(np.stack([x[idx], y[idx]]), ids_arr[idx] if ids_arr is not None else idx + 1) for idx in parts]
    data = client.scatter(payload)
    futures = [client.submit(locate_file_task, db_url, d, p, whole_max, pure=False)
               for d, p in zip(data, paths, strict=True)]
    for fut in futures:
        fut.result()
    return paths


#: One row of `COPY (SELECT x, y) TO STDOUT (FORMAT binary)`: field count, then length + float8 per field.
_XY_ROW = np.dtype([("n", ">i2"), ("lx", ">i4"), ("x", ">f8"), ("ly", ">i4"), ("y", ">f8")])
_COPY_HEADER = 19       # signature (11), flags (4), header extension length (4, = 0)


def read_xy(conn: psycopg.Connection, query: str, params: tuple[Any, ...]) -> tuple[NDArray, NDArray]:
    """(x, y) arrays of a two-float8-column query with no NULLs, by binary COPY parsed as one numpy
    structured array: no Python object per row (fetchall built a tuple and two floats per fix)."""
    buf = bytearray()
    with conn.cursor() as cur, cur.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)", params) as copy:
        for block in copy:
            buf += block
    if len(buf) <= _COPY_HEADER + 2:
        return np.zeros(0), np.zeros(0)
    rows = np.frombuffer(bytes(buf[_COPY_HEADER:-2]), dtype=_XY_ROW)     # the trailer is int16 -1
    if not (np.all(rows["n"] == 2) and np.all(rows["lx"] == 8) and np.all(rows["ly"] == 8)):
        raise ValueError("read_xy: the query must return two non-NULL float8 columns")
    return rows["x"].astype(np.float64), rows["y"].astype(np.float64)


def heat_task(db_url: str, table: str, start: str, end: str, res: int) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """H3 counts of one time slice of `positions` or `cases` (coordinates by binary COPY, cells by h3)."""
    from gis.h3cells import latlng_cells

    col = {"positions": "ts", "cases": "reported_at"}[table]
    with psycopg.connect(db_url, autocommit=True) as conn:
        x, y = read_xy(conn, f"SELECT ST_X(geom)::float8, ST_Y(geom)::float8 FROM {table} "
                             f"WHERE {col} >= %s AND {col} < %s AND geom IS NOT NULL", (start, end))
    if not x.size:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    cells = np.asarray(latlng_cells(y, x, res), dtype=np.uint64)
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
    got = [f.result() for f in futures]
    if not got:
        return {}
    cells = np.concatenate([c for c, _ in got])
    counts = np.concatenate([k for _, k in got])
    uniq, inverse = np.unique(cells, return_inverse=True)
    total = np.bincount(inverse, weights=counts, minlength=uniq.size).astype(np.int64)
    return dict(zip(uniq.tolist(), total.tolist(), strict=True))
