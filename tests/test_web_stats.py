"""数图联动 in the browser: the 案件统计 panel against SQL, a bar click filtering the map, an area click
listing its cases, and scenes (shared URL, big screen). Headless Chromium on the web-test world."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from browser_kit import open_map, screen_xy, shot
from http_auth import auth
from web_world import IN_SOUTH_WEST, ensure_world

pytestmark = pytest.mark.browser

RANGE_SQL = "reported_at >= '2026-11-01T00:00+08' AND reported_at < '2026-11-21T00:00+08'"
#: Cases added for these tests (other sources and statuses than the world's 40 hotline cases), removed after.
EXTRA = [("X001", "camera", "closed", "2026-11-05T10:00:00+08", 121.4770, 31.3760),
         ("X002", "camera", "processing", "2026-11-06T10:00:00+08", 121.4780, 31.3762),
         ("X003", "supervisor", "closed", "2026-11-07T10:00:00+08", 121.4900, 31.3850),
         ("X004", "camera", "closed", "2026-11-08T10:00:00+08", 121.4950, 31.3860)]


@pytest.fixture
def stats_world(live_server: str, database_url: str) -> Iterator[psycopg.Connection]:
    ensure_world(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.cursor().executemany(
            "INSERT INTO cases (code, major, minor, source, status, reported_at, geom) VALUES "
            "(%s, '01', '02', %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", EXTRA)
        try:
            yield conn
        finally:
            conn.execute("DELETE FROM cases WHERE code LIKE 'X0%%'")
            conn.execute("DELETE FROM scenes")


def _run(page: object, group: str) -> dict:
    page.locator(".tabs button[data-tab=stats]").click()
    page.locator("#stats-from").fill("2026-11-01")
    page.locator("#stats-to").fill("2026-11-20")
    page.select_option("#stats-group", group)
    page.evaluate("window.citygrid.stats = null")
    page.locator("#stats-run").click()
    page.wait_for_function("window.citygrid.stats && window.citygrid.stats.ready", timeout=20_000)
    return page.evaluate("window.citygrid.stats.doc")


def test_case_stats_chart_bar_filters_the_map(browser: object, stats_world: psycopg.Connection,
                                              live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    doc = _run(page, "source")
    want = dict(stats_world.execute(f"SELECT source, count(*) FROM cases WHERE {RANGE_SQL} GROUP BY 1").fetchall())
    assert {r["source"]: r["count"] for r in doc["rows"]} == want == {"hotline": 40, "camera": 3, "supervisor": 1}
    # the table shows Chinese labels from the server, and the 合计 says what it counts
    assert page.locator("#stats-table").get_by_text("视频/AI 发现").is_visible()
    assert "camera" not in page.locator("#stats-table").inner_text()
    assert "合计 44 件" in page.locator("#stats-note").inner_text()
    assert "不限于当前视野" in page.locator("#stats-note").inner_text()
    # click the 视频/AI bar on the chart canvas: the map shows exactly those cases and lists them
    x, y = page.evaluate(
        "() => { const s = window.citygrid.stats; const i = s.doc.rows.findIndex((r) => r.source === 'camera');"
        " const [px, py] = s.chart.convertToPixel({ seriesIndex: 0 }, [s.doc.rows[i].count / 2, i]);"
        " const r = document.querySelector('#stats-chart').getBoundingClientRect();"
        " return [r.left + px, r.top + py]; }")
    page.mouse.click(x, y)
    page.wait_for_function("window.citygrid.stats.selected && window.citygrid.stats.selected.key === 'camera'",
                           timeout=20_000)
    selected = page.evaluate("window.citygrid.stats.selected")
    assert selected["matched"] == selected["shown"] == 3
    assert page.locator("#stats-case-list li").count() == 3
    page.evaluate("window.citygrid.whenIdle()")
    drawn = page.evaluate(
        "() => window.citygrid.map.querySourceFeatures('overlay:stats-cases')"
        ".reduce((n, f) => n + (f.properties.point_count || 1), 0)")
    assert drawn == 3
    # times in the district's zone, to the second
    assert "2026-11-08 10:00:00" in page.locator("#stats-case-list").inner_text()
    shot(page, "web-stats-01-bar-filters-map")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_click_an_area_lists_its_cases(browser: object, stats_world: psycopg.Connection, live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    doc = _run(page, "unit_grid")
    want = dict(stats_world.execute(f"SELECT unit_grid_code, count(*) FROM cases WHERE {RANGE_SQL} "
                                    "GROUP BY 1").fetchall())
    assert {r["unit_grid"]: r["count"] for r in doc["rows"]} == want
    page.wait_for_function("window.citygrid.map.querySourceFeatures('overlay:stats-areas').length > 0",
                           timeout=20_000)
    page.evaluate("window.citygrid.whenIdle()")
    x, y = screen_xy(page, *IN_SOUTH_WEST)
    page.mouse.click(x, y)
    page.wait_for_function("window.citygrid.stats.selected", timeout=20_000)
    selected = page.evaluate("window.citygrid.stats.selected")
    assert selected["key"] == "310113003001001"
    assert selected["matched"] == want["310113003001001"] == 24
    title = page.locator("#info-title").inner_text()
    assert "淞滨南网格" in title and "24 件" in title
    # the area click is the statistics' own: no reverse-geocode panel replaces the list
    assert page.locator("#stats-case-list li").count() == 24
    shot(page, "web-stats-02-area-lists-cases")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_scene_from_shared_url_and_big_screen(browser: object, stats_world: psycopg.Connection, live_server: str,
                                              http: object, api_keys: dict[str, str]) -> None:
    spec = {"layers": ["admin_areas", "unit_grids"], "basemap": "dark",
            "view": {"center": [121.485, 31.38], "zoom": 15}}
    r = http.post("/api/scenes", json={"slug": "sanitation", "name": "环卫作业", "department": "环卫", "spec": spec},
                  headers=auth(api_keys["planner"]))
    assert r.status_code == 201, r.text
    watched = open_map(browser, live_server, path="/?scene=sanitation&bigscreen=16:9", width=1600, height=900)
    page = watched.page
    page.wait_for_function("window.citygrid.scenesReady", timeout=20_000)
    assert page.evaluate("window.citygrid.scene.slug") == "sanitation"
    center = page.evaluate("(() => { const c = window.citygrid.map.getCenter(); return [c.lng, c.lat]; })()")
    assert abs(center[0] - 121.485) < 1e-6 and abs(center[1] - 31.38) < 1e-6
    assert page.evaluate("window.citygrid.map.getZoom()") == pytest.approx(15)
    visible = page.evaluate("Object.fromEntries(Object.entries(window.citygrid.state).map(([k, v]) => [k, v.visible]))")
    assert visible["unit_grids"] and visible["admin_areas"] and not visible["components"]
    assert page.evaluate("document.body.classList.contains('bigscreen')")
    assert not page.locator("#sidebar").is_visible()
    page.wait_for_selector("#bigscreen-figures [data-figure=cases]", timeout=20_000)
    since = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=30)).date()
    want = stats_world.execute("SELECT count(*) FROM cases WHERE reported_at >= %s::date::timestamp AT TIME ZONE "
                               "'Asia/Shanghai'", (since,)).fetchone()[0]
    figure = page.locator("#bigscreen-figures [data-figure=cases] b").inner_text()
    assert int(figure.replace(",", "")) == want
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-scenes-01-big-screen")
    page.locator("#bigscreen-exit").click()
    assert page.locator("#sidebar").is_visible()
    page.locator(".tabs button[data-tab=scenes]").click()
    assert page.locator("#scene-list").get_by_text("环卫作业").is_visible()
    assert "/?scene=sanitation" in page.locator("#scene-note").inner_text()
    shot(page, "web-scenes-02-list")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()



def test_choropleth_click_shows_the_number(browser: object, stats_world: psycopg.Connection, live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator(".tabs button[data-tab=analysis]").click()
    page.locator("#heat-from").fill("2026-10-01T00:00")
    page.locator("#heat-to").fill("2026-12-31T00:00")
    page.select_option("#choro-level", "unit_grid")
    page.get_by_role("button", name="显示分级统计").click()
    page.wait_for_function("window.citygrid.map.querySourceFeatures('overlay:choropleth').length > 0", timeout=20_000)
    page.evaluate("window.citygrid.whenIdle()")
    x, y = screen_xy(page, *IN_SOUTH_WEST)
    page.mouse.click(x, y)
    page.locator("[data-testid=choropleth-info]").wait_for(timeout=10_000)
    want = stats_world.execute(
        "SELECT count(*) FROM cases WHERE unit_grid_code = '310113003001001' AND reported_at >= "
        "'2026-10-01T00:00+08' AND reported_at < '2026-12-31T00:00+08'").fetchone()[0]
    assert page.evaluate("window.citygrid.choroplethPick") == {"code": "310113003001001", "cases": want}
    assert f"{want} 件" in page.locator("#info-title").inner_text()
    assert "合计" in page.locator("#tab-analysis").inner_text()
    shot(page, "web-stats-03-choropleth-click")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_search_says_when_it_only_found_the_street(browser: object, stats_world: psycopg.Connection,
                                                   live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    box = page.locator("#search-input")
    box.fill("淞滨路100号")
    page.locator("#search-suggest li[role=option]").first.wait_for(timeout=5000)
    # typing on makes the shown suggestions stale: they are hidden and cannot be picked with ↓ + Enter
    box.press("End")
    box.type("0")
    assert page.locator("#search-suggest").is_hidden()
    box.press("ArrowDown")
    assert page.locator("#search-suggest li.active").count() == 0
    box.fill("淞滨路")
    box.press("Enter")
    page.locator("[data-testid=search-popup]").wait_for(timeout=5000)
    result = page.evaluate("window.citygrid.searchResult")
    assert result["properties"]["match_level"] == "street" and result["unsure"]
    assert page.locator("[data-testid=coarse-match]").is_visible()
    assert "街" in page.locator("[data-testid=match-level]").inner_text()
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-search-01-coarse-match")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_api_docs_work_offline(browser: object, live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.goto(live_server + "/docs")
    page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
    assert "CityGrid" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock-summary-path", has_text="/api/stats/cases").count() >= 1
    shot(page, "web-docs-01-offline")
    assert [e for e in watched.errors if "favicon" not in e] == []
    assert watched.outside == []
    page.context.close()


def test_workflows_from_the_map(browser: object, stats_world: psycopg.Connection, live_server: str, http: object,
                                api_keys: dict[str, str]) -> None:
    """违规反查 → track, 车辆统计, 普查成果 and 批量地址 from the 业务 tab, against SQL."""
    db = stats_world
    start = datetime(2026, 11, 20, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    fixes = []
    for i in range(40):  # along 淞滨路 west → east, standing still for 5 minutes in the middle
        lon = 121.472 + 0.0006 * min(i, 20) + 0.0006 * max(0, i - 30)
        t = start + timedelta(seconds=30 * i)
        fixes.append({"vehicle_id": "dev-1", "ts": t.isoformat(), "lon": round(lon, 6), "lat": 31.3801,
                      "speed_kmh": 0 if 20 <= i <= 30 else 20})
    r = http.post("/api/positions", json=fixes, headers=auth(api_keys["device"]))
    assert r.status_code == 200, r.text
    try:
        watched = open_map(browser, live_server)
        page = watched.page
        page.locator(".tabs button[data-tab=work]").click()
        # a wide window: the browser's own zone does not matter
        page.locator("#passed-from").fill("2026-11-19T00:00")
        page.locator("#passed-to").fill("2026-11-21T23:00")
        page.locator("#passed-run").click()
        page.wait_for_function("window.citygrid.work && window.citygrid.work.passed", timeout=20_000)
        assert page.evaluate("window.citygrid.work.passed") == ["dev-1"]
        page.locator("#passed-list li[data-vehicle=dev-1]").click()
        page.wait_for_function("window.citygrid.work.track", timeout=20_000)
        assert page.evaluate("window.citygrid.work.track.points") == db.execute(
            "SELECT count(*) FROM positions WHERE vehicle_id = 'dev-1' AND ts >= '2026-11-19T00:00+14' "
            "AND ts < '2026-11-21T23:00-12'").fetchone()[0]
        assert "沪A·环卫1" in page.locator("#passed-list").inner_text()
        shot(page, "web-work-01-passed-track")

        page.select_option("#vstats-vehicle", "dev-1")
        page.locator("#vstats-date").fill("2026-11-20")
        page.locator("#vstats-run").click()
        page.wait_for_function("window.citygrid.work.vehicleStats", timeout=20_000)
        s = page.evaluate("window.citygrid.work.vehicleStats")
        assert s["fixes"] == db.execute("SELECT count(*) FROM positions WHERE vehicle_id = 'dev-1' AND ts >= "
                                        "'2026-11-20T00:00+08' AND ts < '2026-11-21T00:00+08'").fetchone()[0]
        assert len(s["stops"]) == 1 and s["mileage_km"] > 0
        assert "生活垃圾车" in page.locator("#vstats-vehicle").inner_text()  # the kind's Chinese label
        shot(page, "web-work-02-vehicle-stats")

        page.locator("#census-run").click()
        page.wait_for_function("window.citygrid.work.census", timeout=20_000)
        streets = db.execute("SELECT count(*) FROM admin_areas WHERE level = 'street'").fetchone()[0]
        assert page.locator("#census-table tbody tr").count() == streets == 1
        assert "吴淞街道" in page.locator("#census-table").inner_text()

        csv = "address\n淞滨路100号\n双城路8号\n火星大道999号\n".encode()
        page.set_input_files("#batch-file", files=[{"name": "addresses.csv", "mimeType": "text/csv", "buffer": csv}])
        page.locator("#batch-run").click()
        page.wait_for_function("window.citygrid.work.batch", timeout=30_000)
        assert page.evaluate("window.citygrid.work.batch") == {"total": 3, "placed": 2, "unmatched": 1}
        assert "火星大道999号" in page.locator("#batch-unmatched").inner_text()
        assert "完成：3 行" in page.locator("#batch-note").inner_text()
        page.evaluate("window.citygrid.whenIdle()")
        shot(page, "web-work-03-batch")
        assert watched.errors == []
        assert watched.outside == []
        page.context.close()
    finally:
        db.execute("DELETE FROM alarms WHERE vehicle_id = 'dev-1' AND start >= '2026-11-20T00:00+08' "
                   "AND start < '2026-11-21T00:00+08'")
        db.execute("DELETE FROM positions WHERE vehicle_id = 'dev-1' AND ts >= '2026-11-20T00:00+08' "
                   "AND ts < '2026-11-21T00:00+08'")


def test_online_vehicles_and_alarm_filter(browser: object, stats_world: psycopg.Connection, live_server: str,
                                          http: object, api_keys: dict[str, str]) -> None:
    """在线 = reported within 10 minutes (stale ones grey); alarms filtered (default open + today), an alarm's
    card on click and the vehicle's track around it."""
    db = stats_world
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(microsecond=0)
    fixes = [{"vehicle_id": "dev-2", "ts": (now - timedelta(minutes=8) + timedelta(seconds=20 * i)).isoformat(),
              "lon": 121.474 + 0.0003 * i, "lat": 31.3745, "speed_kmh": 15} for i in range(20)]
    r = http.post("/api/positions", json=fixes, headers=auth(api_keys["device"]))
    assert r.status_code == 200, r.text
    db.execute("INSERT INTO alarms (kind, vehicle_id, start, \"end\", geom) VALUES "
               "('overspeed', 'dev-2', %s, NULL, ST_SetSRID(ST_MakePoint(121.4766, 31.3745), 4490)), "
               "('illegal_stay', 'dev-2', %s, %s, ST_SetSRID(ST_MakePoint(121.4790, 31.3745), 4490))",
               (now - timedelta(minutes=5), now - timedelta(days=2), now - timedelta(days=2) + timedelta(minutes=9)))
    try:
        watched = open_map(browser, live_server)
        page = watched.page
        page.locator(".tabs button[data-tab=live]").click()
        page.wait_for_function("window.citygrid.vehicles && window.citygrid.alarmsShown !== undefined",
                               timeout=20_000)
        online = db.execute("SELECT count(*) FROM (SELECT vehicle_id, max(ts) AS t FROM positions GROUP BY 1) v "
                            "WHERE t >= now() - interval '10 minutes'").fetchone()[0]
        assert page.evaluate("window.citygrid.vehicles.online") == online >= 1
        assert "10 分钟内有定位" in page.locator("#tab-live").inner_text()
        # default: open alarms of today — the closed one of two days ago is loaded but not shown
        open_item = page.locator('#alarm-list li[data-kind="overspeed"]')
        assert open_item.first.is_visible() and "超速" in open_item.first.inner_text()
        assert page.locator('#alarm-list li[data-kind="illegal_stay"]:visible').count() == 0
        page.select_option("#alarm-state", "")
        page.select_option("#alarm-time", "7d")
        page.locator('#alarm-list li[data-kind="illegal_stay"]:visible').first.wait_for(timeout=10_000)
        page.select_option("#alarm-state", "open")
        page.select_option("#alarm-time", "today")
        page.select_option("#alarm-kind", "overspeed")
        assert page.evaluate("window.citygrid.alarmsShown") == 1
        page.select_option("#alarm-kind", "")
        # the alarm's card on the map, then its vehicle's track around it
        page.evaluate("window.citygrid.map.jumpTo({center: [121.4766, 31.3745], zoom: 17})")
        page.evaluate("window.citygrid.whenIdle()")
        x, y = screen_xy(page, 121.4766, 31.3745)
        page.mouse.click(x, y)
        card = page.locator("[data-testid=alarm-card]")
        card.wait_for(timeout=10_000)
        assert "超速" in card.inner_text() and "进行中" in card.inner_text()
        page.evaluate("window.citygrid.track = null")
        card.get_by_role("button", name="查看前后轨迹").click()
        page.wait_for_function("window.citygrid.track", timeout=20_000)
        assert page.evaluate("window.citygrid.track.points") == 20
        page.evaluate("window.citygrid.whenIdle()")
        shot(page, "web-live-01-alarm-card-track")
        assert watched.errors == []
        assert watched.outside == []
        page.context.close()
    finally:
        db.execute("DELETE FROM alarms WHERE vehicle_id = 'dev-2'")
        db.execute("DELETE FROM positions WHERE vehicle_id = 'dev-2' AND ts >= %s", (now - timedelta(minutes=10),))


