"""The evaluation engine's core: given time-ordered new fixes per vehicle, advance each vehicle's state
and produce the alarms it opens, extends or closes. Pure computation, no database.

Vectorised over the whole batch: one projection of all fixes, one STRtree query for all fix × zone
containments, numpy classification per (vehicle, fence). Python runs only where something happens: a
(vehicle, fence) pair with a violating fix or an open/pending state, a gap, a stay, a stop visit.

Debounce (per fence, defaults 3 fixes and 30 s): a violation opens an alarm once it has lasted at least
`seconds` and either `fixes` fixes or twice `seconds` (so that sparse reporting still raises on a
minute of violation, while one or two stray fixes within 20 s never do). Hysteresis: a stay-inside
fence is violated only beyond its zone grown by `margin_m`, and a forbidden zone is left only beyond
that margin; fixes in the band keep the previous judgement. An alarm closes after `clear_fixes`
consecutive clear fixes, at the first of them, so one excursion raises one alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from gis import crs as gcrs
from gis.fences.fenceset import Fence, FenceSet
from gis.fences.schedule import next_end_after, occurrences
from gis.fences.state import ALARMED, CLEAR, PENDING, AlarmRec, Stay, StopState, Track, VehicleState

SPEED_WINDOW_S = 15.0          # derived speed: displacement over at least this span (smooths ±10 m noise)
STAY_RADIUS_M = 30.0           # 违规停留: "stopped" = every fix within this distance of where it stopped
DEFAULT_SIGNAL_TIMEOUT_S = 600.0
KEEP_INTERVALS_S = 3 * 86400.0


@dataclass
class Fixes:
    """Fixes of one vehicle, sorted by time: epoch seconds, storage lon/lat, speed (NaN when not sent)."""

    ts: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    speed: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class VehicleInfo:
    group: str | None = None
    signal_timeout_s: float | None = None


Touched = dict[tuple[str, int | None, float], AlarmRec]


def evaluate(fs: FenceSet, items: list[tuple[VehicleState, VehicleInfo, Fixes]]) -> dict[str, Touched]:
    """Advances every vehicle's state over its fixes; returns the alarms touched, per vehicle."""
    touched: dict[str, Touched] = {}
    items = [it for it in items if len(it[2])]
    if not items:
        return touched
    offs = np.concatenate([[0], np.cumsum([len(f) for _, _, f in items])])
    lon = np.concatenate([f.lon for _, _, f in items])
    lat = np.concatenate([f.lat for _, _, f in items])
    x, y = gcrs.transform(lon, lat, gcrs.STORAGE, fs.metric)
    points = shapely.points(x, y)
    core_keys, outer_keys = fs.contained(points)
    n_f = max(len(fs.fences), 1)
    for k, (st, info, fx) in enumerate(items):
        a, b = int(offs[k]), int(offs[k + 1])
        out = touched.setdefault(st.vehicle_id, {})
        _sync_fences(st, fs)
        rel = fs.relevant(st.vehicle_id, info.group)
        ctx = _Ctx(st, fs, rel, fx, x[a:b], y[a:b], points[a:b], out)
        ctx.speed = _speeds(st, fs, fx, ctx.x, ctx.y)
        _signal(ctx, info)
        if rel.size:
            keys = np.arange(a, b, dtype=np.int64)[None, :] * n_f + rel[:, None]
            ctx.inside = _member(keys, core_keys)
            ctx.in_outer = _member(keys, outer_keys)
            _zones(ctx)
            _stays(ctx)
            _stops(ctx)
        elif st.stay is not None:
            st.stay = None
        _advance(st, fx)
    return touched


class _Ctx:
    def __init__(self, st: VehicleState, fs: FenceSet, rel: NDArray[np.int64], fx: Fixes,
                 x: NDArray[np.float64], y: NDArray[np.float64], points: NDArray[Any], out: Touched):
        self.st, self.fs, self.rel, self.fx, self.x, self.y, self.points, self.out = st, fs, rel, fx, x, y, points, out
        self.speed: NDArray[np.float64] = np.zeros(0)
        self.inside: NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)
        self.in_outer: NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)
        self._active: dict[int, NDArray[np.bool_]] = {}

    def active(self, f: Fence) -> NDArray[np.bool_] | None:
        if f.schedule is None:
            return None
        if f.id not in self._active:
            self._active[f.id] = f.active(self.fx.ts)
        return self._active[f.id]


def _member(keys: NDArray[np.int64], sorted_keys: NDArray[np.int64]) -> NDArray[np.bool_]:
    if sorted_keys.size == 0:
        return np.zeros(keys.shape, dtype=bool)
    idx = np.searchsorted(sorted_keys, keys)
    idx[idx >= sorted_keys.size] = sorted_keys.size - 1
    return sorted_keys[idx] == keys


