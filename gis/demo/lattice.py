"""The district's skeleton: a perturbed lattice of unit-grid cells, grouped into road-bounded blocks,
blocks into communities, communities into streets/towns.

Why a lattice of shared NODES: every cell is built from the same node array, so neighbouring cells
share identical vertices; the nodes are transformed to EPSG:4490 once, so they stay identical in
storage and the cells tile each community exactly (no gaps, no overlaps, no slivers). Road centrelines
run along lattice lines, so roads are exactly the borders of blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.demo import names
from gis.errors import InvalidInput

#: The metric CRS the generator works in: CGCS2000 3-degree Gauss–Krüger, CM 120°E (scale error
#: ~2e-4 at 121.45°E, irrelevant for synthetic data).
METRIC = "EPSG:4549"
#: Where the full district sits (lon/lat, EPSG:4490).
BOX = (121.35, 31.28, 121.55, 31.45)
#: Unit grids at scale 1.
FULL_CELLS = 10_000
FULL_COMMUNITIES = 30
CELL_MIN, CELL_MAX = 135.0, 195.0     # lattice spacing (m)
ROAD_GAPS = (3, 3, 4, 4, 4)              # cells between road lines


@dataclass
class District:
    seed: int
    scale: float
    nx: int
    ny: int
    node_m: NDArray[np.float64]            # (nx+1, ny+1, 2) metric
    node_ll: NDArray[np.float64]           # (nx+1, ny+1, 2) lon/lat 4490
    cell_index: NDArray[np.int64]          # (nx, ny) -> cell number, -1 outside the district
    ci: NDArray[np.int64]                  # per cell: column
    cj: NDArray[np.int64]                  # per cell: row
    xroads: NDArray[np.int64]              # lattice column lines that are roads
    yroads: NDArray[np.int64]              # lattice row lines that are roads
    cell_block: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    cell_street: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    cell_comm: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    cell_code: list[str] = field(default_factory=list)
    cell_ll: NDArray[np.object_] | None = None     # shapely polygons in 4490
    cell_m: NDArray[np.object_] | None = None      # shapely polygons in metres
    blocks: NDArray[np.int64] | None = None        # (nblocks, 4): x0, x1, y0, y1 lattice ranges
    streets: list[dict] = field(default_factory=list)       # code, name, geom_ll, area_m2
    communities: list[dict] = field(default_factory=list)   # code, name, street (index), geom_ll, area_m2
    district_geom: object | None = None
    district_area_m2: float = 0.0

    @property
    def n_cells(self) -> int:
        return len(self.ci)

    def node_ids(self, i: NDArray, j: NDArray) -> NDArray:
        return np.asarray(i) * (self.ny + 1) + np.asarray(j)


def _box_metric() -> tuple[float, float, float, float]:
    lon0, lat0, lon1, lat1 = BOX
    xs, ys = gcrs.transform([lon0, lon1, lon0, lon1], [lat0, lat0, lat1, lat1], "EPSG:4490", METRIC)
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _spacing(rng: np.random.Generator, length: float) -> NDArray[np.float64]:
    widths = rng.uniform(CELL_MIN, CELL_MAX, size=int(length / CELL_MIN) + 2)
    edges = np.concatenate([[0.0], np.cumsum(widths)])
    n = int(np.searchsorted(edges, length)) + 1
    return edges[: n + 1]


def _road_lines(rng: np.random.Generator, n: int) -> NDArray[np.int64]:
    lines = [0]
    while lines[-1] < n:
        lines.append(min(n, lines[-1] + int(rng.choice(ROAD_GAPS))))
    if n - lines[-2] < 2 and len(lines) > 2:  # no sliver block at the far edge
        lines.pop(-2)
    return np.array(lines, dtype=np.int64)


def _clean_mask(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Drops cells hanging by one side and fills diagonal-only contacts, so areas stay simple polygons."""
    m = mask.copy()
    for _ in range(6):
        p = np.pad(m, 1)
        nb = p[:-2, 1:-1].astype(int) + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:]
        drop = m & (nb <= 1)
        a, b, c, d = m[:-1, :-1], m[1:, :-1], m[:-1, 1:], m[1:, 1:]
        diag1 = a & d & ~b & ~c
        diag2 = b & c & ~a & ~d
        add = np.zeros_like(m)
        add[1:, :-1] |= diag1      # fill b
        add[:-1, :-1] |= diag2     # fill a
        if not drop.any() and not add.any():
            break
        m = (m & ~drop) | add
    return m


