"""相似案件提示: the earlier open cases of the same category near a new case, scored.

A candidate is a case of the same kind, 大类 and 小类, reported within `window_h` hours before the new
case's time (and not after it), still open (no `closed_at`), within `radius_m` geodesic metres. Its
score in [0, 1] weighs closeness in space more than in time, because a second report of the same
overflowing bin comes from the same spot but often hours later:

    score = 0.6 · (1 − d / radius_m) + 0.4 · (1 − Δt / window_h)

A candidate scoring at least `duplicate_at` (default 0.7: e.g. within 20 m and 6 h of a 100 m / 72 h
window) is a probable duplicate; creation and import report those.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

W_SPACE = 0.6
W_TIME = 0.4


@dataclass(frozen=True)
class Window:
    radius_m: float = 100.0
    window_h: float = 72.0
    duplicate_at: float = 0.7
    limit: int = 20

    def check(self) -> None:
        if not 0 < self.radius_m <= 5000:
            raise InvalidInput(f"radius_m: {self.radius_m} is outside (0, 5000] metres")
        if not 0 < self.window_h <= 24 * 365:
            raise InvalidInput(f"window_h: {self.window_h} is outside (0, 8760] hours")
        if not 0 <= self.duplicate_at <= 1:
            raise InvalidInput(f"duplicate_at: {self.duplicate_at} is outside [0, 1]")


SIMILAR_SQL = """
    WITH q AS (SELECT u.i, u.kind, u.major, u.minor, u.at, u.self_id,
                      ST_SetSRID(ST_MakePoint(u.x, u.y), 4490) AS g
               FROM unnest(%(i)s::int[], %(kind)s::text[], %(major)s::text[], %(minor)s::text[],
                           %(at)s::timestamptz[], %(x)s::float8[], %(y)s::float8[], %(self)s::bigint[])
                    AS u(i, kind, major, minor, at, x, y, self_id))
    SELECT q.i, c.id, c.code, c.reported_at, c.status, c.address, c.description, d.m, ST_X(c.geom), ST_Y(c.geom),
           round((%(ws)s * (1 - d.m / %(r)s)
                  + %(wt)s * (1 - extract(epoch FROM q.at - c.reported_at) / 3600.0 / %(w)s))::numeric, 4)::float8
    FROM q JOIN LATERAL (
        SELECT c.* FROM cases c
        WHERE c.kind = q.kind AND c.major = q.major AND c.minor = q.minor AND c.closed_at IS NULL
          AND c.reported_at <= q.at AND c.reported_at >= q.at - make_interval(secs => %(w)s * 3600)
          AND c.id IS DISTINCT FROM q.self_id
          AND c.geom && ST_Expand(q.g, %(r)s / 94000.0, %(r)s / 110574.0)
          AND {inside}
    ) c ON TRUE
    CROSS JOIN LATERAL (SELECT ST_Distance(c.geom::geography, q.g::geography) AS m) d
    WHERE d.m <= %(r)s
    ORDER BY q.i, 11 DESC, c.id"""


def similar_many(conn: psycopg.Connection, cases: list[dict[str, Any]], w: Window = Window(),
                 area: Area | None = None) -> list[list[dict[str, Any]]]:
    """For each case {kind, major, minor, at, lon, lat[, id]} (storage lon/lat) its scored candidates, best first.
    A caller limited to an `area` is told only of cases inside it (the cases layer's scope, in the query,
    so the `limit` counts only those).

    The box prefilter uses 94 km per degree of longitude (cos 32°): exact up to 32° N, a little generous south
    of it; the distance test itself is geodesic. Beyond 32° N a wider box would be needed: districts are
    configured in the settings' zone, and this product's are south of it.
    """
    w.check()
    if not cases:
        return []
    inside, values = scope.named(*scope.clause("cases", area, "c"))
    rows = conn.execute(SIMILAR_SQL.replace("{inside}", inside), {**values,
        "i": list(range(len(cases))), "kind": [c.get("kind") or "event" for c in cases],
        "major": [c["major"] for c in cases], "minor": [c["minor"] for c in cases],
        "at": [c["at"] for c in cases], "x": [c["lon"] for c in cases], "y": [c["lat"] for c in cases],
        "self": [c.get("id") for c in cases], "ws": W_SPACE, "wt": W_TIME, "r": w.radius_m, "w": w.window_h,
    }).fetchall()
    out: list[list[dict[str, Any]]] = [[] for _ in cases]
    for i, cid, code, rep, status, address, desc, m, x, y, score in rows:
        if len(out[i]) >= w.limit:
            continue
        out[i].append({"id": cid, "code": code, "reported_at": rep.isoformat(), "status": status, "address": address,
                       "description": desc, "distance_m": round(m, 2), "score": score,
                       "probable_duplicate": score >= w.duplicate_at, "lon": x, "lat": y})
    return out


def similar(conn: psycopg.Connection, *, kind: str, major: str, minor: str, at: datetime, lon: float, lat: float,
            w: Window = Window(), exclude_id: int | None = None, area: Area | None = None) -> list[dict[str, Any]]:
    return similar_many(conn, [{"kind": kind, "major": major, "minor": minor, "at": at, "lon": lon, "lat": lat,
                                "id": exclude_id}], w, area)[0]


def duplicates_of(conn: psycopg.Connection, ids: list[int], w: Window = Window()) -> dict[int, list[dict[str, Any]]]:
    """Probable duplicates among earlier open cases for stored cases `ids` (run after an import)."""
    rows = conn.execute("SELECT id, coalesce(kind, 'event'), major, minor, reported_at, ST_X(geom), ST_Y(geom) "
                        "FROM cases WHERE id = ANY(%s) AND geom IS NOT NULL ORDER BY id", (ids,)).fetchall()
    found = similar_many(conn, [{"id": r[0], "kind": r[1], "major": r[2], "minor": r[3], "at": r[4], "lon": r[5],
                                 "lat": r[6]} for r in rows], w)
    return {r[0]: [c for c in f if c["probable_duplicate"]] for r, f in zip(rows, found, strict=True)
            if any(c["probable_duplicate"] for c in f)}
