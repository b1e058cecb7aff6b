"""Heat, raster, flow and choropleth layers against SQL over a small hand-made district (real PostGIS, real HTTP)."""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from pathlib import Path

import h3
import numpy as np
import psycopg
import pytest
import rasterio
from layers_world import E, N, S, W, case_rows

from layers import cells as hcells


def test_h3_bit_arithmetic_matches_h3() -> None:
    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(31.2, 31.5, 200), rng.uniform(121.3, 121.6, 200)])
    fine = np.array([h3.api.basic_int.latlng_to_cell(a, b, 15) for a, b in pts], dtype=np.int64)
    for res in (4, 7, 8, 11, 13):
        ours = hcells.parent_of(fine, res)
        ref = np.array([h3.api.basic_int.cell_to_parent(int(c), res) for c in fine], dtype=np.int64)
        assert (ours == ref).all(), res
        for c in {int(x) for x in ref[:20]}:
            lo, hi = hcells.descendant_range(c)
            inside = (fine >= lo) & (fine <= hi)
            assert (inside == (ref == c)).all()


def test_parent_sql_equals_python(db: psycopg.Connection) -> None:
    cell = h3.api.basic_int.latlng_to_cell(31.33, 121.44, 15)
    for res in (5, 9, 12):
        got = db.execute(f"SELECT {hcells.parent_sql('%s::bigint', res)}", (cell,)).fetchone()[0]
        assert got == h3.api.basic_int.cell_to_parent(cell, res)


def test_cells_backfilled_and_reset_on_move(layers_district: psycopg.Connection) -> None:
    from layers.sources import SOURCES

    n = hcells.ensure_cells(layers_district, SOURCES["cases"])
    assert n == len(case_rows())
    assert layers_district.execute("SELECT count(*) FROM cases WHERE h3_cell IS NULL").fetchone()[0] == 0
    cid, lon, lat, cell = layers_district.execute(
        "SELECT id, ST_X(geom), ST_Y(geom), h3_cell FROM cases LIMIT 1").fetchone()
    assert cell == h3.api.basic_int.latlng_to_cell(lat, lon, 15)
    layers_district.execute("UPDATE cases SET geom = ST_SetSRID(ST_MakePoint(121.46, 31.37), 4490) WHERE id = %s",
                            (cid,))
    assert layers_district.execute("SELECT h3_cell FROM cases WHERE id = %s", (cid,)).fetchone()[0] is None
    assert hcells.ensure_cells(layers_district, SOURCES["cases"]) == 1
    assert layers_district.execute("SELECT h3_cell FROM cases WHERE id = %s", (cid,)).fetchone()[0] == \
        h3.api.basic_int.latlng_to_cell(31.37, 121.46, 15)


def test_heat_hexagons_match_sql_counts(layers_district: psycopg.Connection, http) -> None:
    bbox = f"{W},{S},{E},{N}"
    r = http.get("/api/layers/heat", params={"source": "cases", "bbox": bbox, "resolution": 8})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["resolution"] == 8
    # Every point of the district lies in a hexagon overlapping the box: totals equal a direct SQL count.
    sql_n, sql_w = layers_district.execute(
        "SELECT count(*), sum(weight) FROM cases WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490)",
        (W, S, E, N)).fetchone()
    assert fc["total"]["count"] == sum(f["properties"]["count"] for f in fc["features"]) == sql_n
    # Per hexagon: the parent of each point's own cell, computed independently here.
    expected = Counter(h3.api.basic_int.int_to_str(h3.api.basic_int.cell_to_parent(
        h3.api.basic_int.latlng_to_cell(lat, lon, 15), 8)) for lon, lat, *_ in case_rows() if lon < E and lat < N)
    assert {f["properties"]["h3"]: f["properties"]["count"] for f in fc["features"]} == expected
    # Weighted: the sum of weights of the same points.
    r = http.get("/api/layers/heat", params={"source": "cases", "bbox": bbox, "resolution": 8, "weight": "weight"})
    fc = r.json()
    assert fc["total"]["weight"] == pytest.approx(sql_w)
    assert all(f["properties"]["value"] == f["properties"]["weight"] for f in fc["features"])
    poly = fc["features"][0]["geometry"]
    assert poly["type"] == "Polygon" and poly["coordinates"][0][0] == poly["coordinates"][0][-1]


