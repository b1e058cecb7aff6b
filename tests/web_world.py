"""A small hand-made district for the web-map browser tests (not the demo district).

    宝山区 310113 ⊃ 吴淞街道 310113003, lon 121.470–121.500, lat 31.370–31.390;
    淞滨社区 310113003001 (west half, unit grids …001 south and …002 north of lat 31.380) and
    同泰社区 310113003002 (east half, one unit grid …001); evaluation grids A (west) and B (east);
    淞滨路 runs west → east along lat 31.380, 双城路 south → north along lon 121.485;
    plates 淞滨路100号 / 102号 and 双城路8号; components of four 大类, a drop point, cases, vehicle dev-1.
"""

from __future__ import annotations

import psycopg

DISTRICT = (121.470, 31.370, 121.500, 31.390)
#: A point in unit grid 310113003001001 (west, south of 淞滨路), 44 m south of 淞滨路100号.
IN_SOUTH_WEST = (121.4800, 31.3798)
#: Where the doorplate 淞滨路100号 stands.
PLATE_100 = (121.4800, 31.3802)
#: A forbidden area east of 双城路, used by the alarm test.
FORBIDDEN = (121.4900, 31.3820, 121.4960, 31.3870)


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def ensure_world(database_url: str) -> None:
    """Loads the world unless the database already holds it (another test's `clean_db` may have emptied it)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM dataset_meta WHERE key = 'web_world'").fetchone():
            return
        from tables import DATA_TABLES

        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        with conn.transaction():
            load_world(conn)
            conn.execute("INSERT INTO dataset_meta (key, value) VALUES ('web_world', 'true')")


def load_world(conn: psycopg.Connection) -> None:
    x = conn.execute
    w, s, e, n = DISTRICT
    mid_x, mid_y = 121.485, 31.380
    admin = "INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, %s, %s, %s, %s)"
    x(admin, ("310113", "district", "宝山区", None, box(w, s, e, n)))
    x(admin, ("310113003", "street", "吴淞街道", "310113", box(w, s, e, n)))
    x(admin, ("310113003001", "community", "淞滨社区", "310113003", box(w, s, mid_x, n)))
    x(admin, ("310113003002", "community", "同泰社区", "310113003", box(mid_x, s, e, n)))
    evals = "INSERT INTO eval_grids (code, street_code, name, area_class, geom) VALUES (%s, '310113003', %s, %s, %s)"
    x(evals, ("310113003001", "淞滨评价网格", "A", box(w, s, mid_x, n)))
    x(evals, ("310113003002", "同泰评价网格", "B", box(mid_x, s, e, n)))
    units = "INSERT INTO unit_grids (code, community_code, eval_code, name, geom) VALUES (%s, %s, %s, %s, %s)"
    x(units, ("310113003001001", "310113003001", "310113003001", "淞滨南网格", box(w, s, mid_x, mid_y)))
    x(units, ("310113003001002", "310113003001", "310113003001", "淞滨北网格", box(w, mid_y, mid_x, n)))
    x(units, ("310113003002001", "310113003002", "310113003002", "同泰网格", box(mid_x, s, e, n)))
    x("INSERT INTO work_grids (code, kind, name, street_code, assignee, geom) VALUES (%s, %s, %s, %s, %s, %s)",
      ("R001", "responsibility", "淞滨责任网格", "310113003", "张三", box(w, s, mid_x, n)))
    street = ("INSERT INTO streets (id, str_id, name, s_housenum, l_housenum, district_code, street_code, geom)"
              " VALUES (%s, %s, %s, %s, %s, '310113', '310113003', ST_GeomFromText(%s, 4490))")
    x(street, (1, "S1", "淞滨路", 2, 200, "LINESTRING(121.470 31.380,121.500 31.380)"))
    x(street, (2, "S2", "双城路", 1, 60, "LINESTRING(121.485 31.370,121.485 31.390)"))
    x("INSERT INTO zones (zone_id, name, subdis_code, commu_code, geom) VALUES (%s, %s, %s, %s, %s)",
      ("Z1", "淞滨新村", "310113003", "310113003001", box(121.474, 31.381, 121.480, 31.386)))
    plates = [
        ("P100", "淞滨路100号", "淞滨路", "100号", 100, 1, *PLATE_100),
        ("P102", "淞滨路102号", "淞滨路", "102号", 102, 1, 121.4810, 31.3802),
        ("P8", "双城路8号", "双城路", "8号", 8, 2, 121.4852, 31.3850),
    ]
    plate = ("INSERT INTO doorplates (add_id, add_name, road_name, house_name, house_num, street_id, subdis_name,"
             " subdis_code, geom) VALUES (%s, %s, %s, %s, %s, %s, '吴淞街道', '310113003',"
             " ST_SetSRID(ST_MakePoint(%s, %s), 4490))")
    for row in plates:
        x(plate, row)
    components = [
        ("3101130101000001", "01", "01", 121.4770, 31.3760), ("3101130101000002", "01", "01", 121.4790, 31.3790),
        ("3101130201000001", "02", "01", 121.4780, 31.3770), ("3101130301000001", "03", "01", 121.4830, 31.3830),
        ("3101130401000001", "04", "01", 121.4900, 31.3760), ("3101130101000003", "01", "01", 121.4950, 31.3850),
    ]
    component = ("INSERT INTO components (id, major, minor, name, geom)"
                 " VALUES (%s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))")
    for cid, major, minor, lon, lat in components:
        x(component, (cid, major, minor, f"部件{cid[-3:]}", lon, lat))
    x("INSERT INTO waste_facilities (code, name, kind, geom)"
      " VALUES (%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
      ("DP1", "淞滨新村投放点", "drop_point", 121.4775, 31.3835))
    x("INSERT INTO vehicles (id, plate, kind) VALUES (%s, %s, %s), (%s, %s, %s)",
      ("dev-1", "沪A·环卫1", "household_waste", "dev-2", "沪A·环卫2", "muck"))
    case = ("INSERT INTO cases (code, major, minor, source, description, status, reported_at, geom)"
            " VALUES (%s, '01', '01', 'hotline', %s, 'open', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))")
    for i in range(40):  # 40 cases of 暴露垃圾 in the south-west, 1–20 November 2026
        lon, lat = 121.4765 + 0.0004 * i, 31.3755 + 0.0003 * (i % 5)
        x(case, (f"C{i:04d}", "暴露垃圾", f"2026-11-{1 + i % 20:02d}T09:00:00+08", lon, lat))
