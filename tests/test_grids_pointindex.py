"""The bucket point index answers exactly what GEOS `intersects` answers: random points, vertices and
edge midpoints of irregular polygons (with a hole, a multipolygon and a many-vertex polygon)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from gis.grids import pointindex
from gis.grids.pointindex import PointIndex


def reference(geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tree = shapely.STRtree(geoms)
    p, g = tree.query(shapely.points(x, y), predicate="intersects")
    order = np.lexsort((g, p))
    smallest = np.full(len(x), np.iinfo(np.int64).max)
    np.minimum.at(smallest, p, g)
    smallest[smallest == np.iinfo(np.int64).max] = -1
    return smallest, p[order], g[order]


def polygons() -> np.ndarray:
    rng = np.random.default_rng(11)
    seeds = shapely.multipoints(np.column_stack([rng.uniform(121.3, 121.5, 300), rng.uniform(31.2, 31.35, 300)]))
    frame = shapely.box(121.3, 31.2, 121.5, 31.35)
    cells = shapely.intersection(shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame)), frame)
    extra = [
        shapely.Polygon(shapely.box(121.35, 31.25, 121.45, 31.30).exterior.coords,
                        [shapely.box(121.38, 31.26, 121.42, 31.29).exterior.coords]),     # with a hole
        shapely.MultiPolygon([shapely.box(121.31, 31.21, 121.32, 31.22), shapely.box(121.33, 31.21, 121.34, 31.22)]),
        shapely.Point(121.4, 31.27).buffer(0.03, quad_segs=64),                              # 257 vertices
    ]
    return np.array(list(cells) + extra, dtype=object)


def test_matches_geos_everywhere() -> None:
    geoms = polygons()
    rng = np.random.default_rng(5)
    coords = shapely.get_coordinates(geoms)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(geoms[:50]))
    mids = (ring[:-1] + ring[1:]) / 2
    x = np.concatenate([rng.uniform(121.28, 121.52, 20_000), coords[:, 0], mids[:, 0]])
    y = np.concatenate([rng.uniform(31.18, 31.37, 20_000), coords[:, 1], mids[:, 1]])
    index = PointIndex(geoms.copy())
    want_smallest, want_p, want_g = reference(geoms, x, y)
    assert np.array_equal(index.smallest(x, y), want_smallest)
    got_p, got_g = index.all(x, y)
    assert np.array_equal(got_p, want_p) and np.array_equal(got_g, want_g)
    assert (want_smallest[20_000:] >= 0).all()        # vertices and edge midpoints are all found


def test_empty_and_outside() -> None:
    assert (PointIndex(np.empty(0, dtype=object)).smallest(np.array([1.0]), np.array([2.0])) == -1).all()
    index = PointIndex(np.array([shapely.box(0, 0, 1, 1)], dtype=object))
    assert index.smallest(np.array([0.5, 1.0, 2.0, -0.0]), np.array([0.5, 1.0, 0.5, 0.0])).tolist() == [0, 0, -1, 0]


def hand_made() -> np.ndarray:
    """Polygons that share edges and vertices, in every awkward way a grid layer has: a 4×4 tiling of
    squares (horizontal edges, four polygons meeting at a vertex), triangles fanning around one vertex,
    a concave comb, a thin sliver with near-horizontal edges, a square with a hole and its island, a
    multipolygon, and a big many-vertex polygon overlapping them all."""
    squares = [shapely.box(121.0 + 0.01 * i, 31.0 + 0.01 * j, 121.01 + 0.01 * i, 31.01 + 0.01 * j)
               for i in range(4) for j in range(4)]
    c = (121.06, 31.02)
    ring = [(c[0] + 0.015 * np.cos(a), c[1] + 0.015 * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 9)[:-1]]
    fan = [shapely.Polygon([c, ring[k], ring[(k + 1) % 8]]) for k in range(8)]
    comb = shapely.Polygon([(121.0, 31.05), (121.04, 31.05), (121.04, 31.07), (121.03, 31.07), (121.03, 31.055),
                            (121.02, 31.055), (121.02, 31.07), (121.01, 31.07), (121.01, 31.055),
                            (121.0, 31.055)])
    sliver = shapely.Polygon([(121.0, 31.045), (121.08, 31.0450001), (121.08, 31.0450003), (121.0, 31.0450002)])
    holed = shapely.Polygon(shapely.box(121.05, 31.045, 121.08, 31.075).exterior.coords,
                            [shapely.box(121.06, 31.055, 121.07, 31.065).exterior.coords])
    island = shapely.box(121.06, 31.055, 121.07, 31.065)
    multi = shapely.MultiPolygon([shapely.box(121.0, 31.08, 121.01, 31.09), shapely.box(121.01, 31.09, 121.02, 31.1)])
    big = shapely.Point(121.045, 31.05).buffer(0.045, quad_segs=100)
    return np.array([*squares, *fan, comb, sliver, holed, island, multi, big], dtype=object)


def probe_points(geoms: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random points, every vertex, points on edges (at random fractions), and points pushed off an edge
    by 1e-10° (inside the GEOS tolerance), 3e-9° and 1e-7° (outside it: the numpy test decides)."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    seg = []
    for g in geoms:
        for part in shapely.get_parts(g):
            for r in shapely.get_rings(part):
                xy = shapely.get_coordinates(r)
                seg.append(np.column_stack([xy[:-1], xy[1:]]))
    seg = np.concatenate(seg)
    t = rng.uniform(0, 1, len(seg))
    on = seg[:, :2] + t[:, None] * (seg[:, 2:] - seg[:, :2])
    d = seg[:, 2:] - seg[:, :2]
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / np.hypot(d[:, 0], d[:, 1])[:, None]
    pushed = [on + s * off * normal for off in (1e-10, 3e-9, 1e-7) for s in (1, -1)]
    xy = np.concatenate([np.column_stack([rng.uniform(xmin - 0.005, xmax + 0.005, 30_000),
                                          rng.uniform(ymin - 0.005, ymax + 0.005, 30_000)]),
                         seg[:, :2], on, *pushed])
    return xy[:, 0].copy(), xy[:, 1].copy()


@pytest.mark.parametrize("cells_per_polygon", [1, 32, 128, 4096])
def test_matches_intersects_xy_on_shared_edges_and_vertices(monkeypatch, cells_per_polygon: int) -> None:
    """Property-style: over random and adversarial points, every (point, polygon) answer equals
    `shapely.intersects_xy`, at coarse and fine bucket sizes (which change every edge list), with the
    points taken in several passes (`test_matches_geos_everywhere` takes them in one)."""
    monkeypatch.setattr(pointindex, "CELLS_PER_POLYGON", cells_per_polygon)
    monkeypatch.setattr(pointindex, "CHUNK_POINTS", 7_001)
    monkeypatch.setattr(pointindex, "MIN_CELLS", 1)
    geoms = hand_made()
    x, y = probe_points(geoms, np.random.default_rng(cells_per_polygon))
    index = PointIndex(geoms.copy())
    want = np.column_stack([shapely.intersects_xy(g, x, y) for g in geoms])      # point × polygon
    p, g = np.nonzero(want)
    got_p, got_g = index.all(x, y)
    assert np.array_equal(got_p, p) and np.array_equal(got_g, g)
    smallest = np.where(want.any(axis=1), want.argmax(axis=1), -1)
    assert np.array_equal(index.smallest(x, y), smallest)
    assert (want[30_000:].sum(axis=1) >= 2).sum() > 1000    # many points do lie on shared edges and vertices
