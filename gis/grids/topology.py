"""Topology check of unit grids against communities: a GeoJSON of problems plus a summary.

Defect kinds (standards.md §2: unit grids tile a community without gaps or overlaps, each in exactly
one community, codes prefixed by their community's):

- `overlap`: two unit grids share area;
- `gap`: part of a community (or a hole amid the unit grids) that no unit grid covers;
- `sliver`: a gap or overlap piece that is tiny (< 10 m²) or thin (Polsby–Popper < 0.05) — the usual
  trace of edges digitised twice; reported apart because it is fixed by snapping, not by re-drawing;
- `crosses_community`: a unit grid partly outside the community its code names;
- `outside_community`: a unit grid in no community at all;
- `duplicate_code`: a code used by more than one unit grid (possible in files; the table forbids it);
- `prefix_mismatch`: a unit grid lying mostly in another community than its code's first 12 digits say.

All work is vectorised shapely on geometries projected to metres (an equal-area projection centred on
the data). Pieces under 0.01 m² are float noise and ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psycopg
import shapely
from numpy.typing import NDArray

from gis.errors import InvalidInput
from gis.metric import project, zone_of

NOISE_M2 = 0.01
SLIVER_AREA_M2 = 10.0
SLIVER_THINNESS = 0.05
KINDS = ("overlap", "gap", "sliver", "crosses_community", "outside_community", "duplicate_code", "prefix_mismatch")


@dataclass
class Report:
    problems: list[dict[str, Any]] = field(default_factory=list)
    unit_grids: int = 0
    communities: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        counts = Counter(p["properties"]["kind"] for p in self.problems)
        return {"ok": self.ok, "unit_grids": self.unit_grids, "communities": self.communities,
                "problems": len(self.problems), "by_kind": {k: counts.get(k, 0) for k in KINDS}}

    def geojson(self) -> dict[str, Any]:
        return {"type": "FeatureCollection", "features": self.problems, "summary": self.summary()}


class _Metric:
    """Measures lon/lat geometries in metres. Overlay work stays in lon/lat, where shared vertices are
    bit-identical; only the measured pieces are projected (a projected straight edge would bend away from
    a vertex lying on it and invent slivers)."""

    def __init__(self, geoms: NDArray[np.object_]):
        self.t = zone_of(geoms)

    def area(self, geoms: Any) -> NDArray[np.float64]:
        arr = np.atleast_1d(np.asarray(geoms, dtype=object))
        return shapely.area(project(arr, self.t)) if len(arr) else np.empty(0)

    def thinness(self, geom: Any) -> float:
        g = project(np.array([geom], dtype=object), self.t)[0]
        perim = shapely.length(g)
        return float(4 * np.pi * shapely.area(g) / perim**2) if perim > 0 else 0.0

    def pieces(self, geom: Any) -> NDArray[np.object_]:
        parts = shapely.get_parts(shapely.get_parts(geom))
        if not len(parts):
            return parts
        parts = parts[shapely.get_type_id(parts) == 3]
        return parts[self.area(parts) > NOISE_M2] if len(parts) else parts


def check(codes: list[str], units_ll: NDArray[np.object_], community_codes: list[str],
          communities_ll: NDArray[np.object_]) -> Report:
    """Checks unit grids (storage lon/lat) against communities; pure, no database."""
    report = Report(unit_grids=len(codes), communities=len(community_codes))
    if not len(codes):
        return report
    units = shapely.make_valid(units_ll)
    comms = shapely.make_valid(communities_ll) if len(communities_ll) else np.empty(0, dtype=object)
    m = _Metric(np.concatenate([units, comms]) if len(comms) else units)

    def add(kind: str, geom: Any, codes_: list[str], detail: str) -> None:
        report.problems.append({
            "type": "Feature",
            "geometry": orjson.loads(shapely.to_geojson(geom)),
            "properties": {"kind": kind, "codes": codes_, "area_m2": round(float(m.area(geom)[0]), 3),
                           "detail": detail},
        })

    def add_piece(kind: str, piece: Any, codes_: list[str], detail: str) -> None:
        area = float(m.area(piece)[0])
        if area < SLIVER_AREA_M2 or m.thinness(piece) < SLIVER_THINNESS:
            add("sliver", piece, codes_, f"sliver {kind} of {area:.2f} m²: {detail}")
        else:
            add(kind, piece, codes_, detail)

    # Duplicate codes.
    for code, n in sorted(Counter(codes).items()):
        if n > 1:
            idx = [i for i, c in enumerate(codes) if c == code]
            add("duplicate_code", shapely.union_all(units[idx]), [code], f"code {code} is used by {n} unit grids")

    # Overlaps between unit grids.
    tree = shapely.STRtree(units)
    a, b = tree.query(units, predicate="intersects")
    keep = a < b
    a, b = a[keep], b[keep]
    if len(a):
        inter = shapely.intersection(units[a], units[b])
        big = m.area(inter) > NOISE_M2
        for i, j, g in zip(a[big].tolist(), b[big].tolist(), inter[big], strict=True):
            for piece in m.pieces(g):
                add_piece("overlap", piece, [codes[i], codes[j]],
                          f"unit grids {codes[i]} and {codes[j]} overlap by {m.area(piece)[0]:.2f} m²")

    # Gaps: community area no unit grid covers, and holes amid the unit grids outside any community.
    for k, comm in enumerate(comms):
        near = tree.query(comm, predicate="intersects")
        rest = shapely.difference(comm, shapely.union_all(units[near])) if len(near) else comm
        for piece in m.pieces(rest):
            add_piece("gap", piece, [community_codes[k]],
                      f"{m.area(piece)[0]:.2f} m² of community {community_codes[k]} is in no unit grid")
    covered = shapely.union_all(units)
    holes = [shapely.polygons(r) for p in shapely.get_parts(covered) for r in shapely.get_rings(p)[1:]]
    if holes:
        outside = shapely.union_all(np.array(holes, dtype=object))
        if len(comms):
            outside = shapely.difference(outside, shapely.union_all(comms))
        for piece in m.pieces(outside):
            near = tree.query(piece, predicate="intersects").tolist()
            add_piece("gap", piece, sorted(codes[i] for i in near),
                      f"{m.area(piece)[0]:.2f} m² hole amid unit grids, in no community")

    # Community membership: crossing, outside, prefix disagreement.
    if len(comms):
        ctree = shapely.STRtree(comms)
        u, c = ctree.query(units, predicate="intersects")
        share = m.area(shapely.intersection(units[u], comms[c])) if len(u) else np.empty(0)
        best: dict[int, tuple[float, str]] = {}
        for i, j, s in zip(u.tolist(), c.tolist(), share.tolist(), strict=True):
            cand = community_codes[j]
            if s > NOISE_M2 and (i not in best or s > best[i][0] or (s == best[i][0] and cand < best[i][1])):
                best[i] = (s, cand)
        position = {code: k for k, code in enumerate(community_codes)}
        for i, code in enumerate(codes):
            own = code[:12]
            if i not in best:
                add("outside_community", units[i], [code], f"unit grid {code} lies in no community")
                continue
            if best[i][1] != own:
                add("prefix_mismatch", units[i], [code, best[i][1]],
                    f"unit grid {code} is coded for community {own} but lies mostly in community {best[i][1]}")
                continue
            for piece in m.pieces(shapely.difference(units[i], comms[position[own]])):
                add_piece("crosses_community", piece, [code, own],
                          f"{m.area(piece)[0]:.2f} m² of unit grid {code} lies outside its community {own}")
    return report


def check_database(conn: psycopg.Connection) -> Report:
    """Checks the stored unit grids against the stored communities."""
    units = conn.execute("SELECT code, ST_AsBinary(geom) FROM unit_grids ORDER BY code").fetchall()
    comms = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM admin_areas WHERE level = 'community' ORDER BY code").fetchall()
    return check([r[0] for r in units], np.asarray(shapely.from_wkb([r[1] for r in units]), dtype=object),
                 [r[0] for r in comms], np.asarray(shapely.from_wkb([r[1] for r in comms]), dtype=object))


def read_geojson_grids(path: Path) -> tuple[list[str], NDArray[np.object_]]:
    """Unit grids from a GeoJSON file (lon/lat): the code is the `code` or `AddID` property."""
    try:
        data = orjson.loads(Path(path).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    codes, geoms = [], []
    for n, feat in enumerate(data.get("features", [])):
        props = feat.get("properties") or {}
        code = props.get("code") or props.get("AddID")
        if not code or not feat.get("geometry"):
            raise InvalidInput(f"feature {n} of {path} has no code (property code or AddID) or no geometry")
        codes.append(str(code))
        geoms.append(shapely.from_geojson(orjson.dumps(feat["geometry"])))
    return codes, np.asarray(geoms, dtype=object)
