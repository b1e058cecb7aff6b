"""Import throughput: 138,662 point components from GeoJSON and from GeoPackage (features/s).

Runs against a throwaway database it creates and drops on the same server as the configured database.
The main `citygrid` database is only read: when it holds the demo district's unit grids, the points are
drawn inside them (and its admin areas and unit grids are copied into the throwaway database); otherwise
a hand-made district of 40 x 25 square grids is used. Ids are valid 16-digit codes over the component
subclasses of the `categories` table, in the 大类 mix of standards.md §4.

    .venv/bin/python bench/bench_import.py [--n 138662] [--with-grid-codes]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg
import pyogrio.raw
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import create_database, drop_database
from gis.db import engine as db_engine
from gis.db import migrate
from gis.db.seed import read_categories, seed_reference_data
from gis.io.load import import_file

#: Component counts per 大类 of one district (standards.md §4); extension subclasses (80–99) spread over them.
MIX = {"01": 90_498, "02": 6_787, "03": 5_716, "04": 26_485, "05": 279}
EXTENSION = 8_897
DISTRICT = "310113"


def _copy_district(main_url: str, url: str) -> int:
    """Copies admin areas and unit grids from the main database (read only there); returns the grid count."""
    try:
        with psycopg.connect(main_url) as src:
            n = src.execute("SELECT count(*) FROM unit_grids").fetchone()[0]
            if n == 0:
                return 0
            areas = src.execute("SELECT code, level, name, parent_code, encode(ST_AsEWKB(geom), 'hex') "
                                "FROM admin_areas ORDER BY length(code)").fetchall()
            grids = src.execute("SELECT code, community_code, encode(ST_AsEWKB(geom), 'hex') "
                                "FROM unit_grids").fetchall()
    except psycopg.Error:
        return 0
    with psycopg.connect(url) as dst, dst.cursor() as cur:
        with cur.copy("COPY admin_areas (code, level, name, parent_code, geom) FROM STDIN") as cp:
            for row in areas:
                cp.write_row(row)
        with cur.copy("COPY unit_grids (code, community_code, geom) FROM STDIN") as cp:
            for row in grids:
                cp.write_row(row)
        dst.commit()
    return len(grids)


def _hand_made_district(url: str) -> int:
    """A 0.2° x 0.1° district near Baoshan: 1 street, 4 communities, 40 x 25 square unit grids."""
    x0, y0, nx, ny, step = 121.35, 31.30, 40, 25, 0.005
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        box = "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490))"
        cur.execute(f"INSERT INTO admin_areas (code, level, name, geom) VALUES (%s, 'district', '宝山区', {box})",
                    [DISTRICT, x0, y0, x0 + nx * step, y0 + ny * step])
        cur.execute(f"INSERT INTO admin_areas (code, level, name, parent_code, geom) "
                    f"VALUES (%s, 'street', '街道', %s, {box})",
                    [DISTRICT + "003", DISTRICT, x0, y0, x0 + nx * step, y0 + ny * step])
        grids = []
        for c in range(4):   # communities are vertical strips of 10 columns
            code = f"{DISTRICT}003{c + 1:03d}"
            cx0 = x0 + c * 10 * step
            cur.execute(f"INSERT INTO admin_areas (code, level, name, parent_code, geom) "
                        f"VALUES (%s, 'community', %s, %s, {box})",
                        [code, f"社区{c + 1}", DISTRICT + "003", cx0, y0, cx0 + 10 * step, y0 + ny * step])
            seq = 0
            for i in range(10):
                for j in range(ny):
                    seq += 1
                    gx, gy = cx0 + i * step, y0 + j * step
                    grids.append((f"{code}{seq:03d}", code, gx, gy, gx + step, gy + step))
        cur.executemany(f"INSERT INTO unit_grids (code, community_code, geom) VALUES (%s, %s, {box})", grids)
        conn.commit()
    return len(grids)


def _points_in_grids(url: str, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM unit_grids ORDER BY code").fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    polys = shapely.from_wkb([r[1] for r in rows])
    area = shapely.area(polys)
    pick = rng.choice(len(polys), size=n, p=area / area.sum())
    bounds = shapely.bounds(polys)[pick]
    pts = np.full(n, None, dtype=object)
    todo = np.arange(n)
    while len(todo):
        b = bounds[todo]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(polys[pick[todo]], x, y)
        pts[todo[inside]] = shapely.points(x[inside], y[inside])
        todo = todo[~inside]
    # the grid that the import (and the trigger) will find: the smallest code among intersecting grids
    tree = shapely.STRtree(polys)
    hit_pt, hit_poly = tree.query(pts, predicate="intersects")
    grid = np.full(n, None, dtype=object)
    order = np.lexsort((codes[hit_poly], hit_pt))
    first = np.unique(hit_pt[order], return_index=True)[1]
    grid[hit_pt[order][first]] = codes[hit_poly[order][first]]
    return pts, grid


def _ids(n: int, district: str, rng: np.random.Generator) -> np.ndarray:
    subs = [(c["major"], c["minor"]) for c in read_categories() if c["kind"] == "component"]
    std = {m: [s for s in subs if s[0] == m and int(s[1]) < 80] for m in MIX}
    ext = [s for s in subs if int(s[1]) >= 80]
    scale = n / (sum(MIX.values()) + EXTENSION)
    types: list[tuple[str, str]] = []
    for major, count in MIX.items():
        k = round(count * scale)
        types += [std[major][i] for i in rng.integers(0, len(std[major]), k)]
    types += [ext[i] for i in rng.integers(0, len(ext), n - len(types))]
    seq: dict[tuple[str, str], int] = {}
    out = []
    for t in types:
        seq[t] = seq.get(t, 0) + 1
        out.append(f"{district}{t[0]}{t[1]}{seq[t]:06d}")
    return np.array(rng.permutation(out), dtype=object)


def _write(path: Path, driver: str, pts: np.ndarray, ids: np.ndarray, grids: np.ndarray | None) -> None:
    n = len(ids)
    fields = ["标识码", "名称", "状态", "数据来源"]
    values = [ids, np.full(n, "井盖", dtype=object), np.full(n, "完好", dtype=object),
              np.full(n, "普查", dtype=object)]
    if grids is not None:
        fields.append("所在单元网格")
        values.append(grids)
    pyogrio.raw.write(path, np.array(shapely.to_wkb(pts), dtype=object), values, fields, driver=driver,
                      geometry_type="Point", crs="EPSG:4490" if driver == "GPKG" else "OGC:CRS84",
                      layer="components")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=138_662)
    ap.add_argument("--with-grid-codes", action="store_true", help="files carry 所在单元网格 (checked)")
    args = ap.parse_args()
    main_url = db_engine.database_url()
    admin, url = create_database(main_url, prefix="citygrid_bench")
    rng = np.random.default_rng(20261121)
    try:
        migrate.upgrade(url)
        seed_reference_data(url)
        grids_n = _copy_district(main_url, url)
        source = "the demo district's unit grids (copied from the main database)"
        if grids_n == 0:
            grids_n = _hand_made_district(url)
            source = "a hand-made district (the main database has no unit grids)"
        with psycopg.connect(url) as conn:
            district = conn.execute("SELECT code FROM admin_areas WHERE level = 'district' ORDER BY code").fetchone()[0]
        t = time.perf_counter()
        pts, grid_codes = _points_in_grids(url, args.n, rng)
        ids = _ids(args.n, district, rng)
        print(f"{args.n} components in {grids_n} unit grids of {source}; points drawn in "
              f"{time.perf_counter() - t:.1f} s")
        with tempfile.TemporaryDirectory(prefix="citygrid-bench-") as tmp:
            for suffix, driver in ((".geojson", "GeoJSON"), (".gpkg", "GPKG")):
                path = Path(tmp) / f"components{suffix}"
                t = time.perf_counter()
                _write(path, driver, pts, ids, grid_codes if args.with_grid_codes else None)
                written = time.perf_counter() - t
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("TRUNCATE components")
                    t = time.perf_counter()
                    report = import_file(conn, "components", path)
                    took = time.perf_counter() - t
                    stored = conn.execute("SELECT count(*), count(unit_grid_code) FROM components").fetchone()
                assert report.inserted == args.n and stored == (args.n, args.n), (report.inserted, stored)
                size = path.stat().st_size / 1e6
                print(f"{driver:8s} {size:6.1f} MB (written in {written:.1f} s): {report.inserted} imported in "
                      f"{took:.1f} s = {report.inserted / took:,.0f} features/s (unit grids assigned: {stored[1]})")
                print("         phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.timings.items()))
    finally:
        db_engine.get_engine.cache_clear()
        drop_database(admin, url)


if __name__ == "__main__":
    main()
