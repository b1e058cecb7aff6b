"""Demo cameras and IoT devices: cameras at most drop points and compound gates and along main roads
(some offline), and the five kinds of IoT terminal with a day of readings and their latest state.

Cameras face what they watch: a drop-point camera stands ~12 m away looking at the bin room, a gate camera
just inside the compound looking out through the gate, a road camera beside a trunk road looking along it
(domes at some junctions see all round). GB/T 28181 codes: district 6 + unit `00` + industry `08` + type
(`132` IPC device, `131` camera channel) + network `0` + a 6-digit sequence.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely

from gis import crs as gcrs
from gis.demo import names
from gis.demo.addresses import Addresses
from gis.demo.lattice import METRIC, District
from gis.demo.locate import CellLocator
from gis.demo.roads import Roads, along
from gis.demo.table import Table

VIDEO_BASE = "https://vss.demo.citygrid.invalid"
OFFLINE_SHARE = 0.08


def gb28181(kind: str, seq: int) -> str:
    """A 20-digit GB/T 28181 code of this district: `device` (type 132) or `channel` (type 131)."""
    return f"{names.DISTRICT_CODE}0008{'132' if kind == 'device' else '131'}0{seq:06d}"


def _bearing(dx: float, dy: float) -> float:
    """Degrees clockwise from north of a metric vector (east, north)."""
    return round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)


def build_cameras(d: District, r: Roads, loc: CellLocator, a: Addresses, fac: Table, end: datetime) -> Table:
    rng = np.random.default_rng([d.seed, 15])
    rows: list[dict] = []

    def add(x_m: float, y_m: float, direction: float, kind: str, fov: float, rng_m: float, name: str,
            watches: tuple[str | None, str | None]) -> None:
        rows.append({"xm": x_m, "ym": y_m, "dir": direction % 360.0, "kind": kind, "fov": fov, "range": rng_m,
                     "name": name, "watches": watches})

    # drop points: ~85 % have a camera 10-14 m away looking at them (a third are AI cameras: 乱扔, 满溢)
    fx, fy = np.array([g.x for g in fac.columns["geom"]]), np.array([g.y for g in fac.columns["geom"]])
    mx, my = gcrs.transform(fx, fy, "EPSG:4490", METRIC)
    for k, kind in enumerate(fac.columns["kind"]):
        if kind != "drop_point" or rng.random() > 0.85:
            continue
        ang = rng.uniform(0, 2 * math.pi)
        dist = rng.uniform(10, 14)
        cx, cy = mx[k] + dist * math.sin(ang), my[k] + dist * math.cos(ang)
        add(cx, cy, _bearing(mx[k] - cx, my[k] - cy), "ai" if rng.random() < 0.35 else "bullet",
            float(rng.choice([60.0, 75.0, 90.0])), float(rng.uniform(25, 45)), f"{fac.columns['name'][k]}监控",
            ("drop_point", fac.columns["code"][k]))
    # compound gates: ~70 %, 4 m inside, looking out through the gate
    for comp in a.compounds:
        if rng.random() > 0.7:
            continue
        ix, iy = comp.inward_m
        gx, gy = comp.gate_m[0] + ix * 4.0, comp.gate_m[1] + iy * 4.0
        add(gx, gy, _bearing(-ix, -iy), "half_dome" if rng.random() < 0.3 else "bullet", 80.0,
            float(rng.uniform(20, 35)), f"{comp.name}大门监控", ("compound", comp.zone_id))
    # trunk roads: a camera every ~350 m, looking along the road; on every third segment the first is a dome
    trunk_seen = 0
    for s in range(r.n):
        road = r.roads[int(r.seg_road[s])]
        if not road.trunk:
            continue
        trunk_seen += 1
        n = max(1, int(r.seg_len_m[s] // 350))
        for j in range(n):
            f = (j + 0.5) / n
            x, y = along(r.seg_ll[np.array([s])], np.array([f]), np.array([6.0]))
            x2, y2 = along(r.seg_ll[np.array([s])], np.array([min(1.0, f + 0.05)]), np.array([6.0]))
            (ax, bx), (ay, by) = gcrs.transform([x[0], x2[0]], [y[0], y2[0]], "EPSG:4490", METRIC)
            dome = j == 0 and trunk_seen % 3 == 0
            add(ax, ay, _bearing(bx - ax, by - ay), "dome" if dome else "bullet", 360.0 if dome else 50.0,
                float(rng.uniform(60, 90)) if dome else float(rng.uniform(80, 120)),
                f"{road.name}道路监控{s}-{j + 1}", ("road", road.name))
    n = len(rows)
    lon, lat = gcrs.transform([q["xm"] for q in rows], [q["ym"] for q in rows], METRIC, "EPSG:4490")
    cells = loc.cells(lon, lat)
    offline = rng.random(n) < OFFLINE_SHARE
    seen = [end - (timedelta(days=float(rng.uniform(0.5, 9))) if off else timedelta(seconds=float(rng.uniform(5, 60))))
            for off in offline.tolist()]
    ids = [gb28181("channel", k + 1) for k in range(n)]
    cols = {
        "id": ids,
        "device_code": [gb28181("device", k + 1) for k in range(n)],
        "name": [q["name"] for q in rows], "kind": [q["kind"] for q in rows],
        "owner": ["宝山区城市运行管理中心" if q["watches"][0] == "road" else "街道办事处" for q in rows],
        "direction_deg": [q["dir"] for q in rows], "fov_deg": [q["fov"] for q in rows],
        "range_m": [round(q["range"], 1) for q in rows],
        "state": ["offline" if o else "online" for o in offline.tolist()],
        "last_seen": seen,
        "stream_url": [f"{VIDEO_BASE}/live/{i}.m3u8" for i in ids],
        "rtsp_url": [f"rtsp://vss.demo.citygrid.invalid:554/{i}" for i in ids],
        "snapshot_url": [f"{VIDEO_BASE}/snap/{i}.jpg" for i in ids],
        "watches_kind": [q["watches"][0] for q in rows], "watches_ref": [q["watches"][1] for q in rows],
        "unit_grid_code": [d.cell_code[c] if c >= 0 else None for c in cells.tolist()],
        "geom": shapely.points(np.asarray(lon), np.asarray(lat)),
    }
    return Table("cameras", cols)


#: kind -> (count at scale 1, metric -> (normal mean, spread, alarming value))
DEVICE_PLAN: dict[str, tuple[int, dict[str, tuple[float, float, float]]]] = {
    "overflow": (0, {"fill_pct": (45.0, 20.0, 96.0)}),            # on drop points (count from them)
    "manhole": (90, {"displacement_mm": (1.0, 1.0, 18.0)}),
    "billboard": (40, {"tilt_deg": (0.8, 0.6, 7.5)}),
    "environment": (30, {"pm25": (35.0, 12.0, 110.0), "noise_db": (55.0, 5.0, 78.0)}),
    "waterlogging": (20, {"depth_cm": (0.0, 0.5, 24.0)}),
}
LABEL = {"overflow": "满溢传感器", "manhole": "井盖位移监测", "billboard": "广告牌倾斜监测",
         "environment": "环境监测站", "waterlogging": "积水监测"}


def build_devices(d: District, r: Roads, loc: CellLocator, fac: Table, end: datetime
                  ) -> tuple[Table, Table]:
    """Devices (with their latest values and state) and a day of hourly readings."""
    from gis.demo.assets import roadside_points

    rng = np.random.default_rng([d.seed, 16])
    s = d.scale
    xs: list[float] = []
    ys: list[float] = []
    kinds: list[str] = []
    facility: list[str | None] = []
    for k, kind in enumerate(fac.columns["kind"]):
        if kind == "drop_point" and rng.random() < 0.6:
            g = fac.columns["geom"][k]
            xs.append(g.x)
            ys.append(g.y)
            kinds.append("overflow")
            facility.append(fac.columns["code"][k])
    for kind, (count, _) in DEVICE_PLAN.items():
        n = max(2, round(count * s)) if count else 0
        if not n:
            continue
        x, y, _, _ = roadside_points(d, r, loc, rng, n, 1.0, 6.0)
        xs += x.tolist()
        ys += y.tolist()
        kinds += [kind] * n
        facility += [None] * n
    n = len(kinds)
    cells = loc.cells(np.array(xs), np.array(ys))
    ids = [f"IOT-{kind[:3].upper()}-{k + 1:05d}" for k, kind in enumerate(kinds)]
    offline = rng.random(n) < 0.05
    alarming = (rng.random(n) < 0.06) & ~offline
    hours = 24
    r_dev: list[str] = []
    r_met: list[str] = []
    r_ts: list[datetime] = []
    r_val: list[float] = []
    last_ts: list[datetime] = []
    last_values: list[dict] = []
    for k, kind in enumerate(kinds):
        stop = hours - (int(rng.integers(3, 12)) if offline[k] else 0)
        values: dict[str, float] = {}
        for metric, (mean, spread, bad) in DEVICE_PLAN[kind][1].items():
            v = np.maximum(0.0, rng.normal(mean, spread, stop))
            if alarming[k]:
                v[-3:] = bad + rng.uniform(0, 2, 3)
            ts = [end - timedelta(hours=hours - h) for h in range(stop)]
            r_dev += [ids[k]] * stop
            r_met += [metric] * stop
            r_ts += ts
            r_val += np.round(v, 2).tolist()
            values[metric] = round(float(v[-1]), 2) if stop else None
        last_ts.append(end - timedelta(hours=hours - stop + 1) if stop else None)
        last_values.append(values)
    state = ["offline" if o else ("alarm" if al else "normal")
             for o, al in zip(offline.tolist(), alarming.tolist(), strict=True)]
    devices = Table("devices", {
        "id": ids, "name": [f"{LABEL[kk]}{k + 1:04d}" for k, kk in enumerate(kinds)], "kind": kinds,
        "owner": ["宝山区绿化和市容管理局" if kk in ("overflow", "billboard") else "宝山区城市运行管理中心"
                  for kk in kinds],
        "facility_code": facility,
        "unit_grid_code": [d.cell_code[c] if c >= 0 else None for c in cells.tolist()],
        "offline_after_s": [7200.0] * n,
        "state": state,
        "last_ts": last_ts, "last_values": last_values,
        "geom": shapely.points(np.array(xs), np.array(ys)),
    })
    readings = Table("device_readings", {"device_id": r_dev, "metric": r_met, "ts": r_ts, "value": r_val},
                     geom_cols=())
    return devices, readings


def demo_now(end_date) -> datetime:
    """The demo's "now": the end of its last day (UTC noon of the next day keeps every reading in the past)."""
    return datetime(end_date.year, end_date.month, end_date.day, 12, tzinfo=UTC)
