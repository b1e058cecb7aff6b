"""Evaluation grids (评价网格) built from whole unit grids, per street (standards.md §2).

Rules: each evaluation grid is a contiguous set of whole unit grids of one street, 0.5–3 km², close to
1 km²; re-running on unchanged input gives the same grids and codes. How:

1. Unit grids are ordered along a Hilbert curve of their centroids (ties by code): a deterministic
   order that keeps neighbours close.
2. Seeded region growing: the first unassigned grid in that order seeds a region, which takes the
   adjacent unassigned grid nearest to the seed (ties by curve order) while it is under 1 km², and stops
   early when the next grid would carry it further from 1 km² than it is (once ≥ 0.5 km²) or over 3 km².
   "Adjacent" means sharing a boundary of at least 1 m (corners do not count), tolerant to 5 cm gaps.
3. Regions still under 0.5 km² merge into the adjacent region that stays smallest (≤ 3 km²).
   A street piece that is under 0.5 km² and touches nothing else stays a small grid of its own.
4. The geometry is the union of the members, snapped to 1e-8° (≈ 1 mm) so that edges digitised a hair
   apart do not leave slivers inside a grid. Codes are street 9 + sequence 3 in region order. An
   unchanged grid keeps its row untouched (its area class, first-division date and change date stay);
   a changed one gets today's change date; codes no longer produced are deleted.

A/B/C area classes are kept when imported or set before. Grids without one get a class from component
density (tertiles within the run: densest third A, middle B, rest C) when `assign_classes` is on.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

import numpy as np
import psycopg
import shapely
from numpy.typing import NDArray

from gis.codes import build
from gis.errors import InvalidInput
from gis.grids.metric import hilbert_index
from gis.metric import project

TARGET_M2 = 1_000_000.0
MIN_M2 = 500_000.0
MAX_M2 = 3_000_000.0
GAP_TOLERANCE_M = 0.05
MIN_SHARED_EDGE_M = 1.0
LOCK_KEY = 72_000_301  # advisory lock id of a build


def adjacency(geoms_m: NDArray[np.object_]) -> list[list[int]]:
    """Neighbour lists: grids sharing ≥ 1 m of boundary (gaps up to 5 cm tolerated)."""
    n = len(geoms_m)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    if n < 2:
        return neighbours
    tree = shapely.STRtree(geoms_m)
    a, b = tree.query(geoms_m, predicate="dwithin", distance=GAP_TOLERANCE_M)
    keep = a < b
    a, b = a[keep], b[keep]
    if not len(a):
        return neighbours
    grown = shapely.buffer(geoms_m, GAP_TOLERANCE_M, quad_segs=1)
    shared = shapely.length(shapely.intersection(shapely.boundary(geoms_m[a]), grown[b]))
    for i, j in zip(a[shared >= MIN_SHARED_EDGE_M].tolist(), b[shared >= MIN_SHARED_EDGE_M].tolist(), strict=True):
        neighbours[i].append(j)
        neighbours[j].append(i)
    return neighbours


def partition(areas: NDArray[np.float64], centroids: NDArray[np.float64], neighbours: list[list[int]],
              rank: NDArray[np.int64], target: float = TARGET_M2, min_m2: float = MIN_M2,
              max_m2: float = MAX_M2) -> list[list[int]]:
    """Regions (lists of grid indices) by seeded region growing; see the module docstring."""
    n = len(areas)
    region_of = np.full(n, -1, dtype=np.int64)
    regions: list[list[int]] = []
    region_area: list[float] = []
    for seed in np.argsort(rank, kind="stable").tolist():
        if region_of[seed] >= 0:
            continue
        rid = len(regions)
        members, area = [seed], float(areas[seed])
        region_of[seed] = rid
        cx, cy = centroids[seed]
        heap: list[tuple[float, int, int]] = []

        def push(i: int, cx: float = cx, cy: float = cy, heap: list = heap) -> None:
            for j in neighbours[i]:
                if region_of[j] < 0:
                    heapq.heappush(heap, (float(np.hypot(centroids[j, 0] - cx, centroids[j, 1] - cy)),
                                          int(rank[j]), j))

        push(seed)
        while heap and area < target:
            _, _, j = heapq.heappop(heap)
            if region_of[j] >= 0:
                continue
            after = area + float(areas[j])
            if after > max_m2:
                continue
            if area >= min_m2 and abs(after - target) > abs(area - target):
                break
            region_of[j] = rid
            members.append(j)
            area = after
            push(j)
        regions.append(members)
        region_area.append(area)
    # Merge regions under the minimum into the adjacent region that stays smallest.
    changed = True
    while changed:
        changed = False
        for rid in range(len(regions)):
            if not regions[rid] or region_area[rid] >= min_m2:
                continue
            touching = sorted({int(region_of[j]) for i in regions[rid] for j in neighbours[i]} - {rid})
            options = [(region_area[r] + region_area[rid], r) for r in touching
                       if regions[r] and region_area[r] + region_area[rid] <= max_m2]
            if not options:
                continue
            _, into = min(options)
            for i in regions[rid]:
                region_of[i] = into
            regions[into].extend(regions[rid])
            region_area[into] += region_area[rid]
            regions[rid], region_area[rid] = [], 0.0
            changed = True
    kept = [sorted(r, key=lambda i: int(rank[i])) for r in regions if r]
    kept.sort(key=lambda r: int(rank[r[0]]))
    return kept


def plan(codes: list[str], geoms: NDArray[np.object_], areas: NDArray[np.float64]) -> dict[str, str]:
    """unit-grid code → evaluation-grid code for the unit grids of ONE street (pure; no database)."""
    if not codes:
        return {}
    street = codes[0][:9]
    metric = project(geoms)
    cent = shapely.centroid(metric)
    xy = np.column_stack([shapely.get_x(cent), shapely.get_y(cent)])
    curve = hilbert_index(xy[:, 0], xy[:, 1])
    rank = np.empty(len(codes), dtype=np.int64)
    rank[np.lexsort((np.arange(len(codes)), curve))] = np.arange(len(codes))  # codes are sorted: ties by code
    regions = partition(areas, xy, adjacency(metric), rank)
    if len(regions) > 999:
        raise InvalidInput(f"street {street} would need {len(regions)} evaluation grids; codes allow 999")
    return {codes[i]: build("eval_grid", street, seq) for seq, region in enumerate(regions, 1) for i in region}


def build_eval_grids(conn: psycopg.Connection, streets: list[str] | None = None, *,
                     assign_classes: bool = True) -> int:
    """Builds (or rebuilds) the evaluation grids of `streets` (all streets with unit grids when None) and
    sets `unit_grids.eval_code`. Returns how many evaluation grids the streets now have."""
    if streets is not None:
        bad = [s for s in streets if not (isinstance(s, str) and len(s) == 9 and s.isdigit())]
        if bad:
            raise InvalidInput(f"street codes have 9 digits: {', '.join(map(str, bad))}")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        rows = conn.execute(
            """SELECT code, ST_AsBinary(geom), coalesce(area_m2, ST_Area(geom::geography))
               FROM unit_grids WHERE %(s)s::text[] IS NULL OR left(code, 9) = ANY(%(s)s::text[])
               ORDER BY code""",
            {"s": streets},
        ).fetchall()
        by_street: dict[str, list[tuple]] = defaultdict(list)
        for r in rows:
            by_street[r[0][:9]].append(r)
        targets = sorted(set(streets) if streets is not None else set(by_street))
        members: dict[str, str] = {}
        for street in targets:
            part = by_street.get(street, [])
            if part:
                geoms = np.asarray(shapely.from_wkb([r[1] for r in part]), dtype=object)
                members.update(plan([r[0] for r in part], geoms, np.array([r[2] for r in part], dtype=float)))
        _write(conn, targets, members)
        if assign_classes:
            assign_classes_by_density(conn, targets)
        return conn.execute("SELECT count(*) FROM eval_grids WHERE street_code = ANY(%s)", (targets,)).fetchone()[0]


def _write(conn: psycopg.Connection, streets: list[str], members: dict[str, str]) -> None:
    conn.execute("CREATE TEMP TABLE _eval_members (unit_code varchar(15), eval_code varchar(12)) ON COMMIT DROP")
    with conn.cursor().copy("COPY _eval_members (unit_code, eval_code) FROM STDIN") as copy:
        for unit, ev in members.items():
            copy.write_row((unit, ev))
    conn.execute(
        """INSERT INTO eval_grids AS e (code, street_code, name, area_m2, first_date, change_date, geom)
           SELECT m.eval_code, left(m.eval_code, 9), coalesce(s.name, left(m.eval_code, 9)) || '评价网格'
                  || right(m.eval_code, 3), sum(coalesce(u.area_m2, ST_Area(u.geom::geography))),
                  current_date, current_date,
                  ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(u.geom, 1e-8)), 3))
           FROM _eval_members m JOIN unit_grids u ON u.code = m.unit_code
           LEFT JOIN admin_areas s ON s.code = left(m.eval_code, 9)
           GROUP BY m.eval_code, s.name
           ON CONFLICT (code) DO UPDATE SET geom = EXCLUDED.geom, area_m2 = EXCLUDED.area_m2,
                  change_date = current_date
           WHERE NOT ST_Equals(e.geom, EXCLUDED.geom)"""
    )
    conn.execute(
        """UPDATE unit_grids u SET eval_code = m.eval_code FROM _eval_members m
           WHERE u.code = m.unit_code AND u.eval_code IS DISTINCT FROM m.eval_code"""
    )
    conn.execute(
        """DELETE FROM eval_grids e WHERE e.street_code = ANY(%s)
           AND NOT EXISTS (SELECT 1 FROM _eval_members m WHERE m.eval_code = e.code)""",
        (streets,),
    )
    conn.execute("DROP TABLE _eval_members")


def assign_classes_by_density(conn: psycopg.Connection, streets: list[str]) -> int:
    """Gives A/B/C to the unclassified evaluation grids of `streets` by component density tertiles."""
    return conn.execute(
        """WITH d AS (
               SELECT e.code, count(c.id) / greatest(e.area_m2, 1) AS density
               FROM eval_grids e
               LEFT JOIN unit_grids u ON u.eval_code = e.code
               LEFT JOIN components c ON c.unit_grid_code = u.code
               WHERE e.street_code = ANY(%s) AND e.area_class IS NULL
               GROUP BY e.code, e.area_m2),
           r AS (SELECT code, ntile(3) OVER (ORDER BY density DESC, code) AS t FROM d)
           UPDATE eval_grids e SET area_class = (ARRAY['A', 'B', 'C'])[r.t] FROM r WHERE e.code = r.code""",
        (streets,),
    ).rowcount


def set_area_classes(conn: psycopg.Connection, classes: dict[str, str]) -> int:
    """Imports A/B/C classes (the type layer overlay's result) for evaluation grids by code."""
    bad = {c: v for c, v in classes.items() if v not in ("A", "B", "C")}
    if bad:
        raise InvalidInput(f"area classes are A, B or C: {', '.join(f'{c}={v}' for c, v in bad.items())}")
    with conn.transaction():
        missing = conn.execute("SELECT x FROM unnest(%s::text[]) x WHERE x NOT IN (SELECT code FROM eval_grids)",
                               (list(classes),)).fetchall()
        if missing:
            raise InvalidInput(f"no evaluation grid {', '.join(r[0] for r in missing)}")
        conn.execute(
            """UPDATE eval_grids e SET area_class = v.cls, change_date = current_date
               FROM unnest(%s::text[], %s::text[]) AS v(code, cls)
               WHERE e.code = v.code AND e.area_class IS DISTINCT FROM v.cls""",
            (list(classes), list(classes.values())),
        )
    return len(classes)
