"""Routes: from a drawn line, or from ordered stops joined along the street network (pgRouting).

The network is built from `streets` on demand: the lines are noded at their crossings (ST_Node), the
end points snapped to 1e-7° become vertices, and each piece is an undirected edge costed in metres.
It is rebuilt when the streets change. With no network loaded, or stops the network cannot join, the
stops are joined by straight lines and the answer says so (`planning: "straight"` with a note).

A route creates its fences: a corridor of `buffer_m` around the line, and a stop fence for every stop
that has time windows. Re-planning (PUT) replaces them.
"""

from __future__ import annotations

from typing import Any

import psycopg
import shapely
from psycopg.types.json import Jsonb

from gis import catalog
from gis import crs as gcrs
from gis.errors import Conflict, InvalidInput, NotFound, Unsupported
from gis.fences import geometry as fgeom
from gis.fences import store
from gis.fences.schedule import Schedule, parse_windows, windows_json
from gis.fences.spec import DEFAULT_CORRIDOR_BUFFER_M, parse_debounce
from gis.security import scope
from gis.security.scope import Area

ROUTE_KEYS = {"name", "kind", "vehicle_id", "vehicles", "groups", "line", "geometry", "stops", "buffer_m", "crs",
              "schedule", "speed_limit_kmh", "debounce", "radius_m", "dwell_s", "signal_timeout_s", "dwell_limit_s"}
STOP_KEYS = {"name", "lon", "lat", "windows", "radius_m", "dwell_s"}
DEFAULT_STOP_RADIUS_M = 30.0


def network_ready(conn: psycopg.Connection) -> bool:
    """Builds (or rebuilds) the routable network when the streets changed; False when there are none."""
    count, max_id = conn.execute("SELECT count(*), max(id) FROM streets").fetchone()
    if count == 0:
        return False
    meta = conn.execute("SELECT streets_count, streets_max_id FROM route_graph_meta WHERE id = 1").fetchone()
    edges = conn.execute("SELECT EXISTS (SELECT 1 FROM route_edges)").fetchone()[0]
    if meta == (count, max_id) and edges:
        return True
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('citygrid.route_graph'))")
        conn.execute("TRUNCATE route_edges, route_vertices")
        conn.execute("""
            CREATE TEMP TABLE _seg ON COMMIT DROP AS
            SELECT row_number() OVER () AS id, g,
                   ST_AsEWKB(ST_SnapToGrid(ST_StartPoint(g), 1e-7)) AS s,
                   ST_AsEWKB(ST_SnapToGrid(ST_EndPoint(g), 1e-7)) AS e
            FROM (SELECT (ST_Dump(ST_Node(ST_Collect(ST_Force2D(geom))))).geom AS g FROM streets) d
            WHERE ST_GeometryType(g) = 'ST_LineString' AND ST_Length(g) > 0""")
        conn.execute("""
            CREATE TEMP TABLE _vert ON COMMIT DROP AS
            SELECT row_number() OVER () AS id, p FROM (SELECT s AS p FROM _seg UNION SELECT e FROM _seg) u""")
        conn.execute("""INSERT INTO route_vertices (id, geom)
                        SELECT id, ST_SetSRID(ST_GeomFromEWKB(p), 4490) FROM _vert""")
        conn.execute("""
            INSERT INTO route_edges (source, target, cost, reverse_cost, geom)
            SELECT vs.id, ve.id, ST_Length(g::geography), ST_Length(g::geography), ST_SetSRID(g, 4490)
            FROM _seg JOIN _vert vs ON vs.p = _seg.s JOIN _vert ve ON ve.p = _seg.e""")
        conn.execute("""INSERT INTO route_graph_meta (id, streets_count, streets_max_id, built_at)
                        VALUES (1, %s, %s, now())
                        ON CONFLICT (id) DO UPDATE SET streets_count = EXCLUDED.streets_count,
                            streets_max_id = EXCLUDED.streets_max_id, built_at = now()""", (count, max_id))
    return True


