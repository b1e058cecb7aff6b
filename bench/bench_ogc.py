"""OGC API benchmark: CityGrid against tipg 1.x and pygeoapi 0.24, side by side, one server at a time.

    .venv/bin/python bench/bench_ogc.py [--duration 15] [--skip-peers]

- installs tipg (Python 3.11) and pygeoapi (Python 3.12, from pyenv) into their own virtual
  environments under var/bench/ (pygeoapi >= 0.22 does not run on 3.11);
- benches the main `citygrid` database when the demo district is loaded there (>= 100,000
  components); otherwise builds `citygrid_bench_ogc` with a synthetic district of the same size
  (138,662 point components, 10,000 unit-grid polygons);
- serves the same tables from the three servers in turn (uvicorn, one worker each, no access log),
  runs wrk (2 threads, 16 connections) for each row of issue 8's table, and prints req/s, CityGrid's
  p99, the ratio to the better peer and the load average when the row started;
- the single-item row requests RANDOM ids (a wrk Lua script drawing from 20,000 component ids, the
  same list for every server), so a response cache cannot fake the figure.

Figures are noisy: wrk, PostgreSQL and the server share the machine's two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402

VAR = ROOT / "var" / "bench"
BENCH_DB = "citygrid_bench_ogc"
N_COMPONENTS = 138_662
GRID_SIDE = 100                                   # 100 x 100 unit grids
LON0, LAT0, LON1, LAT1 = 121.40, 31.30, 121.505, 31.426   # ~10 km x 14 km
CENTER = ((LON0 + LON1) / 2, (LAT0 + LAT1) / 2)
#: ~2 km² around the centre: 1.414 km a side.
HALF_LAT = 0.707 / 111.32
HALF_LON = 0.707 / (111.32 * 0.8545)
BBOX = (CENTER[0] - HALF_LON, CENTER[1] - HALF_LAT, CENTER[0] + HALF_LON, CENTER[1] + HALF_LAT)

ROWS = [
    ("components items, limit=100", "items100"),
    ("components items, bbox of ~2 km², limit=1000", "bbox1000"),
    ("one component by id", "one"),
    ("unit grids, limit=500", "grids500"),
    ("components MVT tile, z=15", "mvt15"),
]
ISSUE = {"items100": (125, 150), "bbox1000": (17, 15), "one": (790, 330), "grids500": (37, 42), "mvt15": (315, 0.2)}


# -- environments --------------------------------------------------------------------------------


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def python312() -> str | None:
    found = shutil.which("python3.12")
    # A pyenv shim is on PATH even when 3.12 is not the selected version, and then fails to run.
    if found and subprocess.run([found, "-c", ""], capture_output=True).returncode == 0:
        return found
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = sorted(root.glob("versions/3.12*/bin/python3.12"))
    if not candidates and shutil.which("pyenv"):
        with contextlib.suppress(subprocess.CalledProcessError):
            run(["pyenv", "install", "-s", "3.12"])
        candidates = sorted(root.glob("versions/3.12*/bin/python3.12"))
    return str(candidates[-1]) if candidates else None


def ensure_venv(name: str, python: str, packages: list[str]) -> Path | None:
    venv = VAR / name
    marker = venv / ".installed"
    if marker.exists():
        return venv
    try:
        run([python, "-m", "venv", str(venv)])
        run([str(venv / "bin" / "pip"), "install", "-q", *packages])
    except subprocess.CalledProcessError as exc:
        print(f"!! could not install {name}: {exc}", file=sys.stderr)
        return None
    marker.touch()
    return venv


# -- data ----------------------------------------------------------------------------------------


def bench_database() -> str:
    main = database_url()
    with psycopg.connect(main) as conn:
        n = conn.execute("SELECT count(*) FROM components").fetchone()[0]
    if n >= 100_000:
        print(f"benching the main database ({n:,} components)")
        migrate.upgrade(main)
        ensure_change_counters(main)
        return main
    url = make_url(main).set(database=BENCH_DB).render_as_string(hide_password=False)
    admin = make_url(main).set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (BENCH_DB,)).fetchone():
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')
    migrate.upgrade(url)
    seed_reference_data(url)
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT count(*) FROM components").fetchone()[0] < N_COMPONENTS:
            print(f"main database has {n} components: building the synthetic district in {BENCH_DB} …")
            synthesize(conn)
    return url


def ensure_change_counters(url: str) -> None:
    """A database migrated past 0004 before the OGC capability filled that slot lacks its counters:
    the slot's SQL is idempotent, so run it."""
    from gis.db.sqlfiles import read_sql

    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('ogc_changes')").fetchone()[0] is None:
            print("applying gis/db/sql/0004_ogc.sql (database migrated before it had content)")
            conn.execute(read_sql("0004_ogc.sql"))


