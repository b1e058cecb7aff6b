"""The random evaluation sample (standards.md §2): 3A+2B+3C (class 1), 2+2+2 (class 2), 2+1+2 (class 3).

Reproducible: the candidates of each type are taken in code order and drawn with a PRNG seeded by
(seed, type), so the same seed on the same data gives the same grids. Auditable: every draw is stored in
`eval_draws` with who, when, the seed, the drawn grids and a fingerprint of the candidate lists (a
changed pool explains a different result for a repeated seed).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import orjson
import psycopg

from gis import catalog
from gis.errors import InvalidInput
from gis.security import scope
from gis.security.scope import Area

COUNTS: dict[int, dict[str, int]] = {
    1: {"A": 3, "B": 2, "C": 3},
    2: {"A": 2, "B": 2, "C": 2},
    3: {"A": 2, "B": 1, "C": 2},
}


def draw_sample(conn: psycopg.Connection, city_class: int, seed: int, actor: str | None) -> dict[str, Any]:
    """Draws and records one sample; InvalidInput when a type cannot supply its count."""
    if city_class not in COUNTS:
        raise InvalidInput(f"city_class must be 1, 2 or 3, got {city_class!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or not -(2**63) <= seed < 2**63:
        raise InvalidInput(f"seed must be a 64-bit integer, got {seed!r}")
    counts = COUNTS[city_class]
    rows = conn.execute(
        "SELECT code, area_class FROM eval_grids WHERE area_class IS NOT NULL ORDER BY code").fetchall()
    pool: dict[str, list[str]] = {t: [] for t in counts}
    for code, cls in rows:
        pool[cls].append(code)
    short = [f"{n} {t} (only {len(pool[t])} available)" for t, n in counts.items() if len(pool[t]) < n]
    if short:
        raise InvalidInput(
            f"city class {city_class} needs {counts['A']} A + {counts['B']} B + {counts['C']} C evaluation grids; "
            f"cannot draw {', '.join(short)}",
            extra={"available": {t: len(v) for t, v in pool.items()}, "needed": counts},
        )
    drawn: list[str] = []
    for t, n in counts.items():
        rng = random.Random(f"{seed}:{t}")
        drawn.extend(rng.sample(pool[t], n))
    fingerprint = hashlib.sha256(orjson.dumps(pool, option=orjson.OPT_SORT_KEYS)).hexdigest()
    grids = conn.execute(
        """SELECT code, name, area_class, area_m2, ST_AsGeoJSON(geom, 7)::jsonb
           FROM eval_grids WHERE code = ANY(%s)""",
        (drawn,),
    ).fetchall()
    by_code = {g[0]: {"code": g[0], "name": g[1], "area_class": g[2], "area_m2": g[3], "geometry": g[4]}
               for g in grids}
    ordered = [by_code[c] for c in drawn]
    result = {
        "grids": [{k: v for k, v in g.items() if k != "geometry"} for g in ordered],
        "counts": counts,
        "available": {t: len(v) for t, v in pool.items()},
        "pool_sha256": fingerprint,
    }
    row = conn.execute(
        """INSERT INTO eval_draws (actor, city_class, seed, result) VALUES (%s, %s, %s, %s)
           RETURNING id, drawn_at""",
        (actor, city_class, seed, orjson.dumps(result).decode()),
    ).fetchone()
    return {"id": row[0], "drawn_at": row[1].isoformat(), "actor": actor, "city_class": city_class, "seed": seed,
            **result, "grids": ordered}


def list_draws(conn: psycopg.Connection, limit: int = 50, area: Area | None = None) -> list[dict[str, Any]]:
    """The most recent draws, newest first (the audit view).

    A caller limited to an `area` sees the draws that drew at least one grid inside it (the eval_grids
    layer's scope; filtered before the limit), each with only those grids and without the city-wide pool
    sizes (`available`); the seed, the quotas and the pool's fingerprint stay, so the draw can still be
    verified by whoever sees the whole city."""
    inside, values = scope.clause("eval_grids", area, "t")
    overlaps = ("TRUE" if area is None else
                "EXISTS (SELECT 1 FROM jsonb_array_elements(d.result->'grids') g "
                f"JOIN eval_grids t ON t.code = g->>'code' WHERE {inside})")
    rows = conn.execute(
        f"SELECT id, drawn_at, actor, city_class, seed, result FROM eval_draws d WHERE {overlaps} "
        "ORDER BY id DESC LIMIT %s",
        (*values, limit),
    ).fetchall()
    out = [{"id": r[0], "drawn_at": r[1].isoformat(), "actor": r[2], "city_class": r[3], "seed": r[4], **r[5]}
           for r in rows]
    if area is not None:
        scope.trim_draws(conn, catalog.get("eval_grids"), area, out, "grids", "code")
    return out