def plan(conn: psycopg.Connection, stops: list[tuple[float, float]]) -> tuple[shapely.LineString, str, str | None]:
    """Joins stops (lon/lat, storage CRS) along the network: (line, "network"|"straight", note)."""
    straight = shapely.LineString(stops)
    if not network_ready(conn):
        return straight, "straight", "no street network loaded: stops joined by straight lines"
    vids = []
    for lon, lat in stops:
        row = conn.execute(
            """SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%s, %s), 4490)::geography)
               FROM route_vertices ORDER BY geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4490) LIMIT 1""",
            (lon, lat, lon, lat)).fetchone()
        vids.append(int(row[0]))
    coords: list[tuple[float, float]] = [stops[0]]
    for i in range(len(stops) - 1):
        a, b = vids[i], vids[i + 1]
        if a != b:
            rows = conn.execute(
                """SELECT d.node, e.source, ST_AsBinary(e.geom)
                   FROM pgr_dijkstra('SELECT id, source, target, cost, reverse_cost FROM route_edges',
                                     %s::bigint, %s::bigint, directed := false) d
                   JOIN route_edges e ON e.id = d.edge ORDER BY d.seq""", (a, b)).fetchall()
            if not rows:
                return straight, "straight", (f"stops {i + 1} and {i + 2} are not connected by the street network: "
                                              "joined by straight lines")
            for node, source, wkb in rows:
                pts = list(shapely.from_wkb(wkb).coords)
                if node != source:
                    pts.reverse()
                coords.extend((p[0], p[1]) for p in pts)
        coords.append(stops[i + 1])
    dedup = [coords[0]]
    for c in coords[1:]:
        if c != dedup[-1]:
            dedup.append(c)
    if len(dedup) < 2:
        return straight, "straight", "stops coincide"
    return shapely.LineString(dedup), "network", None


def _parse(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("a route is a JSON object")
    unknown = set(body) - ROUTE_KEYS - {"id", "length_m", "planning", "note", "corridor_fence", "stop_fences"}
    if unknown:
        raise Unsupported(f"unknown route property {sorted(unknown)[0]!r}")
    kind = body.get("kind", "regular")
    if kind not in ("regular", "temporary"):
        raise Unsupported(f"unknown route kind {kind!r} (use regular, temporary)")
    src = body.get("crs")
    ref = gcrs.resolve(src)
    stops = []
    for i, s in enumerate(body.get("stops") or []):
        if not isinstance(s, dict):
            raise InvalidInput(f"stops[{i}]: expected an object {{name, lon, lat, windows}}")
        bad = set(s) - STOP_KEYS
        if bad:
            raise Unsupported(f"stops[{i}]: unknown property {sorted(bad)[0]!r}")
        if not all(isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool) for k in ("lon", "lat")):
            raise InvalidInput(f"stops[{i}]: lon and lat must be numbers")
        if not gcrs.plausible([s["lon"]], [s["lat"]], ref)[0]:
            raise InvalidInput(f"stops[{i}]: ({s['lon']}, {s['lat']}) is not a position in {ref.name}")
        x, y = gcrs.to_storage([s["lon"]], [s["lat"]], ref)
        stop = {"name": s.get("name") or f"stop {i + 1}", "lon": round(float(x[0]), 9), "lat": round(float(y[0]), 9)}
        if s.get("windows") is not None:
            stop["windows"] = windows_json(parse_windows(s["windows"]))
        for k in ("radius_m", "dwell_s"):
            if s.get(k) is not None:
                stop[k] = float(s[k])
        stops.append(stop)
    line_json = body.get("line") or body.get("geometry")
    if isinstance(line_json, dict) and line_json.get("type") == "Feature":
        line_json = line_json.get("geometry")
    line = fgeom.parse_geometry(line_json, "corridor", src) if line_json is not None else None
    if line is not None and line.geom_type != "LineString":
        raise InvalidInput("line: a route is drawn as one LineString")
    if line is None and len(stops) < 2:
        raise InvalidInput("a route needs a drawn line, or at least two ordered stops")
    vehicles = [str(v) for v in (body.get("vehicles") or [])]
    if body.get("vehicle_id") is not None:
        vehicles = [str(body["vehicle_id"]), *[v for v in vehicles if v != str(body["vehicle_id"])]]
    buffer_m = body.get("buffer_m", DEFAULT_CORRIDOR_BUFFER_M)
    if isinstance(buffer_m, bool) or not isinstance(buffer_m, int | float) or buffer_m <= 0:
        raise InvalidInput(f"buffer_m: expected metres > 0, got {buffer_m!r}")
    Schedule.parse(body.get("schedule"))
    parse_debounce(body.get("debounce"))
    name = body.get("name") or "route"
    return {"name": name, "kind": kind, "stops": stops, "line": line, "vehicles": vehicles,
            "groups": list(body.get("groups") or []), "buffer_m": float(buffer_m), "body": body}


