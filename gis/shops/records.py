"""收运记录 and 评价记录 of shops, written in batches (a collector's phone sends a round at a time).

A batch is checked whole before anything is written: an unknown shop, kind or result, a negative weight
or a time in the future is a 400 naming the item at fault, and nothing of the batch is stored. The
shop's position is copied onto each collection (the heat of collected weight aggregates on it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from gis import params as rules
from gis.catalog.vocab import SHOP_EVAL_RESULTS, SHOP_WASTE_KINDS
from gis.errors import InvalidInput, NotFound

#: A record may be stamped this far ahead of the server clock (phones' clocks drift).
CLOCK_SLACK = timedelta(minutes=10)
MAX_BATCH = 10_000


def _vocab_value(value: Any, vocab: dict[str, tuple[str, ...]], what: str, item: int) -> str:
    if isinstance(value, str):
        if value in vocab:
            return value
        for v, names in vocab.items():
            if value in names:
                return v
    raise InvalidInput(f"item {item}: {what} {value!r} is not one of "
                       + ", ".join(f"{v} ({names[0]})" for v, names in vocab.items()))


def _when(value: Any, item: int) -> datetime:
    if not isinstance(value, str):
        raise InvalidInput(f"item {item}: ts must be an ISO 8601 date-time string")
    ts = rules.parse_instant(value, "ts")
    return ts


def _text(value: Any, name: str, item: int) -> str | None:
    """An optional free-text field: a string (at most 200 characters) or nothing."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidInput(f"item {item}: {name} must be a string of at most 200 characters")
    return value


def _shop_ids(conn: psycopg.Connection, items: list[dict[str, Any]]) -> dict[str, int]:
    """Shop codes (or ids) of the items -> shop ids; NotFound names the first unknown one."""
    keys = {str(it.get("shop")) for it in items}
    rows = conn.execute("SELECT code, id FROM shops WHERE code = ANY(%(k)s) OR id::text = ANY(%(k)s)",
                        {"k": list(keys)}).fetchall()
    known = {c: i for c, i in rows} | {str(i): i for _, i in rows}
    for n, it in enumerate(items, start=1):
        if str(it.get("shop")) not in known:
            raise NotFound(f"item {n}: no shop {it.get('shop')!r} (give its code or id)")
    return known


def _check_batch(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise InvalidInput("items: expected a non-empty list")
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"items: at most {MAX_BATCH} per request, got {len(items)}")
    for n, it in enumerate(items, start=1):
        if not isinstance(it, dict) or "shop" not in it:
            raise InvalidInput(f"item {n}: expected an object with shop, ts, …")
    return items


def add_collections(conn: psycopg.Connection, items: Any) -> int:
    """Stores a batch of collections {shop, ts, waste_kind, weight_kg, collector?, vehicle_id?}."""
    items = _check_batch(items)
    rows = []
    now = datetime.now().astimezone()
    for n, it in enumerate(items, start=1):
        kind = _vocab_value(it.get("waste_kind"), SHOP_WASTE_KINDS.choices, "waste_kind", n)
        w = it.get("weight_kg")
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0 or w > 100_000:
            raise InvalidInput(f"item {n}: weight_kg must be a number of kilograms ≥ 0, got {w!r}")
        ts = _when(it.get("ts"), n)
        if ts > now + CLOCK_SLACK:
            raise InvalidInput(f"item {n}: ts {it.get('ts')} is in the future")
        rows.append((str(it["shop"]), ts, kind, float(w), _text(it.get("collector"), "collector", n),
                     _text(it.get("vehicle_id"), "vehicle_id", n)))
    vehicles = sorted({r[5] for r in rows if r[5] is not None})
    with conn.transaction():
        ids = _shop_ids(conn, items)
        known = {r[0] for r in conn.execute("SELECT id FROM vehicles WHERE id = ANY(%s)", (vehicles,))}
        for n, r in enumerate(rows, start=1):
            if r[5] is not None and r[5] not in known:
                raise NotFound(f"item {n}: no vehicle {r[5]!r}")
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO shop_collections (shop_id, ts, waste_kind, weight_kg, collector, vehicle_id, geom)
                   SELECT id, %s, %s, %s, %s, %s, geom FROM shops WHERE id = %s""",
                [(ts, k, w, c, v, ids[s]) for s, ts, k, w, c, v in rows])
    return len(rows)


def add_evaluations(conn: psycopg.Connection, items: Any) -> int:
    """Stores a batch of evaluations {shop, ts, result (pass/warn/fail or 合格/基本合格/不合格), inspector?, note?}."""
    items = _check_batch(items)
    rows = []
    now = datetime.now().astimezone()
    for n, it in enumerate(items, start=1):
        result = _vocab_value(it.get("result"), SHOP_EVAL_RESULTS.choices, "result", n)
        ts = _when(it.get("ts"), n)
        if ts > now + CLOCK_SLACK:
            raise InvalidInput(f"item {n}: ts {it.get('ts')} is in the future")
        rows.append((str(it["shop"]), ts, result, _text(it.get("inspector"), "inspector", n),
                     _text(it.get("note"), "note", n)))
    with conn.transaction():
        ids = _shop_ids(conn, items)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO shop_evaluations (shop_id, ts, result, inspector, note) "
                            "VALUES (%s, %s, %s, %s, %s)", [(ids[s], ts, r, i, nt) for s, ts, r, i, nt in rows])
    return len(rows)


def shop_state(conn: psycopg.Connection, shop: str, at: datetime | None = None) -> dict[str, Any]:
    """One shop with its latest collection and evaluation and its integrity colour at `at` (default now)."""
    row = conn.execute(
        """SELECT s.id, s.code, s.name, s.address, s.area_id, w.name, st.last_collected, st.last_weight_kg,
                  st.last_evaluated, st.last_result, st.fails_30d, st.warns_30d, st.integrity
           FROM shop_state_at(coalesce(%(at)s, now())) st JOIN shops s ON s.id = st.shop_id
           LEFT JOIN work_grids w ON w.id = s.area_id
           WHERE s.code = %(k)s OR s.id::text = %(k)s""", {"at": at, "k": shop}).fetchone()
    if row is None:
        raise NotFound(f"no shop {shop!r}")
    keys = ("id", "code", "name", "address", "area_id", "area_name", "last_collected", "last_weight_kg",
            "last_evaluated", "last_result", "fails_30d", "warns_30d", "integrity")
    out = dict(zip(keys, row, strict=True))
    for k in ("last_collected", "last_evaluated"):
        if out[k] is not None:
            out[k] = out[k].isoformat()
    from gis.catalog.vocab import SHOP_INTEGRITY

    out["integrity_name"] = SHOP_INTEGRITY.labels[out["integrity"]]
    return out
