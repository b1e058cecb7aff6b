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
from gis.fences.fenceset import Fence, FenceSet, RelSet
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
    (core_fix, core_f), (outer_fix, outer_f) = fs.broad_hits(points)
    lut = np.full(max(len(fs.fences), 1), -1, dtype=np.int64)
    for k, (st, info, fx) in enumerate(items):
        a, b = int(offs[k]), int(offs[k + 1])
        out = touched.setdefault(st.vehicle_id, {})
        _sync_fences(st, fs)
        rs = fs.relevant(st.vehicle_id, info.group)
        vx, vy = x[a:b], y[a:b]
        lo, hi = np.searchsorted(core_fix, [a, b])
        cj, cf = core_fix[lo:hi] - a, core_f[lo:hi]
        keep = rs.mask[cf] if cf.size else np.zeros(0, dtype=bool)
        cj, cf = cj[keep], cf[keep]
        lo, hi = np.searchsorted(outer_fix, [a, b])
        oj, of = outer_fix[lo:hi] - a, outer_f[lo:hi]
        keep = rs.mask[of] if of.size else np.zeros(0, dtype=bool)
        oj, of = oj[keep], of[keep]
        tracked = [fs.position[fid] for fid, _ in st.tracks if fid in fs.position]
        rows = np.unique(np.concatenate([rs.narrow, rs.always, of, np.array(tracked, dtype=np.int64)]))
        m, n = rows.size, b - a
        inside = np.zeros((m, n), dtype=bool)
        outer = np.zeros((m, n), dtype=bool)
        if m:
            lut[rows] = np.arange(m)
            inside[lut[cf], cj] = True
            outer[lut[of], oj] = True
            for fi in rs.narrow:
                f, r = fs.fences[fi], lut[fi]
                inside[r] = shapely.contains_xy(f.core, vx, vy)
                outer[r] = shapely.contains_xy(f.outer, vx, vy) if f.outer is not f.core else inside[r]
            lut[rows] = -1
        ctx = _Ctx(st, fs, rows, fx, vx, vy, points[a:b], out)
        ctx.rs, ctx.inside, ctx.in_outer = rs, inside, outer
        ctx.speed = _speeds(st, fs, fx, vx, vy)
        _signal(ctx, info)
        if m:
            _zones(ctx)
        _stays(ctx)
        _stops(ctx)
        _advance(st, fx, vx, vy, fs.metric)
        _stamp(st, fs)
    return touched


class _Ctx:
    def __init__(self, st: VehicleState, fs: FenceSet, rel: NDArray[np.int64], fx: Fixes,
                 x: NDArray[np.float64], y: NDArray[np.float64], points: NDArray[Any], out: Touched):
        self.st, self.fs, self.rel, self.fx, self.x, self.y, self.points, self.out = st, fs, rel, fx, x, y, points, out
        self.rs: RelSet | None = None
        self.speed: NDArray[np.float64] = np.zeros(0)
        self.inside: NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)
        self.in_outer: NDArray[np.bool_] = np.zeros((0, 0), dtype=bool)
        self._active: dict[int, NDArray[np.bool_]] = {}

    def row(self, f: Fence) -> int | None:
        i = self.fs.position.get(f.id)
        hit = np.nonzero(self.rel == i)[0]
        return int(hit[0]) if hit.size else None

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
    st.fence_stamp[-1] = fs.version
    st.next_judge = -np.inf


def _stamp(st: VehicleState, fs: FenceSet) -> None:
    """Records the version (updated_at) of each fence the vehicle keeps state about, as just evaluated: only
    those, not every fence (a copy of 25,000 stamps per vehicle cost seconds and memory per fence change)."""
    stamp = {-1: fs.version}
    for fid in {k[0] for k in st.tracks} | set(st.stops) | (set(st.stay.alarms) if st.stay is not None else set()):
        f = fs.by_id.get(fid)
        if f is not None:
            stamp[fid] = f.updated_at
    st.fence_stamp = stamp


def _speeds(st: VehicleState, fs: FenceSet, fx: Fixes, x: NDArray[np.float64], y: NDArray[np.float64]
            ) -> NDArray[np.float64]:
    """km/h: the fix's own speed_kmh when sent, else displacement over ≥ SPEED_WINDOW_S of track."""
    m = st.recent_ts.size
    if m:
        if st.recent_metric == fs.metric:
            hx, hy = st.recent_x, st.recent_y
        else:
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


