"""Scenes (一图N景, issue 19): named bundles of layers, filters, basemap and view per department or
business, stored server-side so that a planner's scene is what every viewer and the big screen see,
and shareable as `/?scene=<slug>`.

The spec is checked for shape only (known top-level keys, a view with a lon/lat centre and a zoom):
the web map decides what a layer id means, and an unknown layer in an old scene is skipped there
rather than refused here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

from gis.errors import Conflict, InvalidInput, NotFound

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SPEC_KEYS = {"layers", "filters", "basemap", "view", "figures", "panels", "bigscreen"}
BASEMAPS = {"light", "dark", "tianditu_vec", "tianditu_img"}


def check(body: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The scene fields of a request body, checked (422 naming the bad one)."""
    if not isinstance(body, dict):
        raise InvalidInput("a scene is a JSON object")
    unknown = set(body) - {"slug", "name", "department", "spec"}
    if unknown:
        raise InvalidInput(f"unknown scene field {sorted(unknown)[0]!r}")
    out: dict[str, Any] = {}
    if "slug" in body or not partial:
        slug = body.get("slug")
        if not isinstance(slug, str) or not SLUG.match(slug):
            raise InvalidInput("slug: lower-case letters, digits, - and _, 1–63 characters (it is the URL name)")
        out["slug"] = slug
    if "name" in body or not partial:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise InvalidInput("name: 1–100 characters")
        out["name"] = name.strip()
    if "department" in body:
        dep = body["department"]
        if dep is not None and (not isinstance(dep, str) or len(dep) > 50):
            raise InvalidInput("department: text of at most 50 characters")
        out["department"] = dep
    if "spec" in body or not partial:
        out["spec"] = _check_spec(body.get("spec") or {})
    return out


def _check_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise InvalidInput("spec must be an object")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise InvalidInput(f"spec: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(SPEC_KEYS))})")
    layers = spec.get("layers", [])
    if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise InvalidInput("spec.layers must be a list of layer ids")
    if "basemap" in spec and spec["basemap"] not in BASEMAPS:
        raise InvalidInput(f"spec.basemap must be one of {', '.join(sorted(BASEMAPS))}")
    view = spec.get("view")
    if view is not None:
        c = view.get("center") if isinstance(view, dict) else None
        z = view.get("zoom") if isinstance(view, dict) else None
        if not (isinstance(c, list) and len(c) == 2 and all(isinstance(v, int | float) for v in c)
                and -180 <= c[0] <= 180 and -90 <= c[1] <= 90 and isinstance(z, int | float) and 0 <= z <= 24):
            raise InvalidInput("spec.view must be {\"center\": [lon, lat], \"zoom\": 0–24}")
    return spec


COLUMNS = "id, slug, name, department, spec, created_by, created_at, updated_at"

#: The scenes a new district starts with (one per department), data rather than code.
DEFAULTS = Path(__file__).resolve().parent / "data" / "scenes.json"


def add_defaults(conn: psycopg.Connection, path: Path = DEFAULTS) -> int:
    """Adds the shipped scenes whose slug is free (a planner's scene of the same name is kept, and a
    default a planner deleted comes back only with the next demo load). Without a view, a scene keeps
    the map where it is: the same file serves any district. Returns how many were added."""
    scenes = [check(s) for s in orjson.loads(path.read_bytes())]
    with conn.cursor() as cur:
        added = 0
        for s in scenes:
            cur.execute("INSERT INTO scenes (slug, name, department, spec, created_by) VALUES (%s, %s, %s, %s, %s) "
                        "ON CONFLICT (slug) DO NOTHING",
                        (s["slug"], s["name"], s.get("department"), orjson.dumps(s["spec"]).decode(), "citygrid"))
            added += cur.rowcount
    return added


def _out(row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    for k in ("created_at", "updated_at"):
        row[k] = row[k].isoformat()
    return row


def list_all(conn: psycopg.Connection) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [_out(r) for r in cur.execute(f"SELECT {COLUMNS} FROM scenes ORDER BY department NULLS LAST, name")]


def get(conn: psycopg.Connection, slug: str) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"SELECT {COLUMNS} FROM scenes WHERE slug = %s", (slug,)).fetchone()
    if row is None:
        raise NotFound(f"no scene {slug!r}")
    return _out(row)


def create(conn: psycopg.Connection, body: dict[str, Any], author: str | None) -> dict[str, Any]:
    s = check(body)
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        try:
            row = cur.execute(
                f"INSERT INTO scenes (slug, name, department, spec, created_by) VALUES (%s, %s, %s, %s, %s) "
                f"RETURNING {COLUMNS}",
                (s["slug"], s["name"], s.get("department"), orjson.dumps(s["spec"]).decode(), author)).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a scene named {s['slug']!r} exists") from exc
    assert row is not None
    return _out(row)


def update(conn: psycopg.Connection, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    s = check(body, partial=True)
    s.pop("slug", None)
    if not s:
        return get(conn, slug)
    sets = ", ".join(f"{k} = %({k})s" for k in s)
    if "spec" in s:
        s["spec"] = orjson.dumps(s["spec"]).decode()
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"UPDATE scenes SET {sets}, updated_at = now() WHERE slug = %(slug)s RETURNING {COLUMNS}",
                          {**s, "slug": slug}).fetchone()
    if row is None:
        raise NotFound(f"no scene {slug!r}")
    return _out(row)


def delete(conn: psycopg.Connection, slug: str) -> None:
    with conn.transaction():
        n = conn.execute("DELETE FROM scenes WHERE slug = %s", (slug,)).rowcount
    if not n:
        raise NotFound(f"no scene {slug!r}")
