"""Map behaviour in headless Chromium on the web-test world: the 案件 layer's time window and clusters,
routes listed and edited from the 围栏路线 tab, and popups, lists and panels that stay on screen."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from browser_kit import ARGS, CHROMIUM, open_map, shot
from web_world import ensure_world

pytestmark = pytest.mark.browser

#: Cases outside the default window (the 30 local days up to the latest case, 2026-11-20), removed after.
OLD = [("W001", "2026-06-01T09:00:00+08", 121.4780, 31.3770), ("W002", "2026-10-21T23:59:00+08", 121.4790, 31.3771)]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def world(live_server: str, database_url: str) -> Iterator[psycopg.Connection]:
    ensure_world(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.cursor().executemany(
            "INSERT INTO cases (code, major, minor, source, status, reported_at, geom) VALUES "
            "(%s, '02', '01', 'camera', 'open', %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", OLD)
        try:
            yield conn
        finally:
            conn.execute("DELETE FROM cases WHERE code LIKE 'W0%%'")


def _count(conn: psycopg.Connection, start: str, end: str, extra: str = "") -> int:
    return conn.execute(f"SELECT count(*) FROM cases WHERE reported_at >= %s AND reported_at < %s {extra}",
                        (start, end)).fetchone()[0]


def _drawn_cases(page: object) -> dict:
    """What the clustered source holds on screen: clusters, single points and the cases they stand for."""
    return page.evaluate(
        "() => { const m = window.citygrid.map;"
        " const fs = m.queryRenderedFeatures({ layers: ['cases:clusters', 'cases:0'] });"
        " const clusters = fs.filter((f) => f.properties.point_count);"
        " return { clusters: clusters.length, singles: fs.length - clusters.length,"
        "   total: fs.reduce((n, f) => n + (f.properties.point_count || 1), 0) }; }")


def test_case_layer_shows_a_recent_window_clustered(browser: object, world: psycopg.Connection,
                                                    live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator("#layer-tree input[data-layer=cases]").check()
    page.wait_for_function("window.citygrid.caseWindow && window.citygrid.caseWindow.cases", timeout=20_000)
    w = page.evaluate("window.citygrid.caseWindow.cases")
    # default: the 30 local days up to the latest case (the world's data end on 2026-11-20), not three years
    assert (w["from"], w["to"]) == ("2026-10-22", "2026-11-20")
    want = _count(world, "2026-10-22T00:00+08", "2026-11-21T00:00+08")
    assert w["matched"] == w["loaded"] == w["shown"] == want == 40  # W001/W002 lie before the window
    page.evaluate("window.citygrid.whenIdle()")
    drawn = _drawn_cases(page)
    assert drawn["clusters"] > 0  # at district zoom the 40 points are grouped
    assert drawn["total"] == want
    page.locator(".layer[data-layer=cases] .expand").click()
    assert "2026-10-22 至 2026-11-20 共 40 件" in page.locator("[data-window-note=cases]").inner_text()
    shot(page, "web-maps-01-case-clusters")

    # a cluster click zooms in to where it breaks apart (and opens no identify panel)
    zoom = page.evaluate("window.citygrid.map.getZoom()")
    x, y = page.evaluate(
        "() => { const m = window.citygrid.map; const f = m.queryRenderedFeatures({ layers: ['cases:clusters'] })"
        ".sort((a, b) => b.properties.point_count - a.properties.point_count)[0];"
        " const p = m.project(f.geometry.coordinates); const r = m.getCanvas().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }")
    page.mouse.click(x, y)
    page.wait_for_function(f"window.citygrid.map.getZoom() > {zoom + 0.5}", timeout=10_000)
    page.evaluate("window.citygrid.whenIdle()")
    assert page.locator("#infopanel").is_hidden()
    shot(page, "web-maps-02-cluster-expanded")

    # 近 7 天 → 2026-11-14 … 2026-11-20; then two dates reaching back to the old cases
    page.select_option("select[data-window=cases]", "7")
    page.wait_for_function("window.citygrid.caseWindow.cases.from === '2026-11-14'", timeout=20_000)
    assert page.evaluate("window.citygrid.caseWindow.cases.matched") == _count(
        world, "2026-11-14T00:00+08", "2026-11-21T00:00+08")
    page.locator("input[data-window-from=cases]").fill("2026-06-01")
    page.locator("input[data-window-from=cases]").dispatch_event("change")
    page.wait_for_function("window.citygrid.caseWindow.cases.from === '2026-06-01'", timeout=20_000)
    assert page.evaluate("window.citygrid.caseWindow.cases.matched") == _count(
        world, "2026-06-01T00:00+08", "2026-11-21T00:00+08") == 42
    # the legend's 大类 switch filters before clustering: the clusters count only what is shown
    page.locator(".layer[data-layer=cases] .legend li[data-value='01'] input").uncheck()
    page.wait_for_function("window.citygrid.caseWindow.cases.shown === 2", timeout=10_000)
    page.evaluate("window.citygrid.map.jumpTo({ zoom: 12 })")
    page.evaluate("window.citygrid.whenIdle()")
    assert _drawn_cases(page)["total"] == _count(world, "2026-06-01T00:00+08", "2026-11-21T00:00+08",
                                                 "AND major <> '01'") == 2
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()
