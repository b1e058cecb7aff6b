"""The demo's managed layers of issue 16, built on the loaded district (after `load`):

- 沿街商铺: ~10,000 shops of one street (the street with the most doorplates along its 市容环境卫生责任区
  bands), at their doorplates as if imported by address (match level doorplate, confidence 1), with seven
  days of 收运记录 up to now and a month of 评价记录, so the integrity colours and today's figures show.
- 建筑垃圾: the 工地 components as construction sites, three 消纳场 (polygons), a 码头, a 中转调配厂 and a
  停车场; six muck trucks of the 核准 fleet with permits and straight-line trips on the tracks day: three
  clean (loading, a traffic light, a queue at the 消纳场 gate, unloading) and three with one planted
  violation each (偷倒/乱倒, 未按核准路线, 夜间/限时禁行), listed in dataset_meta under key `managed`.
- 评价样本点位: points of the fourteen kinds, from the district's own features where it has them.

Deterministic for a seed (numpy Generator [seed, 16]); the shops' records are relative to the load
time, so 今日收运 is never empty on a fresh demo.
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import orjson
import psycopg
import shapely

from gis.catalog.vocab import SAMPLE_KINDS

N_SHOPS = 10_000
BUSINESSES = ["餐饮", "零售", "便利店", "理发美容", "水果生鲜", "五金建材", "服装", "药店", "维修", "烟酒"]
FLEET_GROUP = "渣土车队（核准）"
M_LAT = 1 / 110_940.0


def _m_lon(lat: float) -> float:
    return 1 / (111_320.0 * math.cos(math.radians(lat)))


def _copy(conn: psycopg.Connection, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)


def build_shops(conn: psycopg.Connection, rng: np.random.Generator, tz: ZoneInfo) -> dict[str, Any]:
    street = conn.execute(
        """SELECT d.subdis_code, count(*) FROM doorplates d JOIN work_grids w
               ON w.kind = 'cityscape_responsibility' AND ST_DWithin(w.geom, d.geom, 0.0003)
           WHERE d.subdis_code IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1""").fetchone()
    if street is None:
        return {}
    code = street[0]
    plates = conn.execute(
        """SELECT d.add_name, ST_X(d.geom), ST_Y(d.geom),
                  EXISTS (SELECT 1 FROM work_grids w WHERE w.kind = 'cityscape_responsibility'
                          AND ST_DWithin(w.geom, d.geom, 0.0003)) AS frontage
           FROM doorplates d WHERE d.subdis_code = %s ORDER BY d.add_id""", (code,)).fetchall()
    front = [p for p in plates if p[3]]
    other = [p for p in plates if not p[3]] or front
    k_front = int(N_SHOPS * 0.75)
    pick = [front[i] for i in rng.integers(0, len(front), k_front)] + \
           [other[i] for i in rng.integers(0, len(other), N_SHOPS - k_front)]
    lat0 = pick[0][2]
    jx = rng.uniform(-6, 6, N_SHOPS) * _m_lon(lat0)
    jy = rng.uniform(-6, 6, N_SHOPS) * M_LAT
    biz = rng.choice(BUSINESSES, N_SHOPS)
    rows = []
    for i, (addr, x, y, _) in enumerate(pick):
        name = f"{addr.split('号')[0][-6:]}{biz[i]}{i % 97 + 1}号店"
        rows.append((f"{code}SP{i + 1:05d}", name, str(biz[i]), addr, code, "doorplate", 1.0,
                     f"SRID=4490;POINT({x + jx[i]:.8f} {y + jy[i]:.8f})"))
    _copy(conn, "shops", ["code", "name", "business", "address", "street_code", "match_level", "confidence", "geom"],
          rows)
    ids = np.array([r[0] for r in conn.execute("SELECT id FROM shops ORDER BY id")])
    now = datetime.now(tz)
    today = now.date()
    coll = []
    for back in range(7):
        day = today - timedelta(days=back)
        hit = ids[rng.random(len(ids)) < 0.85]
        minutes = rng.integers(6 * 60, 22 * 60, len(hit))
        kg = np.round(rng.gamma(2.0, 6.0, len(hit)), 1)
        for sid, m, w in zip(hit.tolist(), minutes.tolist(), kg.tolist(), strict=True):
            ts = datetime.combine(day, time(0), tzinfo=tz) + timedelta(minutes=m)
            if ts < now:
                coll.append((sid, ts, "kitchen" if w > 10 else "residual", w, "收运员"))
    conn.execute("CREATE TEMP TABLE _coll (shop_id bigint, ts timestamptz, waste_kind text, weight_kg float8, "
                 "collector text) ON COMMIT DROP")
    _copy(conn, "_coll", ["shop_id", "ts", "waste_kind", "weight_kg", "collector"], coll)
    conn.execute("INSERT INTO shop_collections (shop_id, ts, waste_kind, weight_kg, collector, geom) "
                 "SELECT c.shop_id, c.ts, c.waste_kind, c.weight_kg, c.collector, s.geom FROM _coll c "
                 "JOIN shops s ON s.id = c.shop_id")
    ev_ids = ids[rng.random(len(ids)) < 0.3]
    results = rng.choice(["pass", "warn", "fail"], len(ev_ids), p=[0.8, 0.12, 0.08])
    ages = rng.integers(1, 30 * 24 * 60, len(ev_ids))
    _copy(conn, "shop_evaluations", ["shop_id", "ts", "result", "inspector"],
          [(s, now - timedelta(minutes=int(a)), str(r), "市容督查员")
           for s, r, a in zip(ev_ids.tolist(), results, ages.tolist(), strict=True)])
    return {"street": code, "shops": N_SHOPS, "collections": len(coll), "evaluations": len(ev_ids)}


def _pt(x: float, y: float) -> str:
    return f"SRID=4490;POINT({x:.8f} {y:.8f})"


def build_muck(conn: psycopg.Connection, rng: np.random.Generator, day: date, tz: ZoneInfo) -> dict[str, Any]:
    """Sites, six permitted trucks and their trips on `day`; fences synced; planted violations listed.

    The trips run from the 工地 nearest the district's centre towards it, over a length L (3 km, shorter
    in a small test district) chosen so that every fix stays inside the district."""
    from gis.fences import store
    from gis.muck import fences as muck_fences
    from gis.muck import permits as muck_permits
    from gis.tracks.ingest import ingest

    conn.execute("DELETE FROM cw_sites")
    gd = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM components WHERE name = '工地' ORDER BY id LIMIT 12"
                      ).fetchall()
    district = conn.execute("SELECT ST_AsBinary(geom), ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom)) "
                            "FROM admin_areas WHERE level = 'district' LIMIT 1").fetchone()
    if len(gd) < 3 or district is None:
        return {}
    area = shapely.from_wkb(district[0])
    cx, cy = district[1], district[2]
    ml = _m_lon(cy)
    origin = min(range(len(gd)), key=lambda i: ((gd[i][0] - cx) / ml) ** 2 + ((gd[i][1] - cy) / M_LAT) ** 2)
    x0, y0 = gd[origin]
    ux, uy = (cx - x0) / ml, (cy - y0) / M_LAT
    norm = math.hypot(ux, uy) or 1.0
    ux, uy = ux / norm, uy / norm

    def at(e: float, n: float) -> tuple[float, float]:
        """Metres along (e) and to the left of (n) the trip's direction, as lon/lat."""
        return x0 + (e * ux - n * uy) * ml, y0 + (e * uy + n * ux) * M_LAT

    def still(e: float, n: float, count: int) -> list[tuple[float, float]]:
        return [(e + float(a), n + float(b)) for a, b in rng.uniform(-6, 6, (count, 2))]

    def leg(e0: float, e1: float, n: float = 0.0) -> list[tuple[float, float]]:
        steps = max(1, int(abs(e1 - e0) // 250))
        return [(e0 + (e1 - e0) * k / steps, n) for k in range(1, steps + 1)]

    def plan(L: float) -> dict[str, tuple[int, list[tuple[float, float]]]]:
        clean = (still(0, 0, 30) + leg(0, L / 2) + still(L / 2, 0, 3) + leg(L / 2, L - 200)
                 + [(L - 200 + k, 0) for k in range(20)] + leg(L - 200, L) + still(L, 0, 20) + leg(L, 0))
        side = min(400.0, L / 5)
        detour = [(0.35 * L, 0.4 * side), (0.4 * L, 0.9 * side), (0.45 * L, side), (0.5 * L, side),
                  (0.55 * L, 0.9 * side), (0.6 * L, 0.4 * side)]
        return {
            "ZT01": (22, clean), "ZT02": (23, clean), "ZT03": (1, clean),
            "ZT04": (2, still(0, 0, 10) + leg(0, 0.4 * L) + still(0.4 * L, 0, 30) + leg(0.4 * L, L)
                     + still(L, 0, 10)),
            "ZT05": (3, still(0, 0, 10) + leg(0, 0.3 * L) + detour + leg(0.6 * L, L)),
            "ZT06": (10, [(-100 + k * (L + 200) / 15, 1.5 * side) for k in range(16)] + [(L, 2.5 * side)] * 3),
        }

    for L in (3000.0, 2400.0, 1800.0, 1400.0, 1000.0, 700.0):
        trips = plan(L)
        pts = [at(e, n) for _, (_, p) in trips.items() for e, n in p]
        if shapely.contains_xy(area, [p[0] for p in pts], [p[1] for p in pts]).all():
            break
    side = min(400.0, L / 5)
    rows = [(f"GD{k:03d}", f"建设工地{k}号", "construction_site", day - timedelta(days=90),
             day + timedelta(days=270), "XN001" if k == origin + 1 or k % 2 else "XN002", None, _pt(x, y))
            for k, (x, y) in enumerate(gd, start=1)]
    for k, (e, n) in enumerate(((L, 0.0), (L, -3 * side), (0.5 * L, -3 * side)), start=1):
        x, y = at(e, n)
        dx, dy = 100 * ml, 100 * M_LAT
        ring = ",".join(f"{x + sx * dx} {y + sy * dy}" for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)))
        rows.append((f"XN{k:03d}", f"建筑垃圾消纳场{k}号", "disposal_site", None, None, None,
                     f"SRID=4490;MULTIPOLYGON((({ring})))", _pt(x, y)))
    for code, name, kind, (e, n) in (("MT001", "渣土中转码头", "wharf", (-0.3 * L, -side)),
                                     ("ZZ001", "建筑垃圾中转调配厂", "transfer_yard", (0.2 * L, -2 * side)),
                                     ("TC001", "渣土车停车场", "parking", (-0.2 * L, 0.0))):
        rows.append((code, name, kind, None, None, None, None, _pt(*at(e, n))))
    rows.sort(key=lambda r: r[2] != "disposal_site")  # a 工地's registered 消纳场 first
    for r in rows:
        conn.execute("INSERT INTO cw_sites (code, name, kind, permit_from, permit_to, disposal_code, area, geom) "
                     "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", r)
    trucks = [f"ZT{k:02d}" for k in range(1, 7)]
    for k, t in enumerate(trucks, start=1):
        conn.execute("INSERT INTO vehicles (id, plate, kind, vehicle_group, operator) VALUES "
                     "(%s, %s, 'muck', %s, '上海淞沪建筑垃圾运输有限公司') ON CONFLICT (id) DO NOTHING",
                     (t, f"沪D·Z{k:04d}", FLEET_GROUP))
    site = f"GD{origin + 1:03d}"
    route = {"type": "LineString", "coordinates": [list(at(0, 0)), list(at(L, 0))]}
    for k, t in enumerate(trucks[:5], start=1):
        muck_permits.create(conn, {"code": f"HZ{day:%Y}-{k:03d}", "vehicle_id": t, "site": site,
                                   "disposal": "XN001", "valid_from": (day - timedelta(days=30)).isoformat(),
                                   "valid_to": (day + timedelta(days=60)).isoformat(), "corridor_m": 60,
                                   "route": route, "crs": "EPSG:4490"}, today=day)
    # 限时禁行: a road beside the route, forbidden to the 核准 fleet 07:00–20:00.
    store.create(conn, {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
        list(at(-200, 1.5 * side)), list(at(L + 200, 1.5 * side))]}, "properties": {
        "kind": "forbidden", "alarm_kind": "restricted_hours", "name": "限时禁行路段（渣土车 07:00-20:00）",
        "width_m": 30, "vehicle_groups": [FLEET_GROUP], "schedule": {"hours": ["07:00-20:00"]}}})
    muck_fences.sync(conn, day)
    fixes = []
    starts = {}
    for t, (hour, pts) in trips.items():
        t0 = datetime.combine(day, time(hour), tzinfo=tz)
        starts[t] = t0
        for i, (e, n) in enumerate(pts):
            x, y = at(e, n)
            fixes.append({"vehicle_id": t, "ts": (t0 + timedelta(seconds=30 * i)).isoformat(), "lon": x, "lat": y})
    conn.commit()
    ingest(conn, orjson.dumps(fixes))
    planted = [
        {"vehicle_id": "ZT04", "kind": "illegal_dumping", "label": "偷倒/乱倒", "at": starts["ZT04"].isoformat(),
         "what": f"15 min stop on the route {0.4 * L:.0f} m from the 工地"},
        {"vehicle_id": "ZT05", "kind": "unapproved_route", "label": "未按核准路线", "at": starts["ZT05"].isoformat(),
         "what": f"{side:.0f} m detour off the permit corridor"},
        {"vehicle_id": "ZT06", "kind": "restricted_hours", "label": "夜间/限时禁行",
         "at": starts["ZT06"].isoformat(), "what": "drives the 07:00–20:00 restricted road at 10:00 (no permit)"},
    ]
    return {"sites": len(rows), "site": site, "disposal": "XN001", "trip_m": L, "trucks": trucks,
            "clean_trips": ["ZT01", "ZT02", "ZT03"], "planted": planted}


