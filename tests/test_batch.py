"""Batch locate on a 2-worker Dask LocalCluster answers exactly what the in-process index answers, for
points inside, on shared edges, outside, and spread so that several spatial partitions each load only
their part of the grids; and the Hilbert partitioning keeps every point exactly once."""

from __future__ import annotations

import numpy as np
import psycopg
from grid_fixtures import load_district

from gis.batch.engine import LEVELS, dask_client, locate_points, spatial_partitions
from gis.grids import locate


def _in_process(conn: psycopg.Connection, x: np.ndarray, y: np.ndarray) -> list[dict]:
    got = locate.load_index(conn).locate_storage(x, y)
    ix = got.index
    layers = {"district": (ix.districts, got.district), "street": (ix.streets, got.street),
              "community": (ix.communities, got.community), "unit_grid": (ix.units, got.unit),
              "eval_grid": (ix.evals, got.eval)}
    out = []
    for i in range(len(x)):
        row = {lv: (layers[lv][0].codes[layers[lv][1][i]] if layers[lv][1][i] >= 0 else None) for lv in LEVELS}
        lo, hi = np.searchsorted(got.work_point, [i, i + 1])
        row["work_grids"] = sorted(f"{ix.works.extra[g]['kind']}:{ix.works.codes[g]}" for g in got.work_grid[lo:hi])
        out.append(row)
    return out


def test_partitions_cover_every_point_once() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(121.3, 121.5, 10_000), rng.uniform(31.2, 31.4, 10_000)
    parts = spatial_partitions(x, y, 8)
    assert len(parts) == 8
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(10_000))
    # compact: each partition's bbox is a small part of the whole extent
    areas = [(np.ptp(x[p]) * np.ptp(y[p])) for p in parts]
    assert max(areas) < 0.5 * np.ptp(x) * np.ptp(y)


def test_batch_locate_on_two_workers_equals_in_process(clean_db: str, db: psycopg.Connection) -> None:
    load_district(db)
    rng = np.random.default_rng(18)
    x = np.r_[rng.uniform(121.395, 121.445, 4000), [121.41, 121.42, 121.40, 121.50, np.nan]]
    y = np.r_[rng.uniform(31.295, 31.325, 4000), [31.305, 31.31, 31.30, 31.50, 31.3]]
    expected = _in_process(db, x, y)
    assert sum(r["unit_grid"] is not None for r in expected) > 1000     # the sample does hit grids
    assert any(r["district"] is None for r in expected)                 # and misses some
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = locate_points(client, clean_db, x, y, partitions=6)
    assert [got.row(i) for i in range(len(x))] == expected
