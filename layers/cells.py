"""H3 cells for heat: viewport covers, zoom → resolution, and the back-fill (arithmetic in gis.h3cells).

Points keep their resolution-15 cell (`h3_cell`, migration 0006); a viewport at resolution r is a few
range scans of a btree (the descendants of a cell are one id range), grouped by the parent expression.
"""

from __future__ import annotations

import math

import h3
import numpy as np
import psycopg
from h3.api import basic_int

from gis.errors import InvalidInput, TooLarge
from gis.h3cells import STORED_RES, descendant_range, digits_mask, latlng_cells, parent_of
from gis.h3cells import parent_sql as _parent_sql

from .sources import HeatSource

MIN_RES, MAX_RES = 4, 13
#: Most hexagons one answer may hold.
MAX_CELLS = 60_000
#: Rows whose cell is computed per round of the back-fill.
_BATCH = 250_000
#: Back-fills at least this large are followed by VACUUM ANALYZE of the table.
_VACUUM_AFTER = 10_000


__all__ = ["STORED_RES", "descendant_range", "digits_mask", "latlng_cells", "parent_of", "parent_sql"]


def parent_sql(column: str, res: int) -> str:
    """SQL for the resolution-`res` parent of the cell in `column` (constants only; see gis.h3cells)."""
    if not MIN_RES <= res <= STORED_RES:
        raise InvalidInput(f"resolution must be {MIN_RES}–{STORED_RES}, got {res}")
    return _parent_sql(column, res)


def estimate_cells(bbox: tuple[float, float, float, float], res: int) -> float:
    """Roughly how many resolution-`res` cells cover a lon/lat box."""
    w, s, e, n = bbox
    lat = math.radians((s + n) / 2)
    area_km2 = (e - w) * 111.32 * math.cos(lat) * (n - s) * 110.57
    return area_km2 / h3.average_hexagon_area(res, unit="km^2")


def cover(bbox: tuple[float, float, float, float], res: int) -> list[int]:
    """Every resolution-`res` cell that overlaps the box (whole hexagons, so edge cells are complete)."""
    if estimate_cells(bbox, res) > MAX_CELLS:
        raise TooLarge(f"the viewport holds about {estimate_cells(bbox, res):.0f} hexagons at resolution {res} "
                       f"(at most {MAX_CELLS}); zoom in or ask for a coarser resolution")
    w, s, e, n = bbox
    shape = h3.LatLngPoly([(s, w), (s, e), (n, e), (n, w)])
    cells = basic_int.h3shape_to_cells_experimental(shape, res, contain="overlap")
    if not cells:  # a box smaller than a cell: the cell of its centre
        cells = [basic_int.latlng_to_cell((s + n) / 2, (w + e) / 2, res)]
    return list(cells)


def cover_ranges(cells: list[int], at_res: int = STORED_RES) -> tuple[list[int], list[int]]:
    """Sorted, merged id ranges of the resolution-`at_res` descendants of `cells` (compacted first)."""
    ranges = sorted(descendant_range(c, at_res) for c in basic_int.compact_cells(cells))
    lo: list[int] = []
    hi: list[int] = []
    for a, b in ranges:
        if lo and a <= hi[-1] + 1:
            hi[-1] = max(hi[-1], b)
        else:
            lo.append(a)
            hi.append(b)
    return lo, hi


def resolution_for(meters_per_pixel: float, hex_px: float = 12.0) -> int:
    """The finest resolution whose hexagon edge is at least `hex_px` pixels on screen."""
    target = meters_per_pixel * hex_px
    for res in range(MAX_RES, MIN_RES - 1, -1):
        if h3.average_hexagon_edge_length(res, unit="m") >= target:
            return res
    return MIN_RES


def meters_per_pixel_at_zoom(zoom: float, lat: float) -> float:
    """Web Mercator ground resolution (256-px tiles)."""
    return 156543.03392 * math.cos(math.radians(lat)) / (2.0 ** zoom)


def ensure_cells(conn: psycopg.Connection, source: HeatSource) -> int:
    """Fill `h3_cell` where it is NULL (new or moved points), set-based; returns how many were filled.

    Cheap when nothing is missing (a partial index on `h3_cell IS NULL`). An advisory lock keeps two
    requests from back-filling the same table at once.
    """
    if not source.indexed:
        return 0
    table, key = source.table, source.key
    if conn.execute(f"SELECT 1 FROM {table} WHERE h3_cell IS NULL LIMIT 1").fetchone() is None:
        return 0
    filled = 0
    lock = f"h3_cell:{table}"
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (lock,))
    try:
        while True:
            rows = conn.execute(
                f"SELECT {key}, ST_X(geom), ST_Y(geom) FROM {table} WHERE h3_cell IS NULL LIMIT %s", (_BATCH,)
            ).fetchall()
            if not rows:
                break
            keys = [r[0] for r in rows]
            xy = np.array([(r[1], r[2]) for r in rows], dtype=np.float64)
            cells = latlng_cells(xy[:, 1], xy[:, 0], STORED_RES)
            conn.execute(
                f"UPDATE {table} t SET h3_cell = u.c FROM unnest(%s::{source.key_type}[], %s::bigint[]) AS u(k, c) "
                f"WHERE t.{key} = u.k",
                (keys, cells.tolist()),
            )
            filled += len(rows)
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (lock,))
    if filled >= _VACUUM_AFTER and not conn.info.transaction_status:
        # Index-only scans need a fresh visibility map after a large back-fill (autocommit connections only).
        conn.execute(f"VACUUM (ANALYZE) {table}")
    return filled
