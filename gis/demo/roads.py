"""Roads along the lattice's road lines: named roads split into segments (街巷) at intersections, with
house-number ranges that continue along each road, and the road graph the vehicles drive on.

House numbers: each road has a frontage of `k` metres per number counted from its start (south end of
north–south roads, west end of east–west roads); odd numbers on the left, even on the right. A segment's
SHousenum/LHousenum are the numbers its stretch of road covers, and a plate numbered n stands at the
fraction (n - SHousenum) / (LHousenum - SHousenum) of the segment — exactly where linear interpolation
along the stored segment (ST_LineInterpolatePoint on the 4490 line) puts it.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np
import shapely
from numpy.typing import NDArray

from gis.demo import names
from gis.demo.lattice import District

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQ = 111_320.0


@dataclass
class Road:
    name: str
    orient: str                 # "v" (south→north) or "h" (west→east)
    line: int                   # lattice line index
    start: int                  # first edge position along the line
    end: int                    # one past the last edge
    k: float                    # metres of frontage per house number
    trunk: bool = False
    alias: list[str] = field(default_factory=list)
    old_name: list[str] = field(default_factory=list)
    segments: list[int] = field(default_factory=list)


@dataclass
class Roads:
    roads: list[Road]
    seg_road: NDArray[np.int64]          # per segment: road index
    seg_nodes: list[NDArray[np.int64]]   # per segment: lattice node ids, in numbering direction
    seg_s: NDArray[np.int64]
    seg_l: NDArray[np.int64]
    seg_len_m: NDArray[np.float64]
    seg_ll: NDArray[np.object_]          # LineStrings in 4490
    seg_street: NDArray[np.int64]        # street/town index (for streets.street_code)
    seg_begin: list[str]
    seg_end: list[str]
    edge_seg: dict[tuple[str, int, int], int]   # (orient, line, edge position) -> segment
    adjacency: dict[int, list[tuple[int, float]]]  # road graph over lattice node ids (metres)
    node_xy_m: NDArray[np.float64]       # (n_nodes_total, 2) metric coordinates of every lattice node

    @property
    def n(self) -> int:
        return len(self.seg_road)


def _runs(flags: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    padded = np.concatenate([[False], flags, [False]])
    diff = np.diff(padded.astype(np.int8))
    return list(zip(np.nonzero(diff == 1)[0].tolist(), np.nonzero(diff == -1)[0].tolist(), strict=True))


def _linestrings(coords: list[NDArray[np.float64]]) -> NDArray[np.object_]:
    """LineStrings of differing vertex counts, built in one call."""
    if not coords:
        return np.array([], dtype=object)
    flat = np.concatenate(coords)
    index = np.repeat(np.arange(len(coords)), [len(c) for c in coords])
    return shapely.linestrings(flat, indices=index)


def _name_pool(rng: np.random.Generator) -> list[str]:
    real = list(names.REAL_ROADS)
    rng.shuffle(real)
    roots = list(names.ROAD_ROOTS)
    rng.shuffle(roots)
    suffixes = {"路": 10.0, "北路": 1.0, "南路": 1.0, "东路": 0.8, "西路": 0.8, "支路": 0.6, "街": 0.3}
    combos = [r + s for s in suffixes for r in roots]
    weight = np.array([suffixes[s] for s in suffixes for _ in roots])
    invented = [combos[i] for i in rng.choice(len(combos), size=len(combos), replace=False, p=weight / weight.sum())]
    seen: set[str] = set()
    pool = []
    for n in real + invented:
        if n not in seen:
            seen.add(n)
            pool.append(n)
    return pool


def build_roads(d: District) -> Roads:
    rng = np.random.default_rng([d.seed, 3])
    inside = d.cell_index >= 0
    pad = np.zeros((d.nx + 2, d.ny + 2), dtype=bool)
    pad[1:-1, 1:-1] = inside
    node_ll = d.node_ll.reshape(-1, 2)
    node_m = d.node_m.reshape(-1, 2)
    pool = _name_pool(rng)

    # Trunk lines: a few long roads kept whole (大道 and the real arterials).
    n_trunk = max(1, round(3 * np.sqrt(d.scale)))
    trunk_v = set(rng.choice(d.xroads[1:-1], size=min(n_trunk, len(d.xroads) - 2), replace=False).tolist()) \
        if len(d.xroads) > 2 else set()
    trunk_h = set(rng.choice(d.yroads[1:-1], size=min(n_trunk, len(d.yroads) - 2), replace=False).tolist()) \
        if len(d.yroads) > 2 else set()

    roads: list[Road] = []
    for orient, lines, cross in (("v", d.xroads, d.yroads), ("h", d.yroads, d.xroads)):
        for line in lines.tolist():
            # Vertical edge j joins nodes (line, j), (line, j+1) between cells (line-1, j) and (line, j);
            # horizontal edge i joins (i, line), (i+1, line) between cells (i, line-1) and (i, line).
            flags = pad[line, 1:-1] | pad[line + 1, 1:-1] if orient == "v" else pad[1:-1, line] | pad[1:-1, line + 1]
            trunk = line in (trunk_v if orient == "v" else trunk_h)
            for a, b in _runs(flags):
                cuts = [p for p in cross.tolist() if a < p < b]
                bounds = [a, *cuts, b]
                nseg = len(bounds) - 1
                if nseg == 0:
                    continue
                if trunk:
                    chunks = [nseg]
                else:
                    chunks = []
                    left = nseg
                    while left > 0:
                        take = int(min(left, rng.integers(2, 7)))
                        chunks.append(take)
                        left -= take
                pos = 0
                for take in chunks:
                    name = pool.pop(0)
                    if trunk and name not in names.REAL_ROADS and rng.random() < 0.6:
                        name = name.removesuffix("路") + names.TRUNK_SUFFIX
                    elif not trunk and take <= 2 and rng.random() < 0.25 and name.endswith("路") \
                            and not name.endswith(("北路", "南路", "东路", "西路", "支路")):
                        name = name.removesuffix("路") + names.OLD_TOWN_SUFFIX
                    road = Road(name, orient, line, bounds[pos], bounds[pos + take], float(rng.uniform(4.0, 9.0)),
                                trunk)
                    road.alias = list(names.ROAD_ALIASES.get(name, []))
                    road.old_name = list(names.ROAD_OLD_NAMES.get(name, []))
                    if not road.alias and rng.random() < 0.08:
                        road.alias = [name.removesuffix("路") + "公路" if name.endswith("路") else name + "路"]
                    if not road.old_name and rng.random() < 0.05:
                        road.old_name = [pool.pop(len(pool) - 1)]
                    road.segments = list(range(pos, pos + take))  # placeholders: bounds indices
                    road._bounds = bounds[pos: pos + take + 1]    # type: ignore[attr-defined]
                    roads.append(road)
                    pos += take

    # Segments.
    seg_road, seg_nodes, seg_s, seg_l, seg_len, seg_coords = [], [], [], [], [], []
    edge_seg: dict[tuple[str, int, int], int] = {}
    for r, road in enumerate(roads):
        bounds = road._bounds  # type: ignore[attr-defined]
        pos_all = np.arange(bounds[0], bounds[-1] + 1)
        if road.orient == "v":
            ids_all = d.node_ids(np.full(len(pos_all), road.line), pos_all)
        else:
            ids_all = d.node_ids(pos_all, np.full(len(pos_all), road.line))
        xy = node_m[ids_all]
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        road.segments = []
        for a, b in itertools.pairwise(bounds):
            ia, ib = a - bounds[0], b - bounds[0]
            s = int(np.ceil(cum[ia] / road.k)) + (1 if ia == 0 else 0)
            last = int(np.ceil(cum[ib] / road.k)) - 1 if ib < len(cum) - 1 else int(np.floor(cum[ib] / road.k))
            l_ = max(last, s + 1)
            sid = len(seg_road)
            road.segments.append(sid)
            seg_road.append(r)
            seg_nodes.append(ids_all[ia: ib + 1])
            seg_s.append(s)
            seg_l.append(l_)
            seg_len.append(cum[ib] - cum[ia])
            seg_coords.append(node_ll[ids_all[ia: ib + 1]])
            for p in range(a, b):
                edge_seg[(road.orient, road.line, p)] = sid
        del road._bounds  # type: ignore[attr-defined]
    # Ranges must not overlap between consecutive segments of a road.
    for road in roads:
        for a, b in itertools.pairwise(road.segments):
            if seg_s[b] <= seg_l[a]:
                seg_s[b] = seg_l[a] + 1
                seg_l[b] = max(seg_l[b], seg_s[b] + 1)

    seg_ll = _linestrings(seg_coords)
    seg_road_a = np.array(seg_road, dtype=np.int64)

    # The street/town of each segment: that of a cell beside its middle edge.
    seg_street = np.zeros(len(seg_road), dtype=np.int64)
    for sid, nodes in enumerate(seg_nodes):
        mid = len(nodes) // 2 - (1 if len(nodes) % 2 == 0 else 0)
        mid = max(0, min(mid, len(nodes) - 2))
        i, j = divmod(int(nodes[mid]), d.ny + 1)
        road = roads[seg_road[sid]]
        cands = [(i - 1, j), (i, j)] if road.orient == "v" else [(i, j - 1), (i, j)]
        for ci, cj in cands:
            if 0 <= ci < d.nx and 0 <= cj < d.ny and d.cell_index[ci, cj] >= 0:
                seg_street[sid] = d.cell_street[d.cell_index[ci, cj]]
                break

    # Beginning/Ending: the crossing road at each end (or the district boundary).
    def crossing(node: int, orient: str) -> str:
        i, j = divmod(node, d.ny + 1)
        other = "h" if orient == "v" else "v"
        for key in ((other, j, i - 1), (other, j, i)) if orient == "v" else ((other, i, j - 1), (other, i, j)):
            if key in edge_seg:
                return roads[seg_road[edge_seg[key]]].name
        return "区界"

    seg_begin = [crossing(int(n[0]), roads[r].orient) for n, r in zip(seg_nodes, seg_road, strict=True)]
    seg_end = [crossing(int(n[-1]), roads[r].orient) for n, r in zip(seg_nodes, seg_road, strict=True)]

    adjacency: dict[int, list[tuple[int, float]]] = {}
    for nodes in seg_nodes:
        xy = node_m[nodes]
        lens = np.hypot(*np.diff(xy, axis=0).T)
        for a, b, w in zip(nodes[:-1].tolist(), nodes[1:].tolist(), lens.tolist(), strict=True):
            adjacency.setdefault(a, []).append((b, w))
            adjacency.setdefault(b, []).append((a, w))

    return Roads(roads, seg_road_a, seg_nodes, np.array(seg_s), np.array(seg_l), np.array(seg_len), seg_ll,
                 seg_street, seg_begin, seg_end, edge_seg, adjacency, node_m)


# -- placing things along segments -----------------------------------------------------------------


def metres_to_deg(lat: NDArray) -> tuple[NDArray, NDArray]:
    """Degrees per metre in lon and lat at latitude `lat` (local, for offsets of a few tens of metres)."""
    return 1.0 / (M_PER_DEG_LON_EQ * np.cos(np.radians(lat))), np.full_like(lat, 1.0 / M_PER_DEG_LAT)


def along(lines: NDArray[np.object_], frac: NDArray, offset_m: NDArray) -> tuple[NDArray, NDArray]:
    """Points at normalised fraction `frac` along each 4490 line, `offset_m` metres to its left (negative:
    right). Fractions are measured on the stored 4490 line, as ST_LineInterpolatePoint does."""
    frac = np.clip(np.asarray(frac, dtype=float), 0.0, 1.0)
    p = shapely.get_coordinates(shapely.line_interpolate_point(lines, frac, normalized=True))
    eps = 1e-4
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.clip(frac - eps, 0, 1), normalized=True))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.clip(frac + eps, 0, 1), normalized=True))
    dlon_m, dlat_m = metres_to_deg(p[:, 1])
    tx, ty = (b[:, 0] - a[:, 0]) / dlon_m, (b[:, 1] - a[:, 1]) / dlat_m     # tangent in metres
    norm = np.hypot(tx, ty)
    norm[norm == 0] = 1.0
    tx, ty = tx / norm, ty / norm
    off = np.asarray(offset_m, dtype=float)
    return p[:, 0] + (-ty) * off * dlon_m, p[:, 1] + tx * off * dlat_m


def house_fraction(r: Roads, seg: NDArray, num: NDArray) -> NDArray:
    s, l_ = r.seg_s[seg], r.seg_l[seg]
    return (np.asarray(num) - s) / np.maximum(l_ - s, 1)


def side_of(lines: NDArray[np.object_], x: NDArray, y: NDArray) -> NDArray:
    """+1 where the point lies left of the line (at its nearest point), -1 right."""
    pts = shapely.points(x, y)
    f = shapely.line_locate_point(lines, pts, normalized=True)
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.clip(f - 1e-4, 0, 1), normalized=True))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.clip(f + 1e-4, 0, 1), normalized=True))
    cross = (b[:, 0] - a[:, 0]) * (y - a[:, 1]) - (b[:, 1] - a[:, 1]) * (x - a[:, 0])
    return np.where(cross >= 0, 1, -1)


# -- the road graph ---------------------------------------------------------------------------------


def shortest_tree(adjacency: dict[int, list[tuple[int, float]]], source: int) -> dict[int, int]:
    """Dijkstra from `source`: predecessor of every reachable node."""
    dist = {source: 0.0}
    pred = {source: source}
    heap = [(0.0, source)]
    while heap:
        du, u = heapq.heappop(heap)
        if du > dist[u]:
            continue
        for v, w in adjacency.get(u, ()):
            nd = du + w
            if nd < dist.get(v, np.inf):
                dist[v] = nd
                pred[v] = u
                heapq.heappush(heap, (nd, v))
    return pred


def path_to(pred: dict[int, int], source: int, target: int) -> list[int]:
    """Nodes from `source` to `target` given the predecessor tree rooted at `source`."""
    if target not in pred:
        return [source]
    out = [target]
    while out[-1] != source:
        out.append(pred[out[-1]])
    return out[::-1]


def nearest_road_node(r: Roads, xy_m: NDArray) -> NDArray[np.int64]:
    nodes = np.array(sorted(r.adjacency), dtype=np.int64)
    tree = shapely.STRtree(shapely.points(r.node_xy_m[nodes]))
    idx = tree.query_nearest(shapely.points(xy_m), return_distance=False, all_matches=False)[1]
    return nodes[idx]
