"""Generates the whole demo district as tables ready to COPY, deterministically for a seed.

Order matters only through the random streams: each builder draws from its own numpy Generator seeded
with [seed, k], so changing one layer's generator does not reshuffle the others.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely

from gis.demo import names
from gis.demo.addresses import DATA_SOURCE, POI_CATEGORIES, Addresses, build_addresses
from gis.demo.assets import build_components, build_facilities, build_work_grids
from gis.demo.events import build_cases, build_waste_records
from gis.demo.fleet import build_fleet
from gis.demo.lattice import District, build_district
from gis.demo.locate import CellLocator
from gis.demo.roads import Roads, build_roads
from gis.demo.sensors import build_cameras, build_devices, demo_now
from gis.demo.table import Table

#: The last day of the generated history (cases end, tracks are for this day). Fixed, so a seed
#: always gives the same data; override with `citygrid demo load --end-date`.
DEFAULT_END = date(2026, 11, 20)
OR_DATE = date(2024, 12, 31)

#: Load order (parents first); the loader empties them in reverse.
TABLE_ORDER = ["dataset_meta", "admin_areas", "unit_grids", "work_grids", "streets", "zones", "doorplates", "pois",
               "components", "waste_facilities", "vehicles", "routes", "positions", "cases", "waste_records", "cameras",
               "devices", "device_readings"]


@dataclass
class Dataset:
    seed: int
    scale: float
    end: date
    tables: dict[str, Table]
    district: District
    roads: Roads
    addresses: Addresses
    timings: dict[str, float] = field(default_factory=dict)

    def checksum(self) -> str:
        h = hashlib.sha256()
        for name in TABLE_ORDER:
            if name in self.tables and name != "dataset_meta":
                h.update(self.tables[name].digest().encode())
        return h.hexdigest()

    def counts(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables.items()}


def _admin_table(d: District) -> Table:
    rows = [(names.DISTRICT_CODE, "district", names.DISTRICT_NAME, None, d.district_geom, d.district_area_m2)]
    rows += [(s["code"], "street", s["name"], names.DISTRICT_CODE, s["geom"], s["area_m2"]) for s in d.streets]
    rows += [(c["code"], "community", c["name"], d.streets[c["street"]]["code"], c["geom"], c["area_m2"])
             for c in d.communities]
    cols = {
        "code": [r[0] for r in rows], "level": [r[1] for r in rows], "name": [r[2] for r in rows],
        "parent_code": [r[3] for r in rows],
        "alias": [["宝山"] if r[1] == "district" else [] for r in rows],
        "old_name": [["宝山县"] if r[1] == "district" else [] for r in rows],
        "data_source": [DATA_SOURCE] * len(rows), "or_date": [OR_DATE] * len(rows),
        "note": ["行政区划代码真实，边界为合成数据" if r[1] != "community" else "居委会名称与边界为合成数据"
                 for r in rows],
        "area_m2": [round(r[5], 1) for r in rows], "geom": [r[4] for r in rows],
    }
    return Table("admin_areas", cols)


def _unit_grid_table(d: District) -> Table:
    seq = [c[-3:] for c in d.cell_code]
    cols = {
        "code": d.cell_code,
        "community_code": [c[:12] for c in d.cell_code],
        "name": [f"{d.communities[int(k)]['name']}{int(q)}号单元网格" for k, q in zip(d.cell_comm.tolist(), seq,
                                                                                   strict=True)],
        "area_m2": np.round(shapely.area(d.cell_m), 1),
        "or_date": [OR_DATE] * d.n_cells,
        "geom": [shapely.MultiPolygon([p]) for p in d.cell_ll],
    }
    return Table("unit_grids", cols)


def _streets_table(d: District, r: Roads, a: Addresses) -> Table:
    n = r.n
    road_of = [r.roads[int(k)] for k in r.seg_road.tolist()]
    lanes = a.lanes
    cols = {
        "id": list(range(1, n + len(lanes) + 1)),
        "str_id": [f"{names.DISTRICT_CODE}S{k + 1:05d}" for k in range(n)]
        + [f"{names.DISTRICT_CODE}L{k + 1:05d}" for k in range(len(lanes))],
        "name": [x.name for x in road_of] + [ln["name"] for ln in lanes],
        "alias": [x.alias for x in road_of] + [[] for _ in lanes],
        "old_name": [x.old_name for x in road_of] + [[] for _ in lanes],
        "s_housenum": r.seg_s.tolist() + [ln["s"] for ln in lanes],
        "l_housenum": r.seg_l.tolist() + [ln["l"] for ln in lanes],
        "beginning": list(r.seg_begin) + [ln["road"] for ln in lanes],
        "ending": list(r.seg_end) + [ln["zone"] for ln in lanes],
        "direction": ["南北" if x.orient == "v" else "东西" for x in road_of] + ["" for _ in lanes],
        "route_name": [x.name for x in road_of] + [ln["road"] for ln in lanes],
        "district_code": [names.DISTRICT_CODE] * (n + len(lanes)),
        "street_code": [d.streets[int(s)]["code"] for s in r.seg_street.tolist()]
        + [d.streets[ln["street"]]["code"] for ln in lanes],
        "data_source": [DATA_SOURCE] * (n + len(lanes)),
        "or_date": [OR_DATE] * (n + len(lanes)),
        "geom": list(r.seg_ll) + [ln["geom"] for ln in lanes],
    }
    return Table("streets", cols, serial="id")


def _zones_table(d: District, r: Roads, a: Addresses) -> Table:
    cs = a.compounds
    comm = [d.communities[c.community] for c in cs]
    street = [d.streets[c["street"]] for c in comm]

    def boundary(c) -> str:
        road = r.roads[int(r.seg_road[c.seg])].name
        return f"{road}{'弄' + c.lane if c.lane else ''}一侧，{r.seg_begin[c.seg]}与{r.seg_end[c.seg]}之间"

    cols = {
        "zone_id": [c.zone_id for c in cs], "name": [c.name for c in cs], "alias": [c.alias for c in cs],
        "old_name": [c.old_name for c in cs], "boundary": [boundary(c) for c in cs],
        "subdis_name": [s["name"] for s in street], "subdis_code": [s["code"] for s in street],
        "commu_name": [c["name"] for c in comm], "commu_code": [c["code"] for c in comm],
        "data_source": [DATA_SOURCE] * len(cs), "or_date": [OR_DATE] * len(cs), "geom": [c.geom_ll for c in cs],
    }
    return Table("zones", cols)


def _doorplates_table(d: District, a: Addresses) -> Table:
    p = a.plates
    n = len(p.add_name)
    cell = a.plate_cell
    comm = [d.communities[int(d.cell_comm[c])] if c >= 0 else None for c in cell.tolist()]
    street = [d.streets[c["street"]] if c else None for c in comm]
    cols = {
        "add_id": [f"{names.DISTRICT_CODE}D{k + 1:07d}" for k in range(n)], "add_name": p.add_name,
        "road_name": p.road, "zone_name": p.zone, "house_name": p.house_name, "house_num": p.house_num,
        "lane": p.lane, "building": p.building, "street_id": p.street_id,
        "subdis_name": [s["name"] if s else None for s in street],
        "subdis_code": [s["code"] if s else None for s in street],
        "commu_name": [c["name"] if c else None for c in comm], "commu_code": [c["code"] if c else None for c in comm],
        "data_source": [DATA_SOURCE] * n, "or_date": [OR_DATE] * n,
        "geom": shapely.points(np.array(p.x), np.array(p.y)),
    }
    t = Table("doorplates", cols)
    t.meta["kind"] = p.kind
    return t


def _pois_table(a: Addresses) -> Table:
    p = a.pois
    n = len(p["name"])
    cols = {
        "poi_id": [f"{names.DISTRICT_CODE}P{k + 1:07d}" for k in range(n)], "name": p["name"],
        "old_name": p["old_name"], "alias": p["alias"], "category": p["category"], "floor": p["floor"],
        "add_name": p["add_name"], "data_source": [DATA_SOURCE] * n, "or_date": [OR_DATE] * n,
        "geom": shapely.points(np.array(p["x"]), np.array(p["y"])),
    }
    return Table("pois", cols)


def generate(seed: int, scale: float = 1.0, end: date = DEFAULT_END, tz: str = "Asia/Shanghai") -> Dataset:
    """The whole district in memory (about 20 s at scale 1)."""
    timings: dict[str, float] = {}
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        timings[name] = round(now - t, 2)
        t = now

    d = build_district(seed, scale)
    lap("grids")
    r = build_roads(d)
    loc = CellLocator(d)
    lap("roads")
    a = build_addresses(d, r, loc)
    lap("addresses")
    tables: dict[str, Table] = {
        "admin_areas": _admin_table(d),
        "unit_grids": _unit_grid_table(d),
        "work_grids": build_work_grids(d, r),
        "streets": _streets_table(d, r, a),
        "zones": _zones_table(d, r, a),
        "doorplates": _doorplates_table(d, a),
        "pois": _pois_table(a),
    }
    lap("tables")
    comps = build_components(d, r, loc)
    tables["components"] = comps
    lap("components")
    fac = build_facilities(d, r, loc, a)
    tables["waste_facilities"] = fac
    sites = np.array([(g.x, g.y) for g, nm in zip(comps.columns["geom"], comps.columns["name"], strict=True)
                      if nm == "工地"]).reshape(-1, 2)
    lap("facilities")
    fleet = build_fleet(d, r, a, fac, sites, end, tz, work_grids=tables["work_grids"])
    tables.update(fleet)
    lap("fleet")
    tables["cases"] = build_cases(d, r, loc, a, fac, sites, end, tz)
    tables["waste_records"] = build_waste_records(d, a, fac, fleet, tables["pois"].columns["poi_id"], end, tz)
    lap("events")
    now = demo_now(end)
    tables["cameras"] = build_cameras(d, r, loc, a, fac, now)
    tables["devices"], tables["device_readings"] = build_devices(d, r, loc, fac, now)
    lap("sensors")
    ds = Dataset(seed, scale, end, tables, d, r, a, timings)
    meta = {
        "synthetic": True,
        "generator": "citygrid demo",
        "seed": seed,
        "scale": scale,
        "district": {"code": names.DISTRICT_CODE, "name": names.DISTRICT_NAME},
        "note": "区划代码与街镇名称真实；几何、道路、门牌、部件、车辆、轨迹、案件均为合成数据",
        "end_date": end.isoformat(),
        "cases_from": tables["cases"].meta["start"].isoformat(),
        "tracks_day": end.isoformat(),
        "timezone": tz,
        "crs": "EPSG:4490",
        "generated_in": "EPSG:4549 (lattice), transformed once to EPSG:4490",
        "poi_categories": POI_CATEGORIES,
        "faults": fleet["routes"].meta["faults"],
        "staff_faults": fleet["vehicles"].meta["staff_faults"],
        "counts": {k: len(v) for k, v in tables.items()},
    }
    meta["checksum"] = ds.checksum()
    tables["dataset_meta"] = Table("dataset_meta", {"key": ["demo"], "value": [meta]}, geom_cols=())
    return ds
