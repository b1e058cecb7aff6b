"""Batch locate on a 2-worker Dask LocalCluster answers exactly what the in-process index answers, for
points inside, on shared edges, outside, and spread so that several spatial partitions each load only
their part of the grids (and with the whole index held per worker); the Hilbert partitioning keeps every
point exactly once; batch geocode on two workers answers what the in-process batch answers."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import orjson
import psycopg
import pytest
from grid_fixtures import load_district

from gis.batch.engine import (
    LEVELS,
    WHOLE_INDEX_MAX_UNITS,
    _compact,
    dask_client,
    heat,
    locate_points,
    locate_to_files,
    spatial_partitions,
)
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
    assert all(np.all(np.diff(p) > 0) for p in parts)                  # ascending: answers scatter back in order
    # compact: each partition's bbox is a small part of the whole extent
    areas = [(np.ptp(x[p]) * np.ptp(y[p])) for p in parts]
    assert max(areas) < 0.5 * np.ptp(x) * np.ptp(y)
    # crowded: 90 % of the points on one spot still spread over the partitions, each at most ~the target
    x[:9_000], y[:9_000] = 121.41, 31.31
    parts = spatial_partitions(x, y, 8)
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(10_000))
    assert len(parts) >= 8 and max(p.size for p in parts) <= 2 * 1_250


def test_compact_indices_are_exact_as_int16_and_past_it() -> None:
    """A partition's answers travel as indices into the codes it used: int16 up to 32,766 of them, int32
    past that; either way they map back to the same grids, and -1 (none) stays -1."""
    for used, dtype in ((5, np.int16), (40_000, np.int32)):
        idx = np.r_[np.arange(used) * 2, -1, 0, 2 * used - 2]
        local, codes = _compact(idx, 2 * used + 1)
        assert local.dtype == dtype
        assert np.array_equal(np.where(local >= 0, codes[local], -1), idx)


@pytest.mark.parametrize("whole_max", [0, WHOLE_INDEX_MAX_UNITS], ids=["bbox-sub-indexes", "whole-index"])
def test_batch_locate_on_two_workers_equals_in_process(clean_db: str, db: psycopg.Connection,
                                                       whole_max: int, tmp_path: Path) -> None:
    load_district(db)
    rng = np.random.default_rng(18)
    x = np.r_[rng.uniform(121.395, 121.445, 4000), [121.41, 121.42, 121.40, 121.50, np.nan]]
    y = np.r_[rng.uniform(31.295, 31.325, 4000), [31.305, 31.31, 31.30, 31.50, 31.3]]
    expected = _in_process(db, x, y)
    assert sum(r["unit_grid"] is not None for r in expected) > 1000     # the sample does hit grids
    assert any(r["district"] is None for r in expected)                 # and misses some
    with dask_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        got = locate_points(client, clean_db, x, y, partitions=6, whole_max=whole_max)
        paths = locate_to_files(client, clean_db, x, y, str(tmp_path / "parts"), partitions=6, whole_max=whole_max)
    assert [got.row(i) for i in range(len(x))] == expected
    # the same answers as CSV: gathered on the client, and written by the workers as part files
    buf = io.StringIO()
    got.write_csv(buf, [str(i + 1) for i in range(len(x))])
    gathered = list(csv.reader(io.StringIO(buf.getvalue())))
    assert gathered[0] == ["id", *LEVELS, "work_grids"]
    assert [_csv_row(r) for r in gathered[1:]] == expected
    assert len(paths) == 6
    by_id: dict[int, dict] = {}
    for path in paths:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == gathered[0] and len(rows) > 1
        by_id.update((int(r[0]), _csv_row(r)) for r in rows[1:])
    assert [by_id[i + 1] for i in range(len(x))] == expected


def _csv_row(r: list[str]) -> dict:
    return {**{lv: (v or None) for lv, v in zip(LEVELS, r[1:6], strict=True)},
            "work_grids": r[6].split(";") if r[6] else []}


def test_batch_geocode_on_two_workers_equals_in_process(database_url: str) -> None:
    """Chunks answered on two workers (NDJSON bytes back) = the in-process `geocoder.batch.answers`, row
    for row and in input order: matched doorplates, interpolated numbers, an ambiguous road, no match."""
    from geocode_world import ensure_world

    from geocoder import batch
    from geocoder.batchjobs import geocode_ndjson, geocode_rows
    from geocoder.index import ReferenceIndex

    ensure_world(database_url)
    queries = ["淞滨路9号", "淞滨路30号", "上海市宝山区淞南镇淞滨路52号", "泰和路8号", "长江路与淞滨路交叉口",
               "不存在的路1号", "", "吴淞街道泰和路3号",
               "宝杨小区3号楼", "沃尔玛东50米"]
    rows = [(f"r{i}", queries[i % len(queries)] if i % 5 else f"淞滨路{1 + i % 100}号") for i in range(2_500)]
    with psycopg.connect(database_url, autocommit=True) as conn:
        expected = list(batch.answers(conn, rows, None, index=ReferenceIndex.load(conn)))
    assert sum(f["geometry"] is not None for f in expected) > 1000
    assert any(f["geometry"] is None for f in expected)
    with dask_client(workers=2) as client:
        chunks = list(geocode_ndjson(client, database_url, rows, chunk=300))
        assert geocode_rows(client, database_url, rows[:40], chunk=7) == expected[:40]
    got = [orjson.loads(line) for body, _ in chunks for line in body.splitlines()]
    assert got == expected
    assert sum(hits for _, hits in chunks) == sum(f["geometry"] is not None for f in expected)


def test_batch_heat_on_two_workers_counts_every_fix(clean_db: str, db: psycopg.Connection) -> None:
    """Heat over three months (three tasks, binary COPY per month) = h3 of every fix in [from, to), counted
    directly; fixes outside the range are left out."""
    import h3

    rng = np.random.default_rng(7)
    months = ["2026-01", "2026-02", "2026-03", "2026-04"]
    for m in months:
        db.execute("SELECT positions_ensure_partition(%s::timestamptz)", (f"{m}-01T00:00:00Z",))
    fixes = [(f"V{i % 7}", f"{months[i % 4]}-{1 + i % 27:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
              float(rng.uniform(121.40, 121.44)), float(rng.uniform(31.29, 31.32))) for i in range(3_000)]
    with db.cursor() as cur:
        cur.executemany("INSERT INTO positions (vehicle_id, ts, geom) "
                        "VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490)) ON CONFLICT DO NOTHING", fixes)
    rows = db.execute("SELECT ST_X(geom), ST_Y(geom) FROM positions WHERE ts >= '2026-01-10T00:00:00Z' "
                      "AND ts < '2026-04-01T00:00:00Z'").fetchall()
    expected: dict[int, int] = {}
    for x, y in rows:
        c = h3.str_to_int(h3.latlng_to_cell(y, x, 9))
        expected[c] = expected.get(c, 0) + 1
    assert 1000 < len(rows) < 3000
    with dask_client(workers=2) as client:
        got = heat(client, clean_db, "positions", "2026-01-10T00:00:00+00:00", "2026-04-01T00:00:00+00:00", 9)
    assert got == expected


def test_cli_batch_locate_gathered_and_part_files_agree(clean_db: str, db: psycopg.Connection,
                                                         tmp_path: Path) -> None:
    """`citygrid batch locate IN -o OUT` and `… --parts DIR` (workers write the files) give the same rows,
    ids carried through (one needs quoting), points outside every grid included."""
    from typer.testing import CliRunner

    from gis.cli import create_app

    load_district(db)
    rng = np.random.default_rng(3)
    pts = tmp_path / "in.csv"
    lines = ["id,lon,lat", '"a,1",121.41,31.305'] + [f"p{i},{x:.6f},{y:.6f}" for i, (x, y) in
                                                    enumerate(zip(rng.uniform(121.39, 121.45, 300),
                                                                  rng.uniform(31.29, 31.33, 300), strict=True))]
    pts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    app = create_app()
    res = CliRunner().invoke(app, ["batch", "locate", str(pts), "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(app, ["batch", "locate", str(pts), "--parts", str(tmp_path / "parts")])
    assert res.exit_code == 0, res.output
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as fh:
        gathered = list(csv.reader(fh))
    assert gathered[0] == ["id", *LEVELS, "work_grids"] and len(gathered) == 302
    assert [r[0] for r in gathered[1:3]] == ["a,1", "p0"] and gathered[1][4]      # in a unit grid
    assert any(not r[1] for r in gathered[1:])                                      # and some outside
    parts = []
    for path in sorted((tmp_path / "parts").glob("part-*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            parts.extend(list(csv.reader(fh))[1:])
    assert sorted(parts) == sorted(gathered[1:])


def test_a_points_file_that_is_not_lon_lat_csv_is_refused_naming_the_problem(tmp_path) -> None:
    from gis.batch.cli import read_points
    from gis.errors import InvalidInput

    cases = {"lon,lat,id\n121.4,31.3,a\nx,31.3,b\n": "line 3: lon/lat must be numbers",
             "a,b\n1,2\n": "must name lon and lat", "": "must name lon and lat"}
    for text, message in cases.items():
        path = tmp_path / "points.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InvalidInput, match=message):
            read_points(path)
    path.write_bytes(b"lon,lat\n121.4,31.3\n\xff\xfe,1\n")
    with pytest.raises(InvalidInput, match="not UTF-8"):
        read_points(path)
    path.write_text("x,y,id\n121.4,31.3,a\n,,b\n", encoding="utf-8")
    ids, x, y = read_points(path)
    assert ids == ["a", "b"] and (x[0], y[0]) == (121.4, 31.3) and np.isnan(x[1]) and np.isnan(y[1])
