"""Issue 16 figures: importing 10,000 shops by address (goal ≤ 5 s), per-area shop figures for a street
(goal ≤ 200 ms), and the fence engine's throughput with the muck-truck fences added (no worse than
without them).

Reads the demo district (`citygrid demo load`). The import runs inside a transaction that is rolled back,
so the main database is left as it was; the fence runs use bench/simulate.py's throwaway database.

    .venv/bin/python bench/bench_shops.py [--no-fences] [--shops 10000]
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import load_average  # noqa: E402
from geocoder.index import ReferenceIndex  # noqa: E402
from geocoder.place import address_placer  # noqa: E402
from gis.db.engine import connect  # noqa: E402
from gis.io.load import import_file  # noqa: E402
from gis.shops import figures  # noqa: E402


def shop_file(conn, street: str, n: int, path: Path) -> int:
    """n shops at the street's doorplates by address only (plates repeat: several shops per building)."""
    plates = [r[0] for r in conn.execute("SELECT add_name FROM doorplates WHERE subdis_code = %s ORDER BY add_id",
                                         (street,))]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["商户编号", "商户名称", "经营地址"])
        for i in range(n):
            w.writerow([f"BENCH{i:06d}", f"测试商户{i}", plates[i % len(plates)]])
    return len(plates)


def bench_import(conn, street: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shops.csv"
        plates = shop_file(conn, street, n, path)
        t = time.perf_counter()
        index = ReferenceIndex.load(conn)
        print(f"geocoder index ready in {time.perf_counter() - t:.2f} s (the server holds it; not counted)")
        with conn.transaction(force_rollback=True):
            t = time.perf_counter()
            report = import_file(conn, "shops", path, keep_good=True,
                                 placers={"address": address_placer(conn, index)})
            elapsed = time.perf_counter() - t
        print(f"import of {n:,} shops by address ({plates:,} distinct doorplates of street {street}): "
              f"{elapsed:.2f} s (goal ≤ 5 s) — {report.inserted:,} placed, {len(report.rejected):,} rejected; "
              f"phases {report.timings}")


def bench_figures(conn, street: str) -> None:
    figures.area_figures(conn, street)
    runs = []
    for _ in range(15):
        t = time.perf_counter()
        got = figures.area_figures(conn, street)
        runs.append((time.perf_counter() - t) * 1000)
    tot = got["totals"]
    print(f"per-area figures of street {street}: {len(got['areas'])} areas, {tot['shops']:,} shops "
          f"({tot['collected']:,} collected today, {tot['red']}/{tot['yellow']}/{tot['green']} red/yellow/green): "
          f"median {statistics.median(runs):.0f} ms, max {max(runs):.0f} ms over {len(runs)} runs (goal ≤ 200 ms)")


def fence_rate(muck: bool) -> str:
    cmd = [sys.executable, str(ROOT / "bench" / "simulate.py"), *(["--muck"] if muck else [])]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False).stdout
    m = re.search(r"ingest \+ evaluation: .*", out)
    return m.group(0) if m else "simulate.py printed no rate:\n" + out[-2000:]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shops", type=int, default=10_000)
    ap.add_argument("--no-fences", action="store_true", help="skip the two fence throughput runs (minutes)")
    args = ap.parse_args()
    print(f"load average {load_average()} (figures read low on a shared machine)")
    with connect() as conn:
        row = conn.execute("SELECT value->'managed'->'shops'->>'street' FROM dataset_meta "
                           "WHERE key = 'demo'").fetchone()
        if not row or not row[0]:
            sys.exit("no demo shops: run `citygrid demo load` first")
        street = row[0]
        bench_import(conn, street, args.shops)
        bench_figures(conn, street)
    if not args.no_fences:
        print("fence throughput without the muck fences:", fence_rate(False))
        print("fence throughput with the muck fences:   ", fence_rate(True))


if __name__ == "__main__":
    main()
