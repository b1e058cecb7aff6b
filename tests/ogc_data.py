"""A small hand-made district for the OGC API tests: every published layer has a few rows whose
places, classes and times the tests can reason about.

Components form a 5 x 5 lattice: x = 121.41 + 0.002·i, y = 31.31 + 0.002·j (i, j = 0..4), ids
3101130101000001… (major 01) for j < 3 and 3101130301…(major 03) for j >= 3.
"""

from __future__ import annotations

import psycopg

from gis import catalog

LON0, LAT0, STEP = 121.41, 31.31, 0.002


#: Every feature collection the OGC API publishes (one per published catalog layer).
FEATURE_COLLECTION_IDS = {layer.id for layer in catalog.published()}
#: Every collection listed (landing page, GDAL and OWSLib must list exactly these): the feature
#: collections and the moving-features collection of vehicle tracks (api/ogc/moving.py).
COLLECTION_IDS = FEATURE_COLLECTION_IDS | {"vehicle_tracks"}


def square(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def components() -> list[tuple[str, str, str, str, float, float]]:
    rows = []
    seq = {"01": 0, "03": 0}
    for j in range(5):
        for i in range(5):
            major = "01" if j < 3 else "03"
            minor = "01" if i % 2 == 0 else "02"
            seq[major] += 1
            cid = f"310113{major}{minor}{seq[major]:06d}"
            name = {("01", "01"): "上水井盖", ("01", "02"): "污水井盖", ("03", "01"): "公共厕所",
                    ("03", "02"): "垃圾箱"}[(major, minor)]
            rows.append((cid, major, minor, f"{name}{i}{j}", LON0 + STEP * i, LAT0 + STEP * j))
    return rows


def load(conn: psycopg.Connection) -> None:
    """Fills the (just truncated) data tables."""
    x0, y0 = 121.40, 31.30
    conn.execute(
        "INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
        "('310113', 'district', '宝山区', NULL, %s), ('310113003', 'street', '吴淞街道', '310113', %s), "
        "('310113003001', 'community', '淞滨社区', '310113003', %s)",
        (square(x0, y0, 121.50, 31.40), square(x0, y0, 121.45, 31.35), square(x0, y0, 121.43, 31.33)),
    )
    conn.execute(
        "INSERT INTO eval_grids (code, street_code, name, area_class, geom) VALUES "
        "('310113003001', '310113003', '淞滨评价网格', 'A', %s)", (square(x0, y0, 121.43, 31.33),),
    )
    grids = []
    for n, (gx, gy) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)], start=1):
        grids.append((f"310113003001{n:03d}", f"单元网格{n}",
                      square(x0 + 0.015 * gx, y0 + 0.015 * gy, x0 + 0.015 * (gx + 1), y0 + 0.015 * (gy + 1))))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO unit_grids (code, community_code, eval_code, name, geom) "
            "VALUES (%s, '310113003001', '310113003001', %s, %s)", grids,
        )
        cur.executemany(
            "INSERT INTO work_grids (code, kind, name, street_code, assignee, geom) "
            "VALUES (%s, %s, %s, '310113003', %s, %s)",
            [("W001", "work", "工作网格一", "张三", square(x0, y0, 121.415, 31.315)),
             ("R001", "responsibility", "责任网格一", "李四", square(121.415, y0, 121.43, 31.315))],
        )
        cur.executemany(
            "INSERT INTO components (id, major, minor, name, status, init_date, geom) "
            "VALUES (%s, %s, %s, %s, '完好', %s, %s)",
            [(cid, ma, mi, name, f"2024-0{1 + k % 9}-01", f"SRID=4490;POINT({x} {y})")
             for k, (cid, ma, mi, name, x, y) in enumerate(components())],
        )
    conn.execute(
        "INSERT INTO streets (str_id, name, s_housenum, l_housenum, street_code, geom) VALUES "
        "('S1', '淞滨路', 1, 200, '310113003', 'SRID=4490;LINESTRING(121.40 31.305, 121.45 31.305)'), "
        "('S2', '同济路', 1, 100, '310113003', 'SRID=4490;LINESTRING(121.42 31.30, 121.42 31.35)')"
    )
    conn.execute(
        "INSERT INTO doorplates (add_id, add_name, road_name, house_name, house_num, geom) VALUES "
        "('D1', '淞滨路100号', '淞滨路', '100', 100, 'SRID=4490;POINT(121.425 31.3052)'), "
        "('D2', '淞滨路102号', '淞滨路', '102', 102, 'SRID=4490;POINT(121.426 31.3052)')"
    )
    conn.execute(
        "INSERT INTO zones (zone_id, name, geom) VALUES ('Z1', '淞滨小区', %s)",
        (square(121.41, 31.31, 121.415, 31.315),),
    )
    conn.execute(
        "INSERT INTO pois (poi_id, name, category, geom) VALUES "
        "('P1', '吴淞口码头', '码头', 'SRID=4490;POINT(121.43 31.32)'), "
        "('P2', '淞滨公园', '公园', 'SRID=4490;POINT(121.44 31.33)')"
    )
    conn.execute(
        "INSERT INTO waste_facilities (code, name, kind, capacity_tpd, commissioned, geom) VALUES "
        "('WF1', '淞滨路投放点', 'drop_point', 1.5, '2023-05-01', 'SRID=4490;POINT(121.411 31.311)'), "
        "('WF2', '同济路投放点', 'drop_point', 2.0, '2023-06-01', 'SRID=4490;POINT(121.421 31.321)'), "
        "('WF3', '吴淞中转站', 'transfer_station', 300, '2020-01-01', 'SRID=4490;POINT(121.44 31.34)')"
    )
    conn.execute(
        "INSERT INTO vehicles (id, plate, kind) VALUES ('沪A00001', '沪A00001', 'household_waste'), "
        "('沪B00002', '沪B00002', 'muck')"
    )
    conn.execute(
        "INSERT INTO positions (vehicle_id, ts, geom, speed_kmh) VALUES "
        "('沪A00001', '2026-03-01T08:00:00Z', 'SRID=4490;POINT(121.41 31.31)', 20), "
        "('沪A00001', '2026-03-01T08:05:00Z', 'SRID=4490;POINT(121.42 31.32)', 30)"
    )
    conn.execute(
        "INSERT INTO routes (name, vehicle_id, stops, length_m, geom) VALUES "
        "('淞滨收运线', '沪A00001', '[{\"name\": \"投放点1\"}]', 4800, "
        "'SRID=4490;LINESTRING(121.41 31.31, 121.42 31.32, 121.44 31.34)')"
    )
    conn.execute(
        "INSERT INTO fences (name, kind, speed_limit_kmh, geom) VALUES "
        "('禁行区一', 'forbidden', NULL, %s)", (square(121.44, 31.34, 121.45, 31.35).replace("MULTI", "").replace(
            "(((", "((").replace(")))", "))"),),
    )
    conn.execute(
        "INSERT INTO cases (code, major, minor, description, status, reported_at, geom) VALUES "
        "('C1', '01', '01', '暴露垃圾', 'open', '2026-01-10T02:00:00Z', 'SRID=4490;POINT(121.412 31.312)'), "
        "('C2', '01', '02', '积存垃圾渣土', 'closed', '2026-02-10T02:00:00Z', 'SRID=4490;POINT(121.414 31.314)'), "
        "('C3', '01', '03', '道路不洁', 'open', '2026-03-10T02:00:00Z', 'SRID=4490;POINT(121.416 31.316)')"
    )
    conn.execute(
        "INSERT INTO alarms (kind, vehicle_id, start, \"end\", max_value, geom) VALUES "
        "('overspeed', '沪A00001', '2026-03-01T08:00:00Z', '2026-03-01T08:03:00Z', 62, "
        "'SRID=4490;POINT(121.41 31.31)'), "
        "('out_of_area', '沪B00002', '2026-03-02T09:00:00Z', NULL, NULL, NULL)"
    )
