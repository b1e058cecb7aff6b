"""Coarse heat from the rollup (migration 0007): counts and weights per part, UTC month and resolution-8 cell.

A district viewport over years at resolution ≤ 8 reads a few tens of thousands of rollup rows instead of
every point. The rollup holds whole UTC months, so a time window is split: the whole months inside it come
from the rollup, the partial months at its ends from the points (the time-first path of layers.heat, a
small window). Filters the rollup cannot express (a category other than its part column, another weight,
a source condition not given as parts) fall back to the points; totals are the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import psycopg

from gis import catalog
from gis.catalog import Rollup

from . import cells as hcells
from .query import HeatQuery

#: Resolution of the rollup cells (the constants in 0007_heat_rollup.sql are gis.h3cells.parent_sql(…, 8)).
ROLLUP_RES = 8


#: What the triggers of 0007 store per table (declared with the heat entries of gis.catalog).
SPECS: dict[str, Rollup] = {
    layer.table: layer.heat.rollup for layer in catalog.LAYERS if layer.heat and layer.heat.rollup
}


@dataclass(frozen=True)
class Plan:
    """Whole months [lo, hi) from the rollup (None = unbounded), parts to keep, and the windows left over."""

    lo: datetime | None
    hi: datetime | None
    parts: list[str] | None
    edges: list[tuple[datetime | None, datetime | None]]


def _month_ceil(t: datetime) -> datetime:
    u = t.astimezone(UTC)
    start = u.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if start == u:
        return start
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def _month_floor(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def plan(q: HeatQuery, res: int) -> Plan | None:
    """How to answer `q` at resolution `res` from the rollup, or None when it cannot (or it would not help)."""
    src = q.source
    spec = SPECS.get(src.table)
    if spec is None or src.select or not src.indexed or res > ROLLUP_RES or src.time_column != spec.time:
        return None
    if q.area is not None:  # the rollup has no geometry to limit to an area: read the points
        return None
    if q.weight is not None and q.weight != spec.weight:
        return None
    parts: list[str] | None = None
    if src.where:
        if src.parts is None:
            return None
        parts = list(src.parts)
    if q.categories:
        if src.category != spec.part:
            return None
        parts = [c for c in q.categories if parts is None or c in parts]
    lo = _month_ceil(q.start) if q.start else None
    hi = _month_floor(q.stop) if q.stop else None
    if lo is not None and hi is not None and lo >= hi:
        return None  # less than one whole month: the points are the cheaper source
    edges: list[tuple[datetime | None, datetime | None]] = []
    if q.start is not None and lo is not None and q.start < lo:
        edges.append((q.start, lo))
    if q.stop is not None and hi is not None and hi < q.stop:
        edges.append((hi, q.stop))
    return Plan(lo, hi, parts, edges)


def aggregate(conn: psycopg.Connection, q: HeatQuery, p: Plan, res: int,
              cover: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells, counts, weights) at resolution `res` under `cover`, for the whole months of the plan."""
    # One id range around the viewport narrows the scan; the parent's membership in the cover (a hashed
    # ANY) decides. Unlike a join on many ranges, this plan does not depend on the rollup's statistics,
    # which a table filled by triggers may not have yet.
    lo, hi = hcells.cover_ranges(cover, ROLLUP_RES)
    parent = hcells.parent_sql("r.cell", res)
    conds = ["r.tbl = %(tbl)s", "r.cell BETWEEN %(lo)s AND %(hi)s", f"{parent} = ANY(%(cover)s::bigint[])"]
    params: dict = {"tbl": q.source.table, "lo": lo[0], "hi": hi[-1], "cover": cover}
    if p.parts is not None:
        conds.append("r.part = ANY(%(parts)s)")
        params["parts"] = p.parts
    if p.lo is not None:
        conds.append("r.period >= %(plo)s")
        params["plo"] = p.lo
    if p.hi is not None:
        conds.append("r.period < %(phi)s")
        params["phi"] = p.hi
    weight = "r.w" if q.weight else "r.n"
    rows = conn.execute(
        f"SELECT {parent} AS c, sum(r.n)::bigint, sum({weight})::float8 FROM heat_rollup r "
        f"WHERE {' AND '.join(conds)} GROUP BY 1 HAVING sum(r.n) <> 0",
        params,
    ).fetchall()
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    arr = np.array(rows, dtype=object)
    return arr[:, 0].astype(np.int64), arr[:, 1].astype(np.int64), arr[:, 2].astype(np.float64)


def merge(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum per cell of several (cells, counts, weights) answers."""
    cells = np.concatenate([p[0] for p in parts])
    if cells.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    uniq, inv = np.unique(cells, return_inverse=True)
    counts = np.bincount(inv, weights=np.concatenate([p[1] for p in parts]).astype(np.float64), minlength=uniq.size)
    weights = np.bincount(inv, weights=np.concatenate([p[2] for p in parts]), minlength=uniq.size)
    return uniq, np.rint(counts).astype(np.int64), weights