def test_heat_filters_time_category_and_complaints(layers_district: psycopg.Connection, http) -> None:
    params = {"bbox": f"{W},{S},{E},{N}", "resolution": 9, "from": "2024-01-05", "to": "2024-01-10",
              "category": "0101"}
    fc = http.get("/api/layers/heat", params={**params, "source": "cases"}).json()
    sql = ("SELECT count(*) FROM cases WHERE reported_at >= '2024-01-05T00:00+08' AND reported_at < "
           "'2024-01-11T00:00+08' AND major = '01' AND minor = '01' AND geom && ST_MakeEnvelope(%s,%s,%s,%s,4490)")
    assert fc["total"]["count"] == layers_district.execute(sql, (W, S, E, N)).fetchone()[0] > 0
    fc = http.get("/api/layers/heat", params={**params, "source": "complaints"}).json()
    hotline = layers_district.execute(sql + " AND source = 'hotline'", (W, S, E, N)).fetchone()[0]
    assert fc["total"]["count"] == hotline > 0


def test_heat_zoom_picks_resolution_and_default_bbox(layers_district: psycopg.Connection, http) -> None:
    low = http.get("/api/layers/heat", params={"zoom": 11}).json()
    high = http.get("/api/layers/heat", params={"zoom": 16, "bbox": "121.41,31.31,121.43,31.33"}).json()
    assert low["resolution"] < high["resolution"]
    assert low["bbox"] == pytest.approx([W, S, E, N])  # the district, when no bbox is given
    assert low["legend"] and all("color" in e for e in low["legend"])


@pytest.mark.parametrize("params, fragment", [
    ({"source": "nope"}, "unknown heat source"),
    ({"bbox": "1,2,3"}, "bbox"),
    ({"bbox": "121.5,31.3,121.4,31.4"}, "min < max"),
    ({"from": "yesterday"}, "from"),
    ({"weight": "tonnes"}, "weight"),
    ({"category": "1x"}, "category"),
    ({"resolution": 20}, "resolution"),
    ({"format": "svg"}, "format"),
    ({"bbox": "73,18,135,54", "resolution": 13}, "hexagons"),
    ({"source": "components", "from": "2024-01-01"}, "no time"),
])
def test_heat_bad_input_is_a_clear_4xx(http, params: dict, fragment: str) -> None:
    r = http.get("/api/layers/heat", params=params)
    assert 400 <= r.status_code < 500, r.text
    assert fragment in r.json()["detail"]


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_png_raster_is_a_transparent_image(layers_district: psycopg.Connection, http) -> None:
    r = http.get("/api/layers/heat", params={"format": "png", "bbox": f"{W},{S},{E},{N}", "width": 256,
                                             "height": 200})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png" and r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert r.headers["x-bounds"] == f"{W},{S},{E},{N}"
    with rasterio.MemoryFile(r.content) as mem, mem.open() as ds:
        assert (ds.width, ds.height, ds.count) == (256, 200, 4)
        rgba = ds.read()
    alpha = rgba[3]
    assert (alpha == 0).any() and (alpha > 0).any()
    # The hottest pixel is in the south-west cluster (121.42, 31.32): left half, lower half of the image.
    row, col = np.unravel_index(np.argmax(alpha), alpha.shape)
    assert col < 128 and row > 100


