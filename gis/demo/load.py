"""Loads a generated dataset into PostGIS: COPY per table in one transaction that first empties the
demo tables (so a failed reload leaves the previous data in place), then evaluation grids, area classes
and ANALYZE. Point tables get their H3 cell in the same COPY (the heat rollup's triggers then fill it
set-based, once per table).

Geometry travels as hex EWKB with SRID 4490; serial ids are supplied and their sequences moved past them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from datetime import time as dtime
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg import sql

from gis import catalog, scenes
from gis.demo.generate import TABLE_ORDER, Dataset
from gis.demo.managed import load_managed
from gis.demo.table import Table
from gis.h3cells import point_cells

log = logging.getLogger(__name__)

JSON_COLUMNS = {"dataset_meta": {"value"}, "waste_facilities": {"attrs"}, "routes": {"stops"},
                "devices": {"last_values"}}


def is_empty(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM admin_areas)").fetchone()[0]


def _copy(conn: psycopg.Connection, table: Table) -> None:
    names = list(table.columns)
    json_cols = JSON_COLUMNS.get(table.name, set())
    cols = []
    for name in names:
        values = table.column_list(name)
        if name in json_cols:
            values = [orjson.dumps(v).decode() if v is not None else None for v in values]
        cols.append(values)
    if table.name in catalog.h3_tables() and "h3_cell" not in table.columns and "geom" in table.columns:
        # The heat layers' H3 cell travels with the point (no back-fill on the first heat request).
        names.append("h3_cell")
        cols.append(point_cells(table.columns["geom"]))
    if table.name == "positions":
        # Stored in time order, as ingest writes them: the BRIN on ts only prunes when blocks follow time
        # (bench/bench_partitions.py: a one-hour box 5x slower in vehicle order).
        ts = cols[names.index("ts")]
        order = sorted(range(len(ts)), key=ts.__getitem__)
        cols = [[c[i] for i in order] for c in cols]
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(n) for n in names))
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for row in zip(*cols, strict=True):
            copy.write_row(row)
    if table.serial:
        conn.execute(sql.SQL("SELECT setval(pg_get_serial_sequence({}, {}), (SELECT coalesce(max({}), 0) + 1 FROM {}),"
                             " false)").format(sql.Literal(table.name), sql.Literal(table.serial),
                                               sql.Identifier(table.serial), sql.Identifier(table.name)))


def load(conn: psycopg.Connection, ds: Dataset, progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """Replaces the demo tables' content with `ds`. Returns seconds per step."""
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    tz = ds.tables["dataset_meta"].columns["value"][0]["timezone"]
    with conn.transaction():
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(n) for n in ["eval_grids", *reversed(TABLE_ORDER)])))
        day = datetime.combine(ds.end, dtime(12), tzinfo=ZoneInfo(tz))
        conn.execute("SELECT positions_ensure_partition(%s)", (day,))
        for name in TABLE_ORDER:
            table = ds.tables[name]
            start = time.perf_counter()
            _copy(conn, table)
            timings[name] = round(time.perf_counter() - start, 2)
            say(f"  {name}: {len(table):,} rows in {timings[name]:.1f} s")
    timings["copy_total"] = round(time.perf_counter() - t, 2)

    start = time.perf_counter()
    timings["eval_grids_built"] = float(build_eval(conn, say))
    timings["eval_seconds"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    managed = load_managed(conn, ds.seed, ds.end, tz)
    say(f"  shops: {managed['shops'].get('shops', 0):,} in street {managed['shops'].get('street')}; "
        f"muck: {len(managed['muck'].get('planted', []))} planted violations; "
        f"sample points: {managed['eval_sample_points']:,}")
    timings["managed_seconds"] = round(time.perf_counter() - start, 2)
    say(f"  fleet areas: {seed_fleet_areas(conn)} (fleet, area) pairs")
    say(f"  scenes: {scenes.add_defaults(conn)} default scenes added")
    start = time.perf_counter()
    conn.execute("ANALYZE")
    conn.commit()
    timings["analyze"] = round(time.perf_counter() - start, 2)
    return timings


def seed_fleet_areas(conn: psycopg.Connection) -> int:
    """The areas of the demo fleets (`fleet_areas`, what area-scoped keys see of vehicles and alarms): a
    fleet named after a street (`…街道道路保洁`, `…城管执法中队`) works in that street, the others in the
    district of their vehicles."""
    cur = conn.execute(
        "INSERT INTO fleet_areas (fleet, area_code) "
        "SELECT DISTINCT v.vehicle_group, coalesce(s.code, v.district_code, d.code) FROM vehicles v "
        "LEFT JOIN LATERAL (SELECT a.code FROM admin_areas a WHERE a.level = 'street' "
        "  AND starts_with(v.vehicle_group, a.name) ORDER BY length(a.name) DESC LIMIT 1) s ON TRUE "
        "LEFT JOIN LATERAL (SELECT a.code FROM admin_areas a WHERE a.level = 'district' ORDER BY a.code LIMIT 1) d "
        "  ON TRUE "
        "WHERE v.vehicle_group IS NOT NULL AND coalesce(s.code, v.district_code, d.code) IS NOT NULL "
        "ON CONFLICT DO NOTHING")
    return cur.rowcount


def build_eval(conn: psycopg.Connection, say: Callable[[str], None]) -> int:
    """Evaluation grids by the grid engine's builder when it exists, then A/B/C classes where it left none."""
    try:
        from gis.grids.evaluation import build_eval_grids
    except ImportError:
        say("  eval grids: gis.grids.evaluation.build_eval_grids not available yet; left for the grid engine")
        return 0
    with conn.transaction():
        n = build_eval_grids(conn)
        assign_area_classes(conn)
    say(f"  eval grids: {n} built")
    return n


def assign_area_classes(conn: psycopg.Connection) -> int:
    """A/B/C by component density terciles (most components per km² = A), only where area_class is NULL."""
    cur = conn.execute(
        """WITH density AS (
               SELECT e.code, count(c.id) / greatest(coalesce(e.area_m2, ST_Area(e.geom::geography)), 1) AS d
               FROM eval_grids e
               LEFT JOIN unit_grids u ON u.eval_code = e.code
               LEFT JOIN components c ON c.unit_grid_code = u.code
               GROUP BY e.code, e.area_m2, e.geom),
           ranked AS (SELECT code, ntile(3) OVER (ORDER BY d DESC, code) AS t FROM density)
           UPDATE eval_grids e SET area_class = (ARRAY['A', 'B', 'C'])[r.t]
           FROM ranked r WHERE r.code = e.code AND e.area_class IS NULL""")
    return cur.rowcount