def _advance(st: VehicleState, fx: Fixes, x: NDArray[np.float64], y: NDArray[np.float64], metric: str) -> None:
    if st.first_ts is None:
        st.first_ts = float(fx.ts[0])
    st.last_ts, st.last_lon, st.last_lat = float(fx.ts[-1]), float(fx.lon[-1]), float(fx.lat[-1])
    t_all = np.concatenate([st.recent_ts, fx.ts])
    keep = t_all >= st.last_ts - SPEED_WINDOW_S - 1.0
    keep[-1] = True
    st.recent_ts = t_all[keep]
    st.recent_lon = np.concatenate([st.recent_lon, fx.lon])[keep]
    st.recent_lat = np.concatenate([st.recent_lat, fx.lat])[keep]
    if st.recent_metric == metric and st.recent_x.size + x.size == keep.size:
        st.recent_x = np.concatenate([st.recent_x, x])[keep]
        st.recent_y = np.concatenate([st.recent_y, y])[keep]
    else:
        st.recent_x, st.recent_y = gcrs.transform(st.recent_lon, st.recent_lat, gcrs.STORAGE, metric)
    st.recent_metric = metric


# -- 信号接收超时 ---------------------------------------------------------------------------------------


def _signal(ctx: _Ctx, info: VehicleInfo) -> None:
    st, fx = ctx.st, ctx.fx
    if st.last_ts is not None:
        t = np.concatenate([[st.last_ts], fx.ts])
        lons, lats = np.concatenate([[st.last_lon], fx.lon]), np.concatenate([[st.last_lat], fx.lat])
    else:
        t, lons, lats = fx.ts, fx.lon, fx.lat
    if t.size < 2:
        return
    threshold, fence_id = DEFAULT_SIGNAL_TIMEOUT_S, None
    if info.signal_timeout_s:
        threshold = float(info.signal_timeout_s)
    elif ctx.rs.signal is not None:
        threshold, fence_id = ctx.rs.signal
    gaps = np.diff(t)
    hits = np.nonzero(gaps > threshold)[0]
    if not hits.size:
        return
    shifts = ctx.rs.shifts
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
    """Classifies every (relevant fence, fix) at once; the state machine runs only on rows with a
    violating fix or an alarm/pending state."""
    st, fs, rel = ctx.st, ctx.fs, ctx.rel
    inside, outer = ctx.inside, ctx.in_outer
    stay = fs.stay_inside[rel][:, None]
    v = np.where(stay, np.where(~outer, 1, np.where(inside, 0, -1)),
                 np.where(inside, 1, np.where(~outer, 0, -1))).astype(np.int8)
    limits = fs.speed_limit[rel]
    over = inside & (ctx.speed[None, :] > np.nan_to_num(limits, nan=np.inf)[:, None])
    for r in np.nonzero([fs.fences[fi].schedule is not None for fi in rel])[0]:
        act = ctx.active(fs.fences[rel[r]])
        v[r, ~act] = 0
        over[r, ~act] = False
    pos = {int(fi): r for r, fi in enumerate(rel)}
    rows_zone = set(np.nonzero(fs.zone_alarm[rel] & (v == 1).any(axis=1))[0].tolist())
    rows_speed = set(np.nonzero(over.any(axis=1))[0].tolist())
    for fid, kind in list(st.tracks):
        r = pos.get(fs.position.get(fid, -1))
        if r is not None:
            (rows_speed if kind == "overspeed" else rows_zone).add(r)
    for r in sorted(rows_zone):
        f = fs.fences[rel[r]]
        if f.alarm is None:
            continue
        values = None
        if f.stay_inside:
            values = np.full(v.shape[1], np.nan)
            bad = np.nonzero(v[r] == 1)[0]
            if bad.size:
                values[bad] = np.round(shapely.distance(f.core, ctx.points[bad]), 1)
        _track(ctx, f, f.alarm, st.tracks.get((f.id, f.alarm)), v[r], values)
    for r in sorted(rows_speed):
        f = fs.fences[rel[r]]
        if f.speed_limit_kmh:
            _track(ctx, f, "overspeed", st.tracks.get((f.id, "overspeed")), over[r].astype(np.int8),
                   np.round(ctx.speed, 1))


def _track(ctx: _Ctx, f: Fence, kind: str, tr: Track | None, v: NDArray[np.int8],
           values: NDArray[np.float64] | None) -> None:
    """The debounce/hysteresis state machine of one (vehicle, fence, kind) over its fixes in order."""
    if tr is None:
        tr = ctx.st.tracks.setdefault((f.id, kind), Track())
    ts, lon, lat, out = ctx.fx.ts.tolist(), ctx.fx.lon.tolist(), ctx.fx.lat.tolist(), ctx.out
    vals = None if values is None else values.tolist()
    changed = False
    vs = v.tolist()
    # While CLEAR (last_v is then 0: any violating fix leaves CLEAR at once), a fix that is not a violation
    # changes nothing: jump to the next violating one. A vehicle crossing a forbidden square (a few stray
    # fixes) thus costs those few steps, not one per fix of the batch for every square it touched.
    ones = np.flatnonzero(v == 1).tolist()
    k, n, j = 0, len(vs), 0   # k: next candidate in `ones`; j: the fix
    while j < n:
        if tr.mode == CLEAR:
            while k < len(ones) and ones[k] < j:
                k += 1
            if k == len(ones):
                tr.last_v = 0
                break
            j = ones[k]
        vj = vs[j]
        if vj < 0:
            vj = tr.last_v
        tr.last_v = vj
        t = ts[j]
        if vj == 1:
            tr.clear_count = 0
            if tr.mode == CLEAR:
                tr.mode, tr.run_start, tr.run_count = PENDING, t, 0
                tr.run_lon, tr.run_lat, tr.max_value, tr.max_at = lon[j], lat[j], None, None
            tr.run_count += 1
            val = None if vals is None else vals[j]
            if val is not None and val == val and (tr.max_value is None or val > tr.max_value):
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
        j += 1
    if tr.mode == ALARMED and changed and tr.alarm is not None:
        tr.alarm.max_value = tr.max_value
        out[tr.alarm.key] = tr.alarm
    if tr.mode == CLEAR and tr.last_v == 0:
        ctx.st.tracks.pop((f.id, kind), None)