def test_geotiff_is_georeferenced_with_the_right_bounds(layers_district: psycopg.Connection, http) -> None:
    from pyproj import Transformer

    r = http.get("/api/layers/heat", params={"format": "tif", "bbox": f"{W},{S},{E},{N}", "width": 128,
                                             "height": 128})
    assert r.status_code == 200 and r.headers["content-type"] == "image/tiff"
    with rasterio.MemoryFile(io.BytesIO(r.content).read()) as mem, mem.open() as ds:
        assert ds.crs.to_epsg() == 3857
        t = Transformer.from_crs(4490, 3857, always_xy=True)
        (x0, x1), (y0, y1) = t.transform([W, E], [S, N])
        assert ds.bounds.left == pytest.approx(x0, abs=0.01) and ds.bounds.right == pytest.approx(x1, abs=0.01)
        assert ds.bounds.bottom == pytest.approx(y0, abs=0.01) and ds.bounds.top == pytest.approx(y1, abs=0.01)
        band = ds.read(1)
        # Density integrates back to the weight: sum(density × ground pixel area) ≈ points inside.
        px = (x1 - x0) / 128 * np.cos(np.radians((S + N) / 2))
        py = (y1 - y0) / 128 * np.cos(np.radians((S + N) / 2))
        inside = sum(1 for lon, lat, *_ in case_rows() if W <= lon <= E and S <= lat <= N)
        assert float(band.sum()) * px * py / 1e6 == pytest.approx(inside, rel=0.03)


def _load_waste(db: psycopg.Connection) -> dict[int, float]:
    """Restaurants in two clusters, two plants, records over 40 days; returns tonnes per plant in the last 30."""
    fac = {}
    for code, name, kind, lon, lat in (("P1", "厨余处理厂", "kitchen_waste_plant", 121.49, 31.39),
                                        ("P2", "焚烧厂", "incinerator", 121.41, 31.39)):
        fac[code] = db.execute("INSERT INTO waste_facilities (code, name, kind, geom) VALUES (%s, %s, %s, "
                               "ST_SetSRID(ST_MakePoint(%s, %s), 4490)) RETURNING id",
                               (code, name, kind, lon, lat)).fetchone()[0]
    pois = []
    for i in range(6):
        lon, lat = (121.42 + 0.001 * i, 31.32) if i < 4 else (121.48 + 0.001 * i, 31.36)
        pid = f"R{i}"
        db.execute("INSERT INTO pois (poi_id, name, category, geom) VALUES (%s, %s, '餐饮', "
                   "ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (pid, f"饭店{i}", lon, lat))
        pois.append((pid, lon, lat))
    db.execute("INSERT INTO vehicles (id, kind) VALUES ('K1', 'kitchen_waste'), ('K2', 'kitchen_waste')")
    expect: dict[int, float] = defaultdict(float)
    rows = []
    for day in range(40):
        for j, (pid, lon, lat) in enumerate(pois):
            plant = fac["P1"] if (j + day) % 3 else fac["P2"]
            tonnes = 0.1 + 0.05 * j + 0.01 * day
            rows.append((day, tonnes, pid, plant, "K1" if j % 2 else "K2", lon, lat))
            if day >= 10:
                expect[plant] += tonnes
    rows.append((39, 0.7, None, None, "K1", 121.43, 31.33))  # no facility: reported as unassigned
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO waste_records (ts, waste_kind, tonnes, source_poi_id, facility_id, vehicle_id, geom) "
            "VALUES (timestamptz '2024-03-01 12:00+08' + make_interval(days => %s), 'kitchen', %s, %s, %s, %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4490))", rows)
    return dict(expect)