def _fence_props(p: dict[str, Any], **extra: Any) -> dict[str, Any]:
    body = p["body"]
    props = {"vehicles": p["vehicles"], "groups": p["groups"], **extra}
    for k in ("schedule", "debounce", "speed_limit_kmh", "signal_timeout_s", "dwell_limit_s"):
        if body.get(k) is not None and (extra.get("kind") != "stop" or k in ("schedule", "signal_timeout_s")):
            props[k] = body[k]
    return props


def _save(conn: psycopg.Connection, p: dict[str, Any], route_id: int | None) -> dict[str, Any]:
    if p["vehicles"]:
        known = {r[0] for r in conn.execute("SELECT id FROM vehicles WHERE id = ANY(%s)", (p["vehicles"],))}
        missing = [v for v in p["vehicles"] if v not in known]
        if missing:
            raise InvalidInput(f"vehicles: no vehicle {missing[0]!r}")
    if p["line"] is not None:
        line, planning, note = p["line"], "drawn", None
    else:
        line, planning, note = plan(conn, [(s["lon"], s["lat"]) for s in p["stops"]])
    length = fgeom.length_m(line)
    vehicle_id = p["vehicles"][0] if p["vehicles"] else None
    same = conn.execute("SELECT id FROM routes WHERE name = %s AND id IS DISTINCT FROM %s ORDER BY id LIMIT 1",
                        (p["name"], route_id)).fetchone()
    if same is not None:
        raise Conflict(f"name: route {same[0]} is already called {p['name']!r}; choose another name")
    with conn.transaction():
        if route_id is None:
            route_id = conn.execute(
                """INSERT INTO routes (name, kind, vehicle_id, stops, length_m, geom)
                   VALUES (%s, %s, %s, %s, %s, ST_GeomFromWKB(%s, 4490)) RETURNING id""",
                (p["name"], p["kind"], vehicle_id, Jsonb(p["stops"]), length, shapely.to_wkb(line))).fetchone()[0]
            corridor_id = None
        else:
            if conn.execute(
                """UPDATE routes SET name = %s, kind = %s, vehicle_id = %s, stops = %s, length_m = %s,
                          geom = ST_GeomFromWKB(%s, 4490), updated_at = now() WHERE id = %s RETURNING id""",
                (p["name"], p["kind"], vehicle_id, Jsonb(p["stops"]), length, shapely.to_wkb(line), route_id),
            ).fetchone() is None:
                raise NotFound(f"no route {route_id}")
            row = conn.execute("SELECT id FROM fences WHERE route_id = %s AND kind = 'corridor' ORDER BY id LIMIT 1",
                               (route_id,)).fetchone()
            corridor_id = row[0] if row else None
            for (fid,) in conn.execute("SELECT id FROM fences WHERE route_id = %s AND kind = 'stop'",
                                       (route_id,)).fetchall():
                store.delete(conn, fid)
        corridor = {"type": "Feature", "geometry": fgeom.to_geojson(line), "properties": _fence_props(
            p, kind="corridor", name=f"{p['name']} 路线走廊", buffer_m=p["buffer_m"], route_id=route_id)}
        corridor_fence = (store.replace(conn, corridor_id, corridor) if corridor_id is not None
                          else store.create(conn, corridor))
        stop_ids = []
        for s in p["stops"]:
            if not s.get("windows"):
                continue
            props = _fence_props(p, kind="stop", name=s["name"], route_id=route_id, windows=s["windows"],
                                 radius_m=s.get("radius_m", p["body"].get("radius_m", DEFAULT_STOP_RADIUS_M)))
            dwell = s.get("dwell_s", p["body"].get("dwell_s"))
            if dwell is not None:
                props["dwell_s"] = dwell
            feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                       "properties": {**props, "crs": "EPSG:4490"}}
            stop_ids.append(store.create(conn, feature)["id"])
    out = get(conn, route_id)
    out.update({"planning": planning, "note": note, "corridor_fence": corridor_fence})
    return out


