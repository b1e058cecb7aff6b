"""Web-map benchmark: first-render time of the page, and of the component layer at district zoom.

Drives headless Chromium (Debian's) against a server on the main database (the demo district, with its
138,662 components). Prints figures; it is not a test. Goal: both under 2 s on localhost.

    .venv/bin/python bench/bench_web.py                 # starts its own server on a free port
    .venv/bin/python bench/bench_web.py --url http://127.0.0.1:8000 --runs 3
    .venv/bin/python bench/bench_web.py --profile        # where the first render's time goes
    .venv/bin/python bench/bench_web.py --only frames    # what one frame of the first view costs, per layer

Figures:
  * components (cold): fresh browser, page opened with the component layer off; then the layer is
    switched on and timed until every tile is loaded and drawn (idle). Run first, so the server's tile
    cache is cold too.
  * page first render: fresh browser, from navigation start to the map's first idle (all default layers);
    with the frames painted before it and the CPU Chromium's processes used (per process type) — on a
    shared machine these say more than the wall clock.
  * panels (issue 19): from the click to the panel showing its data — 案件统计 (the ECharts chunk loads
    on first use), a bar's cases on the map, 普查成果 and its 部件密度 map, 违规反查, 跨网格/脱岗, and the
    案件 layer switched on (its 30-day window loaded and clustered; and until drawn); then 车辆统计, 计划与实际
    (every route of the day), 批量地址 (100 rows), 报警统计, 轨迹回放 and a 场景, each until drawn.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import load_average, server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
READY = "window.citygrid && (window.citygrid.ready || window.citygrid.failed)"


@contextmanager
def own_server() -> Iterator[str]:
    """A server on the main database in its own process, as deployed: run inside this script, it shared the
    interpreter (and its GIL) with Playwright's client, and every page waited on both (first render 2.15 s
    in-process vs 1.84 s in a process of its own, same build, same quiet machine)."""
    from gis.db.engine import database_url

    with server(database_url()) as base:
        yield base


def components_cold(browser: object, base: str, width: int, height: int) -> tuple[float, int]:
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{base}/?hide=components")
    page.wait_for_function(READY, timeout=60_000)
    page.evaluate("window.citygrid.whenIdle()")
    ms, count = page.evaluate("""async () => {
        const c = window.citygrid, m = c.map;
        const t0 = performance.now();
        const ids = ['components:0', 'components:clusters', 'components:cluster-count'].filter((id) => m.getLayer(id));
        for (const id of ids) m.setLayoutProperty(id, 'visibility', 'visible');
        await new Promise((r) => m.once('idle', r));
        const t1 = performance.now();
        const points = m.queryRenderedFeatures({layers: ['components:0']}).length;
        const clusters = m.getLayer('components:clusters')
            ? m.queryRenderedFeatures({layers: ['components:clusters']})
                .reduce((n, f) => n + f.properties.point_count, 0) : 0;
        return [t1 - t0, points + clusters];
    }""")
    context.close()
    return ms / 1000, count


def browser_cpu() -> dict[str, float]:
    """CPU seconds used so far by this script's Chromium processes, per process type (gpu-process, renderer,
    browser …; from /proc). On a machine shared with others the wall clock says little; what the page costs
    in CPU does not depend on who else runs."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    stack = list(tree.get(os.getpid(), []))
    while stack:
        pid = stack.pop()
        stack += tree.get(pid, [])
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if "chrom" not in cmd:
            continue
        kind = next((a.split("=", 1)[1] for a in cmd.split() if a.startswith("--type=")), "browser")
        out[kind] = out.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


COUNT_FRAMES = """window.__frames = 0;
    const hook = setInterval(() => {
        const m = window.citygrid && window.citygrid.map; if (!m) return; clearInterval(hook);
        m.on('render', () => { if (!window.citygrid.firstIdle) window.__frames += 1; }); }, 5);"""


