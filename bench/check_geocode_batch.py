"""Byte-for-byte check of `POST /api/geocode/batch`: the bench's 10,000 NDJSON rows of both worlds
(bench/bench_geocode.py, same seeds) answered by a real server, saved once and compared after a change.

    .venv/bin/python bench/check_geocode_batch.py --save var/geocode_batch_before   # on the old code
    .venv/bin/python bench/check_geocode_batch.py --compare var/geocode_batch_before

World 2 is imported (as the bench does) into a database `citygrid_check_w2` on the same server, kept
between runs (`--drop-world2` removes it). Also checks the CSV answer (`?out=csv`) and a crs=GCJ02 run.
Prints the first differing line and exits 1 on a difference. Not a test: it needs the demo district.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import world_dafeng  # noqa: E402
from bench.bench_geocode import import_world2  # noqa: E402
from bench.harness import load_average, server, server_cpu_s  # noqa: E402
from geocoder import evaluation as ev  # noqa: E402
from geocoder.index import ReferenceIndex  # noqa: E402
from gis.db import migrate  # noqa: E402
from gis.db.engine import database_url  # noqa: E402
from gis.db.seed import seed_reference_data  # noqa: E402

W2 = "citygrid_check_w2"


def world1_texts(url: str, per_kind: int, seed: int) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        queries, _ = ev.build(ReferenceIndex.load(conn), per_kind, seed)
    return [q.text for q in queries]


def world2(url: str, per_kind: int, drop: bool) -> tuple[str, list[str]]:
    """The world-2 database (imported on first use) and its query texts."""
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    url2 = make_url(url).set(database=W2).render_as_string(hide_password=False)
    folder = Path(tempfile.mkdtemp(prefix="world_dafeng_"))
    paths = world_dafeng.export(folder, per_kind=per_kind)
    with psycopg.connect(admin, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{W2}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (W2,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{W2}"')
    if not exists:
        migrate.upgrade(url2)
        seed_reference_data(url2)
        import_world2(url2, folder)
    rows = [json.loads(line) for line in paths["queries"].read_text().splitlines() if line.strip()]
    return url2, [r["query"] for r in rows]


def body_of(texts: list[str], n: int) -> bytes:
    """Exactly the bench's batch body."""
    rows = [texts[i % len(texts)].replace("\n", " ").replace('"', "") for i in range(n)]
    return "\n".join(json.dumps({"id": i, "address": q}, ensure_ascii=False) for i, q in enumerate(rows)).encode()


def answers(url: str, body: bytes) -> dict[str, bytes]:
    """The answer bodies per variant, and prints the throughput of the plain NDJSON run."""
    out = {}
    with server(url) as base, httpx.Client(base_url=base, timeout=120) as client:
        client.get("/api/geocode", params={"q": "warm-up"})
        client.post("/api/geocode/batch", content=body[:20000].rsplit(b"\n", 1)[0],
                    headers={"Content-Type": "application/x-ndjson"})
        for name, params in {"ndjson": {}, "csv": {"out": "csv"}, "gcj02": {"crs": "GCJ02"}}.items():
            cpu0, t = server_cpu_s(base), time.perf_counter()
            r = client.post("/api/geocode/batch", content=body, params=params,
                            headers={"Content-Type": "application/x-ndjson"})
            secs, cpu = time.perf_counter() - t, server_cpu_s(base) - cpu0
            assert r.status_code == 200, r.text[:500]
            out[name] = r.content
            rows = body.count(b"\n") + 1
            print(f"  {name}: {rows} rows in {secs:.2f} s = {rows / secs:,.0f}/s, server CPU {cpu:.2f} s = "
                  f"{rows / max(cpu, 1e-9):,.0f} per CPU-s (load {load_average()})")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path)
    g.add_argument("--compare", type=Path)
    ap.add_argument("--per-kind", type=int, default=50)
    ap.add_argument("--per-kind2", type=int, default=30)
    ap.add_argument("--seed", type=int, default=4)
    ap.add_argument("--batch-rows", type=int, default=10_000)
    ap.add_argument("--drop-world2", action="store_true")
    args = ap.parse_args()
    url = database_url()
    url2, texts2 = world2(url, args.per_kind2, args.drop_world2)
    worlds = {"world1": (url, world1_texts(url, args.per_kind, args.seed)), "world2": (url2, texts2)}
    bad = False
    for name, (u, texts) in worlds.items():
        print(f"== {name}")
        for variant, content in answers(u, body_of(texts, args.batch_rows)).items():
            path = (args.save or args.compare) / f"{name}_{variant}.out"
            digest = hashlib.sha256(content).hexdigest()[:16]
            if args.save:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                print(f"  saved {path} ({len(content):,} bytes, sha256 {digest})")
                continue
            old = path.read_bytes()
            if old == content:
                print(f"  {variant}: identical ({len(content):,} bytes, sha256 {digest})")
                continue
            bad = True
            for i, (a, b) in enumerate(zip(old.splitlines(), content.splitlines(), strict=False)):
                if a != b:
                    print(f"  {variant}: DIFFERS at line {i + 1}:\n    old {a[:400]!r}\n    new {b[:400]!r}")
                    break
            else:
                print(f"  {variant}: DIFFERS in length ({len(old)} vs {len(content)} bytes)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