def _sync_fences(st: VehicleState, fs: FenceSet) -> None:
    """Forgets state kept for fences that were replaced or deleted since the vehicle was last seen."""
    if st.fence_stamp.get(-1) == fs.version:
        return
    def stale(fid: int) -> bool:
        f = fs.by_id.get(fid)
        return f is None or st.fence_stamp.get(fid, f.updated_at) != f.updated_at
    st.tracks = {k: t for k, t in st.tracks.items() if not stale(k[0])}
    st.stops = {k: s for k, s in st.stops.items() if not stale(k)}
    if st.stay is not None:
        st.stay.alarms = {k: a for k, a in st.stay.alarms.items() if not stale(k)}
    st.fence_stamp = {f.id: f.updated_at for f in fs.fences}
    st.fence_stamp[-1] = fs.version
    st.next_judge = -np.inf


def _speeds(st: VehicleState, fs: FenceSet, fx: Fixes, x: NDArray[np.float64], y: NDArray[np.float64]
            ) -> NDArray[np.float64]:
    """km/h: the fix's own speed_kmh when sent, else displacement over ≥ SPEED_WINDOW_S of track."""
    m = st.recent_ts.size
    if m:
        hx, hy = gcrs.transform(st.recent_lon, st.recent_lat, gcrs.STORAGE, fs.metric)
        t_all, x_all, y_all = (np.concatenate([st.recent_ts, fx.ts]), np.concatenate([hx, x]),
                               np.concatenate([hy, y]))
    else:
        t_all, x_all, y_all = fx.ts, x, y
    j = m + np.arange(len(fx), dtype=np.int64)
    ref = np.searchsorted(t_all, fx.ts - SPEED_WINDOW_S, side="right") - 1
    ref = np.clip(ref, 0, None)
    ref = np.minimum(ref, np.maximum(j - 1, 0))
    dt = t_all[j] - t_all[ref]
    dist = np.hypot(x_all[j] - x_all[ref], y_all[j] - y_all[ref])
    derived = np.where(dt > 0, dist / np.where(dt > 0, dt, 1.0) * 3.6, 0.0)
    return np.where(np.isnan(fx.speed), derived, fx.speed)


def _advance(st: VehicleState, fx: Fixes) -> None:
    if st.first_ts is None:
        st.first_ts = float(fx.ts[0])
    st.last_ts, st.last_lon, st.last_lat = float(fx.ts[-1]), float(fx.lon[-1]), float(fx.lat[-1])
    t_all = np.concatenate([st.recent_ts, fx.ts])
    keep = t_all >= st.last_ts - SPEED_WINDOW_S - 1.0
    keep[-1] = True
    st.recent_ts = t_all[keep]
    st.recent_lon = np.concatenate([st.recent_lon, fx.lon])[keep]
    st.recent_lat = np.concatenate([st.recent_lat, fx.lat])[keep]


# -- 信号接收超时 ---------------------------------------------------------------------------------------


def _signal(ctx: _Ctx, info: VehicleInfo) -> None:
    st, fx, fs = ctx.st, ctx.fx, ctx.fs
    if st.last_ts is not None:
        t = np.concatenate([[st.last_ts], fx.ts])
        lons, lats = np.concatenate([[st.last_lon], fx.lon]), np.concatenate([[st.last_lat], fx.lat])
    else:
        t, lons, lats = fx.ts, fx.lon, fx.lat
    if t.size < 2:
        return
    threshold, fence_id = DEFAULT_SIGNAL_TIMEOUT_S, None
    fences = [fs.fences[i] for i in ctx.rel]
    per_fence = [(f.signal_timeout_s, f.id) for f in fences if f.signal_timeout_s]
    if info.signal_timeout_s:
        threshold = float(info.signal_timeout_s)
    elif per_fence:
        threshold, fence_id = min(per_fence)
    gaps = np.diff(t)
    hits = np.nonzero(gaps > threshold)[0]
    if not hits.size:
        return
    shifts = [f for f in fences if f.schedule is not None and f.schedule.hours is not None]
    for h in hits:
        start = float(t[h])
        if shifts and not any(bool(f.schedule.active(np.array([start]))[0]) for f in shifts):
            continue  # off shift: silence is expected
        rec = AlarmRec("signal_timeout", fence_id, start, float(t[h + 1]), float(lons[h]), float(lats[h]),
                       max_value=round(float(gaps[h]), 1), details={"gap_s": round(float(gaps[h]), 1),
                                                                      "threshold_s": threshold})
        ctx.out[rec.key] = rec


