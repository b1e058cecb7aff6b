"""The hand-made district of the layer tests (heat, rasters, flows, choropleths): areas and cases.

A 0.1° × 0.1° district: two streets (west / east halves), one community each, two unit grids per
community; 162 cases in January 2024, most in a south-western cluster, two outside the district.
"""

from __future__ import annotations

import numpy as np
import psycopg

W, S, E, N = 121.40, 31.30, 121.50, 31.40
MID_X, MID_Y = 121.45, 31.35


def box(w: float, s: float, e: float, n: float) -> str:
    return f"SRID=4490;MULTIPOLYGON((({w} {s},{e} {s},{e} {n},{w} {n},{w} {s})))"


def load_areas(db: psycopg.Connection) -> None:
    db.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', %s)",
               (box(W, S, E, N),))
    for code, name, (w, e) in (("310113001", "西街道", (W, MID_X)), ("310113002", "东街道", (MID_X, E))):
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, 'street', %s, "
                   "'310113', %s)", (code, name, box(w, S, e, N)))
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s, 'community', %s, "
                   "%s, %s)", (code + "001", name + "社区", code, box(w, S, e, N)))
        for seq, (s, n) in (("001", (S, MID_Y)), ("002", (MID_Y, N))):
            db.execute("INSERT INTO unit_grids (code, community_code, name, geom) VALUES (%s, %s, %s, %s)",
                       (code + "001" + seq, code + "001", f"{name}{seq}", box(w, s, e, n)))


# Cases: (lon, lat, day of Jan 2024, 大类, 小类, source, weight) — a dense cluster in the south-west, a few
# elsewhere, some outside the district (they must not appear in the district choropleth, but do in heat).
def case_rows() -> list[tuple[float, float, int, str, str, str, float]]:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(120):
        lon, lat = 121.42 + rng.normal(0, 0.004), 31.32 + rng.normal(0, 0.004)
        rows.append((lon, lat, 1 + i % 28, "01", "01" if i % 3 else "02", "hotline" if i % 2 else "supervisor",
                     1.0 + (i % 4)))
    for i in range(40):
        lon, lat = rng.uniform(W + 0.001, E - 0.001), rng.uniform(S + 0.001, N - 0.001)
        rows.append((lon, lat, 1 + i % 28, "02", "01", "camera", 2.5))
    rows += [(121.55, 31.35, 3, "01", "01", "hotline", 1.0), (121.60, 31.45, 4, "01", "01", "hotline", 1.0)]
    return rows


def load_district(db: psycopg.Connection) -> None:
    """Inserts the areas and the cases above into an empty database (use with `clean_db`)."""
    load_areas(db)
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO cases (major, minor, source, reported_at, weight, geom) VALUES "
            "(%s, %s, %s, make_timestamptz(2024, 1, %s, 10, 0, 0, 'Asia/Shanghai'), %s, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
            [(ma, mi, src, day, w, lon, lat) for lon, lat, day, ma, mi, src, w in case_rows()],
        )
