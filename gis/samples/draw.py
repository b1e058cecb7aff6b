"""Drawing evaluation sample points by kind and quota (`{kinds: {kind: quota}, area, seed}`).

Reproducible the way the evaluation-grid draw is (gis.grids.sampling): the candidates of each kind are
the points of that kind inside the area, in code order, drawn with a PRNG seeded by (seed, kind).
Auditable: every draw is stored in `eval_sample_draws` with who, when, the request, the drawn points and a
fingerprint of the candidate lists (a changed pool explains a different result for a repeated seed).
Drawn points are then assigned to inspectors (`eval_sample_assignments`).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import orjson
import psycopg

from gis import catalog
from gis.catalog.vocab import SAMPLE_KINDS
from gis.errors import InvalidInput, NotFound
from gis.security import scope
from gis.security.scope import Area

MAX_QUOTA = 1000


def _check(kinds: Any, area: Any, seed: Any) -> tuple[dict[str, int], str | None, int]:
    if not isinstance(kinds, dict) or not kinds:
        raise InvalidInput("kinds: expected an object {kind: quota, …} with at least one kind")
    quotas: dict[str, int] = {}
    labels = {label: v for v, names in SAMPLE_KINDS.choices.items() for label in names}
    for k, n in kinds.items():
        value = k if k in SAMPLE_KINDS.labels else labels.get(k)
        if value is None:
            raise InvalidInput(f"kinds: unknown kind {k!r}; use one of "
                               + ", ".join(f"{v} ({lb})" for v, lb in SAMPLE_KINDS.labels.items()))
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_QUOTA:
            raise InvalidInput(f"kinds.{k}: the quota must be a whole number 1–{MAX_QUOTA}, got {n!r}")
        quotas[value] = quotas.get(value, 0) + n
    if area is not None and (not isinstance(area, str) or not area.isdigit() or len(area) not in (6, 9, 12)):
        raise InvalidInput(f"area: a 6-, 9- or 12-digit region code, got {area!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not -(2**63) <= seed < 2**63:
        raise InvalidInput(f"seed must be a 64-bit integer, got {seed!r}")
    return quotas, area, seed


def draw(conn: psycopg.Connection, kinds: Any, area: Any, seed: Any, actor: str | None) -> dict[str, Any]:
    """Draws and records one sample; InvalidInput (nothing recorded) when a kind cannot fill its quota."""
    quotas, area, seed = _check(kinds, area, seed)
    if area is not None and not conn.execute("SELECT 1 FROM admin_areas WHERE code = %s", (area,)).fetchone():
        raise NotFound(f"area: no region {area}")
    rows = conn.execute(
        """SELECT p.kind, p.code FROM eval_sample_points p
           WHERE p.kind = ANY(%(k)s) AND (%(a)s::text IS NULL
                 OR EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = %(a)s AND ST_Covers(a.geom, p.geom)))
           ORDER BY p.code""", {"k": list(quotas), "a": area}).fetchall()
    pool: dict[str, list[str]] = {k: [] for k in quotas}
    for kind, code in rows:
        pool[kind].append(code)
    short = [f"{n} {k} ({SAMPLE_KINDS.labels[k]}; only {len(pool[k])} in the area)" for k, n in quotas.items()
             if len(pool[k]) < n]
    if short:
        raise InvalidInput(f"cannot draw {', '.join(short)}",
                           extra={"available": {k: len(v) for k, v in pool.items()}, "needed": quotas})
    drawn: list[str] = []
    for kind in sorted(quotas):
        drawn.extend(random.Random(f"{seed}:{kind}").sample(pool[kind], quotas[kind]))
    fingerprint = hashlib.sha256(orjson.dumps(pool, option=orjson.OPT_SORT_KEYS)).hexdigest()
    found = conn.execute(
        """SELECT id, code, name, kind, address, radius_m, ST_X(geom), ST_Y(geom) FROM eval_sample_points
           WHERE code = ANY(%s)""", (drawn,)).fetchall()
    by_code = {r[1]: {"id": r[0], "code": r[1], "name": r[2], "kind": r[3], "kind_name": SAMPLE_KINDS.labels[r[3]],
                      "address": r[4], "radius_m": r[5], "lon": round(r[6], 7), "lat": round(r[7], 7)}
               for r in found}
    points = [by_code[c] for c in drawn]
    request = {"kinds": quotas, "area": area, "seed": seed}
    result = {"points": points, "available": {k: len(v) for k, v in pool.items()}, "pool_sha256": fingerprint}
    row = conn.execute(
        "INSERT INTO eval_sample_draws (actor, seed, request, result) VALUES (%s, %s, %s, %s) RETURNING id, drawn_at",
        (actor, seed, orjson.dumps(request).decode(), orjson.dumps(result).decode())).fetchone()
    return {"id": row[0], "drawn_at": row[1].isoformat(), "actor": actor, **request, **result}


def _overlaps(area: Area | None) -> tuple[str, tuple]:
    """SQL over `d` (eval_sample_draws): the draw drew at least one point inside `area` (the eval_samples
    layer's scope)."""
    if area is None:
        return "TRUE", ()
    inside, values = scope.clause("eval_samples", area, "t")
    return ("EXISTS (SELECT 1 FROM jsonb_array_elements(d.result->'points') g "
            f"JOIN eval_sample_points t ON t.id = (g->>'id')::bigint WHERE {inside})", values)


def list_draws(conn: psycopg.Connection, limit: int = 50, area: Area | None = None) -> list[dict[str, Any]]:
    """The most recent draws, newest first (the audit view).

    A caller limited to an `area` sees the draws that drew at least one point inside it (filtered before
    the limit), each with only those points and without the city-wide pool sizes (`available`)."""
    overlaps, values = _overlaps(area)
    rows = conn.execute(f"SELECT id, drawn_at, actor, seed, request, result FROM eval_sample_draws d "
                        f"WHERE {overlaps} ORDER BY id DESC LIMIT %s", (*values, limit)).fetchall()
    out = [{"id": r[0], "drawn_at": r[1].isoformat(), "actor": r[2], **r[4], **r[5]} for r in rows]
    if area is not None:
        scope.trim_draws(conn, catalog.get("eval_samples"), area, out, "points", "id")
    return out


def assign(conn: psycopg.Connection, draw_id: int, body: Any, actor: str | None) -> dict[str, Any]:
    """Binds the drawn points to inspectors: `{assignments: [{point: code, inspector}]}` or `{inspectors:
    [..]}` (round robin in draw order). Only points of that draw; re-assigning a point replaces it."""
    row = conn.execute("SELECT result FROM eval_sample_draws WHERE id = %s", (draw_id,)).fetchone()
    if row is None:
        raise NotFound(f"no sample draw {draw_id}")
    drawn = [(p["id"], p["code"]) for p in row[0]["points"]]
    ids = dict((c, i) for i, c in drawn)
    if not isinstance(body, dict):
        raise InvalidInput("expected {assignments: [{point, inspector}]} or {inspectors: [...]}")
    if body.get("inspectors") is not None:
        names = body["inspectors"]
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise InvalidInput("inspectors: expected a non-empty list of names")
        pairs = [(c, names[k % len(names)]) for k, (_, c) in enumerate(drawn)]
    else:
        items = body.get("assignments")
        if not isinstance(items, list) or not items:
            raise InvalidInput("assignments: expected a non-empty list of {point, inspector}")
        pairs = []
        for n, it in enumerate(items, start=1):
            if not isinstance(it, dict) or not isinstance(it.get("inspector"), str) or not it["inspector"].strip():
                raise InvalidInput(f"assignments item {n}: expected {{point, inspector}}")
            if str(it.get("point")) not in ids:
                raise InvalidInput(f"assignments item {n}: point {it.get('point')!r} was not drawn in draw {draw_id}")
            pairs.append((str(it["point"]), it["inspector"].strip()))
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO eval_sample_assignments (draw_id, point_id, inspector, assigned_by) VALUES (%s, %s, %s, %s)
               ON CONFLICT (draw_id, point_id) DO UPDATE SET inspector = excluded.inspector,
                   assigned_by = excluded.assigned_by, assigned_at = now()""",
            [(draw_id, ids[c], who, actor) for c, who in pairs])
    return {"draw_id": draw_id, "assignments": assignments(conn, draw_id)}


def assignments(conn: psycopg.Connection, draw_id: int, area: Area | None = None) -> list[dict[str, Any]]:
    """Who checks which point of a draw. For a caller limited to an `area`: a draw it cannot see (no point
    inside) is missing (404), and only the assignments of points inside are listed."""
    if area is not None:
        overlaps, values = _overlaps(area)
        row = conn.execute(f"SELECT {overlaps} FROM eval_sample_draws d WHERE d.id = %s", (*values, draw_id)).fetchone()
        if row is None or not row[0]:
            raise NotFound(f"no sample draw {draw_id} inside the area {area.label}")
    inside, values = scope.clause("eval_samples", area, "t")
    rows = conn.execute(
        f"""SELECT t.code, t.name, t.kind, a.inspector, a.assigned_by, a.assigned_at
           FROM eval_sample_assignments a JOIN eval_sample_points t ON t.id = a.point_id
           WHERE a.draw_id = %s AND {inside} ORDER BY a.id""", (draw_id, *values)).fetchall()
    return [{"point": r[0], "name": r[1], "kind": r[2], "inspector": r[3], "assigned_by": r[4],
             "assigned_at": r[5].isoformat()} for r in rows]