def build_lattice(seed: int, scale: float) -> District:
    """The node lattice and the set of cells inside the (blob-shaped) district."""
    if not 0.001 <= scale <= 4:
        raise InvalidInput(f"scale {scale} is out of range (0.001–4)")
    rng = np.random.default_rng([seed, 1])
    x0, y0, x1, y1 = _box_metric()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_w, half_h = (x1 - x0) / 2 * np.sqrt(scale), (y1 - y0) / 2 * np.sqrt(scale)
    xs = _spacing(rng, 2 * half_w) + cx - half_w
    ys = _spacing(rng, 2 * half_h) + cy - half_h
    nx, ny = len(xs) - 1, len(ys) - 1
    xroads, yroads = _road_lines(rng, nx), _road_lines(rng, ny)

    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    # Jitter the nodes (little across road lines, so roads stay straight), then a gentle smooth warp.
    jx = rng.uniform(-0.13, 0.13, gx.shape) * CELL_MIN
    jy = rng.uniform(-0.13, 0.13, gy.shape) * CELL_MIN
    jx[xroads, :] = rng.uniform(-2, 2, (len(xroads), ny + 1))
    jy[:, yroads] = rng.uniform(-2, 2, (nx + 1, len(yroads)))
    ph = rng.uniform(0, 2 * np.pi, 4)
    wx = 45 * np.sin(2 * np.pi * gy / 5200 + ph[0]) + 20 * np.sin(2 * np.pi * gy / 2300 + ph[1])
    wy = 40 * np.sin(2 * np.pi * gx / 6100 + ph[2]) + 18 * np.sin(2 * np.pi * gx / 2700 + ph[3])
    node_m = np.stack([gx + jx + wx, gy + jy + wy], axis=-1)
    lon, lat = gcrs.transform(node_m[..., 0].ravel(), node_m[..., 1].ravel(), METRIC, "EPSG:4490")
    node_ll = np.stack([lon.reshape(gx.shape), lat.reshape(gx.shape)], axis=-1)

    # The district: the cells nearest the centre under a wobbly radius (a blob), as many as targeted.
    ccx = (xs[:-1] + xs[1:]) / 2
    ccy = (ys[:-1] + ys[1:]) / 2
    u = (ccx[:, None] - cx) / half_w
    v = (ccy[None, :] - cy) / half_h
    theta = np.arctan2(v, u)
    harm = rng.uniform(0, 2 * np.pi, 3)
    radius = 1 + 0.10 * np.cos(2 * theta + harm[0]) + 0.07 * np.cos(3 * theta + harm[1]) \
        + 0.04 * np.cos(5 * theta + harm[2])
    rho = np.hypot(u, v) / radius
    target = max(60, round(FULL_CELLS * scale))
    order = np.argsort(rho, axis=None, kind="stable")
    mask = np.zeros(nx * ny, dtype=bool)
    mask[order[: min(target, nx * ny)]] = True
    mask = _clean_mask(mask.reshape(nx, ny))

    ci, cj = np.nonzero(mask)
    cell_index = np.full((nx, ny), -1, dtype=np.int64)
    cell_index[ci, cj] = np.arange(len(ci))
    return District(seed, scale, nx, ny, node_m, node_ll, cell_index, ci, cj, xroads, yroads)


def _cell_polygons(d: District, nodes: NDArray[np.float64]) -> NDArray[np.object_]:
    i, j = d.ci, d.cj
    ring = np.stack([nodes[i, j], nodes[i + 1, j], nodes[i + 1, j + 1], nodes[i, j + 1], nodes[i, j]], axis=1)
    return shapely.polygons(ring)


def _as_multi(geom) -> shapely.MultiPolygon:
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.MultiPolygon):
        return geom
    polys = [g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon)]
    return shapely.MultiPolygon(polys)


def union_cells(polys: NDArray[np.object_]) -> shapely.MultiPolygon:
    """Exact union of cells that share vertices (a coverage), as a MultiPolygon."""
    return _as_multi(shapely.coverage_union_all(polys))