def build_samples(conn: psycopg.Connection, rng: np.random.Generator) -> int:
    """Points of the fourteen kinds (about 20 each), taken from the district's own features."""
    mid = "ST_X(ST_LineInterpolatePoint(geom, 0.5)), ST_Y(ST_LineInterpolatePoint(geom, 0.5))"
    pt = "ST_X(geom), ST_Y(geom)"
    surface = "ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
    sources = {
        "main_road": f"SELECT name, {mid} FROM streets WHERE str_id LIKE '%%S%%' ORDER BY id",
        "back_street": f"SELECT name, {mid} FROM streets WHERE str_id LIKE '%%L%%' ORDER BY id",
        "residential": f"SELECT name, {surface} FROM zones ORDER BY zone_id",
        "market": f"SELECT name, {pt} FROM pois WHERE category = '菜市场' ORDER BY poi_id",
        "public_toilet": f"SELECT name, {pt} FROM waste_facilities WHERE kind = 'public_toilet' ORDER BY id",
        "collection_point": f"SELECT name, {pt} FROM waste_facilities "
                            "WHERE kind IN ('collection_point', 'collection_station') ORDER BY id",
        "transfer_station": f"SELECT name, {pt} FROM waste_facilities WHERE kind = 'transfer_station' ORDER BY id",
        "construction_site": f"SELECT name, {pt} FROM cw_sites WHERE kind = 'construction_site' ORDER BY id",
        "park_square": f"SELECT name, {pt} FROM pois WHERE category = '公园' ORDER BY poi_id",
        "transport_hub": f"SELECT name, {pt} FROM pois WHERE category IN ('地铁站', '公交车站') ORDER BY poi_id",
        "school_hospital": f"SELECT name, {pt} FROM pois WHERE category IN ('学校', '医院') ORDER BY poi_id",
        "commercial_street": f"SELECT name, {pt} FROM pois WHERE category = '购物' ORDER BY poi_id",
    }
    fallback = "SELECT add_name, ST_X(geom), ST_Y(geom) FROM doorplates ORDER BY add_id"
    rows = []
    for kind in SAMPLE_KINDS.labels:
        found = conn.execute(sources.get(kind, fallback)).fetchall() or conn.execute(fallback).fetchall()
        if not found:
            continue
        take = rng.choice(len(found), min(20, len(found)), replace=False)
        for k, i in enumerate(sorted(take.tolist()), start=1):
            name, x, y = found[i]
            label = SAMPLE_KINDS.labels[kind]
            nm = name if kind in sources else f"{label}{k}号点位（{name}附近）"
            rows.append((f"YB{kind[:3].upper()}{k:03d}{list(SAMPLE_KINDS.labels).index(kind):02d}", nm, kind,
                         30.0 if kind in ("public_toilet", "collection_point") else 50.0, _pt(x, y)))
    conn.execute("DELETE FROM eval_sample_points")
    _copy(conn, "eval_sample_points", ["code", "name", "kind", "radius_m", "geom"], rows)
    return len(rows)


def load_managed(conn: psycopg.Connection, seed: int, day: date, tz_name: str) -> dict[str, Any]:
    """Builds the three groups and records what was planted under dataset_meta key `managed`."""
    tz = ZoneInfo(tz_name)
    rng = np.random.default_rng([seed, 16])
    with conn.transaction():
        shops = build_shops(conn, rng, tz)
    conn.commit()
    muck = build_muck(conn, rng, day, tz)
    with conn.transaction():
        samples = build_samples(conn, rng)
        meta = {"shops": shops, "muck": muck, "eval_sample_points": samples}
        conn.execute("UPDATE dataset_meta SET value = value || jsonb_build_object('managed', %s::jsonb) "
                     "WHERE key = 'demo'", (orjson.dumps(meta).decode(),))
    conn.commit()
    return meta


