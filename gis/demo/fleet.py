"""Vehicles, their planned routes and one day of GPS tracks that follow the road lattice.

Collection trucks (household and kitchen waste) drive a planned route: depot → ordered stops (drop points
or restaurants, each with time windows) → transfer station / plant, twice a day, pulling in to each stop
and dwelling a few minutes; their route line is exactly what they drive. Muck trucks shuttle at night
between construction sites and the disposal terminal; sweepers and enforcement vehicles patrol. A few
deliberate faults (a skipped stop, a late truck, speeding muck trucks) give the alarm engine something
to find; they are listed in dataset_meta.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.demo import names
from gis.demo.addresses import Addresses
from gis.demo.lattice import METRIC, District
from gis.demo.roads import Roads, nearest_road_node, path_to, shortest_tree
from gis.demo.table import Table

FIX_S = 30.0
#: Vehicles at scale 1 (the mix of standards.md §5 scaled to ~200 tracked vehicles).
FLEET = {"household_waste": 42, "kitchen_waste": 12, "muck": 120, "sweeper": 18, "enforcement": 8}
HOUSEHOLD_WINDOWS = [("16:00", "17:00"), ("22:00", "23:00")]
KITCHEN_WINDOWS = [("14:00", "15:00"), ("21:00", "22:00")]
MUCK_OPERATORS = ["上海宝冶渣土运输有限公司", "上海淞沪建筑垃圾运输有限公司", "上海杨行土方工程有限公司",
                  "上海申宝运输有限公司"]


@dataclass
class Track:
    """Keyframes of one vehicle: times (s since local midnight) and metric positions; fixes only while on duty."""

    t: list[float] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    duty: list[tuple[float, float]] = field(default_factory=list)

    def at(self, t: float, x: float, y: float) -> None:
        if self.t and t <= self.t[-1]:
            t = self.t[-1] + 0.01
        self.t.append(t)
        self.x.append(x)
        self.y.append(y)

    def drive(self, xy: NDArray, speed: float, rng: np.random.Generator | None = None) -> float:
        """Drives through metric points `xy` (first = current position) at `speed` m/s (varied per edge
        when `rng` is given)."""
        for p in xy[1:]:
            dist = float(np.hypot(p[0] - self.x[-1], p[1] - self.y[-1]))
            if dist == 0:
                continue
            factor = rng.uniform(0.75, 1.2) if rng is not None else 1.0
            self.at(self.t[-1] + dist / (speed * factor), float(p[0]), float(p[1]))
        return self.t[-1]

    def wait(self, seconds: float) -> None:
        self.at(self.t[-1] + seconds, self.x[-1], self.y[-1])


def _hhmm(s: str) -> float:
    h, m = s.split(":")
    return int(h) * 3600 + int(m) * 60


class Navigator:
    """Shortest paths on the road graph, with cached trees per source node."""

    def __init__(self, r: Roads) -> None:
        self.r = r
        self.trees: dict[int, dict[int, int]] = {}

    def path(self, a: int, b: int) -> NDArray:
        if a not in self.trees:
            self.trees[a] = shortest_tree(self.r.adjacency, a)
        return self.r.node_xy_m[path_to(self.trees[a], a, b)]


def _ll_to_m(x, y) -> NDArray:
    mx, my = gcrs.transform(x, y, "EPSG:4490", METRIC)
    return np.column_stack([mx, my])


def build_fleet(d: District, r: Roads, a: Addresses, facilities: Table, sites_ll: NDArray, day: date,
                tz: str = "Asia/Shanghai", work_grids: Table | None = None) -> dict[str, Table]:
    """Vehicles, routes and positions; with `work_grids`, also the supervisors' phones (gis.demo.staff),
    drawn from their own random stream so that the vehicles' data do not change with them."""
    rng = np.random.default_rng([d.seed, 8])
    nav = Navigator(r)
    fac = facilities.columns
    fxy = _ll_to_m(shapely.get_x(fac["geom"]), shapely.get_y(fac["geom"]))
    kind = np.array(fac["kind"])

    def one(k: str) -> int:
        return int(np.nonzero(kind == k)[0][0])

    drops = np.nonzero(kind == "drop_point")[0]
    transfers = np.nonzero(kind == "transfer_station")[0]
    plant, terminal = one("kitchen_waste_plant"), one("disposal_terminal")
    counts = {k: max(1, round(v * d.scale)) for k, v in FLEET.items()}

    vehicles: dict[str, list] = {k: [] for k in ("id", "plate", "kind", "vehicle_group", "district_code", "operator",
                                                 "note")}
    routes: dict[str, list] = {k: [] for k in ("id", "name", "kind", "vehicle_id", "stops", "length_m", "geom")}
    tracks: dict[str, Track] = {}
    faults: list[dict] = []

    def vehicle(vid: str, k: str, group: str, operator: str) -> None:
        letters = "ABCDEFGHJKLMN"
        vehicles["id"].append(vid)
        vehicles["plate"].append(f"沪{letters[int(rng.integers(len(letters)))]}{int(rng.integers(10000, 99999))}")
        vehicles["kind"].append(k)
        vehicles["vehicle_group"].append(group)
        vehicles["district_code"].append(names.DISTRICT_CODE)
        vehicles["operator"].append(operator)
        vehicles["note"].append(None)

    def collection(prefix: str, k: str, n: int, stop_xy: NDArray, stop_names: list[str], depot: NDArray,
                   sink: NDArray, windows: list[tuple[str, str]], group: str, operator: str, speed: float) -> list:
        """Trucks that each serve one cluster of stops, twice a day; returns stop indices per truck."""
        label = _balanced_groups(stop_xy, min(n, len(stop_xy)))
        assigned = []
        for v in range(n):
            vid = f"{prefix}{v + 1:03d}"
            vehicle(vid, k, group, operator)
            mine = np.nonzero(label == v)[0]
            if len(mine) == 0:
                mine = np.array([int(rng.integers(len(stop_xy)))])
            # Order the stops greedily from the depot.
            order, pos, left = [], depot, list(mine.tolist())
            while left:
                j = min(left, key=lambda i: float(np.hypot(*(stop_xy[i] - pos))))
                order.append(j)
                left.remove(j)
                pos = stop_xy[j]
            assigned.append(order)
            nodes = nearest_road_node(r, np.vstack([depot, stop_xy[order], sink]))
            legs = [nav.path(int(nodes[i]), int(nodes[i + 1])) for i in range(len(nodes) - 1)]
            # One round is simulated with fixed speeds and dwell times, so both rounds of the day take the
            # same time; the windows of each stop are planned around its arrival in that simulation.
            leg_speed = speed * rng.uniform(0.8, 1.15, len(legs))
            dwell = rng.uniform(180, 420, len(order))
            skip_at = len(order) // 2 if v == 1 and len(order) > 1 else None   # truck 2 skips a stop at night
            late = v == 2                                                      # truck 3 is 40 min late at night

            def run(track: Track, t0: float, skip: int | None, legs=legs, order=order, leg_speed=leg_speed,
                    dwell=dwell) -> list[float]:
                track.at(t0, float(depot[0]), float(depot[1]))
                track.drive(np.vstack([depot, legs[0][:1]]), float(leg_speed[0]))
                arrivals = []
                for s_i, j in enumerate(order):
                    track.drive(legs[s_i], float(leg_speed[s_i]))
                    here = legs[s_i][-1]
                    if s_i == skip:
                        arrivals.append(float("nan"))
                        continue
                    track.drive(np.vstack([here, stop_xy[j]]), 3.0)               # pull in
                    arrivals.append(track.t[-1])
                    track.wait(float(dwell[s_i]))                                  # collect
                    track.drive(np.vstack([stop_xy[j], here]), 3.0)               # back to the road
                track.drive(legs[-1], float(leg_speed[-1]))
                track.wait(600)                                                    # unload
                return arrivals

            arrive = np.array(run(Track(), 0.0, None))
            track = Track()
            planned = []
            for w, (ws, _we) in enumerate(windows):
                t0 = _hhmm(ws) + float(rng.uniform(0, 300)) - arrive[0]
                planned.append(t0 + arrive)
                on = t0 + (40 * 60 if late and w == 1 else 0)
                run(track, on, skip_at if w == 1 else None)
                track.duty.append((on, track.t[-1]))
            if skip_at is not None:
                faults.append({"vehicle": vid, "fault": "skipped stop", "stop": stop_names[order[skip_at]],
                               "round": 2})
            if late:
                faults.append({"vehicle": vid, "fault": "late by 40 min", "round": 2})
            tracks[vid] = track
            # The planned route is one round as driven (with the pull-ins); stops with their windows.
            line_xy = _route_line(depot, legs, stop_xy[order])
            lx, ly = gcrs.transform(line_xy[:, 0], line_xy[:, 1], METRIC, "EPSG:4490")
            sx, sy = gcrs.transform(stop_xy[order, 0], stop_xy[order, 1], METRIC, "EPSG:4490")
            routes["id"].append(len(routes["id"]) + 1)
            routes["name"].append(f"{vid} {group}收运路线")
            routes["kind"].append("regular")
            routes["vehicle_id"].append(vid)
            routes["stops"].append([{"name": stop_names[j], "lon": round(float(x), 7), "lat": round(float(y), 7),
                                     "windows": [_window(p[q]) for p in planned]}
                                    for q, (j, x, y) in enumerate(zip(order, sx, sy, strict=True))])
            routes["length_m"].append(round(float(shapely.LineString(line_xy).length), 1))
            routes["geom"].append(shapely.LineString(np.column_stack([lx, ly])))
        return assigned

    # Household-waste trucks: drop points, depot and sink = the nearest transfer station.
    drop_xy = fxy[drops]
    drop_names = [fac["name"][i] for i in drops.tolist()]
    centre = drop_xy.mean(axis=0)
    depot = fxy[transfers[int(np.argmin(np.hypot(*(fxy[transfers] - centre).T)))]]
    house_assigned = collection("hw", "household_waste", counts["household_waste"], drop_xy, drop_names, depot,
                                depot, HOUSEHOLD_WINDOWS, "生活垃圾收运车队", "上海宝山环境卫生有限公司", 7.0)
    drop_truck = [""] * len(drops)
    for v, stops in enumerate(house_assigned):
        for j in stops:
            drop_truck[j] = f"hw{v + 1:03d}"

    # Kitchen-waste trucks: restaurants (a sample per truck), ending at the kitchen-waste plant.
    rest = [i for i, c in enumerate(a.pois["category"]) if c == "restaurant"]
    rest_xy = _ll_to_m(np.array(a.pois["x"])[rest], np.array(a.pois["y"])[rest])
    n_k = counts["kitchen_waste"]
    take = rng.choice(len(rest), size=min(len(rest), 14 * n_k), replace=False)
    kitchen_assigned = collection("kw", "kitchen_waste", n_k, rest_xy[take], [a.pois["name"][rest[i]] for i in take],
                                  depot, fxy[plant], KITCHEN_WINDOWS, "湿垃圾收运车队",
                                  "上海城投环境（集团）有限公司", 8.0)
    # Every restaurant's waste goes with the kitchen truck whose stops are nearest.
    cents = np.array([rest_xy[take][o].mean(axis=0) for o in kitchen_assigned])
    rest_truck = np.argmin(((rest_xy[:, None, :] - cents[None]) ** 2).sum(-1), axis=1)

    # Muck trucks: night shuttles site → terminal (some speeding).
    sites_xy = _ll_to_m(sites_ll[:, 0], sites_ll[:, 1]) if len(sites_ll) else fxy[[terminal]]
    site_nodes = nearest_road_node(r, sites_xy)
    term_node = int(nearest_road_node(r, fxy[[terminal]])[0])
    to_term = {int(n): nav.path(int(n), term_node) for n in np.unique(site_nodes)}
    for v in range(counts["muck"]):
        vid = f"mk{v + 1:03d}"
        vehicle(vid, "muck", f"渣土运输车队{v % 4 + 1}", MUCK_OPERATORS[v % len(MUCK_OPERATORS)])
        track = Track()
        speed = 16.5 if v % 25 == 7 else float(rng.uniform(9.0, 12.0))
        if v % 25 == 7:
            faults.append({"vehicle": vid, "fault": "overspeed (~60 km/h)"})
        for start, stop in ((0.5 * 3600, 4.5 * 3600), (21 * 3600, 23.9 * 3600)):
            t0 = start + float(rng.uniform(0, 3600))
            site = int(rng.integers(len(site_nodes)))
            p0 = r.node_xy_m[site_nodes[site]]
            track.at(t0, float(p0[0]), float(p0[1]))
            while track.t[-1] < stop - 1800:
                track.wait(float(rng.uniform(300, 900)))                      # loading
                track.drive(to_term[int(site_nodes[site])], speed, rng)
                track.wait(float(rng.uniform(300, 600)))                      # tipping
                site = int(rng.integers(len(site_nodes)))
                track.drive(to_term[int(site_nodes[site])][::-1], speed, rng)
            track.duty.append((t0, min(track.t[-1], stop + 1800)))
        tracks[vid] = track

    # Sweepers and enforcement vehicles: patrols in their street.
    for k, prefix, n, speed, shifts in (("sweeper", "sw", counts["sweeper"], 2.2, [(5 * 3600, 9 * 3600)]),
                                        ("enforcement", "zf", counts["enforcement"], 5.5,
                                         [(9 * 3600, 12 * 3600), (13.5 * 3600, 17 * 3600)])):
        for v in range(n):
            vid = f"{prefix}{v + 1:03d}"
            st = v % len(d.streets)
            group = f"{d.streets[st]['name']}{'道路保洁' if k == 'sweeper' else '城管执法中队'}"
            vehicle(vid, k, group, "上海宝山环境卫生有限公司" if k == "sweeper" else "宝山区城市管理行政执法局")
            track = Track()
            own = [sid for sid in range(r.n) if r.seg_street[sid] == st] or list(range(r.n))
            node = int(r.seg_nodes[own[int(rng.integers(len(own)))]][0])
            for start, stop in shifts:
                p = r.node_xy_m[node]
                track.at(start + float(rng.uniform(0, 600)), float(p[0]), float(p[1]))
                on = track.t[-1]
                prev = -1
                while track.t[-1] < stop:
                    nbrs = [nb for nb, _ in r.adjacency[node] if nb != prev] or [prev]
                    nxt = nbrs[int(rng.integers(len(nbrs)))]
                    track.drive(r.node_xy_m[[node, nxt]], speed, rng)
                    if k == "enforcement" and rng.random() < 0.03:
                        track.wait(float(rng.uniform(300, 900)))
                    prev, node = node, nxt
                track.duty.append((on, track.t[-1]))
            tracks[vid] = track

    positions = _sample_positions(tracks, rng, day, tz)
    staff_faults: list[dict] = []
    if work_grids is not None:
        from gis.demo.staff import build_staff

        phones, walks, staff_faults = build_staff(work_grids, d.scale, d.seed)
        for ph in phones:
            for col, value in (("id", ph["id"]), ("plate", ph["plate"]), ("kind", ph["kind"]),
                               ("vehicle_group", ph["group"]), ("district_code", names.DISTRICT_CODE),
                               ("operator", ph["operator"]), ("note", "监督员手机")):
                vehicles[col].append(value)
        walked = _sample_positions(walks, np.random.default_rng([d.seed, 12]), day, tz)
        for col, values in walked.columns.items():
            mine = positions.columns[col]
            positions.columns[col] = (np.concatenate([mine, values]) if isinstance(mine, np.ndarray)
                                      else [*mine, *values])
    veh = Table("vehicles", vehicles, geom_cols=())
    veh.meta["staff_faults"] = staff_faults
    rts = Table("routes", routes, serial="id")
    rts.meta["faults"] = faults
    veh.meta["rest_truck"] = rest_truck
    veh.meta["rest_index"] = rest
    veh.meta["drop_truck"] = drop_truck
    return {"vehicles": veh, "routes": rts, "positions": positions}


