"""Matches → the contract's GeoJSON: coordinates in the caller's CRS and the grid hierarchy of each
point (from the grid engine's in-memory locate index, asked once per batch of points).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg

from geocoder.index import ReferenceIndex
from geocoder.match import Match, geocode
from geocoder.segment import Parsed
from gis import crs as gcrs
from gis.grids.locate import IndexCache as GridIndexes
from gis.grids.locate import locate as locate_grids
from gis.security import scope
from gis.security.scope import Area
from gis.settings import STORAGE_SRID

#: How many candidates per wanted answer a scoped geocode matches before it keeps those inside the area.
SCOPED_CANDIDATES = 5


def storage_coords(index: ReferenceIndex, matches: list[Match]) -> tuple[np.ndarray, np.ndarray]:
    """The matches' positions in the storage CRS (EPSG:4490 lon/lat)."""
    return index.frame.to_lonlat([m.x for m in matches], [m.y for m in matches])


def grids_for(conn: psycopg.Connection | None, lon: np.ndarray, lat: np.ndarray,
              grids: GridIndexes | None = None) -> list[dict[str, Any]]:
    if not len(lon):
        return []
    return locate_grids(conn, lon, lat, STORAGE_SRID, grids).records()


def segments_of(p: Parsed, m: Match | None) -> dict[str, Any]:
    """The parsed parts of the query, plus what the matched place turned out to be."""
    seg = p.as_dict()
    base = seg.pop("base", None)
    if m is not None and base:
        kind = {"road": "street", "street": "street", "interpolated": "street", "doorplate": "street",
                "zone": "zone", "poi": "poi", "region": "region", "intersection": "intersection"}
        anchor = m.ref.get("kind")
        if anchor == "doorplate" and p.building is not None and p.lane is None and p.number is None:
            seg["zone"] = base
        elif anchor in kind:
            seg[kind[anchor]] = base
        else:
            seg["place"] = base
    elif base:
        seg["place"] = base
    return seg


def features(conn: psycopg.Connection | None, query: str, limit: int = 5, crs: str | int | None = None, *,
             index: ReferenceIndex, grids: GridIndexes | None = None, area: Area | None = None) -> dict[str, Any]:
    """`GET /api/geocode`: a FeatureCollection, best first; no match → no features. A caller limited to
    an `area` gets only the candidates inside it (more are matched first so that the page stays full
    when some fall outside); none inside → no features, as for no match."""
    ref = gcrs.resolve(crs)
    parsed, matches = geocode(index, query, limit if area is None else min(SCOPED_CANDIDATES * limit, 100))
    lon, lat = storage_coords(index, matches)
    if area is not None:
        keep = [i for i, ok in enumerate(scope.points_inside(conn, area, lon, lat)) if ok][:limit]
        matches, lon, lat = [matches[i] for i in keep], lon[keep], lat[keep]
    located = grids_for(conn, lon, lat, grids)
    out_x, out_y = gcrs.from_storage(lon, lat, ref) if len(lon) else (lon, lat)
    feats = []
    for i, m in enumerate(matches):
        feats.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(float(out_x[i]), 7), round(float(out_y[i]), 7)]},
            "properties": {
                "standard_address": m.standard_address,
                "match_level": m.level,
                "confidence": m.confidence,
                "segments": segments_of(parsed, m),
                "grid": located[i],
                "source": m.ref,
            },
        })
    return {"type": "FeatureCollection", "query": query, "crs": ref.uri, "segments": segments_of(parsed, None),
            "features": feats}