# -- zone fences: 越区 / 禁行 / 路线偏离, and 超速 inside a fence with a limit --------------------------------


def _zones(ctx: _Ctx) -> None:
    st, fs = ctx.st, ctx.fs
    for r, fi in enumerate(ctx.rel):
        f = fs.fences[fi]
        if f.kind == "stop" and not f.speed_limit_kmh:
            continue
        act = ctx.active(f)
        if f.alarm is not None:
            inside, outer = ctx.inside[r], ctx.in_outer[r]
            if f.stay_inside:
                v = np.where(~outer, 1, np.where(inside, 0, -1)).astype(np.int8)
            else:
                v = np.where(inside, 1, np.where(~outer, 0, -1)).astype(np.int8)
            if act is not None:
                v[~act] = 0
            key = (f.id, f.alarm)
            tr = st.tracks.get(key)
            if (v == 1).any() or (tr is not None and tr.mode != CLEAR):
                values = None
                if f.stay_inside:
                    values = np.full(v.shape, np.nan)
                    bad = np.nonzero(v == 1)[0]
                    if bad.size:
                        values[bad] = np.round(shapely.distance(f.core, ctx.points[bad]), 1)
                _track(ctx, f, f.alarm, tr, v, values)
        if f.speed_limit_kmh:
            v = (ctx.inside[r] & (ctx.speed > f.speed_limit_kmh)).astype(np.int8)
            if act is not None:
                v[~act] = 0
            key = (f.id, "overspeed")
            tr = st.tracks.get(key)
            if v.any() or (tr is not None and tr.mode != CLEAR):
                _track(ctx, f, "overspeed", tr, v, np.round(ctx.speed, 1))


def _track(ctx: _Ctx, f: Fence, kind: str, tr: Track | None, v: NDArray[np.int8],
           values: NDArray[np.float64] | None) -> None:
    """The debounce/hysteresis state machine of one (vehicle, fence, kind) over its fixes in order."""
    if tr is None:
        tr = ctx.st.tracks.setdefault((f.id, kind), Track())
    ts, lon, lat, out = ctx.fx.ts, ctx.fx.lon, ctx.fx.lat, ctx.out
    changed = False
    for j in range(v.size):
        vj = int(v[j])
        if vj < 0:
            vj = tr.last_v
        tr.last_v = vj
        t = float(ts[j])
        if vj == 1:
            tr.clear_count = 0
            if tr.mode == CLEAR:
                tr.mode, tr.run_start, tr.run_count = PENDING, t, 0
                tr.run_lon, tr.run_lat, tr.max_value, tr.max_at = float(lon[j]), float(lat[j]), None, None
            tr.run_count += 1
            val = None if values is None else float(values[j])
            if val is not None and not np.isnan(val) and (tr.max_value is None or val > tr.max_value):
                tr.max_value, tr.max_at = val, t
                changed = True
            dur = t - tr.run_start
            if tr.mode == PENDING and dur >= f.seconds and (tr.run_count >= f.fixes or dur >= 2 * f.seconds):
                tr.mode = ALARMED
                tr.alarm = AlarmRec(kind, f.id, tr.run_start, None, tr.run_lon, tr.run_lat, tr.max_value, {})
                out[tr.alarm.key] = tr.alarm
        elif tr.mode == PENDING:
            tr.mode = CLEAR          # a pending violation must be continuous
        elif tr.mode == ALARMED:
            if tr.clear_count == 0:
                tr.clear_start = t
            tr.clear_count += 1
            if tr.clear_count >= f.clear_fixes:
                alarm = tr.alarm
                alarm.end = tr.clear_start
                alarm.max_value = tr.max_value
                alarm.details = {**alarm.details, "duration_s": round(alarm.end - alarm.start, 1)}
                out[alarm.key] = alarm
                tr.mode, tr.alarm, tr.clear_count = CLEAR, None, 0
    if tr.mode == ALARMED and changed and tr.alarm is not None:
        tr.alarm.max_value = tr.max_value
        out[tr.alarm.key] = tr.alarm
    if tr.mode == CLEAR and tr.last_v == 0:
        ctx.st.tracks.pop((f.id, kind), None)


# -- 违规停留 --------------------------------------------------------------------------------------------