def synthesize(conn: psycopg.Connection) -> None:
    """One district, one street, 100 communities of 10 x 10 unit grids, 138,662 components (seeded)."""
    dx, dy = (LON1 - LON0) / GRID_SIDE, (LAT1 - LAT0) / GRID_SIDE
    conn.execute("TRUNCATE components, unit_grids, eval_grids, admin_areas CASCADE")
    env = "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490))"
    conn.execute(f"INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', {env})",
                 (LON0, LAT0, LON1, LAT1))
    conn.execute(f"INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES "
                 f"('310113001', 'street', '基准街道', '310113', {env})", (LON0, LAT0, LON1, LAT1))
    conn.execute(
        "INSERT INTO admin_areas (code, level, name, parent_code, geom) "
        "SELECT '310113001' || lpad((cy * 10 + cx + 1)::text, 3, '0'), 'community', "
        "'基准社区' || (cy * 10 + cx + 1), "
        "'310113001', ST_Multi(ST_MakeEnvelope(%(x0)s + cx * 10 * %(dx)s, %(y0)s + cy * 10 * %(dy)s, "
        "%(x0)s + (cx + 1) * 10 * %(dx)s, %(y0)s + (cy + 1) * 10 * %(dy)s, 4490)) "
        "FROM generate_series(0, 9) cx, generate_series(0, 9) cy",
        {"x0": LON0, "y0": LAT0, "dx": dx, "dy": dy},
    )
    conn.execute(
        "INSERT INTO unit_grids (code, community_code, name, area_m2, geom) "
        "SELECT c || lpad(((gy %% 10) * 10 + gx %% 10 + 1)::text, 3, '0'), c, '单元网格' || gx || '-' || gy, 14000, "
        "ST_Multi(ST_MakeEnvelope(%(x0)s + gx * %(dx)s, %(y0)s + gy * %(dy)s, %(x0)s + (gx + 1) * %(dx)s, "
        "%(y0)s + (gy + 1) * %(dy)s, 4490)) "
        "FROM generate_series(0, 99) gx, generate_series(0, 99) gy, "
        "LATERAL (SELECT '310113001' || lpad(((gy / 10) * 10 + gx / 10 + 1)::text, 3, '0') AS c) cc",
        {"x0": LON0, "y0": LAT0, "dx": dx, "dy": dy},
    )
    conn.execute("SELECT setseed(0.42)")
    conn.execute(
        "WITH cats AS (SELECT major, minor, row_number() OVER (ORDER BY major, minor) - 1 AS k, "
        "count(*) OVER () AS n FROM categories WHERE kind = 'component'), "
        "pts AS (SELECT g, (random() * 1e9)::bigint AS r, %(x0)s + random() * %(w)s AS x, "
        "%(y0)s + random() * %(h)s AS y FROM generate_series(1, %(n)s) g), "
        "typed AS (SELECT p.*, c.major, c.minor FROM pts p JOIN cats c ON c.k = p.r %% c.n) "
        "INSERT INTO components (id, major, minor, name, status, init_date, geom) "
        "SELECT '310113' || major || minor "
        "|| lpad(row_number() OVER (PARTITION BY major, minor ORDER BY g)::text, 6, '0'), "
        "major, minor, '部件' || g, '完好', date '2020-01-01' + (g %% 1500), ST_SetSRID(ST_MakePoint(x, y), 4490) "
        "FROM typed",
        {"x0": LON0, "y0": LAT0, "w": LON1 - LON0, "h": LAT1 - LAT0, "n": N_COMPONENTS},
    )
    conn.execute("ANALYZE")


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cmd: list[str], env: dict, port: int, probe: str) -> Iterator[str]:
    log = open(VAR / f"server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, cwd=VAR)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + probe, timeout=5).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {' '.join(cmd)} (see {log.name})")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        log.close()


