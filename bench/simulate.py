"""Fleet simulator: replays the demo district's vehicles along their routes through the HTTP ingest.

It copies what it needs (vehicles, routes with their stops) from the main `citygrid` database into a
throwaway database (never writing fences or positions to the main one), starts a server on it, sets
up 1,000 fences (a corridor per vehicle, a stop fence per route stop, one district area with a speed
and a dwell limit, forbidden zones away from the routes), then drives all 200 vehicles along the
demo routes at ~30 km/h with ±10 m GPS noise, one fix per second, dwelling 90 s at each stop.

Six vehicles carry injected violations: a detour (off_route), speeding (overspeed), entering a
forbidden zone (forbidden), a 15-minute stop (illegal_stay), a skipped stop (missed_stop) and a
15-minute signal loss (signal_timeout). Printed: recall per kind (goal 100 %), false alarms on clean
driving (goal 0), sustained ingest + evaluation rate (goal ≥ 50,000 fixes/s), and the ingest-to-SSE
latency of alarms (goal p95 ≤ 1 s).

    .venv/bin/python bench/simulate.py [--hours-ago 3] [--batch 10000] [--keep-db]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import orjson
import psycopg
import shapely
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.harness import server  # noqa: E402
from gis import crs as gcrs  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.databases import create_database, drop_database  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402
from gis.fences.geometry import metric_crs  # noqa: E402

SPEED_MS = 30 / 3.6
STOP_DWELL_S = 90
NOISE_M = 10.0
TZ = ZoneInfo("Asia/Shanghai")
INJECTED = ["off_route", "overspeed", "forbidden", "illegal_stay", "missed_stop", "signal_timeout"]


def make_db(main_url: str) -> str:
    _, url = create_database(main_url, prefix="citygrid_sim")
    migrate.upgrade(url)
    seed_reference_data(url)
    with psycopg.connect(main_url) as src, psycopg.connect(url, autocommit=True) as dst:
        vehicles = src.execute("SELECT id, plate, kind, vehicle_group FROM vehicles ORDER BY id").fetchall()
        with dst.cursor() as cur:
            cur.executemany("INSERT INTO vehicles (id, plate, kind, vehicle_group) VALUES (%s, %s, %s, %s)", vehicles)
        routes = src.execute("""SELECT id, name, vehicle_id, stops, ST_AsBinary(geom) FROM routes
                                WHERE jsonb_array_length(stops) > 1 ORDER BY id""").fetchall()
    return url, vehicles, routes


class Plan:
    """One vehicle's drive: a polyline in metres (local GK zone), the stops as distances along it."""

    def __init__(self, vid: str, line_m: shapely.LineString, stops: list[dict], to_ll, from_ll):
        self.vid, self.line, self.to_ll = vid, line_m, to_ll
        self.stops = []
        for s in stops:
            x, y = from_ll(s["lon"], s["lat"])
            self.stops.append({"name": s["name"], "d": float(line_m.project(shapely.Point(x, y))), "lon": s["lon"],
                               "lat": s["lat"]})
        self.stops.sort(key=lambda s: s["d"])
        self.skip: int | None = None
        self.long_stop_at: float | None = None    # distance along where it stops for 15 min
        self.silent: tuple[float, float] | None = None   # (distance from, to) without fixes
        self.detour: tuple[float, None] | None = None    # where it turns off the road for 3 minutes
        self.speeding: tuple[float, float] | None = None

    def timeline(self, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[int, float]]]:
        """(ts, x, y, speed) per second, and the arrival time at each stop."""
        ts, ds, spd = [], [], []
        off: list[float] = []
        detoured = False
        t, d = t0, 0.0
        arrivals = []
        stop_i = 0
        length = self.line.length
        while d < length:
            while stop_i < len(self.stops) and self.stops[stop_i]["d"] <= d:
                arrivals.append((stop_i, t))
                if stop_i != self.skip:
                    for _ in range(STOP_DWELL_S):
                        ts.append(t), ds.append(self.stops[stop_i]["d"]), spd.append(0.0), off.append(0.0)
                        t += 1
                stop_i += 1
            if self.detour is not None and d >= self.detour[0] and not detoured:
                # Turns off the road: 200 m straight out in a minute, a minute there, a minute back.
                for k in range(180):
                    ts.append(t), ds.append(d), spd.append(12.0 if k < 60 or k >= 120 else 0.0)
                    off.append(200.0 * min(k / 60, 1.0, (180 - k) / 60))
                    t += 1
                detoured = True
            if self.long_stop_at is not None and d >= self.long_stop_at:
                for _ in range(900):
                    ts.append(t), ds.append(d), spd.append(0.0), off.append(0.0)
                    t += 1
                self.long_stop_at = None
            v = SPEED_MS * (85 / 30 if self.speeding and self.speeding[0] <= d <= self.speeding[1] else 1.0)
            ts.append(t), ds.append(d), spd.append(v * 3.6), off.append(0.0)
            t += 1
            d += v
        ds_a = np.array(ds)
        pts = shapely.line_interpolate_point(self.line, ds_a)
        x, y = shapely.get_x(pts), shapely.get_y(pts)
        if self.detour:
            p0, p1 = shapely.line_interpolate_point(self.line, [self.detour[0], self.detour[0] + 50])
            dx, dy = p1.x - p0.x, p1.y - p0.y
            n = math.hypot(dx, dy) + 1e-9
            lateral = np.array(off)
            x += -dy / n * lateral
            y += dx / n * lateral
        keep = np.ones(len(ts), dtype=bool)
        if self.silent:
            a, b = self.silent
            keep = ~((ds_a > a) & (ds_a < b))
        return np.array(ts)[keep], x[keep], y[keep], np.array(spd)[keep], arrivals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours-ago", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--forbidden", type=int, default=300)
    ap.add_argument("--keep-db", action="store_true")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--muck", action="store_true", help="Add the muck-truck fences of issue 16 on top: one "
                    "偷倒/乱倒 sites fence for every vehicle, a 未按核准路线 corridor per vehicle and 20 "
                    "夜间/限时禁行 roads")
    args = ap.parse_args()
    rnd = random.Random(args.seed)
    main_url = database_url()
    print("copying vehicles and routes from", make_url(main_url).database, "into a throwaway database …")
    url, vehicles, routes = make_db(main_url)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            from gis.security.keys import create_key
            _, key = create_key(conn, "simulator", "admin")
        with server(url) as base:
            run(base, key, vehicles, routes, rnd, args)
    finally:
        if not args.keep_db:
            drop_database(make_url(main_url).set(database="postgres").render_as_string(hide_password=False), url)


