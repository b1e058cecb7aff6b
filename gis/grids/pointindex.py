"""Which polygons contain each of many points: a uniform bucket grid over polygons, with per-bucket edge lists.

Why not `STRtree.query(points, predicate="intersects")`: measured on the demo district it spends most
of its time building 10^5 shapely points and testing them unprepared (≈ 80,000 points/s for all the grid
layers). Here points stay two numpy arrays: each falls in a bucket by arithmetic; a bucket lists, in
polygon rank (= code) order, the polygons that touch it, and flags those that cover the whole bucket,
which need no test. Both come from the polygons' edges alone (`_raster`), not from GEOS per bucket.

Only points in boundary buckets are tested, by a vectorised crossing-number test (a ray from the point
along x) — not over all of the polygon's edges but over the bucket's own short list for that polygon
("grid + edge list" point-in-polygon): the edges that overlap the bucket's row band, on the side of the
bucket the ray goes to (right or left, whichever list is shorter). Every edge the ray could cross is on
that list, so the parity is the polygon's; a boundary point tests ~2–4 edges instead of all, and big
polygons (districts, streets) need no GEOS call. Points within EDGE_TOLERANCE (1e-9°, 0.1 mm) of an
edge are decided by GEOS (`shapely.intersects_xy`, robust predicates): semantics are exactly those of
`intersects` (boundaries included), so ties on shared edges and vertices are seen and resolved by rank.
Away from an edge the float test cannot err: its rounding (~1e-14°) is far below the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from numpy.typing import NDArray

NONE = -1
MIN_CELLS = 1024
MAX_CELLS = 1 << 21
#: Measured on the demo district (10^4 unit grids, 915 work grids), CPU s per 10^6 points located / to
#: build the index: 32 → 0.54 / 0.5, 64 → 0.50 / 0.7, 128 → 0.37–0.42 / 1.3, 256 → 0.39 / 2.1,
#: 512 → 0.36 / 3.0. Finer buckets put fewer points in boundary buckets, until the fixed cost per point
#: dominates; the memory (~25 bytes a bucket) and the build grow with them.
CELLS_PER_POLYGON = 128
EDGE_TOLERANCE = 1e-9        # degrees: nearer than this to an edge, GEOS decides
CHUNK_ENTRIES = 1_000_000    # (point, edge) pairs per numpy batch, to bound memory
#: Points per pass. Measured on the demo district (process time, 2·10^6 points): one pass 1.3–1.5 M
#: points per CPU s, passes of 2–5·10^5 2.4–2.6 M — the temporaries stay in cache and are reused by malloc
#: instead of being fresh pages every time; below ~6·10^4 the per-call overhead shows.
CHUNK_POINTS = 1 << 18


def _expand(starts: NDArray[np.int64], counts: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """For runs (start, count): the owner of each element and its absolute position."""
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts)), counts)
    shift = starts - (np.cumsum(counts) - counts)
    return owner, np.arange(total, dtype=np.int64) + np.repeat(shift, counts)


def _ring_edges(geoms: NDArray[np.object_]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Every non-degenerate ring edge: its polygon and (x1, y1, x2, y2)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]
    owner = part_owner[ring_part[ring[:-1][same]]]
    seg = np.column_stack([xy[:-1][same], xy[1:][same]])
    keep = (seg[:, 0] != seg[:, 2]) | (seg[:, 1] != seg[:, 3])    # a repeated vertex is no edge
    return owner[keep], seg[keep]


class PointIndex:
    """Polygons (in rank order) indexed for point queries by a bucket grid."""

    def __init__(self, geoms: NDArray[np.object_]):
        self.geoms = geoms
        n = len(geoms)
        self.empty = n == 0
        if self.empty:
            return
        shapely.prepare(geoms)
        b = shapely.bounds(geoms)
        self.x0, self.y0 = float(b[:, 0].min()), float(b[:, 1].min())
        w = max(float(b[:, 2].max()) - self.x0, 1e-9)
        h = max(float(b[:, 3].max()) - self.y0, 1e-9)
        cells = min(max(CELLS_PER_POLYGON * n, MIN_CELLS), MAX_CELLS)
        self.cs = math.sqrt(w * h / cells)
        self.nx = max(1, math.ceil(w / self.cs))
        self.ny = max(1, math.ceil(h / self.cs))
        owner, seg = _ring_edges(geoms)
        # Wider than the GEOS fallback reach (a point within EDGE_TOLERANCE of a segment is within
        # 2·EDGE_TOLERANCE of its bbox) and than the rounding of a point's bucket.
        self.margin = max(8 * EDGE_TOLERANCE, self.cs * 1e-5)
        lo = self._clip_cell((np.minimum(seg[:, 1], seg[:, 3]) - self.margin - self.y0) / self.cs, self.ny)
        hi = self._clip_cell((np.maximum(seg[:, 1], seg[:, 3]) + self.margin - self.y0) / self.cs, self.ny)
        er, off = _expand(np.zeros(len(owner), dtype=np.int64), hi - lo + 1)    # (edge, row) pairs
        row = lo[er] + off
        poly, cx, cy, full = self._raster(owner, seg, er, row)
        cell = cy * self.nx + cx
        order = np.lexsort((poly, cell))
        self.cand_poly = poly[order]
        self.cand_full = full[order]
        cell = cell[order]
        ncell = self.nx * self.ny
        self.indptr = np.zeros(ncell + 1, dtype=np.int64)
        np.cumsum(np.bincount(cell, minlength=ncell), out=self.indptr[1:])
        # For `smallest`, a bucket's candidates after its first full one never matter.
        full_at = np.flatnonzero(self.cand_full)
        first_full_at = np.full(ncell, len(self.cand_poly), dtype=np.int64)
        np.minimum.at(first_full_at, cell[full_at], full_at)
        self.small_end = np.minimum(self.indptr[1:], first_full_at + 1)
        # The smallest-rank candidate of each bucket, and whether it covers the bucket.
        first = self.indptr[:-1]
        has = self.indptr[1:] > first
        self.first_poly = np.full(ncell, NONE, dtype=np.int32)
        self.first_full = np.zeros(ncell, dtype=bool)
        self.first_poly[has] = self.cand_poly[first[has]]
        self.first_full[has] = self.cand_full[first[has]]
        self._edge_lists(owner, seg, er, row, cell)
        # Offsets into the candidates and edge lists fit int32 (2^21 buckets at most): half the memory.
        if len(self.cand_poly) < 2**31 and self.eptr[-1] < 2**31:
            self.indptr, self.small_end, self.eptr = (a.astype(np.int32) for a in (self.indptr, self.small_end,
                                                                                   self.eptr))

    def _raster(self, owner: NDArray[np.int64], seg: NDArray[np.float64], er: NDArray[np.int64],
                row: NDArray[np.int64]) -> tuple[NDArray, NDArray, NDArray, NDArray[np.bool_]]:
        """The candidate (polygon, bucket) pairs, and whether the polygon covers the bucket, from the edges
        alone (GEOS boxes and predicates per bucket cost ~3 s for 10^4 unit grids at 128 buckets each):
        a bucket within `margin` of one of a polygon's edges is a boundary candidate; every other bucket of
        a row lies wholly inside or outside, as its centre does, which the crossings of the row's centre
        line say (inside between the 1st and 2nd crossing, the 3rd and 4th, …)."""
        x1, y1, x2, y2 = (seg[er, k] for k in range(4))
        band_lo = self.y0 + row * self.cs - self.margin
        band_hi = band_lo + self.cs + 2 * self.margin
        dy = y2 - y1
        flat = dy == 0
        with np.errstate(divide="ignore", invalid="ignore"):
            ta = np.where(flat, 0.0, (band_lo - y1) / np.where(flat, 1.0, dy))
            tb = np.where(flat, 1.0, (band_hi - y1) / np.where(flat, 1.0, dy))
        t0 = np.clip(np.minimum(ta, tb), 0.0, 1.0)
        t1 = np.clip(np.maximum(ta, tb), 0.0, 1.0)
        xa, xb = x1 + t0 * (x2 - x1), x1 + t1 * (x2 - x1)
        c_lo = self._clip_cell((np.minimum(xa, xb) - self.margin - self.x0) / self.cs, self.nx)
        c_hi = self._clip_cell((np.maximum(xa, xb) + self.margin - self.x0) / self.cs, self.nx)
        k, c = _expand(c_lo, c_hi - c_lo + 1)
        ncell = self.nx * self.ny
        edge_key = np.unique(owner[er[k]] * ncell + row[k] * self.nx + c)
        # Crossings of each row's centre line (half-open, as the point test), sorted along it per polygon.
        yc = self.y0 + (row + 0.5) * self.cs
        st = np.flatnonzero((y1 > yc) != (y2 > yc))
        xc = x1[st] + (yc[st] - y1[st]) * (x2[st] - x1[st]) / dy[st]
        group = owner[er[st]] * self.ny + row[st]
        order = np.lexsort((xc, group))
        xc, group = xc[order], group[order]
        first = np.r_[True, group[1:] != group[:-1]]
        rank = np.arange(len(group)) - np.maximum.accumulate(np.where(first, np.arange(len(group)), 0))
        a = np.flatnonzero(rank % 2 == 0)
        a = a[a + 1 < len(group)]
        col_a = self._clip_cell((xc[a] - self.x0) / self.cs, self.nx) + 1
        col_b = self._clip_cell((xc[a + 1] - self.x0) / self.cs, self.nx) - 1
        i, c = _expand(col_a, np.maximum(col_b - col_a + 1, 0))
        inner_key = (group[a][i] // self.ny) * ncell + (group[a][i] % self.ny) * self.nx + c
        at = np.minimum(np.searchsorted(edge_key, inner_key), max(len(edge_key) - 1, 0))
        inner_key = inner_key[edge_key[at] != inner_key] if len(edge_key) else inner_key
        key = np.r_[edge_key, inner_key]
        poly, cell = key // ncell, key % ncell
        full = np.r_[np.zeros(len(edge_key), dtype=bool), np.ones(len(inner_key), dtype=bool)]
        return poly, cell % self.nx, cell // self.nx, full

    def _edge_lists(self, owner: NDArray[np.int64], seg: NDArray[np.float64], er: NDArray[np.int64],
                    row: NDArray[np.int64], cell: NDArray[np.int64]) -> None:
        """Per candidate (bucket, polygon) that is not full: the polygon's edges a ray from a point of the
        bucket can cross or be near — those overlapping the bucket's row band (grown by `margin`) and
        reaching the bucket's column or beyond on the ray's side. Stored mirrored for left rays (x → −x), so
        one test serves both: `sign` per candidate, entry columns X1, Y1, Y2, K (dx/dy), UX, UY (unit
        direction), CSR by candidate (`eptr`)."""
        x1, y1, x2, y2 = seg.T
        margin = self.margin
        col_lo = self._clip_cell((np.minimum(x1, x2) - margin - self.x0) / self.cs, self.nx)
        col_hi = self._clip_cell((np.maximum(x1, x2) + margin - self.x0) / self.cs, self.nx)
        ncand = len(self.cand_poly)
        nf = np.flatnonzero(~self.cand_full)
        key = (self.cand_poly[nf] * self.ny + cell[nf] // self.nx) * self.nx + cell[nf] % self.nx
        order = np.argsort(key, kind="stable")
        nf, key = nf[order], key[order]
        base = (owner[er] * self.ny + row) * self.nx
        r_lo = np.searchsorted(key, base)
        r_hi = np.searchsorted(key, base + col_hi[er], side="right")
        l_lo = np.searchsorted(key, base + col_lo[er])
        l_hi = np.searchsorted(key, base + self.nx)

        def run_counts(lo: NDArray[np.int64], hi: NDArray[np.int64]) -> NDArray[np.int64]:
            return np.cumsum(np.bincount(lo, minlength=len(nf) + 1) - np.bincount(hi, minlength=len(nf) + 1))[:-1]

        right = run_counts(r_lo, r_hi) <= run_counts(l_lo, l_hi)
        picked = []
        for lo, hi, side in ((r_lo, r_hi, right), (l_lo, l_hi, ~right)):
            e, pos = _expand(lo, hi - lo)
            keep = side[pos]
            picked.append((nf[pos[keep]], er[e[keep]]))
        cand = np.concatenate([c for c, _ in picked])
        order = np.argsort(cand, kind="stable")
        cand, seg_of = cand[order], np.concatenate([e for _, e in picked])[order]
        self.eptr = np.zeros(ncand + 1, dtype=np.int64)
        np.cumsum(np.bincount(cand, minlength=ncand), out=self.eptr[1:])
        self.sign = np.ones(ncand, dtype=np.int8)
        self.sign[nf[~right]] = -1
        s = self.sign[cand]
        ex1, ey1, ex2, ey2 = x1[seg_of], y1[seg_of], x2[seg_of], y2[seg_of]
        dx, dy = ex2 - ex1, ey2 - ey1
        length = np.hypot(dx, dy)
        with np.errstate(divide="ignore", invalid="ignore"):
            k = np.where(dy != 0, dx / np.where(dy != 0, dy, 1.0), 0.0)
        self.eX1, self.eY1, self.eY2 = s * ex1, ey1, ey2
        self.eK, self.eUX, self.eUY = s * k, dx / length, s * dy / length

    @staticmethod
    def _clip_cell(f: NDArray[np.float64], n: int) -> NDArray[np.int64]:
        return np.clip(np.floor(f), 0, n - 1).astype(np.int64)

    def _inside(self, q: NDArray[np.int64], x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
        """intersects(polygon, point) per (candidate `q`, point x, y): crossing parity over the candidate's
        edge list; GEOS for points near one of those edges."""
        out = np.zeros(len(q), dtype=bool)
        starts = self.eptr[q]
        counts = self.eptr[q + 1] - starts
        bounds = np.searchsorted(np.cumsum(counts), np.arange(CHUNK_ENTRIES, int(counts.sum()), CHUNK_ENTRIES))
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(q)], strict=True):
            if a == b:
                continue
            owner, pos = _expand(starts[a:b], counts[a:b])
            px = (x[a:b] * self.sign[q[a:b]])[owner]
            py = y[a:b][owner]
            y1 = self.eY1[pos]
            dyp = py - y1
            dxp = px - self.eX1[pos]
            crossing = (y1 > py) != (self.eY2[pos] > py)
            crossing &= dxp < dyp * self.eK[pos]
            near = np.abs(dxp * self.eUY[pos] - dyp * self.eUX[pos]) <= EDGE_TOLERANCE
            total = np.zeros(len(owner) + 1, dtype=np.int32)
            np.cumsum(crossing, out=total[1:])
            ends = np.cumsum(counts[a:b])
            res = ((total[ends] - total[ends - counts[a:b]]) & 1).astype(bool)
            if near.any():
                i = np.unique(owner[near])
                res[i] = shapely.intersects_xy(self.geoms[self.cand_poly[q[a:b][i]]], x[a:b][i], y[a:b][i])
            out[a:b] = res
        return out

    def _cells(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Bucket per point; -1 when outside the extent (no polygon can contain it)."""
        fx = np.floor((x - self.x0) / self.cs)
        fy = np.floor((y - self.y0) / self.cs)
        # A point on the far edge of the extent belongs to the last bucket.
        fx = np.where((fx == self.nx) & (x <= self.x0 + self.nx * self.cs), self.nx - 1, fx)
        fy = np.where((fy == self.ny) & (y <= self.y0 + self.ny * self.cs), self.ny - 1, fy)
        ok = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        cell = np.full(len(x), NONE, dtype=np.int64)
        cell[ok] = (fy[ok] * self.nx + fx[ok]).astype(np.int64)
        return cell

    def _pairs(self, x: NDArray, y: NDArray, which: NDArray[np.int64], cell: NDArray[np.int64],
               ends: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """(point, polygon) pairs that intersect, for points `which` among the candidates of their
        buckets up to `ends`, sorted by point then rank."""
        starts = self.indptr[cell]
        owner, pos = _expand(starts, ends[cell] - starts)
        pt = which[owner]
        hit = self.cand_full[pos]
        test = np.flatnonzero(~hit)
        if len(test):
            hit[test] = self._inside(pos[test], x[pt[test]], y[pt[test]])
        return pt[hit], self.cand_poly[pos[hit]]

    def smallest(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.int64]:
        """Per point, the smallest rank among the polygons it intersects, or -1."""
        if len(x) > CHUNK_POINTS:
            return np.concatenate([self.smallest(x[a:a + CHUNK_POINTS], y[a:a + CHUNK_POINTS])
                                   for a in range(0, len(x), CHUNK_POINTS)])
        out = np.full(len(x), NONE, dtype=np.int64)
        if self.empty or not len(x):
            return out
        cell = self._cells(x, y)
        known = cell >= 0
        settled = np.zeros(len(x), dtype=bool)
        settled[known] = self.first_full[cell[known]]
        out[settled] = self.first_poly[cell[settled]]
        rest = np.flatnonzero(known & ~settled)
        if len(rest):
            pt, poly = self._pairs(x, y, rest, cell[rest], self.small_end)
            if len(pt):
                first = np.ones(len(pt), dtype=bool)
                first[1:] = pt[1:] != pt[:-1]
                out[pt[first]] = poly[first]
        return out

    def all(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Every (point, polygon) pair that intersects, sorted by point then rank."""
        if self.empty or not len(x):
            return np.empty(0, np.int64), np.empty(0, np.int64)
        if len(x) > CHUNK_POINTS:
            got = [self.all(x[a:a + CHUNK_POINTS], y[a:a + CHUNK_POINTS]) for a in range(0, len(x), CHUNK_POINTS)]
            return (np.concatenate([p + a for (p, _), a in zip(got, range(0, len(x), CHUNK_POINTS), strict=True)]),
                    np.concatenate([g for _, g in got]))
        cell = self._cells(x, y)
        which = np.flatnonzero(cell >= 0)
        return self._pairs(x, y, which, cell[which], self.indptr[1:])