def test_flows_conserve_tonnage_per_plant(layers_district: psycopg.Connection, http) -> None:
    expect = _load_waste(layers_district)
    r = http.get("/api/layers/flows")
    assert r.status_code == 200, r.text
    fc = r.json()
    # Default window: the last 30 days of data (days 10–39 of 40).
    assert fc["from"] == "2024-03-11T00:00:00+08:00" and fc["to"] == "2024-04-10T00:00:00+08:00"
    assert fc["waste_kind"] == "kitchen"
    into: dict[int, float] = defaultdict(float)
    for f in fc["features"]:
        assert f["geometry"]["type"] == "LineString"
        into[f["properties"]["to"]] += f["properties"]["tonnes"]
        assert f["geometry"]["coordinates"][1] == pytest.approx(
            next([p["lon"], p["lat"]] for p in fc["plants"] if p["id"] == f["properties"]["to"]))
    assert into.keys() == expect.keys()
    for fid, t in expect.items():
        assert into[fid] == pytest.approx(t)
        sql = layers_district.execute("SELECT sum(tonnes) FROM waste_records WHERE facility_id = %s AND ts >= "
                                      "timestamptz '2024-03-11 00:00+08'", (fid,)).fetchone()[0]
        assert into[fid] == pytest.approx(sql)
        assert next(p["tonnes"] for p in fc["plants"] if p["id"] == fid) == pytest.approx(sql)
    assert fc["unassigned_tonnes"] == pytest.approx(0.7)
    # Two restaurant clusters (res-8 hexagons), each sending to both plants (+ the record with no facility).
    assert len(fc["features"]) == 4 and len({f["properties"]["from"] for f in fc["features"]}) == 2
    assert len(fc["clusters"]) == 3
    # Street logistics: generation splits west / east; terminals add up to what each street generated.
    streets = {s["name"]: s for s in fc["streets"]}
    assert set(streets) == {"西街道", "东街道"}
    for s in streets.values():
        assert sum(t["tonnes"] for t in s["末端"]) + s.get("未指定末端_tonnes", 0) == pytest.approx(s["产生"]["tonnes"])
        assert s["运输"]["vehicles"] >= 1 and s["运输"]["tonne_km"] > 0
    # A window by hand, and a waste kind without records.
    fc = http.get("/api/layers/flows", params={"from": "2024-03-01", "to": "2024-03-01"}).json()
    assert sum(f["properties"]["tonnes"] for f in fc["features"]) == pytest.approx(
        sum(0.1 + 0.05 * j for j in range(6)))
    assert http.get("/api/layers/flows", params={"source": "muck"}).json()["features"] == []
    assert http.get("/api/layers/flows", params={"source": "lava"}).status_code == 400


def test_waste_records_heat_is_weighted_by_tonnes(layers_district: psycopg.Connection, http) -> None:
    _load_waste(layers_district)
    fc = http.get("/api/layers/heat", params={"source": "waste_records", "bbox": f"{W},{S},{E},{N}",
                                              "category": "kitchen"}).json()
    assert fc["weighted_by"] == "tonnes"
    total = layers_district.execute("SELECT sum(tonnes) FROM waste_records").fetchone()[0]
    assert fc["total"]["weight"] == pytest.approx(total)


@pytest.mark.parametrize("level, n_areas", [("street", 2), ("community", 2), ("unit_grid", 4)])
def test_choropleth_counts_match_sql(layers_district: psycopg.Connection, http, level: str, n_areas: int) -> None:
    r = http.get("/api/layers/choropleth", params={"level": level, "metric": "cases", "from": "2024-01-01",
                                                   "to": "2024-01-15"})
    assert r.status_code == 200, r.text
    fc = r.json()
    assert len(fc["features"]) == n_areas
    table = "unit_grids" if level == "unit_grid" else "admin_areas"
    for f in fc["features"]:
        sql = layers_district.execute(
            f"SELECT count(*) FROM cases c JOIN {table} a ON ST_Intersects(a.geom, c.geom) WHERE a.code = %s "
            "AND c.reported_at >= '2024-01-01T00:00+08' AND c.reported_at < '2024-01-16T00:00+08'",
            (f["id"],)).fetchone()[0]
        assert f["properties"]["cases"] == sql
        assert f["properties"]["case_rate"] == pytest.approx(sql / f["properties"]["area_km2"])
        assert f["geometry"]["type"] == "MultiPolygon"
    assert fc["legend"] and fc["breaks"] == sorted(fc["breaks"])
    for f in fc["features"]:  # each area's colour is that of its class
        assert f["properties"]["color"] == fc["legend"][f["properties"]["class"]]["color"]


def test_choropleth_grades_and_natural_breaks(layers_district: psycopg.Connection, http) -> None:
    fc = http.get("/api/layers/choropleth", params={"level": "unit_grid", "metric": "eval_grade"}).json()
    grades = {f["properties"]["name"]: f["properties"]["grade"] for f in fc["features"]}
    assert grades["西街道001"] == "差"  # the south-west cluster has the highest case density
    assert {e["grade"] for e in fc["legend"]} == {"优", "良", "中", "差"}
    fc = http.get("/api/layers/choropleth", params={"level": "unit_grid", "metric": "case_rate",
                                                    "method": "natural_breaks", "classes": 3}).json()
    assert fc["method"] == "natural_breaks" and len(fc["breaks"]) <= 3
    assert http.get("/api/layers/choropleth", params={"level": "planet"}).status_code == 400


