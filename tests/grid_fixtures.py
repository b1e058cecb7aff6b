"""A hand-drawn district for the grid-engine tests (not the demo): a few squares in lon/lat.

    31.32 +-----------+-----------+-----------------------+
          | 003002001 | 003002002 |           |           |
    31.31 +-----------+-----------+ 004001001 | 004001002 |
          | 003001001 | 003001002 |           |           |
    31.30 +-----------+-----------+-----------+-----------+
       121.40      121.41      121.42      121.43      121.44

District 310113 (宝山区) = streets 310113003 (west half) and 310113004 (east half); communities
310113003001 (south-west), 310113003002 (north-west), 310113004001 (east). Evaluation grids
310113003001 (class A, the west street; its code equals a community's on purpose) and 310113004001
(class B). A responsibility grid R001 (张三, team T1) on 003001001; a sanitation patrol grid S01 on the
south-west community; a responsibility grid R002 (李四, team T2) on the south half of 004001001.
"""

from __future__ import annotations

import psycopg


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


DISTRICT = ("310113", "宝山区", box(121.40, 31.30, 121.44, 31.32))
STREETS = [("310113003", "吴淞街道", box(121.40, 31.30, 121.42, 31.32)),
           ("310113004", "友谊路街道", box(121.42, 31.30, 121.44, 31.32))]
COMMUNITIES = [("310113003001", "南社区", box(121.40, 31.30, 121.42, 31.31)),
               ("310113003002", "北社区", box(121.40, 31.31, 121.42, 31.32)),
               ("310113004001", "东社区", box(121.42, 31.30, 121.44, 31.32))]
UNITS = {
    "310113003001001": (121.40, 31.30, 121.41, 31.31),
    "310113003001002": (121.41, 31.30, 121.42, 31.31),
    "310113003002001": (121.40, 31.31, 121.41, 31.32),
    "310113003002002": (121.41, 31.31, 121.42, 31.32),
    "310113004001001": (121.42, 31.30, 121.43, 31.32),
    "310113004001002": (121.43, 31.30, 121.44, 31.32),
}
EVALS = [("310113003001", "310113003", "吴淞评价网格001", "A", box(121.40, 31.30, 121.42, 31.32)),
         ("310113004001", "310113004", "友谊路评价网格001", "B", box(121.42, 31.30, 121.44, 31.32))]
WORKS = [("R001", "responsibility", "责任网格一", "张三", "T1", box(121.40, 31.30, 121.41, 31.31)),
         ("S01", "sanitation_patrol", "环卫巡查一", None, "T9", box(121.40, 31.30, 121.42, 31.31)),
         ("R002", "responsibility", "责任网格二", "李四", "T2", box(121.42, 31.30, 121.43, 31.31))]


def load_district(db: psycopg.Connection, *, evals: bool = True, works: bool = True) -> None:
    """Inserts the district above into an empty database (use with `clean_db`)."""
    db.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES (%s, 'district', %s, %s)", DISTRICT)
    for code, name, geom in STREETS:
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, 'street', %s, %s, %s)",
                   (code, name, code[:6], geom))
    for code, name, geom in COMMUNITIES:
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) "
                   "VALUES (%s, 'community', %s, %s, %s)", (code, name, code[:9], geom))
    if evals:
        for code, street, name, cls, geom in EVALS:
            db.execute("INSERT INTO eval_grids (code, street_code, name, area_class, geom) VALUES (%s,%s,%s,%s,%s)",
                       (code, street, name, cls, geom))
    for code, b in UNITS.items():
        db.execute("INSERT INTO unit_grids (code, community_code, eval_code, name, geom) VALUES (%s,%s,%s,%s,%s)",
                   (code, code[:12], (code[:9] + "001") if evals else None, f"单元网格{code[-3:]}", box(*b)))
    if works:
        for code, kind, name, assignee, team, geom in WORKS:
            db.execute("INSERT INTO work_grids (code, kind, name, street_code, assignee, team, geom) "
                       "VALUES (%s,%s,%s,%s,%s,%s,%s)", (code, kind, name, None, assignee, team, geom))


#: Components (id, lon, lat) for the census tests: two in 003001001, one in 003002001, one in 004001001.
COMPONENTS = [("3101130101000001", 121.405, 31.305), ("3101130101000002", 121.406, 31.306),
              ("3101130201000001", 121.415, 31.315), ("3101130401000001", 121.435, 31.305)]


def add_components(db: psycopg.Connection) -> None:
    """Inserts COMPONENTS (major and minor taken from the id)."""
    for cid, x, y in COMPONENTS:
        db.execute("INSERT INTO components (id, major, minor, geom) VALUES (%s, %s, %s, ST_Point(%s, %s, 4490))",
                   (cid, cid[6:8], cid[8:10], x, y))