def page_first_render(browser: object, base: str, width: int, height: int) -> tuple[float, float, int, dict]:
    """Seconds to the map's first idle and to DOMContentLoaded, the frames painted before that idle (in
    software GL each costs 0.1–0.9 s of CPU: the figure that says why a run was slow on a busy machine), and
    the CPU seconds Chromium's processes used from navigation to that idle, per process type."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.add_init_script(COUNT_FRAMES)
    cpu = browser_cpu()
    page.goto(f"{base}/")
    page.wait_for_function("window.citygrid && window.citygrid.firstIdle", timeout=60_000)
    used = {kind: seconds - cpu.get(kind, 0.0) for kind, seconds in browser_cpu().items()}
    first_idle, dom, frames = page.evaluate("""[window.citygrid.firstIdle,
        performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd, window.__frames]""")
    context.close()
    return first_idle / 1000, dom / 1000, frames, used


def panels_open(browser: object, base: str, width: int, height: int) -> dict[str, float]:
    """Seconds from a click to the panel showing its data (fresh page each run: the charts chunk is cold).
    Each clock starts on a map at rest (`whenIdle`): a panel opened while the map still draws the previous
    panel's result would wait for those frames (in software GL ~0.3–1 s each) and be charged for them."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{base}/")
    page.wait_for_function("window.citygrid && window.citygrid.ready", timeout=60_000)
    page.evaluate("window.citygrid.whenIdle()")
    out: dict[str, float] = {}
    page.locator(".tabs button[data-tab=stats]").click()
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#stats-run").click()
    page.wait_for_function("window.citygrid.stats && window.citygrid.stats.ready", timeout=60_000)
    out["案件统计 (chart + table + areas)"] = time.perf_counter() - t
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#stats-table tbody tr").first.click()
    page.wait_for_function("window.citygrid.stats.selected", timeout=60_000)
    page.evaluate("window.citygrid.whenIdle()")  # drawn on the map, not only fetched
    out["案件统计 bar → cases on map + list"] = time.perf_counter() - t
    page.locator(".tabs button[data-tab=work]").click()
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#census-run").click()
    page.wait_for_function("window.citygrid.work && window.citygrid.work.census", timeout=60_000)
    out["普查成果 (streets)"] = time.perf_counter() - t
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.select_option("#census-density", "")
    page.wait_for_function("window.citygrid.density", timeout=60_000)
    page.evaluate("window.citygrid.whenIdle()")  # drawn on the map, not only fetched
    out["普查成果 部件密度 choropleth (streets)"] = time.perf_counter() - t
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#passed-run").click()
    page.wait_for_function("window.citygrid.work.passed", timeout=60_000)
    out["违规反查 (view, last day of data)"] = time.perf_counter() - t
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#post-run").click()
    page.wait_for_function("window.citygrid.work.onPost", timeout=60_000)
    out["跨网格/脱岗 (last day of data, 08–18)"] = time.perf_counter() - t
    page.locator(".tabs button[data-tab=layers]").click()
    page.evaluate("window.citygrid.whenIdle()")
    t = time.perf_counter()
    page.locator("#layer-tree input[data-layer=cases]").check()
    page.wait_for_function("window.citygrid.caseWindow && window.citygrid.caseWindow.cases", timeout=60_000)
    out["案件 layer on (30 days loaded, clustered)"] = time.perf_counter() - t
    page.evaluate("window.citygrid.whenIdle()")  # and drawn on the map
    out["案件 layer on, drawn"] = time.perf_counter() - t

    def timed(name: str, act: Callable[[], None], done: str) -> None:
        """Until the panel shows its data, and until the map has drawn it too (these panels move the map
        to their result: every layer's tiles of the new view, 4–5 frames in software GL)."""
        page.evaluate("window.citygrid.whenIdle()")
        start = time.perf_counter()
        act()
        page.wait_for_function(done, timeout=60_000)
        out[f"{name}, shown"] = time.perf_counter() - start
        page.evaluate("window.citygrid.whenIdle()")  # drawn on the map, not only fetched
        out[f"{name}, drawn"] = time.perf_counter() - start

    page.locator(".tabs button[data-tab=work]").click()
    timed("车辆统计 (stops + track)", lambda: page.locator("#vstats-run").click(),
          "window.citygrid.work && window.citygrid.work.vehicleStats")
    timed(f"计划与实际 当日全部路线 ({page.evaluate('window.citygrid.routes?.length ?? 0')})",
          lambda: page.locator("#plan-all").click(), "window.citygrid.work.progress")
    page.set_input_files("#batch-file", files=[{"name": "addresses.csv", "mimeType": "text/csv",
                                                "buffer": batch_csv(100)}])
    timed("批量地址 (100 rows)", lambda: page.locator("#batch-run").click(),
          "window.citygrid.work.batch")
    page.locator(".tabs button[data-tab=stats]").click()
    timed("报警统计 (30 days by kind)", lambda: page.locator("#alarm-stats-run").click(),
          "document.querySelectorAll('#alarm-stats-table tr').length > 0")
    page.locator(".tabs button[data-tab=live]").click()
    vehicle = page.evaluate("document.querySelector('#vehicle-ids option')?.value || ''")
    page.locator("#track-vehicle").fill(vehicle)
    page.locator("#track-vehicle").dispatch_event("change")  # as a pick from the list: the window goes to its last data
    timed("轨迹回放 (picked vehicle)", lambda: page.locator("#track-load").click(),
          "window.citygrid.track")
    page.locator(".tabs button[data-tab=scenes]").click()
    page.wait_for_function("window.citygrid.scenesReady", timeout=60_000)
    first = page.locator("#scene-list li.clickable").first
    if first.count():
        timed(f"场景 ({first.locator('.title').inner_text()})", first.click, "window.citygrid.scene")
    context.close()
    return out