#: wrk script for the single-item row: every request asks for a random id from a file of ids, so that
#: no response cache (ours or a peer's) can serve one hot item; every server gets the same list.
RANDOM_IDS_LUA = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local prefix, suffix = os.getenv("BENCH_PREFIX"), os.getenv("BENCH_SUFFIX") or ""
math.randomseed(os.time())
request = function()
  return wrk.format("GET", prefix .. ids[math.random(#ids)] .. suffix)
end
"""
N_RANDOM_IDS = 20_000


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def wrk(url: str, duration: int, ids: Path | None = None) -> tuple[float, float | None, int]:
    cmd, env = ["wrk", "-t2", "-c16", f"-d{duration}s", "--latency"], dict(os.environ)
    if ids is not None and "{id}" in url:
        script = VAR / "random_ids.lua"
        script.write_text(RANDOM_IDS_LUA, encoding="utf-8")
        base, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        prefix, _, suffix = ("/" + path).partition("{id}")
        env.update(BENCH_IDS=str(ids), BENCH_PREFIX=prefix, BENCH_SUFFIX=suffix)
        cmd += ["-s", str(script)]
        url = f"{base}://{host}"
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True, env=env).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99_ms = None
    if p99:
        value, unit = float(p99.group(1)), p99.group(2)
        p99_ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99_ms, int(bad.group(1)) if bad else 0


def tile15() -> tuple[int, int, int]:
    import morecantile

    t = morecantile.tms.get("WebMercatorQuad").tile(CENTER[0], CENTER[1], 15)
    return t.z, t.x, t.y


def urls(server: str) -> dict[str, str]:
    """Each row's path; the single-item row has an `{id}` slot that wrk fills with random ids."""
    bbox = ",".join(f"{v:.6f}" for v in BBOX)
    z, x, y = tile15()
    if server == "citygrid":
        c = "/ogc/collections"
        return {"items100": f"{c}/components/items?limit=100",
                "bbox1000": f"{c}/components/items?bbox={bbox}&limit=1000",
                "one": f"{c}/components/items/{{id}}", "grids500": f"{c}/unit_grids/items?limit=500",
                "mvt15": f"{c}/components/tiles/WebMercatorQuad/{z}/{y}/{x}"}
    if server == "tipg":
        c = "/collections/public."
        return {"items100": f"{c}components/items?limit=100",
                "bbox1000": f"{c}components/items?bbox={bbox}&limit=1000",
                "one": f"{c}components/items/{{id}}", "grids500": f"{c}unit_grids/items?limit=500",
                "mvt15": f"{c}components/tiles/WebMercatorQuad/{z}/{x}/{y}"}
    c = "/collections"
    return {"items100": f"{c}/components/items?limit=100&f=json",
            "bbox1000": f"{c}/components/items?bbox={bbox}&limit=1000&f=json",
            "one": f"{c}/components/items/{{id}}?f=json", "grids500": f"{c}/unit_grids/items?limit=500&f=json",
            "mvt15": f"{c}/components/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt"}


def pygeoapi_config(url: str, port: int) -> tuple[Path, Path]:
    u = make_url(url)
    data = (f"{{host: {u.host}, port: {u.port}, dbname: {u.database}, user: {u.username}, "
            f"password: '{u.password}', search_path: [public]}}")
    tile_data = data.replace(", search_path: [public]", "")

    def resource(table: str, geom_type: str, tiles: bool) -> str:
        # Tiles stay off for pygeoapi: its MVT-postgresql provider (0.24) needs `options` (schemes, zoom)
        # and also hands them to its cached engine factory, which fails on the unhashable list/dict.
        # The issue measured it at ~0.2 req/s; tipg is the better peer on that row.
        text = (f"  {table}:\n    type: collection\n    title: {table}\n    description: {table}\n"
                f"    keywords: [{table}]\n"
                f"    extents:\n      spatial:\n        bbox: [{LON0}, {LAT0}, {LON1}, {LAT1}]\n"
                f"        crs: http://www.opengis.net/def/crs/OGC/1.3/CRS84\n    providers:\n"
                f"      - type: feature\n        name: PostgreSQL\n        data: {data}\n"
                f"        id_field: {'id' if table == 'components' else 'code'}\n        table: {table}\n"
                f"        geom_field: geom\n")
        if tiles:
            text += (f"      - type: tile\n        name: MVT-postgresql\n        data: {tile_data}\n"
                     f"        id_field: id\n"
                     f"        table: {table}\n        geom_field: geom\n"
                     f"        format:\n          name: pbf\n"
                     f"          mimetype: application/vnd.mapbox-vector-tile\n")
        return text

    contact = ", ".join(f"{k}: x" for k in ("name", "position", "address", "city", "stateorprovince", "postalcode",
                                             "country", "phone", "fax", "email", "url", "hours", "instructions"))
    config = (
        f"server:\n  bind: {{host: 127.0.0.1, port: {port}}}\n  url: http://127.0.0.1:{port}\n"
        "  mimetype: application/json; charset=UTF-8\n  encoding: utf-8\n  language: en-US\n"
        "  limits: {default_items: 10, max_items: 10000}\n"
        "  map: {url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', attribution: x}\n"
        "logging: {level: ERROR}\n"
        "metadata:\n  identification: {title: bench, description: bench, keywords: [bench], keywords_type: theme, "
        "terms_of_service: x, url: 'http://x'}\n  license: {name: x, url: 'http://x'}\n"
        "  provider: {name: x, url: 'http://x'}\n"
        f"  contact: {{{contact}, role: pointOfContact}}\n"
        "resources:\n" + resource("components", "Point", False) + resource("unit_grids", "MultiPolygon", False)
    )
    cfg = VAR / "pygeoapi-config.yml"
    cfg.write_text(config, encoding="utf-8")
    oas = VAR / "pygeoapi-openapi.yml"
    run([str(VAR / "pygeoapi" / "bin" / "pygeoapi"), "openapi", "generate", str(cfg), "--output-file", str(oas)],
        env={**os.environ, "PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}, capture_output=True)
    return cfg, oas


def measure(name: str, base: str, ids: Path, one_id: str, duration: int) -> dict[str, tuple | None]:
    results: dict[str, tuple | None] = {}
    for _, key in ROWS:
        url = base + urls(name)[key]
        probe = url.replace("{id}", one_id)
        try:
            r = httpx.get(probe, timeout=120)
            ok = r.status_code == 200 and len(r.content) > 0
        except httpx.HTTPError:
            ok = False
        if not ok:
            print(f"  {name} {key}: {url} answered {getattr(locals().get('r'), 'status_code', 'nothing')}: skipped")
            results[key] = None
            continue
        for _ in range(3):
            httpx.get(probe, timeout=120)
        before = loadavg()
        rps, p99, bad = wrk(url, duration, ids)
        results[key] = None if bad else (rps, p99, before)
        print(f"  {name:9s} {key:9s} {rps:9.1f} req/s  p99 {p99 or float('nan'):7.1f} ms  load {before}"
              + (f"  ({bad} non-2xx: discarded)" if bad else ""))
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--skip-peers", action="store_true")
    args = ap.parse_args()
    VAR.mkdir(parents=True, exist_ok=True)
    url = bench_database()
    with psycopg.connect(url) as conn:
        one_id = conn.execute("SELECT id FROM components ORDER BY id OFFSET 70000 LIMIT 1").fetchone()[0]
        n = conn.execute("SELECT (SELECT count(*) FROM components), (SELECT count(*) FROM unit_grids)").fetchone()
        conn.execute("SELECT setseed(0.8)")
        ids = [r[0] for r in conn.execute("SELECT id FROM components ORDER BY random() LIMIT %s", (N_RANDOM_IDS,))]
    ids_file = VAR / "component_ids.txt"
    ids_file.write_text("\n".join(ids) + "\n", encoding="utf-8")
    print(f"data: {n[0]:,} components, {n[1]:,} unit grids; bbox {BBOX}; tile z/x/y {tile15()}")
    print(f"single-item row: each request picks one of {len(ids):,} random component ids (wrk Lua script, "
          f"the same list for every server), so no response cache can serve a hot item")

    servers: list[tuple[str, Callable[[int], list[str]], dict, str]] = []
    py = str(ROOT / ".venv" / "bin" / "python")
    servers.append(("citygrid", lambda p: [py, "-m", "uvicorn", "api.app:create_app", "--factory",
                                           "--port", str(p), "--no-access-log", "--log-level", "warning"],
                    {"DATABASE_URL": url, "PYTHONPATH": str(ROOT)}, "/ogc/collections"))
    if not args.skip_peers:
        tipg = ensure_venv("tipg", sys.executable, ["tipg>=1,<2", "uvicorn[standard]"])
        if tipg:
            servers.append(("tipg", lambda p: [str(tipg / "bin" / "uvicorn"), "tipg.main:app", "--port", str(p),
                                               "--no-access-log", "--log-level", "warning"],
                            {"DATABASE_URL": url, "TIPG_DB_SCHEMAS": '["public"]'}, "/collections"))
        py312 = python312()
        if py312 is None:
            print("!! no Python 3.12 (pyenv install 3.12 failed or is offline): pygeoapi is not compared")
        else:
            pga = ensure_venv("pygeoapi", py312, ["pygeoapi==0.24.*", "psycopg2-binary", "sqlalchemy", "geoalchemy2",
                                                   "pygeofilter", "starlette", "uvicorn[standard]"])
            if pga:
                port = free_port()
                cfg, oas = pygeoapi_config(url, port)
                servers.append(("pygeoapi", lambda p, port=port: [str(pga / "bin" / "uvicorn"),
                                                                   "pygeoapi.starlette_app:APP", "--port", str(port),
                                                                   "--no-access-log", "--log-level", "warning"],
                                {"PYGEOAPI_CONFIG": str(cfg), "PYGEOAPI_OPENAPI": str(oas)}, "/collections"))

    results: dict[str, dict] = {}
    for name, cmd, env, probe in servers:
        port = int(cmd(0)[cmd(0).index("--port") + 1]) if name == "pygeoapi" else free_port()
        print(f"== {name} on :{port}")
        try:
            with serve(cmd(port), env, port, probe) as base:
                results[name] = measure(name, base, ids_file, one_id, args.duration)
        except RuntimeError as exc:
            print(f"!! {exc}")

    def fmt(v: tuple | None) -> str:
        return "n/a" if v is None else f"{v[0]:.1f}"

    print(f"\nwrk -t2 -c16 -d{args.duration}s, one uvicorn worker per server; single item = random ids; "
          f"load = 1/5/15-min load average before CityGrid's run of the row\n")
    print("| request | tipg req/s | pygeoapi req/s | CityGrid req/s | CityGrid p99 ms | × better peer "
          "| issue's peers | load |")
    print("|---|---|---|---|---|---|---|---|")
    for label, key in ROWS:
        cg = results.get("citygrid", {}).get(key)
        peers = [r[key][0] for n_, r in results.items() if n_ != "citygrid" and r.get(key)]
        best = max(peers) if peers else None
        ratio = f"{cg[0] / best:.1f}×" if cg and best else "n/a"
        p99 = f"{cg[1]:.1f}" if cg and cg[1] is not None else "n/a"
        print(f"| {label} | {fmt(results.get('tipg', {}).get(key))} | {fmt(results.get('pygeoapi', {}).get(key))} | "
              f"{fmt(cg)} | {p99} | {ratio} | {ISSUE[key][0]} / {ISSUE[key][1]} | {cg[2] if cg else 'n/a'} |")


if __name__ == "__main__":
    main()