def test_sources_listing(http) -> None:
    ids = {s["id"] for s in http.get("/api/layers/sources").json()}
    assert {"cases", "complaints", "components", "pois", "waste_records", "waste_facilities", "doorplates"} <= ids


@pytest.mark.browser
@pytest.mark.parametrize("kind", ["heat", "flows"])
def test_report_opens_offline_in_chromium(layers_district: psycopg.Connection, tmp_path, kind: str) -> None:
    from playwright.sync_api import sync_playwright

    from layers.report import flows_report, heat_report

    _load_waste(layers_district)
    text = heat_report(layers_district, source="cases") if kind == "heat" else flows_report(layers_district)
    assert not re.search(r"<(script|link|img)\b[^>]*\b(src|href)=", text)  # no linked assets at all
    out = tmp_path / f"{kind}.html"
    out.write_text(text, encoding="utf-8")
    url = out.as_uri()
    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--headless"])
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r) -> None:
                if r.request.url == url or r.request.url.startswith("data:"):
                    r.continue_()
                else:
                    outside.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.goto(url, wait_until="load")
            page.wait_for_timeout(300)
            assert page.evaluate("typeof L") == "object"
            drawn = page.locator("path.leaflet-interactive").count()
            (shots := Path("var/screenshots")).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"layers-report-{kind}.png"))
        finally:
            browser.close()
    assert outside == []
    assert errors == []
    assert drawn > 0


def test_heat_sources_are_ogc_collections(http) -> None:
    """`source=` takes OGC collection ids: every registered OGC-backed source is listed at /ogc/collections."""
    from layers.sources import SOURCES

    r = http.get("/ogc/collections", params={"f": "json"})
    assert r.status_code == 200, r.text
    listed = {c["id"] for c in r.json()["collections"]}
    missing = [s.id for s in SOURCES.values() if s.ogc and s.id not in listed]
    assert missing == []


def test_time_first_and_range_paths_agree(layers_district: psycopg.Connection, monkeypatch) -> None:
    """The two plans (time index first / viewport ranges first) give identical hexagons."""
    from layers import heat

    layers_district.execute("ANALYZE cases")
    q = heat.build_query(layers_district, source="cases", bbox=f"{W},{S},{E},{N}", start="2024-01-03",
                         stop="2024-01-09", weight="weight")
    cover = hcells.cover(q.bbox, 9)
    answers = []
    for share in (1.0, 0.0):  # 1.0: always time-first; 0.0: never
        monkeypatch.setattr(heat, "TIME_FIRST_SHARE", share)
        assert heat._time_first(layers_district, q) is (share == 1.0)
        cells, counts, weights = heat.aggregate(layers_district, q, 9, cover)
        order = np.argsort(cells)
        answers.append((cells[order].tolist(), counts[order].tolist(), np.round(weights[order], 9).tolist()))
    assert answers[0] == answers[1] and sum(answers[0][1]) > 0


def _rollup_vs_points(db: psycopg.Connection, source: str = "cases", **filters: str) -> tuple:
    """Hexagons at resolution 8 from the rollup path and from the points alone (sorted, rounded)."""
    from layers import heat, rollup

    q = heat.build_query(db, source=source, bbox=f"{W},{S},{E},{N}", weight="weight" if source != "waste_records"
                         else None, **filters)
    cover = hcells.cover(q.bbox, 8)
    assert rollup.plan(q, 8) is not None
    hcells.ensure_cells(db, q.source)
    answers = []
    for agg in (heat.aggregate, heat._aggregate_points):
        cells, counts, weights = agg(db, q, 8, cover)
        order = np.argsort(cells)
        answers.append((cells[order].tolist(), counts[order].tolist(), np.round(weights[order], 9).tolist()))
    return tuple(answers)