def batch_csv(rows: int) -> bytes:
    """A CSV of the district's own addresses (every tenth one written without its road number's 号, as
    typed), plus one that cannot be found: what an inspector uploads."""
    from gis.db.engine import connect

    with connect() as conn:
        names = [r[0] for r in conn.execute(
            "SELECT add_name FROM doorplates ORDER BY add_id LIMIT %s", (rows - 1,))]
    names = [n.removesuffix("号") if i % 10 == 0 else n for i, n in enumerate(names)]
    return ("address\n" + "\n".join([*names, "火星大道999号"]) + "\n").encode()


FRAME_JS = """async (hide) => {
    const m = window.citygrid.map;
    const repaint = () => new Promise((r) => { m.once('idle', r); m.triggerRepaint(); });
    const saved = {};
    for (const l of m.getStyle().layers) {
        const off = hide === '*' ? l.id !== 'background' : hide.some((h) => l.id === h || l.id.startsWith(`${h}:`));
        if (!off) continue;
        saved[l.id] = m.getLayoutProperty(l.id, 'visibility') || 'visible';
        m.setLayoutProperty(l.id, 'visibility', 'none');
    }
    await repaint();
    const times = [];
    for (let i = 0; i < 5; i++) { const t = performance.now(); await repaint(); times.push(performance.now() - t); }
    for (const [id, v] of Object.entries(saved)) m.setLayoutProperty(id, 'visibility', v);
    await repaint();
    return times.sort((a, b) => a - b)[2];
}"""