def run(base: str, key: str, vehicles, routes, rnd: random.Random, args) -> None:
    h = {"X-API-Key": key}
    client = httpx.Client(base_url=base, timeout=120, headers=h)
    lines_ll = [shapely.from_wkb(r[4]) for r in routes]
    c = shapely.union_all(lines_ll).centroid
    metric = metric_crs(c.x, c.y)

    def from_ll(lon, lat):
        x, y = gcrs.transform([lon], [lat], gcrs.STORAGE, metric)
        return float(x[0]), float(y[0])

    def to_ll(x, y):
        return gcrs.transform(x, y, metric, gcrs.STORAGE)

    lines_m = [gcrs.transform_geometry(g, gcrs.STORAGE, metric) for g in lines_ll]
    vids = [v[0] for v in vehicles]
    route_vehicle = {r[2] for r in routes}
    plans = []
    for i, vid in enumerate(vids):
        r = next((k for k, rr in enumerate(routes) if rr[2] == vid), None)
        if r is None:
            r = i % len(routes)
            plan = Plan(vid, lines_m[r], [], to_ll, from_ll)
        else:
            plan = Plan(vid, lines_m[r], routes[r][3], to_ll, from_ll)
        plan.route_index = r
        plans.append(plan)
    with_stops = [p for p in plans if len(p.stops) >= 3 and p.vid in route_vehicle]
    inj = dict(zip(INJECTED, rnd.sample(with_stops, len(INJECTED)), strict=True))
    L = lambda p: p.line.length  # noqa: E731
    inj["off_route"].detour = (0.40 * L(inj["off_route"]), None)
    p = inj["overspeed"]   # two minutes at 85 km/h, in its longest stretch without a stop
    marks = [0.0] + [s["d"] for s in p.stops] + [L(p)]
    a, _ = max(itertools.pairwise(marks), key=lambda ab: ab[1] - ab[0])
    p.speeding = (a + 200, a + 200 + 2 * 60 * SPEED_MS * 85 / 30)
    inj["illegal_stay"].long_stop_at = 0.55 * L(inj["illegal_stay"])
    inj["missed_stop"].skip = 1
    # Signal loss: 15 minutes of driving inside the longest stretch without a stop.
    p = inj["signal_timeout"]
    marks = [0.0] + [s["d"] for s in p.stops] + [L(p)]
    a, b = max(itertools.pairwise(marks), key=lambda ab: ab[1] - ab[0])
    p.silent = (a + 200, min(a + 200 + 15 * 60 * SPEED_MS, b - 200))
    # Forbidden entry: a 700 m square on that vehicle's own line, forbidden to it only.
    pf = inj["forbidden"]
    for frac in (0.65, 0.5, 0.35, 0.8, 0.2, 0.72, 0.58, 0.42, 0.28):   # where the route passes only once
        fz = shapely.line_interpolate_point(pf.line, frac * L(pf)).buffer(350, cap_style="square")
        if len(shapely.get_parts(shapely.line_merge(shapely.intersection(pf.line, fz)))) == 1:
            break

    t0 = (datetime.now(UTC) - timedelta(hours=args.hours_ago)).timestamp()
    t0 = float(int(t0))
    fixes = []   # (ts, vid, x, y, speed)
    windows = {}
    for p in plans:
        start = t0 + rnd.uniform(0, 300)
        ts, x, y, spd, arrivals = p.timeline(start)
        ang = np.array([rnd.uniform(0, 2 * math.pi) for _ in range(len(ts))])
        rad = NOISE_M * np.sqrt(np.array([rnd.random() for _ in range(len(ts))]))
        x, y = x + rad * np.cos(ang), y + rad * np.sin(ang)
        lon, lat = to_ll(x, y)
        fixes.append((ts, p.vid, lon, lat, spd))
        windows[p.vid] = arrivals
    # Fences: corridor per vehicle, stop fences with windows around the planned arrival, one area.
    features = []
    all_ids = vids
    for p in plans:
        line_ll = gcrs.transform_geometry(p.line, metric, gcrs.STORAGE)
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(line_ll)),
                         "properties": {"kind": "corridor", "buffer_m": 30, "vehicles": [p.vid], "crs": "EPSG:4490"}})
        for i, s in enumerate(p.stops):
            arr = dict(windows[p.vid]).get(i)
            if arr is None:
                continue
            a = datetime.fromtimestamp(arr - 600, TZ)
            b = datetime.fromtimestamp(arr + 1800, TZ)
            features.append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                             "properties": {"kind": "stop", "radius_m": 30, "dwell_s": 60, "vehicles": [p.vid],
                                            "crs": "EPSG:4490", "name": s["name"],
                                            "windows": [f"{a:%H:%M}-{b:%H:%M}"]}})
    area = shapely.union_all(lines_ll).envelope.buffer(0.05)
    features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(area)),
                     "properties": {"kind": "area", "vehicles": all_ids, "speed_limit_kmh": 60, "dwell_limit_s": 600}})
    features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(
        gcrs.transform_geometry(fz, metric, gcrs.STORAGE))), "properties": {"kind": "forbidden",
                                                                            "vehicles": [pf.vid]}})
    # Forbidden zones away from every route, for everyone: up to 1,000 fences in all.
    union_m = shapely.union_all(lines_m).buffer(400)
    minx, miny, maxx, maxy = union_m.bounds
    n_forbidden = max(0, 1000 - len(features))
    placed = 0
    while placed < n_forbidden:
        px, py = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
        sq = shapely.Point(px, py).buffer(60, cap_style="square")
        if sq.intersects(union_m):
            continue
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(
            gcrs.transform_geometry(sq, metric, gcrs.STORAGE))), "properties": {"kind": "forbidden",
                                                                                "vehicles": all_ids}})
        placed += 1
    if args.muck:
        # 偷倒/乱倒: every route stop is a "registered site" (300 m with its gate); stops elsewhere > 10 min.
        sites = shapely.union_all([shapely.Point(s["lon"], s["lat"]).buffer(0.003) for p in plans for s in p.stops])
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(sites)),
                         "properties": {"kind": "area", "alarm_kind": "illegal_dumping", "vehicles": all_ids,
                                        "dwell_limit_s": 600}})
        for p in plans:
            line_ll = gcrs.transform_geometry(p.line, metric, gcrs.STORAGE)
            features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(line_ll)),
                             "properties": {"kind": "corridor", "alarm_kind": "unapproved_route", "buffer_m": 60,
                                            "vehicles": [p.vid], "crs": "EPSG:4490"}})
        for _ in range(20):
            while True:
                px, py = rnd.uniform(minx, maxx), rnd.uniform(miny, maxy)
                road = shapely.LineString([(px, py), (px + 800, py)]).buffer(15)
                if not road.intersects(union_m):
                    break
            features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(
                gcrs.transform_geometry(road, metric, gcrs.STORAGE))), "properties": {
                "kind": "forbidden", "alarm_kind": "restricted_hours", "vehicles": all_ids,
                "schedule": {"hours": ["00:00-23:59"]}}})
    t = time.perf_counter()
    for f in features:
        r = client.post("/api/fences", json=f)
        assert r.status_code == 201, r.text
    print(f"fences: {len(features)} created in {time.perf_counter() - t:.1f} s "
          f"({sum(f['properties']['kind'] == 'stop' for f in features)} stops)")
    # Merge all fixes in time order, batch them, pre-serialise.
    ts = np.concatenate([f[0] for f in fixes])
    vid = np.concatenate([[f[1]] * len(f[0]) for f in fixes])
    lon = np.concatenate([f[2] for f in fixes])
    lat = np.concatenate([f[3] for f in fixes])
    spd = np.concatenate([f[4] for f in fixes])
    order = np.argsort(ts, kind="stable")
    ts, vid, lon, lat, spd = ts[order], vid[order], lon[order], lat[order], spd[order]
    iso = [datetime.fromtimestamp(t_, UTC).isoformat() for t_ in ts.tolist()]
    bodies = []
    for a in range(0, len(ts), args.batch):
        sl = slice(a, a + args.batch)
        bodies.append(orjson.dumps([{"vehicle_id": v, "ts": s, "lon": x, "lat": y,
                                     "speed_kmh": round(k + rnd.uniform(-1, 1), 1) if k else 0.0}
                                    for v, s, x, y, k in zip(vid[sl].tolist(), iso[sl], lon[sl].tolist(),
                                                             lat[sl].tolist(), spd[sl].tolist(), strict=True)]))
    print(f"fixes: {len(ts):,} from {len(plans)} vehicles in {len(bodies)} batches of ≤ {args.batch:,}")
    # SSE listener.
    received: dict[int, float] = {}
    events: list[dict] = []
    stop = threading.Event()

    def listen():
        try:
            with httpx.Client(timeout=None) as c, c.stream("GET", f"{base}/api/alarms/stream") as r:
                for raw in r.iter_lines():
                    if raw.startswith("data:"):
                        e = orjson.loads(raw[5:])
                        received[e["event_id"]] = time.perf_counter()
                        events.append(e)
                    if stop.is_set():
                        return
        except httpx.HTTPError:
            return  # the server is shutting down

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    time.sleep(0.5)
    sent_at: dict[int, float] = {}
    accepted = rejected = 0
    reasons: dict[str, int] = {}
    t_start = time.perf_counter()
    for body in bodies:
        t_send = time.perf_counter()
        r = client.post("/api/positions", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        ans = r.json()
        accepted += ans["accepted"]
        rejected += ans["rejected"]
        for k, v in ans["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
        if ans["errors"] and os.environ.get("SIM_DEBUG"):
            print("   rejected:", ans["errors"][:3])
        for eid in ans["event_ids"]:
            sent_at[eid] = t_send
    elapsed = time.perf_counter() - t_start
    time.sleep(1.5)
    stop.set()
    alarms = client.get("/api/alarms", params={"limit": 10000}).json()["alarms"]
    found = {(a["vehicle_id"], a["kind"]) for a in alarms}
    print(f"\ningest + evaluation: {accepted:,} accepted, {rejected:,} rejected in {elapsed:.1f} s "
          f"= {accepted / elapsed:,.0f} fixes/s ({len(plans)} vehicles, {len(features)} fences, one server process)")
    if reasons:
        print(f"  rejections: {reasons}")
    print("\nrecall per injected kind:")
    hits = 0
    for kind, p in inj.items():
        ok = (p.vid, kind) in found
        hits += ok
        print(f"  {kind:15s} {p.vid:10s} {'detected' if ok else 'MISSED'}")
    print(f"  recall: {hits}/{len(inj)} = {100 * hits / len(inj):.0f} %")
    expected = {(p.vid, k) for k, p in inj.items()}
    false = [a for a in alarms if (a["vehicle_id"], a["kind"]) not in expected]
    extra = [a for a in alarms if (a["vehicle_id"], a["kind"]) in expected]
    print(f"false alarms on clean driving: {len(false)} (of {len(alarms)} alarms)")
    by_pair: dict[tuple[str, str], int] = {}
    for a in extra:
        by_pair[(a["vehicle_id"], a["kind"])] = by_pair.get((a["vehicle_id"], a["kind"]), 0) + 1
    print("alarms per injected violation (goal: one each): "
          + ", ".join(f"{k}={by_pair.get((p.vid, k), 0)}" for k, p in inj.items()))
    for a in extra:
        if by_pair[(a["vehicle_id"], a["kind"])] > 1:
            print("   ", a["vehicle_id"], a["kind"], a["fence_id"], a["start"], a["end"], a["max_value"], a["details"])
    for a in false[:10]:
        print("   ", a["vehicle_id"], a["kind"], a["fence_id"], a["start"], a["end"], a["max_value"], a["details"])
    lat_ms = sorted((received[e] - sent_at[e]) * 1000 for e in sent_at if e in received)
    if lat_ms:
        p95 = lat_ms[min(len(lat_ms) - 1, math.ceil(0.95 * len(lat_ms)) - 1)]
        print(f"ingest-to-SSE latency over {len(lat_ms)} events: p50 {lat_ms[len(lat_ms) // 2]:.0f} ms, "
              f"p95 {p95:.0f} ms, max {lat_ms[-1]:.0f} ms (from sending the batch to receiving the event)")
    else:
        print("ingest-to-SSE latency: no events received")


if __name__ == "__main__":
    main()