def test_rollup_answers_like_the_points_and_follows_writes(layers_district: psycopg.Connection, http) -> None:
    """The coarse path reads heat_rollup; inserts, moves, deletes and truncates keep it equal to the points."""
    by_rollup, by_points = _rollup_vs_points(layers_district)
    assert by_rollup == by_points and sum(by_rollup[1]) > 0
    # Partial months at both ends come from the points, whole months between from the rollup.
    for window in ({"start": "2023-11-20", "stop": "2024-01-20"}, {"start": "2023-11-01T00:00Z"},
                   {"stop": "2024-01-15"}):
        a, b = _rollup_vs_points(layers_district, **window)
        assert a == b and sum(a[1]) > 0, window
    a, b = _rollup_vs_points(layers_district, source="complaints")
    assert a == b and 0 < sum(a[1]) < sum(by_points[1])
    # A write: one insert of several rows (statement trigger), then a move, a delete and an update of weights.
    layers_district.execute(
        "INSERT INTO cases (major, minor, source, reported_at, weight, geom) SELECT '01', '01', 'hotline', "
        "timestamptz '2024-02-03 09:00+08', 4.5, ST_SetSRID(ST_MakePoint(121.47 + g * 0.001, 31.38), 4490) "
        "FROM generate_series(1, 5) g")
    a, b = _rollup_vs_points(layers_district)
    assert a == b and sum(a[1]) == sum(by_points[1]) + 5
    layers_district.execute("UPDATE cases SET geom = ST_SetSRID(ST_MakePoint(121.41, 31.39), 4490) WHERE id = "
                            "(SELECT min(id) FROM cases)")
    layers_district.execute("DELETE FROM cases WHERE id IN (SELECT id FROM cases ORDER BY id DESC LIMIT 2)")
    layers_district.execute("UPDATE cases SET weight = weight * 2 WHERE major = '02'")
    a, b = _rollup_vs_points(layers_district)
    assert a == b and sum(a[1]) == sum(by_points[1]) + 3
    # Through HTTP (and its cache): the totals follow the writes.
    params = {"source": "cases", "bbox": f"{W},{S},{E},{N}", "resolution": 8, "weight": "weight"}
    before = http.get("/api/layers/heat", params=params).json()["total"]
    layers_district.execute("INSERT INTO cases (major, minor, source, reported_at, weight, geom) VALUES ('01', '01', "
                            "'camera', now(), 10, ST_SetSRID(ST_MakePoint(121.43, 31.31), 4490))")
    after = http.get("/api/layers/heat", params=params).json()["total"]
    n, w = layers_district.execute("SELECT count(*), sum(weight) FROM cases WHERE geom && "
                                   "ST_MakeEnvelope(%s, %s, %s, %s, 4490)", (W, S, E, N)).fetchone()
    assert (after["count"], after["weight"]) == (n, pytest.approx(w)) and after["count"] == before["count"] + 1
    layers_district.execute("TRUNCATE cases CASCADE")
    assert layers_district.execute("SELECT count(*) FROM heat_rollup WHERE tbl = 'cases'").fetchone()[0] == 0
    assert http.get("/api/layers/heat", params=params).json()["total"]["count"] == 0


def test_rollup_serves_waste_kinds_and_cached_rasters_follow_writes(layers_district: psycopg.Connection, http) -> None:
    _load_waste(layers_district)
    a, b = _rollup_vs_points(layers_district, source="waste_records", category="kitchen")
    assert a == b and sum(a[1]) == layers_district.execute("SELECT count(*) FROM waste_records").fetchone()[0]
    params = {"source": "cases", "format": "tif", "bbox": f"{W},{S},{E},{N}", "width": 64, "height": 64}
    first = http.get("/api/layers/heat", params=params).content
    assert http.get("/api/layers/heat", params=params).content == first  # same version: same answer
    layers_district.execute("DELETE FROM cases WHERE geom && ST_MakeEnvelope(121.41, 31.31, 121.43, 31.33, 4490)")
    assert http.get("/api/layers/heat", params=params).content != first


def test_png_encoder_roundtrips() -> None:
    from layers.raster import encode_png

    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    with rasterio.MemoryFile(encode_png(rgba)) as mem, mem.open() as ds:
        assert np.array_equal(np.moveaxis(ds.read(), 0, 2), rgba)
