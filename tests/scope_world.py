"""Two streets for the area-scope tests: the OGC test district (tests/ogc_data.py: street 310113003
吴淞街道, x 121.40–121.45, y 31.30–31.35) and a second street 310113004 张庙街道 (x 121.46–121.50),
each with a few features of every layer, so that a street-scoped key has something to see and
something it must not see. Codes agree with places except on purpose: some rows carry no code at
all (decided by geometry), and the vehicles belong to the streets through their fleets.
"""

from __future__ import annotations

import json

import psycopg
from ogc_data import load as load_ogc
from ogc_data import square

STREET = "310113003"
OTHER = "310113004"
X0, X1 = 121.46, 121.50  # the other street


def pt(x: float, y: float) -> str:
    return f"SRID=4490;POINT({x} {y})"


def load(conn: psycopg.Connection) -> None:
    """The OGC district plus the second street and its features (call on a truncated database)."""
    load_ogc(conn)
    conn.execute(
        "INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
        "(%s, 'street', '张庙街道', '310113', %s), (%s, 'community', '泗塘社区', %s, %s)",
        (OTHER, square(X0, 31.30, X1, 31.35), OTHER + "001", OTHER, square(X0, 31.30, X1, 31.35)))
    conn.execute("INSERT INTO eval_grids (code, street_code, name, area_class, geom) "
                 "VALUES (%s, %s, '张庙评价网格', 'B', %s)",
                 (OTHER + "001", OTHER, square(X0, 31.30, X1, 31.35)))
    conn.execute("INSERT INTO unit_grids (code, community_code, eval_code, name, geom) VALUES "
                 "(%s, %s, %s, '张庙单元网格', %s)",
                 (OTHER + "001001", OTHER + "001", OTHER + "001", square(X0, 31.30, X1, 31.35)))
    conn.execute("INSERT INTO work_grids (code, kind, name, street_code, assignee, geom) VALUES "
                 "('W002', 'work', '工作网格二', %s, '王五', %s), "
                 "('Q001', 'cityscape_responsibility', '吴淞责任区', %s, NULL, %s), "
                 "('Q002', 'cityscape_responsibility', '张庙责任区', %s, NULL, %s)",
                 (OTHER, square(X0, 31.30, 121.47, 31.31), STREET, square(121.40, 31.30, 121.45, 31.35),
                  OTHER, square(X0, 31.30, X1, 31.35)))
    ug_in, ug_out = STREET + "001001", OTHER + "001001"
    conn.execute(
        "INSERT INTO components (id, major, minor, name, status, unit_grid_code, geom) VALUES "
        "('3101130101000901', '01', '01', '张庙上水井盖', '完好', %s, %s), "
        "('3101130101000902', '01', '01', '无网格井盖', '完好', NULL, %s), "
        "('3101130101000903', '01', '01', '吴淞有网格井盖', '完好', %s, %s)",
        (ug_out, pt(121.47, 31.31), pt(121.48, 31.32), ug_in, pt(121.402, 31.302)))
    conn.execute(
        "INSERT INTO waste_facilities (code, name, kind, unit_grid_code, geom) VALUES "
        "('WF4', '张庙投放点', 'drop_point', %s, %s), ('WF5', '张庙公厕', 'public_toilet', NULL, %s)",
        (ug_out, pt(121.47, 31.32), pt(121.49, 31.34)))
    conn.execute(
        "INSERT INTO cases (code, major, minor, description, status, reported_at, unit_grid_code, geom) VALUES "
        "('C4', '01', '01', '张庙暴露垃圾', 'open', '2026-01-12T02:00:00Z', %s, %s), "
        "('C5', '01', '02', '无网格案件', 'open', '2026-02-12T02:00:00Z', NULL, %s), "
        "('C6', '01', '01', '吴淞有网格案件', 'open', '2026-02-15T02:00:00Z', %s, %s)",
        (ug_out, pt(121.47, 31.32), pt(121.48, 31.33), ug_in, pt(121.403, 31.303)))
    conn.execute(
        "INSERT INTO doorplates (add_id, add_name, road_name, house_name, house_num, commu_code, geom) VALUES "
        "('D3', '泗塘路8号', '泗塘路', '8', 8, %s, %s)", (OTHER + "001", pt(121.47, 31.305)))
    conn.execute("INSERT INTO zones (zone_id, name, commu_code, geom) VALUES ('Z2', '泗塘小区', %s, %s)",
                 (OTHER + "001", square(121.47, 31.31, 121.48, 31.32)))
    conn.execute("INSERT INTO pois (poi_id, name, category, geom) VALUES ('P3', '张庙餐厅', '餐饮', %s)",
                 (pt(121.47, 31.33),))
    conn.execute("INSERT INTO streets (str_id, name, s_housenum, l_housenum, street_code, geom) VALUES "
                 "('S3', '泗塘路', 1, 50, %s, 'SRID=4490;LINESTRING(121.465 31.305, 121.495 31.305)')", (OTHER,))
    # Fleets: the first vehicle works in the street, the second in the other one.
    conn.execute("UPDATE vehicles SET vehicle_group = CASE id WHEN '沪A00001' THEN '吴淞车队' ELSE '张庙车队' END")
    conn.execute("INSERT INTO fleet_areas (fleet, area_code) VALUES ('吴淞车队', %s), ('张庙车队', %s)",
                 (STREET, OTHER))
    conn.execute("INSERT INTO positions (vehicle_id, ts, geom, speed_kmh) VALUES "
                 "('沪B00002', '2026-03-01T08:00:00Z', %s, 25), ('沪B00002', '2026-03-01T08:05:00Z', %s, 30)",
                 (pt(121.47, 31.31), pt(121.48, 31.32)))
    conn.execute("INSERT INTO alarms (kind, vehicle_id, start, \"end\", max_value, geom) VALUES "
                 "('overspeed', '沪B00002', '2026-03-01T08:04:00Z', '2026-03-01T08:05:00Z', 70, %s)",
                 (pt(121.48, 31.32),))
    conn.execute("INSERT INTO routes (name, vehicle_id, length_m, geom) VALUES ('张庙收运线', '沪B00002', 3000, "
                 "'SRID=4490;LINESTRING(121.47 31.31, 121.48 31.32)')")
    conn.execute("INSERT INTO fences (name, kind, geom) VALUES ('张庙禁行区', 'forbidden', "
                 "'SRID=4490;POLYGON((121.47 31.33,121.48 31.33,121.48 31.34,121.47 31.34,121.47 31.33))')")
    for n, (x, y, ug) in enumerate([(121.412, 31.305, ug_in), (121.47, 31.33, ug_out)], start=1):
        conn.execute("INSERT INTO cameras (id, device_code, name, kind, unit_grid_code, geom) "
                     "VALUES (%s, %s, %s, 'bullet', %s, %s)",
                     (f"3101130000132000000{n}", f"3101130000118000000{n}", f"摄像机{n}", ug, pt(x, y)))
        conn.execute("INSERT INTO devices (id, name, kind, unit_grid_code, geom) VALUES (%s, %s, 'overflow', %s, %s)",
                     (f"DEV{n}", f"满溢{n}", ug, pt(x + 0.001, y)))
        street = STREET if n == 1 else OTHER
        conn.execute("INSERT INTO shops (code, name, street_code, geom) VALUES (%s, %s, %s, %s)",
                     (f"SH{n}", f"商铺{n}", street, pt(x + 0.002, y)))
        conn.execute("INSERT INTO cw_sites (code, name, kind, geom) VALUES (%s, %s, 'construction_site', %s)",
                     (f"CW{n}", f"工地{n}", pt(x + 0.003, y)))
        conn.execute("INSERT INTO eval_sample_points (code, name, kind, street_code, geom) "
                     "VALUES (%s, %s, 'main_road', %s, %s)", (f"SP{n}", f"样本点{n}", street, pt(x + 0.004, y)))
        conn.execute("INSERT INTO device_alarms (device_id, kind, start, geom) VALUES (%s, 'overflow', "
                     "'2026-03-01T05:00:00Z', %s)", (f"DEV{n}", pt(x + 0.001, y)))
        conn.execute("INSERT INTO muck_permits (code, vehicle_id, site_id, disposal_id, valid_from, valid_to, route) "
                     "VALUES (%s, '沪B00002', (SELECT id FROM cw_sites WHERE code = %s), "
                     "(SELECT id FROM cw_sites WHERE code = %s), '2026-01-01', '2026-12-31', %s)",
                     (f"MP{n}", f"CW{n}", f"CW{n}", f"SRID=4490;LINESTRING({x} {y}, {x + 0.003} {y + 0.001})"))
        conn.execute("INSERT INTO waste_records (ts, waste_kind, tonnes, facility_id, geom) "
                     "VALUES ('2026-03-01T03:00:00Z', 'kitchen', %s, (SELECT id FROM waste_facilities "
                     "WHERE code = 'WF3'), %s)", (1.5 * n, pt(x + 0.005, y)))
    # For the grid, geocoding and evaluation paths: a responsibility grid of 李四 in the other street too
    # (his R001 lies in the street), both vehicles driven by him, one evaluation-grid draw over both
    # streets and one over the other only, likewise sample-point draws with assignments, and a saved
    # geocoding layer with a point in each street.
    conn.execute("INSERT INTO work_grids (code, kind, name, street_code, assignee, team, geom) VALUES "
                 "('R009', 'responsibility', '张庙责任网格', %s, '李四', NULL, %s)",
                 (OTHER, square(121.47, 31.33, 121.48, 31.34)))
    conn.execute("UPDATE vehicles SET operator = '李四'")
    for grids in ([STREET + "001", OTHER + "001"], [OTHER + "001"]):
        conn.execute("INSERT INTO eval_draws (actor, city_class, seed, result) VALUES ('抽样员', 3, 7, %s)",
                     (json.dumps({"grids": [{"code": g, "area_class": "A"} for g in grids], "counts": {"A": 1},
                                  "available": {"A": 2}, "pool_sha256": "x"}),))
    points = dict(conn.execute("SELECT code, id FROM eval_sample_points").fetchall())
    for codes in (["SP1", "SP2"], ["SP2"]):
        draw_id = conn.execute(
            "INSERT INTO eval_sample_draws (actor, seed, request, result) VALUES ('抽样员', 7, %s, %s) RETURNING id",
            (json.dumps({"kinds": {"main_road": len(codes)}, "area": None}),
             json.dumps({"points": [{"id": points[c], "code": c} for c in codes], "available": {"main_road": 2},
                         "pool_sha256": "x"}))).fetchone()[0]
        for c in codes:
            conn.execute("INSERT INTO eval_sample_assignments (draw_id, point_id, inspector) VALUES (%s, %s, %s)",
                         (draw_id, points[c], f"检查员{c}"))
    for n, (x, y) in enumerate([(121.41, 31.31), (121.47, 31.31), (121.48, 31.32)]):
        conn.execute("INSERT INTO geocoded_points (layer, row_no, query, standard_address, match_level, geom) "
                     "VALUES ('整改地址', %s, %s, %s, 'doorplate', %s)", (n, f"地址{n}", f"地址{n}", pt(x, y)))