# -- 违规停留 --------------------------------------------------------------------------------------------


def _stays(ctx: _Ctx) -> None:
    st, fs, fx = ctx.st, ctx.fs, ctx.fx
    dwell = ctx.rs.dwell
    if not dwell:
        st.stay = None
        return
    min_limit = min(f.dwell_limit_s for f in dwell)
    stay = st.stay
    ax = ay = 0.0
    if stay is not None:
        if stay.metric == fs.metric:
            ax, ay = stay.x, stay.y
        else:
            ax_, ay_ = gcrs.transform([stay.lon], [stay.lat], gcrs.STORAGE, fs.metric)
            ax, ay = float(ax_[0]), float(ay_[0])
    xs, ys, ts = ctx.x.tolist(), ctx.y.tolist(), fx.ts.tolist()
    lons, lats = fx.lon.tolist(), fx.lat.tolist()
    r2 = STAY_RADIUS_M ** 2
    for j, t in enumerate(ts):
        if stay is not None and (xs[j] - ax) ** 2 + (ys[j] - ay) ** 2 <= r2:
            stay.last = t
            if t - stay.start <= min_limit:
                continue
            for f in dwell:
                if f.id in stay.alarms:
                    continue
                if t - stay.start > f.dwell_limit_s and _stay_applies(f, ax, ay):
                    act = f.active(np.array([stay.start]))[0] if f.schedule is not None else True
                    if act:
                        rec = AlarmRec(f.stay_alarm, f.id, stay.start, None, stay.lon, stay.lat,
                                       max_value=round(t - stay.start, 1), details={"limit_s": f.dwell_limit_s})
                        stay.alarms[f.id] = rec
                        ctx.out[rec.key] = rec
            continue
        if stay is not None:
            for rec in stay.alarms.values():
                rec.end = t
                rec.max_value = round(stay.last - stay.start, 1)
                ctx.out[rec.key] = rec
        ax, ay = xs[j], ys[j]
        stay = Stay(t, t, lons[j], lats[j], x=ax, y=ay, metric=fs.metric)
    if stay is not None:
        for rec in stay.alarms.values():
            value = round(stay.last - stay.start, 1)
            if rec.max_value != value:
                rec.max_value = value
                ctx.out[rec.key] = rec
    st.stay = stay


def _stay_applies(f: Fence, x: float, y: float) -> bool:
    """Whether a stay at (x, y) counts against fence `f`: inside it (违规停留), or, for 偷倒/乱倒, outside
    it grown by its margin (a truck queueing just past a site's gate is still at the site)."""
    if f.stay_outside:
        return not shapely.contains_xy(f.outer, x, y)
    return bool(shapely.contains_xy(f.core, x, y))


# -- 漏收 / 超时未收 -------------------------------------------------------------------------------------


def _stops(ctx: _Ctx) -> None:
    st, fx = ctx.st, ctx.fx
    if not ctx.rs.stops:
        return
    stops = [(ctx.row(f), f) for f in ctx.rs.stops]
    ts = fx.ts
    for r, f in stops:
        ss = st.stops.get(f.id)
        if ss is None:
            ss = st.stops[f.id] = StopState(judged_until=float(st.last_ts if st.last_ts is not None else ts[0]))
        inside = ctx.inside[r] if r is not None else np.zeros(ts.size, dtype=bool)
        if inside.any() or ss.in_since is not None:
            for t, is_in in zip(ts.tolist(), inside.tolist(), strict=True):
                if is_in:
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
        if kind in ("illegal_stay", "illegal_dumping"):
            if st.stay is None:
                st.stay = Stay(rec.start, rec.start, lon, lat)
            st.stay.alarms[fence_id] = rec
        elif kind in ("out_of_area", "cross_district", "forbidden", "off_route", "overspeed", "unapproved_route",
                      "restricted_hours"):
            st.tracks[(fence_id, kind)] = Track(mode=ALARMED, last_v=1, run_start=rec.start, run_count=1,
                                                run_lon=lon, run_lat=lat, max_value=max_value, alarm=rec)
