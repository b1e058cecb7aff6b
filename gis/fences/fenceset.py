"""The fences as the engine holds them in memory: projected to one metric CRS, prepared, indexed.

Zones are judged in metres: each fence keeps its effective zone (`core`) and the zone grown by its
hysteresis margin (`outer`). Two STRtrees over all fences answer "which zones contain this fix" for a
whole batch in one vectorised call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from gis import crs as gcrs
from gis.fences.geometry import metric_crs
from gis.fences.kinds import FENCE_ALARM
from gis.fences.schedule import Schedule, parse_windows
from gis.fences.spec import DEFAULT_DEBOUNCE, DEFAULT_DWELL_S


@dataclass
class Fence:
    id: int
    kind: str
    alarm: str | None                  # the alarm a zone violation raises (None for stops)
    core: BaseGeometry                 # effective zone, metric CRS
    outer: BaseGeometry                # core grown by the hysteresis margin
    stay_inside: bool                  # area/corridor: violation = outside; forbidden: violation = inside
    speed_limit_kmh: float | None
    dwell_limit_s: float | None
    dwell_s: float
    signal_timeout_s: float | None
    schedule: Schedule | None
    windows: tuple[tuple[int, int], ...]
    fixes: int
    seconds: float
    clear_fixes: int
    vehicles: frozenset[str]
    groups: frozenset[str]
    updated_at: Any
    stop_xy: tuple[float, float] | None = None
    stop_lonlat: tuple[float, float] | None = None

    def active(self, ts: NDArray[np.float64]) -> NDArray[np.bool_]:
        if self.schedule is None:
            return np.ones(ts.shape, dtype=bool)
        return self.schedule.active(ts)


@dataclass
class FenceSet:
    version: tuple[Any, ...] = ()
    metric: str = "EPSG:4549"
    fences: list[Fence] = field(default_factory=list)
    core_tree: shapely.STRtree | None = None
    outer_tree: shapely.STRtree | None = None
    _relevant: dict[tuple[str, str | None], NDArray[np.int64]] = field(default_factory=dict)
    by_id: dict[int, Fence] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: list[tuple[Any, ...]], version: tuple[Any, ...]) -> FenceSet:
        if rows:
            centres = shapely.centroid(shapely.from_wkb([r[16] for r in rows]))
            lon = float(np.median(shapely.get_x(centres)))
            lat = float(np.median(shapely.get_y(centres)))
            metric = metric_crs(lon, lat)
        else:
            metric = "EPSG:4549"
        fences = [_fence(r, metric) for r in rows]
        fs = cls(version=version, metric=metric, fences=fences)
        if fences:
            fs.core_tree = shapely.STRtree([f.core for f in fences])
            fs.outer_tree = shapely.STRtree([f.outer for f in fences])
        fs.by_id = {f.id: f for f in fences}
        return fs

    def relevant(self, vehicle_id: str, group: str | None) -> NDArray[np.int64]:
        """Indices of the fences that apply to a vehicle (listed by id, or by its group)."""
        key = (vehicle_id, group)
        out = self._relevant.get(key)
        if out is None:
            out = np.array([i for i, f in enumerate(self.fences)
                            if vehicle_id in f.vehicles or (group is not None and group in f.groups)], dtype=np.int64)
            self._relevant[key] = out
        return out

    def contained(self, points: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Sorted keys (fix_index * n_fences + fence_index) of fixes inside each core and outer zone."""
        n = max(len(self.fences), 1)
        if self.core_tree is None or len(points) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        core = self.core_tree.query(points, predicate="within")
        outer = self.outer_tree.query(points, predicate="within")
        return np.sort(core[0] * n + core[1]), np.sort(outer[0] * n + outer[1])


def _fence(row: tuple[Any, ...], metric: str) -> Fence:
    (fid, kind, _buffer, _radius, speed, dwell_limit, dwell_s, signal, vehicles, groups, schedule, windows,
     debounce, alarm_kind, updated_at, geom_wkb, zone_wkb) = row
    deb = {**DEFAULT_DEBOUNCE, **(debounce or {})}
    zone = gcrs.transform_geometry(shapely.from_wkb(zone_wkb), gcrs.STORAGE, metric)
    margin = float(deb["margin_m"])
    outer = shapely.buffer(zone, margin, quad_segs=8) if margin > 0 else zone
    shapely.prepare(zone)
    shapely.prepare(outer)
    sched = Schedule.parse(schedule) if schedule else None
    fence = Fence(
        id=int(fid), kind=kind,
        alarm=(alarm_kind or FENCE_ALARM["area"]) if kind == "area" else FENCE_ALARM.get(kind),
        core=zone, outer=outer, stay_inside=kind in ("area", "corridor"),
        speed_limit_kmh=speed, dwell_limit_s=dwell_limit,
        dwell_s=float(dwell_s if dwell_s is not None else DEFAULT_DWELL_S),
        signal_timeout_s=signal, schedule=sched,
        windows=parse_windows(windows) if kind == "stop" and windows else (),
        fixes=int(deb["fixes"]), seconds=float(deb["seconds"]), clear_fixes=int(deb["clear_fixes"]),
        vehicles=frozenset(vehicles or ()), groups=frozenset(groups or ()), updated_at=updated_at,
    )
    if kind == "stop":
        pt = shapely.from_wkb(geom_wkb)
        x, y = gcrs.transform([pt.x], [pt.y], gcrs.STORAGE, metric)
        fence.stop_xy = (float(x[0]), float(y[0]))
        fence.stop_lonlat = (pt.x, pt.y)
    return fence
