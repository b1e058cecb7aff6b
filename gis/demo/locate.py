"""Which generated unit grid holds a point: the same answer and tie rule as the database trigger
(among the cells a point intersects, the smallest code wins), computed in 4490 like the database."""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.demo.lattice import District


class CellLocator:
    def __init__(self, d: District) -> None:
        self.d = d
        self.tree = shapely.STRtree(d.cell_ll)
        order = np.argsort(np.array(d.cell_code))
        self.rank = np.empty(d.n_cells, dtype=np.int64)
        self.rank[order] = np.arange(d.n_cells)
        self.by_rank = order

    def cells(self, x: NDArray, y: NDArray) -> NDArray[np.int64]:
        """Cell number per point (lon/lat 4490), -1 outside every cell."""
        pts = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        out = np.full(len(pts), np.iinfo(np.int64).max, dtype=np.int64)
        if len(pts):
            hit_pt, hit_cell = self.tree.query(pts, predicate="intersects")
            np.minimum.at(out, hit_pt, self.rank[hit_cell])
        found = out != np.iinfo(np.int64).max
        res = np.full(len(pts), -1, dtype=np.int64)
        res[found] = self.by_rank[out[found]]
        return res


def points_in_cells(d: District, rng: np.random.Generator, cells: NDArray[np.int64],
                    margin: float = 0.06) -> tuple[NDArray, NDArray]:
    """A random point strictly inside each given cell (bilinear in the 4490 quad, which is convex)."""
    u = rng.uniform(margin, 1 - margin, len(cells))
    v = rng.uniform(margin, 1 - margin, len(cells))
    i, j = d.ci[cells], d.cj[cells]
    n = d.node_ll
    p00, p10, p11, p01 = n[i, j], n[i + 1, j], n[i + 1, j + 1], n[i, j + 1]
    p = (p00 * ((1 - u) * (1 - v))[:, None] + p10 * (u * (1 - v))[:, None] + p11 * (u * v)[:, None]
         + p01 * ((1 - u) * v)[:, None])
    return p[:, 0], p[:, 1]
