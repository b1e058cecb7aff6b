"""Area scope benchmark (issue 17): OGC items, MVT tiles and heat with a street-scoped key against an
unscoped key of the same role (goal: scoped at most 15 % slower), and the anonymous fast path for reference.

    .venv/bin/python bench/bench_scope.py [--rounds 60]

Heat is measured over the street (the worst case for the scoped key: the same points, each checked
against the area) and over the whole district (the usual map: the scoped key aggregates only the
hexagons around its street).

Builds a throwaway database with a synthetic district (4 streets, 16 communities, 256 unit grids;
100,000 components and 30,000 cases with their unit-grid codes), serves it with uvicorn (one worker,
no access log) and requests each row alternately as scoped and unscoped, so both see the same machine
load. Tiles and heat use a distinct tile / viewport per request (no cache hit: the build is measured).
Prints the median and p95 latency per row and the ratio scoped / unscoped, and the load average.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
import morecantile
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, server, throwaway_database  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402
from gis.security.keys import create_key  # noqa: E402
from layers.cells import ensure_cells  # noqa: E402
from layers.sources import SOURCES  # noqa: E402

LON0, LAT0, SIDE = 121.40, 31.30, 0.1     # the district: 0.1° a side, 16 x 16 unit grids
N_COMPONENTS, N_CASES = 100_000, 30_000
STREET = "310113001"                        # the south-west quarter

#: Unit-grid indices (gi, gj) of a point → its 15-digit code (street, community, grid by quadrant).
CODE_SQL = """'310113' || lpad((1 + (gj / 8) * 2 + gi / 8)::text, 3, '0')
              || lpad((1 + ((gj % 8) / 4) * 2 + (gi % 8) / 4)::text, 3, '0')
              || lpad((1 + (gj % 4) * 4 + gi % 4)::text, 3, '0')"""


def square(x0: str, y0: str, size: str) -> str:
    return (f"ST_Multi(ST_SetSRID(ST_MakeEnvelope({x0}, {y0}, {x0} + {size}, {y0} + {size}), 4490))")


def build(url: str) -> None:
    migrate.upgrade(url)
    seed_reference_data(url)
    step = SIDE / 16
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
                     f"('310113', 'district', '宝山区', NULL, {square(str(LON0), str(LAT0), str(SIDE))})")
        conn.execute(f"""INSERT INTO admin_areas (code, level, name, parent_code, geom)
            SELECT '310113' || lpad((1 + j * 2 + i)::text, 3, '0'), 'street', '街道' || (1 + j * 2 + i), '310113',
                   {square(f'{LON0} + i * {SIDE / 2}', f'{LAT0} + j * {SIDE / 2}', str(SIDE / 2))}
            FROM generate_series(0, 1) i, generate_series(0, 1) j""")
        conn.execute(f"""INSERT INTO admin_areas (code, level, name, parent_code, geom)
            SELECT s || lpad((1 + cj * 2 + ci)::text, 3, '0'), 'community', '社区', s,
                   {square(f'{LON0} + (si * 2 + ci) * {SIDE / 4}', f'{LAT0} + (sj * 2 + cj) * {SIDE / 4}',
                           str(SIDE / 4))}
            FROM (SELECT '310113' || lpad((1 + sj * 2 + si)::text, 3, '0') AS s, si, sj
                  FROM generate_series(0, 1) si, generate_series(0, 1) sj) st,
                 generate_series(0, 1) ci, generate_series(0, 1) cj""")
        conn.execute(f"""INSERT INTO unit_grids (code, community_code, name, geom)
            SELECT {CODE_SQL}, left({CODE_SQL}, 12), '网格',
                   {square(f'{LON0} + gi * {step}', f'{LAT0} + gj * {step}', str(step))}
            FROM generate_series(0, 15) gi, generate_series(0, 15) gj""")
        conn.execute(f"""INSERT INTO components (id, major, minor, name, unit_grid_code, geom)
            SELECT '3101130101' || lpad(n::text, 6, '0'), '01', '01', '井盖', {CODE_SQL}, g FROM (
                SELECT n, g, floor((ST_X(g) - {LON0}) / {step})::int AS gi,
                       floor((ST_Y(g) - {LAT0}) / {step})::int AS gj
                FROM (SELECT n, ST_SetSRID(ST_MakePoint({LON0} + random() * {SIDE * 0.9999},
                                                        {LAT0} + random() * {SIDE * 0.9999}), 4490) AS g
                      FROM generate_series(1, {N_COMPONENTS}) n) p) q""")
        conn.execute(f"""INSERT INTO cases (code, major, minor, status, reported_at, unit_grid_code, geom)
            SELECT 'B' || n, '01', '01', 'open', timestamptz '2025-01-01' + random() * interval '360 days',
                   {CODE_SQL}, g FROM (
                SELECT n, g, floor((ST_X(g) - {LON0}) / {step})::int AS gi,
                       floor((ST_Y(g) - {LAT0}) / {step})::int AS gj
                FROM (SELECT n, ST_SetSRID(ST_MakePoint({LON0} + random() * {SIDE * 0.9999},
                                                        {LAT0} + random() * {SIDE * 0.9999}), 4490) AS g
                      FROM generate_series(1, {N_CASES}) n) p) q""")
        # the H3 cells the heat reads (filled on first use otherwise), then the steady state autovacuum
        # reaches: visibility map set, so covering indexes answer without the heap
        for source in ("cases", "components"):
            ensure_cells(conn, SOURCES[source])
        conn.execute("VACUUM ANALYZE")


def timed(client: httpx.Client, key: str | None, url: str) -> float:
    t = time.perf_counter()
    r = client.get(url, headers={"X-API-Key": key} if key else {})
    elapsed = time.perf_counter() - t
    if r.status_code not in (200, 204):
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return elapsed * 1000


def p95(xs: list[float]) -> float:
    return sorted(xs)[int(0.95 * (len(xs) - 1))]


def rows(rounds: int) -> list[tuple[str, list[str]]]:
    """(label, one URL per round): distinct tiles and viewports so no answer is a cache hit."""
    tms = morecantile.tms.get("WebMercatorQuad")
    tiles = list(tms.tiles(LON0, LAT0, LON0 + SIDE / 2, LAT0 + SIDE / 2, [16]))
    tile_urls = [f"/ogc/collections/components/tiles/WebMercatorQuad/{t.z}/{t.y}/{t.x}" for t in tiles]
    heat = [f"/api/layers/heat?source=cases&resolution=9&weight=count&bbox={LON0 + k * 1e-5},{LAT0},"
            f"{LON0 + SIDE / 2},{LAT0 + SIDE / 2}" for k in range(rounds)]
    heat_all = [f"/api/layers/heat?source=cases&resolution=9&weight=count&bbox={LON0 + k * 1e-5},{LAT0},"
                f"{LON0 + SIDE},{LAT0 + SIDE}" for k in range(rounds)]
    return [
        ("components items, limit=100", ["/ogc/collections/components/items?limit=100"] * rounds),
        ("cases items, limit=10 + numberMatched", [f"/ogc/collections/cases/items?limit=10&offset={k}"
                                                   for k in range(rounds)]),
        ("components MVT z=16 (built)", (tile_urls * (rounds // len(tile_urls) + 1))[:rounds]),
        ("heat of cases, res 9, viewport = street", heat),
        ("heat of cases, res 9, viewport = district", heat_all),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args()
    print(f"building the synthetic district ({N_COMPONENTS:,} components, {N_CASES:,} cases) …", flush=True)
    with throwaway_database(database_url()) as url:
        build(url)
        with psycopg.connect(url, autocommit=True) as conn:
            scoped = create_key(conn, "bench-street", "viewer", area=STREET)[1]
            plain = create_key(conn, "bench-city", "viewer")[1]
        with server(url, env={"CITYGRID_RATE_LIMIT_PER_KEY": "100000"}) as base, \
                httpx.Client(base_url=base, timeout=60) as client:
            for label, urls in rows(args.rounds):
                timed(client, plain, urls[0])
                timed(client, scoped, urls[0])   # warm-up (cells, plans, the area's resolution)
                if "MVT" in label or "heat" in label:  # the first requests built them: use the rest
                    urls = urls[1:]
                load = load_average()
                a, s, anon = [], [], []
                for u in urls:
                    a.append(timed(client, plain, u))
                    s.append(timed(client, scoped, u))
                    if "items" in label:
                        anon.append(timed(client, None, u))
                ma, ms = statistics.median(a), statistics.median(s)
                extra = f"  anonymous {statistics.median(anon):6.2f}" if anon else ""
                print(f"{label:<40} unscoped {ma:7.2f} ms (p95 {p95(a):7.2f})  scoped {ms:7.2f} ms "
                      f"(p95 {p95(s):7.2f})  ratio {ms / ma:5.2f}{extra}  load {load}", flush=True)


if __name__ == "__main__":
    main()
