"""Demo district: generation time, load time (COPY, evaluation grids, ANALYZE) and the row count per table.

Loads into a throwaway database on the same server (created, migrated, dropped), so the main database
is not touched; `--main` loads into the configured database instead (replacing its demo data).

    .venv/bin/python bench/bench_demo.py [--scale 1.0] [--seed N] [--main]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from sqlalchemy.engine import make_url

from gis.db import engine as db_engine
from gis.db import migrate
from gis.db.databases import create_database, drop_database
from gis.db.seed import seed_reference_data
from gis.demo.generate import TABLE_ORDER, generate
from gis.demo.load import load
from gis.settings import get_settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=get_settings().demo_seed)
    ap.add_argument("--main", action="store_true", help="load into the configured database")
    args = ap.parse_args()

    name = None
    if args.main:
        url = db_engine.database_url()
    else:
        admin, url = create_database(db_engine.database_url(), prefix="citygrid_bench_demo")
        name = make_url(url).database
        os.environ["DATABASE_URL"] = url
        db_engine.reset_caches()
        migrate.upgrade(url)
        seed_reference_data(url)
    try:
        t0 = time.perf_counter()
        ds = generate(args.seed, args.scale)
        t_gen = time.perf_counter() - t0
        print(f"demo district seed {args.seed} scale {args.scale} into {'main database' if args.main else name}")
        print(f"generation: {t_gen:6.1f} s   ({', '.join(f'{k} {v:.1f}' for k, v in ds.timings.items())})")
        with psycopg.connect(url) as conn:
            t1 = time.perf_counter()
            steps = load(conn, ds)
            t_load = time.perf_counter() - t1
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in [*TABLE_ORDER, "eval_grids"]}
        print(f"load:       {t_load:6.1f} s   (COPY {steps['copy_total']:.1f} s, evaluation grids "
              f"{steps['eval_seconds']:.1f} s, ANALYZE {steps['analyze']:.1f} s)")
        print(f"total:      {t_gen + t_load:6.1f} s")
        print(f"{'table':<18}{'rows':>10}{'COPY s':>9}")
        for table, n in counts.items():
            secs = steps.get(table)
            print(f"{table:<18}{n:>10,}{'' if secs is None else f'{secs:>9.1f}'}")
    finally:
        if name:
            db_engine.get_engine(url).dispose()
            drop_database(admin, url)


if __name__ == "__main__":
    main()