def test_playback_of_a_typed_vehicle_defaults_to_its_last_data(browser: object, stats_world: psycopg.Connection,
                                                               live_server: str, http: object,
                                                               api_keys: dict[str, str]) -> None:
    """轨迹回放 of a vehicle picked in the panel (not from its popup) plays its last data: a vehicle that last
    reported two days ago has nothing in the two hours before now."""
    db = stats_world
    last = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=2)).replace(microsecond=0)
    fixes = [{"vehicle_id": "dev-2", "ts": (last - timedelta(seconds=30 * (11 - i))).isoformat(),
              "lon": 121.474 + 0.0003 * i, "lat": 31.3750, "speed_kmh": 12} for i in range(12)]
    r = http.post("/api/positions", json=fixes, headers=auth(api_keys["device"]))
    assert r.status_code == 200, r.text
    try:
        watched = open_map(browser, live_server)
        page = watched.page
        page.locator(".tabs button[data-tab=live]").click()
        page.wait_for_function("document.querySelector('#vehicle-ids option[value=\"dev-2\"]')", timeout=20_000)
        page.locator("#track-vehicle").fill("dev-2")
        page.locator("#track-vehicle").dispatch_event("change")
        # the inputs hold the browser's local time (datetime-local): compare as instants
        start, end = page.evaluate("[Date.parse(document.querySelector('#track-from').value),"
                                   " Date.parse(document.querySelector('#track-to').value)]")
        assert start <= (last - timedelta(minutes=6)).timestamp() * 1000 and end >= last.timestamp() * 1000
        page.locator("#track-load").click()
        page.wait_for_function("window.citygrid.track", timeout=20_000)
        assert page.evaluate("window.citygrid.track.points") == len(fixes)
        assert watched.errors == []
        page.context.close()
    finally:
        db.execute("DELETE FROM positions WHERE vehicle_id = 'dev-2' AND ts >= %s AND ts <= %s",
                   (last - timedelta(minutes=10), last))