def frame_costs(browser: object, base: str, width: int, height: int, path: str = "/",
                zoom: float | None = None) -> None:
    """What one frame of the first view costs (median of 5 repaints, nothing else changing) as the page draws
    it, with each drawn district layer hidden in turn, with every overlay hidden, and with the background
    alone: in software GL the first render is nearly all frames, so this says which layers it pays for.
    With `zoom`, the same at that zoom about the first view's centre (where panels move the map to)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(f"{base}{path}")
    page.wait_for_function("window.citygrid && window.citygrid.ready", timeout=120_000)
    page.evaluate("window.citygrid.whenIdle()")
    if zoom is not None:
        page.evaluate(f"window.citygrid.map.jumpTo({{ zoom: {zoom} }})")
        page.evaluate("window.citygrid.whenIdle()")
    drawn = page.evaluate("""() => { const m = window.citygrid.map, z = m.getZoom();
        return m.getStyle().layers.filter((l) => (l.layout || {}).visibility !== 'none'
            && !(l.minzoom > z) && !(l.maxzoom <= z)).map((l) => l.id); }""")
    print(f"zoom {page.evaluate('window.citygrid.map.getZoom()'):.2f}; layers drawn: {', '.join(drawn)}")
    district = list(dict.fromkeys(i.split(":")[0] for i in drawn if ":" in i and not i.startswith("overlay:")))

    def cost(label: str, hide: object) -> None:
        ms = page.evaluate(FRAME_JS, hide)
        print(f"  {label:<34} {ms:6.0f} ms a frame   (load {Path('/proc/loadavg').read_text().split()[0]})")

    cost("as drawn", [])
    for layer in district:
        cost(f"without {layer}", [layer])
    cost("without any overlay:*", ["overlay"])
    cost("background only", "*")
    cost("as drawn (again)", [])
    context.close()


def profile(browser: object, base: str, width: int, height: int, path: str = "/") -> None:
    """Where the first render's time goes: every request with its duration (server wait + download), the
    main thread's busiest functions (CDP CPU profile, self time) and the long tasks, up to the first idle."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 500})
    cdp.send("Profiler.start")
    page.add_init_script("""window.__long = []; new PerformanceObserver((l) => { for (const e of l.getEntries())
        window.__long.push([e.startTime, e.duration]); }).observe({ type: 'longtask', buffered: true });
        window.__frames = []; window.__sources = [];
        const hook = setInterval(() => { const m = window.citygrid && window.citygrid.map; if (!m) return;
            clearInterval(hook);
            m.on('render', () => window.__frames.push(performance.now()));
            m.on('sourcedata', (e) => { if (e.sourceDataType !== 'metadata' && e.isSourceLoaded && !e.tile)
                window.__sources.push([performance.now(), e.sourceId]); }); }, 5);""")
    requests: list[tuple[float, float, str]] = []

    def done(request: object) -> None:
        t = request.timing
        if t["responseEnd"] > 0:
            requests.append((t["startTime"], t["responseEnd"], request.url.replace(base, "")))

    page.on("requestfinished", done)
    page.goto(f"{base}{path}")
    page.wait_for_function("window.citygrid && window.citygrid.firstIdle", timeout=120_000)
    first_idle, nav, held = page.evaluate(
        "[window.citygrid.firstIdle, performance.timeOrigin, window.citygrid.firstFrames || []]")
    prof = cdp.send("Profiler.stop")["profile"]
    long_tasks = page.evaluate("window.__long")
    frames, sources = page.evaluate("[window.__frames, window.__sources]")
    context.close()
    print(f"first idle {first_idle / 1000:.2f} s after navigation start ({path})")
    print("first view's frames held (web/src/firstframes.js; ms): " + ", ".join(f"{what} {t}" for what, t in held))
    print("requests (start → end, ms after navigation; longest 25):")
    rows = sorted(((a - nav, b, u) for a, b, u in requests), key=lambda r: -r[1])[:25]
    for a, b, u in sorted(rows):
        print(f"  {a:8.0f} +{b:7.0f}  {u[:110]}")
    print(f"{len(requests)} requests in all; {sum(1 for a, b, u in requests if '/tiles/' in u)} tiles")
    busy = sum(d for _, d in long_tasks)
    print(f"long tasks (> 50 ms) before idle: {len(long_tasks)}, {busy:.0f} ms in all; longest "
          + ", ".join(f"{d:.0f} ms at {t:.0f}" for t, d in sorted(long_tasks, key=lambda x: -x[1])[:6]))
    print(f"frames rendered before idle: {len(frames)}; gaps between them (ms): "
          + " ".join(f"{b - a:.0f}" for a, b in itertools.pairwise(frames)))
    print("frame times (ms): " + " ".join(f"{t:.0f}" for t in frames))
    print("GeoJSON sources loaded (ms, id): " + ", ".join(f"{t:.0f} {sid}" for t, sid in sources))
    nodes = {n["id"]: n for n in prof["nodes"]}
    self_us: dict[str, float] = {}
    for sample, delta in zip(prof["samples"], prof["timeDeltas"], strict=True):
        f = nodes[sample]["callFrame"]
        key = f"{f['functionName'] or '(anonymous)'} {f['url'].rsplit('/', 1)[-1]}:{f['lineNumber']}"
        self_us[key] = self_us.get(key, 0.0) + delta
    total = sum(self_us.values())
    print(f"main-thread CPU profile: {total / 1000:.0f} ms sampled; top self time:")
    for key, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {us / 1000:7.0f} ms  {key[:100]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="an already running server (default: start one on the main database)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--profile", action="store_true",
                        help="instead of the figures: where the first render's time goes (requests, CPU, long tasks)")
    parser.add_argument("--zoom", type=float, help="--only frames: at this zoom (about the first view's centre)")
    parser.add_argument("--path", default="/", help="page path of --profile (e.g. /?hide=components)")
    parser.add_argument("--only", choices=["components", "page", "panels", "frames"], action="append",
                        help="measure only these (repeatable; default all)")
    parser.add_argument("--base", metavar="REV",
                        help="instead of the figures: the page's first render of this checkout against commit REV, "
                             "runs taken alternately (REV built into var/bench/base-REV)")
    args = parser.parse_args()
    if args.base:
        compare(args, args.base)
        return
    with nullcontext(args.url.rstrip("/")) if args.url else own_server() as base:
        run(args, base)


