"""Browser benchmark of the 商铺门责 tab (issue 16) on the demo district: a shop list uploaded through the
page (bytes, placing job, report, placed shops drawn), the 责任区 table of a street, and picking the largest
area (its shops drawn by integrity). Prints figures; it is not a test. Goal: each ≤ 3 s (map query).

    .venv/bin/python bench/bench_web_shops.py [--rows 2000] [--url http://127.0.0.1:8000]

The uploaded shops (codes BENCH-…) are removed and the benchmark's API key revoked afterwards. Times are taken in
the page (performance.now around the action until its result is on the page), plus "until idle" (every
tile and overlay drawn: headless Chromium renders with SwiftShader, so this part is CPU-bound here).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from bench_web import ARGS, CHROMIUM, READY, own_server

from gis.db.engine import database_url
from gis.security.keys import create_key, revoke_key

#: Waits in the page until `cond` (a JS expression) holds; answers the ms since `t0`.
WAIT = """async ([cond, t0]) => { while (!eval(cond)) await new Promise((r) => setTimeout(r, 5));
    return performance.now() - t0; }"""


def shop_list(conn: psycopg.Connection, rows: int) -> tuple[str, str]:
    """A CSV of `rows` shops at the street's doorplates, one in 20 with an address that matches nothing."""
    street = conn.execute("SELECT street_code FROM shops GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()
    street = street[0] if street else "310113003"
    plates = [r[0] for r in conn.execute(
        "SELECT add_name FROM doorplates WHERE subdis_code = %s ORDER BY add_id LIMIT %s", (street, rows))]
    lines = ["商户编号,商户名称,经营地址"]
    for i in range(rows):
        address = "无此路999号" if i % 20 == 19 or not plates else plates[i % len(plates)]
        lines.append(f"BENCH-{i:05d},测试商户{i},{address}")
    return "\n".join(lines) + "\n", street


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    ap.add_argument("--rows", type=int, default=2000)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    url = database_url()
    with psycopg.connect(url, autocommit=True) as conn:
        if not conn.execute("SELECT count(*) FROM shops").fetchone()[0]:
            raise SystemExit("no shops: load the demo district first (citygrid demo load)")
        text, street = shop_list(conn, args.rows)
        key_id, secret = create_key(conn, "bench-web-shops", "planner")
    servers = ExitStack()
    base = args.url or servers.enter_context(own_server())
    csv = Path(tempfile.mkdtemp()) / "shops.csv"
    csv.write_text(text, encoding="utf-8")
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(f"sessionStorage.setItem('citygrid.apiKey', {secret!r})")
            page = context.new_page()
            page.goto(f"{base}/")
            page.wait_for_function(READY, timeout=60_000)
            page.evaluate("window.citygrid.whenIdle()")
            page.locator(".tabs button[data-tab=shops]").click()

            page.locator("#shop-file").set_input_files(str(csv))
            t0 = page.evaluate("performance.now()")
            page.locator("#shop-import-run").click()
            ms = page.evaluate(WAIT, ["window.citygrid.shops.import && window.citygrid.shops.import.state !== "
                                      "'uploading'", t0])
            got = page.evaluate("window.citygrid.shops.import")
            idle = ms + page.evaluate("async () => { const t = performance.now(); await window.citygrid.whenIdle();"
                                      " return performance.now() - t; }")
            print(f"upload {args.rows:,} shops by address: report on the page {ms / 1000:.2f} s, drawn (idle) "
                  f"{idle / 1000:.2f} s — placed {got.get('inserted')}, not placed {got.get('rejected')} "
                  f"{got.get('byKind')}")

            page.select_option("#shop-area-street", street)
            t0 = page.evaluate("performance.now()")
            page.locator("#shop-areas-run").click()
            ms = page.evaluate(WAIT, ["window.citygrid.shops.areas", t0])
            doc = page.evaluate("window.citygrid.shops.areas")
            print(f"责任区 table of street {street}: {ms / 1000:.2f} s — {len(doc['areas'])} areas, "
                  f"{doc['totals']['shops']:,} shops")

            biggest = max(doc["areas"], key=lambda a: a["shops"])
            ms, shown = page.evaluate("""async (id) => { const t = performance.now();
                await window.citygrid.shopsSelectArea(id, true); const a = performance.now() - t;
                await window.citygrid.whenIdle(); return [[a, performance.now() - t],
                window.citygrid.shops.selected.mapped]; }""", biggest["id"])
            print(f"pick area {biggest['name']} ({biggest['shops']:,} shops): figures and shops on the page "
                  f"{ms[0] / 1000:.2f} s, drawn (idle) {ms[1] / 1000:.2f} s — {shown:,} shops drawn")
            context.close()
            browser.close()
    finally:
        servers.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("DELETE FROM shops WHERE code LIKE 'BENCH-%%'")
            revoke_key(conn, key_id)


if __name__ == "__main__":
    main()
