"""Supervisors' phones (监督员手机) walking their responsibility grids: the people that 跨网格/脱岗 is about.

A responsibility grid's assignee (work_grids.assignee) carries a phone registered as a vehicle of kind
`phone` whose `operator` is that name, which is how `gis.grids.responsibility.on_post` ties a person to
their grids. On the day of the tracks each phone reports every 30 s through a day shift (08:30–17:30
local, the default window of the 跨网格/脱岗 panel is 08:00–18:00), walking between random points of its
grid with pauses for inspection. Two deliberate faults, listed in dataset_meta as `staff_faults`: one
person walks into a neighbouring grid for about 40 minutes (跨网格), one never reports (脱岗).

The phones' group is deliberately not the grids' team: a team match would give each phone every grid of
its street, and nobody could ever be off post.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.demo.fleet import Track
from gis.demo.lattice import METRIC
from gis.demo.table import Table

#: Phones at scale 1 (one per chosen responsibility grid).
STAFF = 24
WALK_MS = 1.2
SHIFT = (8.5 * 3600, 17.5 * 3600)
OFF_POST_AT = 10.5 * 3600
#: Metres kept from a grid's edge (GPS noise is ~3 m).
EDGE_M = 15.0


def _points_inside(poly: shapely.Geometry, rng: np.random.Generator, n: int) -> NDArray:
    """`n` random points inside a metric polygon (rejection sampling in its bounding box)."""
    x0, y0, x1, y1 = poly.bounds
    got: list[NDArray] = []
    while sum(len(g) for g in got) < n:
        cand = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        got.append(cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])])
    return np.vstack(got)[:n]


def build_staff(work_grids: Table, scale: float, seed: int) -> tuple[list[dict], dict[str, Track], list[dict]]:
    """Phones, their walks and the faults: (vehicle rows, tracks keyed by phone id, faults)."""
    rng = np.random.default_rng([seed, 11])
    cols = work_grids.columns
    resp = [i for i, k in enumerate(cols["kind"]) if k == "responsibility" and cols["assignee"][i]]
    n = min(len(resp), max(3, round(STAFF * scale)))
    chosen = [resp[int(i)] for i in np.linspace(0, len(resp) - 1, n).round().astype(int)]
    metric = [gcrs.transform_geometry(cols["geom"][i], "EPSG:4490", METRIC) for i in resp]
    centres = np.array([[g.centroid.x, g.centroid.y] for g in metric])
    phones: list[dict] = []
    tracks: dict[str, Track] = {}
    faults: list[dict] = []
    for k, i in enumerate(chosen):
        vid = f"sj{k + 1:03d}"
        person = cols["assignee"][i]
        phones.append({"id": vid, "plate": f"1390213{k + 1:04d}", "kind": "phone",
                       "group": f"{cols['street_code'][i]}监督员", "operator": person})
        track = Track()
        if k == 2:  # never switched on: 脱岗
            faults.append({"vehicle": vid, "person": person, "grid": cols["code"][i], "fault": "absent (脱岗)"})
            tracks[vid] = track
            continue
        # Keep clear of the edge by more than the GPS noise, and walk only legs that stay inside.
        poly = metric[resp.index(i)]
        inner = poly.buffer(-EDGE_M)
        inner = inner if not inner.is_empty else poly
        stops = _points_inside(inner, rng, 400)
        start = SHIFT[0] + float(rng.uniform(0, 900))
        track.at(start, *map(float, stops[0]))
        wander = k == 1
        for p in stops[1:]:
            if track.t[-1] >= SHIFT[1]:
                break
            if not inner.covers(shapely.LineString([(track.x[-1], track.y[-1]), tuple(p)])):
                continue
            if wander and track.t[-1] >= OFF_POST_AT:
                # Into the nearest grid that is someone else's, ~40 minutes, then back.
                others = [j for j, r in enumerate(resp) if cols["assignee"][r] != person]
                j = others[int(np.argmin(np.hypot(*(centres[others] - centres[resp.index(i)]).T)))]
                away = _points_inside(metric[j], rng, 1)[0]
                track.drive(np.array([[track.x[-1], track.y[-1]], away]), WALK_MS)
                faults.append({"vehicle": vid, "person": person, "grid": cols["code"][i],
                               "fault": "off post (跨网格)", "into": cols["code"][resp[j]]})
                track.wait(40 * 60)
                wander = False
            track.drive(np.array([[track.x[-1], track.y[-1]], p]), WALK_MS, rng)
            track.wait(float(rng.uniform(120, 600)))
        track.duty.append((start, min(track.t[-1], SHIFT[1])))
        tracks[vid] = track
    return phones, tracks, faults