def _stays(ctx: _Ctx) -> None:
    st, fs, fx = ctx.st, ctx.fs, ctx.fx
    dwell = [fs.fences[i] for i in ctx.rel if fs.fences[i].dwell_limit_s and fs.fences[i].kind != "stop"]
    if not dwell:
        st.stay = None
        return
    stay = st.stay
    ax = ay = 0.0
    if stay is not None:
        ax_, ay_ = gcrs.transform([stay.lon], [stay.lat], gcrs.STORAGE, fs.metric)
        ax, ay = float(ax_[0]), float(ay_[0])
    xs, ys, ts = ctx.x, ctx.y, fx.ts
    # Fast path: a moving vehicle never stays; only loop when some fix is close to its predecessor.
    for j in range(ts.size):
        t = float(ts[j])
        if stay is not None and (xs[j] - ax) ** 2 + (ys[j] - ay) ** 2 <= STAY_RADIUS_M ** 2:
            stay.last = t
            for f in dwell:
                if f.id in stay.alarms:
                    continue
                if t - stay.start > f.dwell_limit_s and shapely.contains_xy(f.core, ax, ay):
                    act = f.active(np.array([stay.start]))[0] if f.schedule is not None else True
                    if act:
                        rec = AlarmRec("illegal_stay", f.id, stay.start, None, stay.lon, stay.lat,
                                       max_value=round(t - stay.start, 1), details={"limit_s": f.dwell_limit_s})
                        stay.alarms[f.id] = rec
                        ctx.out[rec.key] = rec
            continue
        if stay is not None:
            for rec in stay.alarms.values():
                rec.end = t
                rec.max_value = round(stay.last - stay.start, 1)
                ctx.out[rec.key] = rec
        stay = Stay(t, t, float(fx.lon[j]), float(fx.lat[j]))
        ax, ay = float(xs[j]), float(ys[j])
    if stay is not None:
        for rec in stay.alarms.values():
            value = round(stay.last - stay.start, 1)
            if rec.max_value != value:
                rec.max_value = value
                ctx.out[rec.key] = rec
    st.stay = stay


# -- 漏收 / 超时未收 -------------------------------------------------------------------------------------


def _stops(ctx: _Ctx) -> None:
    st, fs, fx = ctx.st, ctx.fs, ctx.fx
    stops = [(r, fs.fences[fi]) for r, fi in enumerate(ctx.rel) if fs.fences[fi].kind == "stop"]
    if not stops:
        return
    ts = fx.ts
    for r, f in stops:
        ss = st.stops.get(f.id)
        if ss is None:
            ss = st.stops[f.id] = StopState(judged_until=float(st.last_ts if st.last_ts is not None else ts[0]))
        inside = ctx.inside[r]
        if inside.any() or ss.in_since is not None:
            for j in range(ts.size):
                t = float(ts[j])
                if inside[j]:
                    if ss.in_since is None:
                        ss.in_since = t
                    ss.last_in = t
                elif ss.in_since is not None:
                    ss.intervals.append((ss.in_since, ss.last_in))
                    ss.in_since = None
            ss.intervals = [iv for iv in ss.intervals if iv[1] >= ts[-1] - KEEP_INTERVALS_S]
    last = float(ts[-1])
    if last <= st.next_judge:
        return
    nxt = np.inf
    for _, f in stops:
        ss = st.stops[f.id]
        days = f.schedule.days if f.schedule is not None else None
        for occ in occurrences(f.windows, days, ss.judged_until, last):
            if occ.end >= last:
                break  # judged once a fix later than the window's end has arrived
            intervals = ss.intervals + ([(ss.in_since, ss.last_in)] if ss.in_since is not None else [])
            visited = any(min(e, occ.end) - max(s, occ.start) >= f.dwell_s for s, e in intervals)
            if not visited:
                rec = AlarmRec("missed_stop", f.id, occ.end, occ.end, f.stop_lonlat[0], f.stop_lonlat[1],
                               details={"window": occ.label, "window_start": occ.start, "window_end": occ.end,
                                        "dwell_s": f.dwell_s})
                ctx.out[rec.key] = rec
            ss.judged_until = occ.end
        nxt = min(nxt, next_end_after(f.windows, days, ss.judged_until))
    st.next_judge = nxt


def seed(st: VehicleState, rows: list[tuple[Any, ...]]) -> None:
    """Restores alarms that were open when a replay starts (from the database), so that a rebuilt state
    extends or closes them instead of raising them again."""
    for kind, fence_id, start, max_value, lon, lat, details in rows:
        rec = AlarmRec(kind, fence_id, float(start), None, lon, lat, max_value, details or {})
        if kind == "illegal_stay":
            if st.stay is None:
                st.stay = Stay(rec.start, rec.start, lon, lat)
            st.stay.alarms[fence_id] = rec
        elif kind in ("out_of_area", "cross_district", "forbidden", "off_route", "overspeed"):
            st.tracks[(fence_id, kind)] = Track(mode=ALARMED, last_v=1, run_start=rec.start, run_count=1,
                                                run_lon=lon, run_lat=lat, max_value=max_value, alarm=rec)