def built_checkout(rev: str) -> Path:
    """A worktree of `rev` with its page built (this checkout's node_modules: the same pinned libraries)."""
    from bench.bench_ogc_cpu import checkout

    path = checkout(rev)
    web = path / "web"
    if not (web / "dist" / "index.html").exists():
        if not (web / "node_modules").exists():
            (web / "node_modules").symlink_to(ROOT / "web" / "node_modules")
        subprocess.run(["npx", "vite", "build"], cwd=web, check=True, capture_output=True)
    return path


def compare(args: argparse.Namespace, rev: str) -> None:
    """First render of this checkout's page and of REV's, one run of each in turn (`--runs` pairs), each
    server in its own process on the main database: on a machine whose load moves, the paired runs see
    the same machine, and the CPU Chromium spends per first view hardly depends on the load."""
    from playwright.sync_api import sync_playwright

    from gis.db.engine import database_url

    other = built_checkout(rev)
    figures: dict[str, list[tuple]] = {"this": [], rev: []}
    with server(database_url()) as mine, server(database_url(), root=other) as theirs, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for base in (mine, theirs):  # warm each server's caches and the GPU process's shader cache
            page_first_render(browser, base, args.width, args.height)
        for _ in range(args.runs):
            for name, base in (("this", mine), (rev, theirs)):
                figures[name].append(page_first_render(browser, base, args.width, args.height))
        browser.close()
    print(f"page first render, {args.runs} alternating pairs after one warm-up each, load at the end "
          f"{load_average()}")
    for name, runs in figures.items():
        cpu = statistics.median(sum(r[3].values()) for r in runs)
        print(f"  {name:<12} median {statistics.median(r[0] for r in runs):.2f} s, "
              f"max {max(r[0] for r in runs):.2f} s, "
              f"Chromium CPU {cpu:.2f} s, frames {statistics.median(r[2] for r in runs):.0f}  "
              f"({' '.join(f'{r[0]:.2f}' for r in runs)})")
    diffs = [a[0] - b[0] for a, b in zip(figures["this"], figures[rev], strict=True)]
    print(f"  this − {rev}: median {statistics.median(diffs):+.2f} s; faster in "
          f"{sum(d < 0 for d in diffs)} of {len(diffs)} pairs")


def run(args: argparse.Namespace, base: str) -> None:
    from playwright.sync_api import sync_playwright

    print(f"server {base}, viewport {args.width}x{args.height}, {args.runs} runs, Chromium with SwiftShader (no GPU)")
    only = set(args.only or ["components", "page", "panels"])  # frames: only when asked
    comp, pages, panels = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        if args.profile:
            profile(browser, base, args.width, args.height, args.path)
            only = set()
        if "frames" in only:
            frame_costs(browser, base, args.width, args.height, args.path, args.zoom)
        if "components" in only:
            comp = [components_cold(browser, base, args.width, args.height) for _ in range(args.runs)]
        if "page" in only:
            pages = [page_first_render(browser, base, args.width, args.height) for _ in range(args.runs)]
        if "panels" in only:
            panels = [panels_open(browser, base, args.width, args.height) for _ in range(args.runs)]
        browser.close()
    with open("/proc/loadavg") as f:
        print(f"load average at the end: {' '.join(f.read().split()[:3])}")

    def fmt(values: list[float]) -> str:
        return f"first {values[0]:.2f} s, median {statistics.median(values):.2f} s, min {min(values):.2f} s"

    if comp:
        print(f"component layer at district zoom (switch on → drawn): {fmt([c[0] for c in comp])}; "
              f"{comp[0][1]} components drawn (as points, or counted in the clusters drawn)")
    if pages:
        print(f"page first render (navigation → map idle):          {fmt([p[0] for p in pages])}  (goal ≤ 2 s)")
        print(f"page DOMContentLoaded:                              {fmt([p[1] for p in pages])}")
        print(f"frames painted before the first idle:               {', '.join(str(p[2]) for p in pages)}")
        cpu = {k: statistics.median(p[3].get(k, 0.0) for p in pages) for k in {k for p in pages for k in p[3]}}
        print("Chromium CPU, navigation → first idle (median s):  all "
              f"{statistics.median(sum(p[3].values()) for p in pages):.2f}; "
              + ", ".join(f"{k} {v:.2f}" for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])))
    for name in panels[0] if panels else []:
        print(f"panel {name:<42} {fmt([p[name] for p in panels])}  (goal ≤ 1 s)")


if __name__ == "__main__":
    main()