def create(conn: psycopg.Connection, body: Any) -> dict[str, Any]:
    return _save(conn, _parse(body), None)


def replace(conn: psycopg.Connection, route_id: int, body: Any) -> dict[str, Any]:
    return _save(conn, _parse(body), route_id)


def get(conn: psycopg.Connection, route_id: int) -> dict[str, Any]:
    row = conn.execute(
        """SELECT id, name, kind, vehicle_id, stops, length_m, created_at, updated_at, ST_AsBinary(geom)
           FROM routes WHERE id = %s""", (route_id,)).fetchone()
    if row is None:
        raise NotFound(f"no route {route_id}")
    fences = conn.execute("SELECT id, kind FROM fences WHERE route_id = %s ORDER BY id", (route_id,)).fetchall()
    return {
        "id": row[0], "name": row[1], "kind": row[2], "vehicle_id": row[3], "stops": row[4],
        "length_m": round(float(row[5] or 0.0), 1), "created_at": row[6].isoformat(), "updated_at": row[7].isoformat(),
        "geometry": fgeom.to_geojson(shapely.from_wkb(row[8])),
        "corridor_fence_id": next((f[0] for f in fences if f[1] == "corridor"), None),
        "stop_fences": [f[0] for f in fences if f[1] == "stop"],
    }


def delete(conn: psycopg.Connection, route_id: int) -> None:
    with conn.transaction():
        for (fid,) in conn.execute("SELECT id FROM fences WHERE route_id = %s", (route_id,)).fetchall():
            store.delete(conn, fid)
        if conn.execute("DELETE FROM routes WHERE id = %s RETURNING id", (route_id,)).fetchone() is None:
            raise NotFound(f"no route {route_id}")


def delete_fence(conn: psycopg.Connection, fence_id: int) -> int | None:
    """Deletes a fence; a route's corridor takes its route (and the route's stop fences) with it, since a
    route without its corridor could no longer be compared or checked. Returns the deleted route's id.
    A stop fence goes alone: the route keeps the stop, without its time-window check until re-saved."""
    row = conn.execute("SELECT route_id, kind FROM fences WHERE id = %s", (fence_id,)).fetchone()
    if row is None:
        raise NotFound(f"no fence {fence_id}")
    route_id, kind = row
    if route_id is not None and kind == "corridor":
        delete(conn, route_id)
        return int(route_id)
    store.delete(conn, fence_id)
    return None


def list_all(conn: psycopg.Connection, limit: int = 1000, area: Area | None = None) -> list[dict[str, Any]]:
    """Routes by id (`area`: only those inside it, the catalog's scope of routes)."""
    return [get(conn, i) for i in route_ids(conn, limit, area)]


def route_ids(conn: psycopg.Connection, limit: int = 1000, area: Area | None = None,
              among: list[int] | None = None) -> list[int]:
    """Ids of the routes (inside `area`; of `among` only), ascending."""
    cond, params = ("TRUE", ()) if area is None else scope.condition(catalog.get("routes"), area, "t")
    if among is not None:
        cond, params = f"{cond} AND t.id = ANY(%s)", (*params, among)
    return [r[0] for r in conn.execute(f"SELECT t.id FROM routes t WHERE {cond} ORDER BY t.id LIMIT %s",
                                       (*params, limit)).fetchall()]