def _balanced_groups(xy: NDArray, k: int, band_m: float = 1500.0) -> NDArray[np.int64]:
    """Splits points into k groups of (nearly) equal size that are compact: points ordered along east–west
    bands taken in a snake, then cut into k runs."""
    band = np.floor((xy[:, 1] - xy[:, 1].min()) / band_m).astype(np.int64)
    snake = np.where(band % 2 == 0, xy[:, 0], -xy[:, 0])
    order = np.lexsort((snake, band))
    label = np.empty(len(xy), dtype=np.int64)
    label[order] = np.arange(len(xy)) * k // max(len(xy), 1)
    return label


def _window(arrival: float) -> dict[str, str]:
    """A stop's window around its planned arrival: from 10 min before to 20 min after, on 5-minute marks."""
    lo = int(np.floor((arrival - 600) / 300) * 300) // 60
    hi = int(np.ceil((arrival + 1200) / 300) * 300) // 60
    return {"start": f"{lo // 60 % 24:02d}:{lo % 60:02d}", "end": f"{hi // 60 % 24:02d}:{hi % 60:02d}"}


def _route_line(depot: NDArray, legs: list[NDArray], stops: NDArray) -> NDArray:
    pts = [depot]
    for k, leg in enumerate(legs):
        pts.append(leg)
        if k < len(stops):
            pts += [stops[k][None], leg[-1][None]]
    xy = np.vstack(pts)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.any(np.diff(xy, axis=0) != 0, axis=1)
    xy = xy[keep]
    return xy if len(xy) >= 2 else np.vstack([xy, xy + 1])


