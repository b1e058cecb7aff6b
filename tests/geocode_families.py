"""A small hand-drawn Jiangsu world for the geocoder's issue-13 families (not the demo district, not
bench/world_dafeng.py).

    大丰区 320904: 大中镇 (lon 120.40–120.45) and 新丰镇 (120.45–120.50), lat 33.10–33.16, and the
    development zone 大丰经济开发区 (120.50–120.55). 大中镇: community 幸福社区 (south half, one unit grid)
    and village 海团村 (north half). Both towns have a 人民路 along lat 33.115 and a plate 人民路88号; the
    street layer carries no region codes (context must come from polygons and doorplates); 新丰镇's 人民路
    is longer, listed first and reaches 50 m into 大中镇. 黄海路 crosses 大中镇's 人民路 at (120.42, 33.115).
"""

from __future__ import annotations

import psycopg

LAT = 33.115
CROSS = (120.42, LAT)          # 人民路 × 黄海路 in 大中镇
KEY = "geocode_families"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def ensure_families(database_url: str) -> None:
    """Loads the world unless this database already holds it (other tests empty the tables)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM dataset_meta WHERE key = %s", [KEY]).fetchone():
            return
        from conftest import DATA_TABLES

        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
        with conn.transaction():
            load(conn)
            conn.execute("INSERT INTO dataset_meta (key, value) VALUES (%s, 'true')", [KEY])


def load(conn: psycopg.Connection) -> None:
    x = conn.execute
    areas = [
        ("320904", "district", "大丰区", None, (120.40, 33.10, 120.55, 33.16)),
        ("320904101", "street", "大中镇", "320904", (120.40, 33.10, 120.45, 33.16)),
        ("320904102", "street", "新丰镇", "320904", (120.45, 33.10, 120.50, 33.16)),
        ("320904400", "street", "大丰经济开发区", "320904", (120.50, 33.10, 120.55, 33.16)),
        ("320904101001", "community", "幸福社区", "320904101", (120.40, 33.10, 120.45, 33.13)),
        ("320904101201", "community", "海团村", "320904101", (120.40, 33.13, 120.45, 33.16)),
        ("320904102201", "community", "新华村", "320904102", (120.45, 33.10, 120.50, 33.16)),
    ]
    for code, level, name, parent, b in areas:
        x("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, %s, %s, %s, %s)",
          (code, level, name, parent, box(*b)))
    x("INSERT INTO unit_grids (code, community_code, name, geom) VALUES ('320904101001001', '320904101001',"
      " '幸福社区1号网格', %s)", (box(120.40, 33.10, 120.45, 33.13),))
    streets = [  # id, StrID, name, from lon, to lon, lat, SHousenum, LHousenum (新丰镇's 人民路 first)
        (1, "X1", "人民路", 120.4495, 120.499, LAT, 1, 200),
        (2, "D1", "人民路", 120.405, 120.445, LAT, 1, 100),
        (4, "K1", "东风路", 120.505, 120.545, 33.13, 1, 60),
        (5, "X2", "东风路", 120.455, 120.495, 33.14, 1, 60),
    ]
    for sid, str_id, name, x0, x1, lat, s, lnum in streets:
        x("INSERT INTO streets (id, str_id, name, s_housenum, l_housenum, geom) VALUES (%s, %s, %s, %s, %s,"
          " ST_GeomFromText(%s, 4490))", (sid, str_id, name, s, lnum, f"LINESTRING({x0} {lat},{x1} {lat})"))
    x("INSERT INTO streets (id, str_id, name, s_housenum, l_housenum, geom) VALUES (3, 'D2', '黄海路', 1, 80,"
      " ST_GeomFromText('LINESTRING(120.42 33.105,120.42 33.128)', 4490))")
    plates = [  # add_id, AddName, RoadName, ZoneName, HouseName, SubDisName, SubDisCode, CommuName, CommuCode, lon, lat
        ("D88", "人民路88号", "人民路", None, "88号", "大中镇", "320904101", "幸福社区", "320904101001",
         120.4390, 33.1149),
        ("D86", "人民路86号", "人民路", None, "86号", "大中镇", "320904101", None, None, 120.4385, 33.1149),
        ("X88", "人民路88号", "人民路", None, "88号", "新丰镇", "320904102", "新华村", "320904102201",
         120.4700, 33.1149),
        ("B3", "金色家园3幢", None, "金色家园", "3幢", "大中镇", "320904101", None, None, 120.4230, 33.1180),
        ("L1", "人民路25弄1号", "人民路", None, "25弄1号", "大中镇", "320904101", None, None, 120.4320, 33.1170),
        ("L2", "人民路25弄2号", "人民路", None, "25弄2号", "大中镇", "320904101", None, None, 120.4340, 33.1180),
        ("L3", "人民路25弄3号", "人民路", None, "25弄3号", "大中镇", "320904101", None, None, 120.4360, 33.1190),
        ("H5", "海团村一组5号", None, "海团村一组", "5号", "大中镇", "320904101", "海团村", "320904101201",
         120.4100, 33.1400),
        ("H8", "海团村一组8号", None, "海团村一组", "8号", "大中镇", "320904101", "海团村", "320904101201",
         120.4120, 33.1410),
        ("H2-3", "海团村二组3号", None, "海团村二组", "3号", "大中镇", "320904101", "海团村", "320904101201",
         120.4400, 33.1550),
        ("K18", "东风路18号", "东风路", None, "18号", "大丰经济开发区", "320904400", None, None, 120.5130, 33.1299),
        ("F18", "东风路18号", "东风路", None, "18号", "新丰镇", "320904102", None, None, 120.4630, 33.1399),
    ]
    for r in plates:
        x("INSERT INTO doorplates (add_id, add_name, road_name, zone_name, house_name, subdis_name, subdis_code,"
          " commu_name, commu_code, geom) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
          " ST_SetSRID(ST_MakePoint(%s, %s), 4490))", r)
    x("INSERT INTO zones (zone_id, name, alias, geom) VALUES ('Z1', '金色家园', '{金色小区}', %s)",
      (box(120.421, 33.116, 120.428, 33.120),))
    x("INSERT INTO zones (zone_id, name, old_name, geom) VALUES ('Z2', '阳光花苑', '{阳光新村}', %s)",
      (box(120.431, 33.116, 120.438, 33.120),))
    pois = [
        ("P1", "大丰区第二中学", 120.4250, 33.1120), ("P2", "盐城市公安局大丰分局城东派出所", 120.4150, 33.1120),
        ("P3", "大中镇便民综合服务站", 120.4300, 33.1120), ("P4", "黄海路公交站", 120.4205, 33.1200),
        ("P5", "大丰区大中镇中心小学", 120.4080, 33.1200), ("P6", "大丰区新丰镇中心小学", 120.4800, 33.1200),
    ]
    for pid, name, lon, lat in pois:
        x("INSERT INTO pois (poi_id, name, geom) VALUES (%s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
          (pid, name, lon, lat))
