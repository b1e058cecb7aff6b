"""A small hand-drawn reference world for the geocoder tests (not the demo district).

    淞南镇 (south half) and 吴淞街道 (north half) of 宝山区; lon 121.46–121.52.
    淞滨路 runs west → east along lat 31.350 from lon 121.470 to 121.490, two segments (1–50, 51–100);
    house number n sits at lon 121.470 + (n - 1) * 0.0002, odd numbers north (left), even south (right),
    11 m off the centre line. 长江路 runs south → north along lon 121.480 and crosses it.
    泰和路 exists twice: in 淞南镇 (lat 31.340) and in 吴淞街道 (lat 31.390).
"""

from __future__ import annotations

import psycopg

LAT = 31.350
LON0 = 121.470
STEP = 0.0002          # degrees of longitude per house number (≈ 19 m)
SETBACK = 0.0001       # degrees of latitude (≈ 11 m)


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def plate_xy(n: int) -> tuple[float, float]:
    return LON0 + (n - 1) * STEP, LAT + (SETBACK if n % 2 else -SETBACK)


#: Plates of 淞滨路 (7, 11–19, 23–47 … are missing on purpose: they are interpolated).
SONGBIN_NUMBERS = [1, 2, 3, 4, 5, 9, 10, 20, 21, 49, 50, 51, 52, 61, 62, 99, 100]


def ensure_world(database_url: str) -> None:
    """Loads the world unless this database already holds it (other tests' `clean_db` may have emptied
    it): loading it once instead of per test keeps the geocoder tests fast."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM dataset_meta WHERE key = 'geocode_world'").fetchone()
        if row:
            return
        from tables import DATA_TABLES

        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        with conn.transaction():
            load_world(conn)
            conn.execute("INSERT INTO dataset_meta (key, value) VALUES ('geocode_world', 'true')")


def load_world(conn: psycopg.Connection) -> None:
    x = conn.execute
    x("INSERT INTO admin_areas (code, level, name, alias, geom) VALUES ('310113', 'district', '宝山区', '{}', %s)",
      (box(121.40, 31.30, 121.56, 31.42),))
    x("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113113', 'street', '淞南镇', %s)",
      (box(121.46, 31.33, 121.52, 31.37),))
    x("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113007', 'street', '吴淞街道', %s)",
      (box(121.46, 31.37, 121.52, 31.41),))
    x("INSERT INTO admin_areas (code, level, name, parent_code, geom)"
      " VALUES ('310113113001', 'community', '淞南一村社区', '310113113', %s)", (box(121.46, 31.33, 121.52, 31.37),))
    x("INSERT INTO admin_areas (code, level, name, parent_code, geom)"
      " VALUES ('310113007001', 'community', '海团村', '310113007', %s)", (box(121.46, 31.37, 121.52, 31.41),))
    x("INSERT INTO unit_grids (code, community_code, name, geom) VALUES"
      " ('310113113001001', '310113113001', '淞南一村1号网格', %s)", (box(121.46, 31.33, 121.52, 31.37),))

    streets = [
        (1, "S1", "淞滨路", ["淞滨大道"], ["淞兴西路"], 1, 50, "310113113",
         f"LINESTRING({LON0} {LAT},{LON0 + 49.5 * STEP} {LAT})"),
        (2, "S2", "淞滨路", [], ["淞兴西路"], 51, 100, "310113113",
         f"LINESTRING({LON0 + 49.5 * STEP} {LAT},{LON0 + 100 * STEP} {LAT})"),
        (3, "S3", "长江路", [], [], 1, 80, "310113113", "LINESTRING(121.480 31.340,121.480 31.360)"),
        (4, "S4", "泰和路", [], [], 1, 40, "310113113", "LINESTRING(121.470 31.340,121.478 31.340)"),
        (5, "S5", "泰和路", [], [], 1, 40, "310113007", "LINESTRING(121.470 31.390,121.478 31.390)"),
        (6, "S6", "蕰川路", [], [], 1, 60, "310113113", "LINESTRING(121.500 31.340,121.500 31.352)"),
    ]
    for sid, str_id, name, alias, old, s, lnum, street_code, wkt in streets:
        x("INSERT INTO streets (id, str_id, name, alias, old_name, s_housenum, l_housenum, district_code, street_code,"
          " geom) VALUES (%s, %s, %s, %s, %s, %s, %s, '310113', %s, ST_GeomFromText(%s, 4490))",
          (sid, str_id, name, alias, old, s, lnum, street_code, wkt))

    plates: list[tuple] = []
    for n in SONGBIN_NUMBERS:
        lon, lat = plate_xy(n)
        plates.append((f"P{n}", f"淞滨路{n}号", "淞滨路", None, f"{n}号", n, None, None, 1 if n <= 50 else 2, lon, lat))
    # Lane 30弄 (even side): its entrance plate and two plates inside, 30–60 m south of the street.
    lon30, lat30 = plate_xy(30)
    plates.append(("L30", "淞滨路30弄", "淞滨路", None, "30弄", 30, "30弄", None, 1, lon30, lat30))
    plates.append(("L30-1", "淞滨路30弄1号", "淞滨路", None, "1号", 1, "30弄", None, 1, lon30, lat30 - 0.0003))
    plates.append(("L30-5", "淞滨路30弄5号", "淞滨路", None, "5号", 5, "30弄", None, 1, lon30, lat30 - 0.0005))
    # 泰和路8号 exists on both 泰和路; 12号 only on the one in 吴淞街道.
    plates.append(("T8S", "泰和路8号", "泰和路", None, "8号", 8, None, None, 4, 121.4714, 31.3399))
    plates.append(("T8N", "泰和路8号", "泰和路", None, "8号", 8, None, None, 5, 121.4714, 31.3899))
    plates.append(("T12N", "泰和路12号", "泰和路", None, "12号", 12, None, None, 5, 121.4718, 31.3899))
    # Building plates in the compound 宝杨小区.
    plates.append(("B3", "宝杨小区3号楼", None, "宝杨小区", "3号楼", None, None, "3号楼", None, 121.4835, 31.3535))
    plates.append(("B5", "宝杨小区5号楼", None, "宝杨小区", "5号楼", None, None, "5号楼", None, 121.4845, 31.3540))
    for row in plates:
        x("INSERT INTO doorplates (add_id, add_name, road_name, zone_name, house_name, house_num, lane, building,"
          " street_id, subdis_code, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL,"
          " ST_SetSRID(ST_MakePoint(%s, %s), 4490))", row)

    x("INSERT INTO zones (zone_id, name, alias, subdis_code, geom)"
      " VALUES ('Z1', '宝杨小区', '{宝杨新村}', '310113113', %s)", (box(121.482, 31.352, 121.486, 31.355),))
    pois = [
        ("POI1", "上海市宝山区淞南镇人民政府", [], [], "government", 121.4950, 31.3450),
        ("POI2", "沃尔玛(淞滨路店)", ["沃尔玛购物广场"], [], "shop", 121.4760, 31.3520),
        ("POI3", "人民公园", [], ["淞南公园"], "park", 121.5020, 31.3460),
    ]
    for pid, name, alias, old, cat, lon, lat in pois:
        x("INSERT INTO pois (poi_id, name, alias, old_name, category, geom) VALUES (%s, %s, %s, %s, %s,"
          " ST_SetSRID(ST_MakePoint(%s, %s), 4490))", (pid, name, alias, old, cat, lon, lat))