def _sample_positions(tracks: dict[str, Track], rng: np.random.Generator, day: date, tz: str) -> Table:
    """A fix every 30 s while on duty: position on the keyframe path, GPS noise, speed and heading."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))
    vids, ts_all, xs, ys, sp, hd = [], [], [], [], [], []
    for vid, tr in tracks.items():
        t, x, y = np.array(tr.t), np.array(tr.x), np.array(tr.y)
        offset = float(rng.integers(0, 30))
        last = -1.0
        for on, off in tr.duty:
            on = max(on, last + FIX_S)
            last = off
            grid = np.arange(np.ceil((on - offset) / FIX_S) * FIX_S + offset, min(off, 86399.0), FIX_S)
            if len(grid) < 2:
                continue
            px, py = np.interp(grid, t, x), np.interp(grid, t, y)
            dx, dy = np.diff(px, append=px[-1]), np.diff(py, append=py[-1])
            speed = np.hypot(dx, dy) / FIX_S * 3.6
            heading = (np.degrees(np.arctan2(dx, dy)) + 360) % 360
            moving = speed > 0.5
            speed = np.where(moving, speed * rng.uniform(0.95, 1.05, len(grid)), 0.0)
            heading = np.where(moving, heading, np.nan)
            vids += [vid] * len(grid)
            ts_all.append(grid)
            xs.append(px + rng.normal(0, 3.0, len(grid)))
            ys.append(py + rng.normal(0, 3.0, len(grid)))
            sp.append(speed)
            hd.append(heading)
    secs = np.concatenate(ts_all)
    lon, lat = gcrs.transform(np.concatenate(xs), np.concatenate(ys), METRIC, "EPSG:4490")
    heading = np.concatenate(hd)
    ts = [midnight + timedelta(seconds=float(s)) for s in secs.tolist()]
    cols = {
        "vehicle_id": vids,
        "ts": ts,
        "geom": shapely.points(lon, lat),
        "speed_kmh": np.round(np.concatenate(sp), 1).tolist(),
        "heading": [None if np.isnan(h) else round(float(h), 1) for h in heading.tolist()],
        "received_at": [t + timedelta(seconds=2) for t in ts],
    }
    return Table("positions", cols)
