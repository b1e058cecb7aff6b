"""House-number interpolation along a street (GB/T 30428.3: a rough position from the number).

Preference: between the nearest known numbers on the same side (same parity), measured along the
segment and keeping the plates' distance from the centre line; else along the segment whose
SHousenum–LHousenum range holds the number, with the number→position relation learnt from that
segment's plates when it has some (which also tells which end the numbering starts from and which
side the odd numbers are on), else from the range itself (odd left, even right, from the start).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from geocoder.index import ReferenceIndex

#: Numbers within this many of the highest/lowest known number may snap to that end plate.
END_SLACK = 6


@dataclass
class Interpolated:
    x: float
    y: float
    confidence: float
    method: str          # "between", "segment", "range", "end"


def measure_offset(line: shapely.LineString, x: float, y: float) -> tuple[float, float]:
    """Position along `line` (m from its start) and signed distance from it (left of travel > 0)."""
    p = shapely.Point(x, y)
    m = line.project(p)
    q = line.interpolate(m)
    tx, ty = _tangent(line, m)
    d = math.hypot(x - q.x, y - q.y)
    side = tx * (y - q.y) - ty * (x - q.x)
    return m, d if side >= 0 else -d


def point_at(line: shapely.LineString, m: float, d: float) -> tuple[float, float]:
    """The point `m` metres along `line` and `d` metres to its left (negative: right)."""
    m = min(max(m, 0.0), line.length)
    q = line.interpolate(m)
    tx, ty = _tangent(line, m)
    return q.x - ty * d, q.y + tx * d


def _tangent(line: shapely.LineString, m: float) -> tuple[float, float]:
    length = line.length
    a = line.interpolate(max(m - 1.0, 0.0))
    b = line.interpolate(min(m + 1.0, length))
    dx, dy = b.x - a.x, b.y - a.y
    norm = math.hypot(dx, dy) or 1.0
    return dx / norm, dy / norm


def along_street(index: ReferenceIndex, road: int, number: int) -> Interpolated | None:
    """A position for `number` on road `road` that has no plate of its own, or None if the number is
    outside everything known about the street (then the honest answer is no match)."""
    parity = number % 2
    known = index.street_numbers.get((road, parity))
    if known is not None and len(known[0]):
        nums, ids = known
        k = int(np.searchsorted(nums, number))
        if 0 < k < len(nums):
            lo, hi = index.plates[int(ids[k - 1])], index.plates[int(ids[k])]
            t = (number - nums[k - 1]) / (nums[k] - nums[k - 1])
            gap = int(nums[k] - nums[k - 1])
            conf = 0.8 if gap <= 20 else 0.7
            if lo.seg is not None and lo.seg == hi.seg:
                line = index.segments[lo.seg].line
                m0, d0 = measure_offset(line, lo.x, lo.y)
                m1, d1 = measure_offset(line, hi.x, hi.y)
                x, y = point_at(line, m0 + t * (m1 - m0), d0 + t * (d1 - d0))
            else:
                x, y = lo.x + t * (hi.x - lo.x), lo.y + t * (hi.y - lo.y)
            return Interpolated(x, y, conf, "between")
    for seg_idx in index.roads[road].segs:
        seg = index.segments[seg_idx]
        if seg.s_housenum is None or seg.l_housenum is None or not seg.s_housenum <= number <= seg.l_housenum:
            continue
        fitted = _fit(index, seg_idx, parity)
        if fitted is not None:
            a, b, d = fitted
            x, y = point_at(seg.line, a + b * number, d)
            return Interpolated(x, y, 0.65, "segment")
        span = seg.l_housenum - seg.s_housenum
        t = (number - seg.s_housenum) / span if span > 0 else 0.5
        setback = index.roads[road].setback
        x, y = point_at(seg.line, t * seg.line.length, setback if parity else -setback)
        return Interpolated(x, y, 0.6, "range")
    if known is not None and len(known[0]):
        nums, ids = known
        if nums[0] - END_SLACK <= number < nums[0]:
            p = index.plates[int(ids[0])]
            return Interpolated(p.x, p.y, 0.5, "end")
        if nums[-1] < number <= nums[-1] + END_SLACK:
            p = index.plates[int(ids[-1])]
            return Interpolated(p.x, p.y, 0.5, "end")
    return None


def _fit(index: ReferenceIndex, seg_idx: int, parity: int) -> tuple[float, float, float] | None:
    """Least-squares position = a + b·number over the plates on this segment (both sides), and the
    median signed setback of this side's plates; None with fewer than two numbered plates."""
    cache = index.fit_cache
    key = (seg_idx, parity)
    if key in cache:
        return cache[key]
    line = index.segments[seg_idx].line
    nums, ms, sides = [], [], []
    for pi in index.plates_by_seg.get(seg_idx, ()):
        p = index.plates[pi]
        if p.road is None:
            continue
        n = p.number if p.lane is None else (p.lane if p.number is None else None)
        if n is None or p.building is not None or p.number_sub is not None:
            continue
        m, d = measure_offset(line, p.x, p.y)
        nums.append(n)
        ms.append(m)
        if n % 2 == parity:
            sides.append(d)
    result = None
    if len(set(nums)) >= 2 and sides:
        b, a = np.polyfit(np.array(nums, dtype=float), np.array(ms), 1)
        result = (float(a), float(b), float(np.median(sides)))
    cache[key] = result
    return result


def within_lane(index: ReferenceIndex, road: int, lane: int, sublane: int | None,
                number: int) -> Interpolated | None:
    """淞滨路100弄7号 without a plate: between the lane's nearest same-side numbers (straight line
    between them), else along the lane's own 街巷 record (淞滨路100弄, numbered from its gate)."""
    known = index.lane_numbers.get((road, lane, sublane))
    if known is not None and len(known[0]):
        nums, ids = known
        same = nums % 2 == number % 2
        nums, ids = nums[same], ids[same]
        k = int(np.searchsorted(nums, number))
        if 0 < k < len(nums):
            lo, hi = index.plates[int(ids[k - 1])], index.plates[int(ids[k])]
            t = (number - nums[k - 1]) / (nums[k] - nums[k - 1])
            return Interpolated(lo.x + t * (hi.x - lo.x), lo.y + t * (hi.y - lo.y), 0.75, "lane")
    name = index.roads[road].name + f"{lane}弄" + (f"{sublane}支弄" if sublane is not None else "")
    for lane_road in index.road_keys.get(name, ()):
        found = along_street(index, lane_road, number)
        if found is not None:
            return Interpolated(found.x, found.y, min(found.confidence, 0.65), "lane_" + found.method)
    if known is not None and len(known[0]):
        nums, ids = known
        j = int(abs(nums - number).argmin())
        if abs(int(nums[j]) - number) <= END_SLACK:
            p = index.plates[int(ids[j])]
            return Interpolated(p.x, p.y, 0.5, "lane_end")
    return None
