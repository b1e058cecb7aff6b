"""The bucket point index answers exactly what GEOS `intersects` answers: random points, vertices and
edge midpoints of irregular polygons (with a hole, a multipolygon and a many-vertex polygon)."""

from __future__ import annotations

import numpy as np
import shapely

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