def _kmeans(rng: np.random.Generator, pts: NDArray, weights: NDArray, k: int) -> NDArray[np.int64]:
    """Deterministic weighted k-means (k-means++ start, a few Lloyd steps) on block centroids."""
    n = len(pts)
    if k >= n:
        return np.arange(n)
    centres = [pts[int(rng.integers(n))]]
    for _ in range(1, k):
        d2 = np.min(((pts[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1) * weights
        centres.append(pts[int(rng.choice(n, p=d2 / d2.sum()))])
    c = np.array(centres)
    label = np.zeros(n, dtype=np.int64)
    for _ in range(12):
        label = np.argmin(((pts[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        for q in range(k):
            sel = label == q
            if sel.any():
                c[q] = np.average(pts[sel], axis=0, weights=weights[sel])
    # Renumber clusters in reading order (north-west first), so codes follow geography.
    order = np.lexsort((c[:, 0], -np.round(c[:, 1], -2)))
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(k)
    return rank[label]


def build_hierarchy(d: District) -> District:
    """Blocks, streets/towns, communities, unit grids (codes, polygons, areas)."""
    rng = np.random.default_rng([d.seed, 2])
    d.cell_ll = _cell_polygons(d, d.node_ll)
    d.cell_m = _cell_polygons(d, d.node_m)

    bx = np.searchsorted(d.xroads, d.ci, side="right") - 1
    by = np.searchsorted(d.yroads, d.cj, side="right") - 1
    block_key = bx * len(d.yroads) + by
    keys, d.cell_block = np.unique(block_key, return_inverse=True)
    kbx, kby = keys // len(d.yroads), keys % len(d.yroads)
    d.blocks = np.stack([d.xroads[kbx], d.xroads[kbx + 1], d.yroads[kby], d.yroads[kby + 1]], axis=1)
    nblocks = len(keys)
    centroids = shapely.get_coordinates(shapely.centroid(d.cell_m))
    bsize = np.bincount(d.cell_block, minlength=nblocks).astype(float)
    bcent = np.stack([np.bincount(d.cell_block, centroids[:, k], nblocks) for k in (0, 1)], axis=1) / bsize[:, None]

    # Streets: nearest seed, seeds at the towns' real relative positions within the box.
    n_streets = int(min(len(names.STREETS), max(3, round(len(names.STREETS) * np.sqrt(d.scale)))))
    chosen = names.STREETS[:n_streets]
    lon0, lat0, lon1, lat1 = BOX
    fx = np.array([(s[2] - lon0) / (lon1 - lon0) for s in chosen])
    fy = np.array([(s[3] - lat0) / (lat1 - lat0) for s in chosen])
    if n_streets < len(names.STREETS):  # spread the chosen few over the smaller box
        fx = 0.2 + 0.6 * (fx - fx.min()) / max(np.ptp(fx), 1e-9)
        fy = 0.2 + 0.6 * (fy - fy.min()) / max(np.ptp(fy), 1e-9)
    bmin, bmax = bcent.min(axis=0), bcent.max(axis=0)
    seeds = np.stack([bmin[0] + fx * (bmax[0] - bmin[0]), bmin[1] + fy * (bmax[1] - bmin[1])], axis=1)
    block_street = np.argmin(((bcent[:, None, :] - seeds[None]) ** 2).sum(-1), axis=1)
    for s in range(n_streets):  # a street left without blocks takes the block nearest its seed
        if not (block_street == s).any():
            block_street[int(np.argmin(((bcent - seeds[s]) ** 2).sum(-1)))] = s

    # Communities: per street, proportional to its size, by weighted k-means on blocks.
    n_comm = max(2 * n_streets, round(FULL_COMMUNITIES * d.scale))
    street_cells = np.array([bsize[block_street == s].sum() for s in range(n_streets)])
    share = street_cells / street_cells.sum() * n_comm
    per_street = np.maximum(1, np.floor(share).astype(int))
    for s in np.argsort(-(share - np.floor(share)))[: max(0, n_comm - per_street.sum())]:
        per_street[s] += 1
    block_comm = np.zeros(nblocks, dtype=np.int64)
    d.streets, d.communities = [], []
    for s, (scode, sname, _, _) in enumerate(chosen):
        sel = np.nonzero(block_street == s)[0]
        k = int(min(per_street[s], len(sel)))
        while True:
            label = _kmeans(rng, bcent[sel], bsize[sel], k)
            if np.bincount(label, weights=bsize[sel]).max() <= 999 or k >= len(sel):
                break
            k += 1
        roots = names.COMMUNITY_ROOTS[scode]
        for q in range(k):
            root = roots[q % len(roots)]
            suffix = names.COMMUNITY_SUFFIXES[(q // len(roots) + q) % len(names.COMMUNITY_SUFFIXES)]
            block_comm[sel[label == q]] = len(d.communities)
            d.communities.append({"code": f"{scode}{q + 1:03d}", "name": f"{root}{suffix}社区", "street": s})
        d.streets.append({"code": scode, "name": sname})

    d.cell_street = block_street[d.cell_block]
    d.cell_comm = block_comm[d.cell_block]
    # Unit-grid codes: community + sequence in reading order (north first, then west to east).
    order = np.lexsort((d.ci, -d.cj, d.cell_comm))
    seq = np.zeros(d.n_cells, dtype=np.int64)
    counts = np.bincount(d.cell_comm, minlength=len(d.communities))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    seq[order] = np.arange(d.n_cells) - np.repeat(starts, counts) + 1
    if seq.max() > 999:
        raise InvalidInput("a community got more than 999 unit grids; use a smaller scale")
    d.cell_code = [f"{d.communities[c]['code']}{q:03d}" for c, q in zip(d.cell_comm.tolist(), seq.tolist(),
                                                                       strict=True)]

    for c, comm in enumerate(d.communities):
        sel = d.cell_comm == c
        comm["geom"] = union_cells(d.cell_ll[sel])
        comm["area_m2"] = float(shapely.area(d.cell_m[sel]).sum())
    for s, street in enumerate(d.streets):
        sel = d.cell_street == s
        street["geom"] = union_cells(d.cell_ll[sel])
        street["area_m2"] = float(shapely.area(d.cell_m[sel]).sum())
    d.district_geom = union_cells(d.cell_ll)
    d.district_area_m2 = float(shapely.area(d.cell_m).sum())
    return d


def build_district(seed: int, scale: float) -> District:
    return build_hierarchy(build_lattice(seed, scale))
