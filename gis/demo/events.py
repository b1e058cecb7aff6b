"""Three years of cases (案件, ~100 a day) and the last 30 days of waste collection records.

Cases cluster where they do in practice: beside roads (litter, parking), around restaurants and markets
(street trading, overflowing bins), at drop points (sorting violations), at construction sites (dust,
spillage); a Zipf weighting makes a few places generate many. Waste records: each restaurant's kitchen
waste, daily, to the kitchen-waste plant by its truck; each drop point's household waste to the transfer
station — the flows and emission heatmaps weigh them in tonnes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.db.seed import read_categories
from gis.demo.addresses import Addresses
from gis.demo.assets import person, roadside_points
from gis.demo.lattice import District
from gis.demo.locate import CellLocator, points_in_cells
from gis.demo.roads import Roads, metres_to_deg
from gis.demo.table import Table

CASES_PER_DAY = 100
YEARS = 3
#: (share, event categories "major-minor", scatter metres) per kind of place cases come from.
SOURCES = {
    "road": (0.35, ["01-03", "04-05", "04-06", "02-01", "01-01", "05-02", "03-03"], 0),
    "restaurant": (0.20, ["04-03", "04-04", "01-06", "04-01", "01-03"], 25),
    "drop_point": (0.15, ["01-07", "01-01", "01-02", "01-06", "06-01"], 20),
    "site": (0.10, ["03-01", "03-02", "03-03", "03-04"], 60),
    "market": (0.10, ["04-03", "01-03", "04-07", "04-01"], 40),
    "anywhere": (0.10, ["06-03", "05-01", "01-04", "01-05", "02-02", "02-03", "06-02", "05-03", "05-04", "04-02"], 0),
}
CASE_SOURCES = (["supervisor", "hotline", "camera", "app"], [0.45, 0.30, 0.15, 0.10])


def _zipf_choice(rng: np.random.Generator, n_items: int, size: int, a: float = 1.1) -> NDArray[np.int64]:
    w = 1.0 / np.arange(1, n_items + 1) ** a
    perm = rng.permutation(n_items)
    return perm[rng.choice(n_items, size=size, p=w / w.sum())]


def build_cases(d: District, r: Roads, loc: CellLocator, a: Addresses, facilities: Table, sites_ll: NDArray,
                end: date, tz: str = "Asia/Shanghai", start_id: int = 1) -> Table:
    rng = np.random.default_rng([d.seed, 9])
    start = end - timedelta(days=round(365.25 * YEARS) - 1)
    days = (end - start).days + 1
    dayidx = np.arange(days)
    weekday = np.array([(start + timedelta(days=int(k))).weekday() for k in dayidx])
    lam = CASES_PER_DAY * d.scale * np.where(weekday >= 5, 0.85, 1.06) \
        * (1 + 0.15 * np.sin(2 * np.pi * (dayidx + 100) / 365.25)) * (0.92 + 0.16 * dayidx / days)
    per_day = rng.poisson(lam)
    n = int(per_day.sum())

    cats = {f"{c['major']}-{c['minor']}": c["name"] for c in read_categories() if c["kind"] == "event"}
    kinds = list(SOURCES)
    kind = rng.choice(len(kinds), size=n, p=[SOURCES[k][0] for k in kinds])
    x = np.zeros(n)
    y = np.zeros(n)
    cat = np.empty(n, dtype=object)
    fac = facilities.columns
    fkind = np.array(fac["kind"])
    anchors = {
        "restaurant": np.array([(px, py) for px, py, c in zip(a.pois["x"], a.pois["y"], a.pois["category"],
                                                               strict=True) if c == "restaurant"]),
        "market": np.array([(px, py) for px, py, c in zip(a.pois["x"], a.pois["y"], a.pois["category"],
                                                           strict=True) if c == "market"]),
        "drop_point": np.column_stack([shapely.get_x(fac["geom"]), shapely.get_y(fac["geom"])])[fkind == "drop_point"],
        "site": sites_ll,
    }
    for k, name in enumerate(kinds):
        sel = np.nonzero(kind == k)[0]
        if len(sel) == 0:
            continue
        codes = SOURCES[name][1]
        cat[sel] = [codes[i] for i in rng.integers(len(codes), size=len(sel))]
        if name == "road":
            # Concentrated on some roads: Zipf over segments, then anywhere along them.
            px, py, _, _ = roadside_points(d, r, loc, rng, len(sel), 2, 15)
            x[sel], y[sel] = px, py
        elif name == "anywhere" or len(anchors.get(name, [])) == 0:
            cells = rng.choice(d.n_cells, size=len(sel))
            x[sel], y[sel] = points_in_cells(d, rng, cells, margin=0.03)
        else:
            pts = anchors[name]
            pick = _zipf_choice(rng, len(pts), len(sel))
            dlon, dlat = metres_to_deg(pts[pick, 1])
            scatter = SOURCES[name][2]
            x[sel] = pts[pick, 0] + rng.normal(0, scatter, len(sel)) * dlon
            y[sel] = pts[pick, 1] + rng.normal(0, scatter, len(sel)) * dlat
    cell = loc.cells(x, y)
    out = np.nonzero(cell < 0)[0]
    if len(out):  # scattered outside the district: move beside a road instead
        px, py, _, pc = roadside_points(d, r, loc, rng, len(out), 2, 15)
        x[out], y[out], cell[out] = px, py, pc

    # Times: days in order, hours peaking mid-morning and mid-afternoon.
    day_of = np.repeat(dayidx, per_day)
    hours = np.concatenate([rng.normal(10, 1.8, n // 2 + 1), rng.normal(15.5, 2.2, n // 2 + 1)])[:n]
    hours = np.clip(hours[rng.permutation(n)], 6, 22.98)
    secs = day_of * 86400 + hours * 3600 + rng.uniform(0, 60, n)
    order = np.argsort(secs, kind="stable")
    x, y, cell, cat, secs, kind = x[order], y[order], cell[order], cat[order], secs[order], kind[order]
    t0 = datetime(start.year, start.month, start.day, tzinfo=ZoneInfo(tz))
    reported = [t0 + timedelta(seconds=float(s)) for s in secs.tolist()]
    close_h = rng.lognormal(np.log(8), 1.0, n)
    end_ts = t0 + timedelta(days=days)
    closed = [rt + timedelta(hours=float(h)) for rt, h in zip(reported, close_h.tolist(), strict=True)]
    status = ["closed" if c < end_ts else "processing" for c in closed]
    closed = [c if c < end_ts else None for c in closed]
    seq_in_day = np.arange(n) - np.repeat(np.concatenate([[0], np.cumsum(per_day)[:-1]]), per_day)
    day_sorted = day_of  # already in day order
    codes = [f"{(start + timedelta(days=int(dd))).strftime('%Y%m%d')}{q + 1:04d}"
             for dd, q in zip(day_sorted.tolist(), seq_in_day.tolist(), strict=True)]

    # Address: the nearest doorplate.
    ptree = shapely.STRtree(shapely.points(np.array(a.plates.x), np.array(a.plates.y)))
    near = ptree.query_nearest(shapely.points(x, y), return_distance=False, all_matches=False)[1]
    src = rng.choice(CASE_SOURCES[0], size=n, p=CASE_SOURCES[1])
    reporters = [person(rng) for _ in range(64)]
    reporter = [reporters[int(i)] if s == "supervisor" else None
                for i, s in zip(rng.integers(64, size=n), src.tolist(), strict=True)]
    cols = {
        "id": list(range(start_id, start_id + n)),
        "code": codes,
        "kind": ["event"] * n,
        "major": [c[:2] for c in cat.tolist()],
        "minor": [c[3:] for c in cat.tolist()],
        "source": src.tolist(),
        "description": [f"{cats[c]}（{kinds[k]}）" for c, k in zip(cat.tolist(), kind.tolist(), strict=True)],
        "address": [f"{a.plates.add_name[i]}附近" for i in near.tolist()],
        "reporter": reporter,
        "status": status,
        "reported_at": reported,
        "closed_at": closed,
        "unit_grid_code": [d.cell_code[c] for c in cell.tolist()],
        "weight": [1.0] * n,
        "geom": shapely.points(x, y),
    }
    t = Table("cases", cols, serial="id")
    t.meta["start"] = start
    return t


def build_waste_records(d: District, a: Addresses, facilities: Table, fleet: dict[str, Table], poi_ids: list[str],
                        end: date, tz: str = "Asia/Shanghai") -> Table:
    rng = np.random.default_rng([d.seed, 10])
    fac = facilities.columns
    kind = np.array(fac["kind"])
    plant_id = fac["id"][int(np.nonzero(kind == "kitchen_waste_plant")[0][0])]
    veh = fleet["vehicles"]
    rest = veh.meta["rest_index"]
    rest_truck = veh.meta["rest_truck"]
    kitchen_ids = [v for v, k in zip(veh.columns["id"], veh.columns["kind"], strict=True) if k == "kitchen_waste"]
    drops = np.nonzero(kind == "drop_point")[0]
    transfers = np.nonzero(kind == "transfer_station")[0]
    fx, fy = shapely.get_x(fac["geom"]), shapely.get_y(fac["geom"])
    base_rest = rng.lognormal(np.log(0.08), 0.6, len(rest))            # t/day per restaurant
    base_drop = np.array([fac["capacity_tpd"][i] for i in drops.tolist()]) * rng.uniform(0.5, 0.9, len(drops))
    midnight = datetime(end.year, end.month, end.day, tzinfo=ZoneInfo(tz))
    cols: dict[str, list] = {k: [] for k in ("ts", "waste_kind", "tonnes", "source_poi_id", "facility_id",
                                             "vehicle_id")}
    gx, gy = [], []
    for back in range(29, -1, -1):
        day0 = midnight - timedelta(days=back)
        weekend = day0.weekday() >= 5
        t_rest = base_rest * rng.lognormal(0, 0.25, len(rest)) * (1.2 if weekend else 1.0)
        for k, i in enumerate(rest):
            cols["ts"].append(day0 + timedelta(hours=14, minutes=float(rng.uniform(0, 90))))
            cols["waste_kind"].append("kitchen")
            cols["tonnes"].append(round(float(t_rest[k]), 3))
            cols["source_poi_id"].append(poi_ids[i])
            cols["facility_id"].append(plant_id)
            cols["vehicle_id"].append(kitchen_ids[int(rest_truck[k]) % len(kitchen_ids)] if kitchen_ids else None)
            gx.append(a.pois["x"][i])
            gy.append(a.pois["y"][i])
        t_drop = base_drop * rng.lognormal(0, 0.15, len(drops))
        for k, i in enumerate(drops.tolist()):
            cols["ts"].append(day0 + timedelta(hours=16, minutes=float(rng.uniform(0, 60))))
            cols["waste_kind"].append("household")
            cols["tonnes"].append(round(float(t_drop[k]), 3))
            cols["source_poi_id"].append(None)
            near = transfers[int(np.argmin(np.hypot(fx[transfers] - fx[i], fy[transfers] - fy[i])))]
            cols["facility_id"].append(fac["id"][near])
            cols["vehicle_id"].append(veh.meta["drop_truck"][k] or None)
            gx.append(float(fx[i]))
            gy.append(float(fy[i]))
    cols["id"] = list(range(1, len(cols["ts"]) + 1))
    cols["geom"] = shapely.points(np.array(gx), np.array(gy))
    return Table("waste_records", cols, serial="id")
