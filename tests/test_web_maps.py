"""Map behaviour in headless Chromium on the web-test world: the 案件 layer's time window and clusters,
routes listed and edited from the 围栏路线 tab, and popups, lists and panels that stay on screen."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from browser_kit import open_map, screen_xy, shot
from http_auth import auth
from web_world import ensure_world

pytestmark = pytest.mark.browser

#: Cases outside the default window (the 30 local days up to the latest case, 2026-11-20), removed after.
OLD = [("W001", "2026-06-01T09:00:00+08", 121.4780, 31.3770), ("W002", "2026-10-21T23:59:00+08", 121.4790, 31.3771)]


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


def test_case_layer_loads_its_window_in_the_background_and_takes_no_clicks_when_off(
        browser: object, world: psycopg.Connection, live_server: str) -> None:
    """The default window is loaded after the first view, with the layer off: switching it on asks the
    server nothing more and draws every case of the window; switched off again, its clusters (kept at
    opacity 0) neither zoom the map on a click nor show up in the identify panel."""
    watched = open_map(browser, live_server)
    page = watched.page
    page.wait_for_function("window.citygrid.caseWindow && window.citygrid.caseWindow.cases", timeout=20_000)
    assert page.evaluate("window.citygrid.caseWindow.cases.loaded") == _count(
        world, "2026-10-22T00:00+08", "2026-11-21T00:00+08") == 40
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/collections/cases/items" in r.url else None)
    page.locator("#layer-tree input[data-layer=cases]").check()
    page.evaluate("window.citygrid.whenIdle()")
    drawn = _drawn_cases(page)
    assert drawn["clusters"] > 0 and drawn["total"] == 40
    assert asked == []
    x, y = page.evaluate(
        "() => { const m = window.citygrid.map; const f = m.queryRenderedFeatures({ layers: ['cases:clusters'] })"
        ".sort((a, b) => b.properties.point_count - a.properties.point_count)[0];"
        " const p = m.project(f.geometry.coordinates); const r = m.getCanvas().getBoundingClientRect();"
        " return [p.x + r.left, p.y + r.top]; }")
    page.locator("#layer-tree input[data-layer=cases]").uncheck()
    page.evaluate("window.citygrid.whenIdle()")
    zoom = page.evaluate("window.citygrid.map.getZoom()")
    page.mouse.click(x, y)
    page.locator("#infopanel").wait_for(state="visible", timeout=10_000)
    page.wait_for_timeout(400)  # a cluster click would have started its zoom by now
    assert page.evaluate("window.citygrid.map.getZoom()") == zoom
    assert "案件" not in page.locator("#infopanel .feature strong").all_inner_texts()
    assert watched.errors == []
    page.context.close()


#: Three stops along 淞滨路 (west → east) and a fourth added when editing.
STOPS = [(121.474, 31.3800), (121.479, 31.3800), (121.483, 31.3800)]
FOURTH = (121.490, 31.3800)


def _click(page: object, lon: float, lat: float) -> None:
    page.mouse.click(*screen_xy(page, lon, lat))


def test_routes_listed_edited_and_deleted_with_their_corridor(browser: object, world: psycopg.Connection,
                                                              live_server: str, http: object,
                                                              api_keys: dict[str, str]) -> None:
    db = world
    db.execute("DELETE FROM fences WHERE route_id IS NOT NULL")
    db.execute("DELETE FROM routes")
    watched = open_map(browser, live_server)
    page = watched.page
    page.on("dialog", lambda d: d.accept())  # the delete confirmation
    page.locator(".tabs button[data-tab=fences]").click()
    page.locator("#route-status").wait_for()
    page.locator("#fence-name").fill("1号线")
    page.locator("#draw-stops").click()
    for lon, lat in STOPS:
        _click(page, lon, lat)
    page.locator("#drawbar-finish").click()
    # cancelling the key dialog keeps the drawing, to be finished again
    page.locator("#key-dialog").wait_for(state="visible")
    page.locator("#key-dialog button[value=cancel]").click()
    page.wait_for_function("document.querySelector('#drawbar') && !document.querySelector('#drawbar').hidden")
    assert "3 个站点" in page.locator("#drawbar-text").inner_text()
    assert db.execute("SELECT count(*) FROM routes").fetchone()[0] == 0
    page.locator("#drawbar-finish").click()
    page.locator("#key-dialog").wait_for(state="visible")
    page.locator("#key-input").fill(api_keys["planner"])
    page.locator("#key-ok").click()
    page.wait_for_function("window.citygrid.routes && window.citygrid.routes.length === 1", timeout=20_000)
    first = db.execute("SELECT id, name, jsonb_array_length(stops) FROM routes").fetchone()
    assert first[1:] == ("1号线", 3)
    # the same name again: saved under a free name, never a second "1号线"
    page.locator("#draw-stops").click()
    for lon, lat in STOPS[:2]:
        _click(page, lon, lat + 0.004)
    page.locator("#drawbar-finish").click()
    page.wait_for_function("window.citygrid.routes && window.citygrid.routes.length === 2", timeout=20_000)
    names = [r[0] for r in db.execute("SELECT name FROM routes ORDER BY id")]
    assert names == ["1号线", "1号线（2）"]
    corridors = [r[0] for r in db.execute("SELECT name FROM fences WHERE kind = 'corridor' AND route_id IS NOT NULL")]
    assert len(corridors) == len(set(corridors)) == 2
    # …and the API refuses a duplicate outright
    dup = http.post("/api/routes", json={"name": "1号线", "stops": [{"lon": 121.474, "lat": 31.38},
                                                                    {"lon": 121.479, "lat": 31.38}]},
                    headers=auth(api_keys["planner"]))
    assert dup.status_code == 409 and "already called" in dup.text
    assert page.locator("#route-list li").count() == 2
    assert "1号线" in page.locator(f"#route-list li[data-route-id='{first[0]}']").inner_text()
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-maps-03-routes-listed")

    # edit the first route's stops: add a fourth at the east end; names of the first three are kept
    page.locator(f"#route-list li[data-route-id='{first[0]}'] button[data-action=edit-stops]").click()
    assert "3 个站点" in page.locator("#drawbar-text").inner_text()
    _click(page, *FOURTH)
    page.locator("#drawbar-finish").click()
    page.wait_for_function(f"window.citygrid.lastRoute && window.citygrid.lastRoute.id === {first[0]}"
                           " && window.citygrid.lastRoute.stops.length === 4", timeout=20_000)
    stops = db.execute("SELECT stops FROM routes WHERE id = %s", (first[0],)).fetchone()[0]
    assert [s["name"] for s in stops] == ["站点1", "站点2", "站点3", "站点4"]
    assert abs(stops[3]["lon"] - FOURTH[0]) < 1e-4
    page.wait_for_function(f"window.citygrid.routes.find((r) => r.id === {first[0]}).stops === 4", timeout=20_000)
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-maps-04-route-stops-edited")

    # deleting the corridor from the fence list deletes its route (and the route's stop fences)
    corridor = db.execute("SELECT id FROM fences WHERE route_id = %s AND kind = 'corridor'", (first[0],)).fetchone()[0]
    page.locator(f"#fence-list li[data-fence-id='{corridor}'] button.danger").click()
    page.wait_for_function("window.citygrid.routes.length === 1", timeout=20_000)
    assert db.execute("SELECT count(*) FROM routes WHERE id = %s", (first[0],)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM fences WHERE route_id = %s", (first[0],)).fetchone()[0] == 0
    assert page.locator(f"#fence-list li[data-fence-id='{corridor}']").count() == 0
    # and the route's own 删除 removes the other one with its corridor
    page.locator("#route-list li button[data-action=delete-route]").click()
    page.wait_for_function("window.citygrid.routes.length === 0", timeout=20_000)
    assert db.execute("SELECT count(*) FROM fences WHERE route_id IS NOT NULL").fetchone()[0] == 0
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def _rect(page: object, selector: str) -> dict:
    return page.evaluate("(s) => { const r = document.querySelector(s).getBoundingClientRect();"
                         " return { left: r.left, top: r.top, right: r.right, bottom: r.bottom }; }", selector)


def _inside(r: dict, width: int, height: int) -> bool:
    return r["left"] >= 0 and r["top"] >= 0 and r["right"] <= width and r["bottom"] <= height


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


ZOOM = ".maplibregl-ctrl-bottom-right .maplibregl-ctrl-group"


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 390, 844), ("phone-landscape", 844, 390),
                                                        ("desktop", 1280, 800)])
def test_popups_lists_toasts_and_panels_stay_clear(browser: object, world: psycopg.Connection, live_server: str,
                                                    name: str, width: int, height: int) -> None:
    watched = open_map(browser, live_server, width, height)
    page = watched.page
    search = page.locator("#search-input")
    # the suggestion list lies on screen
    search.click()
    search.press_sequentially("双城路8", delay=30)
    page.locator("#search-suggest li[role=option]").first.wait_for()
    assert _inside(_rect(page, "#search-suggest"), width, height)
    # a stale list (for 双城路8) is not picked by ↓ + Enter once the text changed: Enter searches the new text
    search.fill("淞滨路100号")
    search.press("ArrowDown")
    search.press("Enter")
    page.wait_for_function("window.citygrid.searchResult", timeout=20_000)
    assert page.evaluate("window.citygrid.searchResult.properties.standard_address").endswith("淞滨路100号")
    # the popup (standard address, match level, grid table) is wholly inside the map once the flight ends
    page.wait_for_function(
        "() => { const p = document.querySelector('.maplibregl-popup'); const m = document.querySelector('#map');"
        " if (!p || window.citygrid.map.isMoving()) return false; const r = p.getBoundingClientRect();"
        " const b = m.getBoundingClientRect(); return r.left >= b.left && r.right <= b.right"
        " && r.top >= b.top && r.bottom <= b.bottom; }", timeout=10_000)
    shot(page, f"web-maps-05-popup-{name}")
    page.locator(".maplibregl-popup-close-button").click()
    # a toast (nothing found) does not cover the zoom buttons
    search.fill("火星大道999号")
    search.press("Enter")
    page.locator(".toast").first.wait_for()
    assert not _overlap(_rect(page, ".toast"), _rect(page, ZOOM))
    # nor does the info panel opened by a click on the map
    page.mouse.click(width * 0.45, height * 0.45)
    page.locator("#infopanel").wait_for(state="visible")
    page.wait_for_timeout(300)
    assert not _overlap(_rect(page, "#infopanel"), _rect(page, ZOOM))
    assert _inside(_rect(page, "#infopanel"), width, height)
    shot(page, f"web-maps-06-panels-{name}")
    page.locator("#info-close").click()
    if name == "phone":
        # drawing from the sidebar starts on the map, not under the drawer
        page.locator("#menu-toggle").click()
        page.wait_for_timeout(300)
        page.locator(".tabs button[data-tab=fences]").click()
        page.locator("#draw-polygon").click()
        page.wait_for_timeout(400)
        assert page.locator("#sidebar").bounding_box()["x"] + page.locator("#sidebar").bounding_box()["width"] <= 1
        for fx, fy in [(0.3, 0.35), (0.7, 0.35), (0.6, 0.6)]:
            page.mouse.click(width * fx, height * fy)
        assert "面积" in page.locator("#drawbar-text").inner_text()
        shot(page, "web-maps-07-phone-drawing")
        page.locator("#drawbar-cancel").click()
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_plan_vs_actual_and_on_post(browser: object, world: psycopg.Connection, live_server: str, http: object,
                                    api_keys: dict[str, str]) -> None:
    """计划与实际 (stops 已收/未收, coverage, deviation) and 跨网格/脱岗 from the 业务 tab, against SQL."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    db = world
    db.execute("DELETE FROM fences WHERE route_id IS NOT NULL")
    db.execute("DELETE FROM routes")
    db.execute("UPDATE vehicles SET operator = CASE id WHEN 'dev-1' THEN '张三' ELSE '李四' END")
    db.execute("INSERT INTO work_grids (code, kind, name, street_code, assignee, geom) VALUES ('R002', "
               "'responsibility', '同泰责任网格', '310113003', '李四', ST_Multi(ST_MakeEnvelope(121.485, 31.37, "
               "121.5, 31.39, 4490)))")
    route = http.post("/api/routes", json={"name": "淞滨路收运线", "vehicle_id": "dev-1", "buffer_m": 30, "stops": [
        {"name": "西站", "lon": 121.474, "lat": 31.3801}, {"name": "中站", "lon": 121.479, "lat": 31.3801},
        {"name": "东站", "lon": 121.495, "lat": 31.3801}]}, headers=auth(api_keys["planner"]))
    assert route.status_code == 201, route.text
    start = datetime(2026, 11, 21, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    track = [(121.472 + 0.0005 * i, 31.3801) for i in range(21)]            # along 淞滨路, west grid
    track += [(121.482, 31.3801 + 0.0006 * k) for k in range(1, 11)]       # north, off the route
    track += [(121.486 + 0.001 * k, 31.3861) for k in range(5)]             # east: out of 张三's grid
    fixes = [{"vehicle_id": "dev-1", "ts": (start + timedelta(seconds=30 * i)).isoformat(), "lon": round(x, 6),
              "lat": round(y, 6), "speed_kmh": 20} for i, (x, y) in enumerate(track)]
    r = http.post("/api/positions", json=fixes, headers=auth(api_keys["device"]))
    assert r.status_code == 200, r.text
    day = ("2026-11-21T00:00+08", "2026-11-22T00:00+08")
    try:
        watched = open_map(browser, live_server)
        page = watched.page
        page.locator(".tabs button[data-tab=work]").click()
        page.locator("#plan-reload").click()
        page.wait_for_function("document.querySelectorAll('#plan-route option').length === 1", timeout=20_000)
        page.wait_for_function("document.querySelector('#plan-vehicle').value === 'dev-1'", timeout=20_000)
        page.locator("#plan-date").fill("2026-11-21")
        page.locator("#plan-run").click()
        page.wait_for_function("window.citygrid.work && window.citygrid.work.plan", timeout=20_000)
        plan = page.evaluate("window.citygrid.work.plan")
        assert plan["fixes"] == db.execute("SELECT count(*) FROM positions WHERE vehicle_id = 'dev-1' AND ts >= %s "
                                           "AND ts < %s", day).fetchone()[0] == len(track)
        assert [s["visited"] for s in plan["stops"]] == [True, True, False]
        assert plan["visited"] == 2 and plan["stops_missed"] == [2]
        # the deviation: the northern leg and the eastern run, farther than 30 m from the planned line
        off = db.execute(
            "SELECT ST_Length(ST_Difference(t.line, ST_SetSRID(ST_Buffer(r.geom::geography, 30)::geometry, 4490))"
            "::geography) FROM routes r, (SELECT ST_MakeLine(geom ORDER BY ts) AS line FROM positions WHERE "
            "vehicle_id = 'dev-1' AND ts >= %s AND ts < %s) t", day).fetchone()[0]
        assert abs(plan["off_route_m"] - off) < 1 and plan["off_route_m"] > 500
        assert "已收 2 / 3，未收 1" in page.locator("#plan-out").inner_text()
        assert page.locator("#plan-stops li.missed").inner_text().startswith("3. 东站 · 未收")
        page.evaluate("window.citygrid.whenIdle()")
        drawn = page.evaluate("window.citygrid.map.queryRenderedFeatures({ layers: ['overlay:plan-points'] })"
                              ".map((f) => f.properties.label).sort()")
        assert drawn == ["1 已收", "2 已收", "3 未收"]
        shot(page, "web-maps-08-plan-vs-actual")
        # every route of the day at once: task progress per route
        page.locator("#plan-all").click()
        page.wait_for_function("window.citygrid.work.progress", timeout=20_000)
        rid = db.execute("SELECT id FROM routes").fetchone()[0]
        assert page.evaluate("window.citygrid.work.progress") == [{"route": rid, "stops": 3, "visited": 2}]
        assert "已收 2 / 3" in page.locator(f"#plan-progress li[data-route='{rid}']").inner_text()

        page.locator("#post-date").fill("2026-11-21")
        page.locator("#post-run").click()
        page.wait_for_function("window.citygrid.work.onPost", timeout=20_000)
        doc = page.evaluate("window.citygrid.work.onPost")
        by = {s["vehicle_id"]: s for s in doc["staff"]}
        shift = ("2026-11-21T08:00+08", "2026-11-21T18:00+08")
        outside = db.execute(
            "SELECT count(*) FROM positions p, work_grids w WHERE w.code = 'R001' AND p.vehicle_id = 'dev-1' "
            "AND p.ts >= %s AND p.ts < %s AND NOT ST_Intersects(w.geom, p.geom)", shift).fetchone()[0]
        assert by["dev-1"]["status"] == "off_post" and by["dev-1"]["fixes_outside"] == outside == 5
        assert by["dev-2"]["status"] == "absent" and by["dev-2"]["fixes"] == 0
        assert doc["counts"] == {"on_post": 0, "off_post": 1, "absent": 1}
        assert "跨网格 1，脱岗 1" in page.locator("#post-note").inner_text()
        assert "张三" in page.locator("#post-list li[data-status=off_post]").inner_text()
        bad = http.get("/api/grids/on-post", params={"from": shift[0], "to": shift[1], "kind": "nope"})
        assert bad.status_code == 400 and "unknown grid kind nope" in bad.text
        page.evaluate("window.citygrid.whenIdle()")
        shot(page, "web-maps-09-on-post")
        assert watched.errors == []
        assert watched.outside == []
        page.context.close()
    finally:
        db.execute("DELETE FROM alarms WHERE vehicle_id = 'dev-1' AND start >= %s AND start < %s", day)
        db.execute("DELETE FROM positions WHERE vehicle_id = 'dev-1' AND ts >= %s AND ts < %s", day)
        db.execute("DELETE FROM fences WHERE route_id IS NOT NULL")
        db.execute("DELETE FROM routes")
        db.execute("DELETE FROM work_grids WHERE code = 'R002'")
        db.execute("UPDATE vehicles SET operator = NULL")


def _pixel(page: object, url_expr: str, x: float, y: float) -> list[int]:
    """The RGB of an image (a data URL from the page) at CSS pixel (x, y) of the map."""
    return page.evaluate(
        "async ([u, x, y]) => { const img = new Image(); img.src = eval(u); await img.decode();"
        " const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;"
        " const g = c.getContext('2d'); g.drawImage(img, 0, 0); const r = window.devicePixelRatio || 1;"
        " return [...g.getImageData(Math.round(x * r), Math.round(y * r), 1, 1).data.slice(0, 3)]; }",
        [url_expr, x, y])


def test_basemap_switcher_and_png_export(browser: object, world: psycopg.Connection, live_server: str) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    # no 天地图 key configured: its options are listed but cannot be chosen, and nothing is fetched
    options = page.evaluate("[...document.querySelectorAll('#basemap-select option')]"
                            ".map((o) => [o.value, o.disabled])")
    assert options == [["light", False], ["dark", False], ["tdt-vec", True], ["tdt-img", True]]
    # a spot of plain background (+ the unit grid's faint fill): 淞滨新村's south-east, no feature drawn
    x, y = page.evaluate(
        "() => { const p = window.citygrid.map.project([121.4965, 31.3885]); return [p.x, p.y]; }")
    with page.expect_download() as light_download:
        page.locator("#export-png").click()
    light = page.evaluate("window.citygrid.snapshot")
    assert light_download.value.suggested_filename.endswith(".png")
    png = Path(light_download.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    canvas = page.evaluate("[window.citygrid.map.getCanvas().width, window.citygrid.map.getCanvas().height]")
    assert (width, height) == (light["width"], light["height"]) and width == canvas[0] and height > canvas[1]
    assert min(_pixel(page, "window.citygrid.snapshot.url", x, y)) > 200  # light
    page.select_option("#basemap-select", "dark")
    page.evaluate("window.citygrid.whenIdle()")
    assert page.evaluate("window.citygrid.map.getPaintProperty('streets:1', 'line-color')") == "#56627a"
    with page.expect_download():
        page.locator("#export-png").click()
    assert max(_pixel(page, "window.citygrid.snapshot.url", x, y)) < 80  # dark
    shot(page, "web-maps-10-dark-basemap")
    # and back: the light paint is restored exactly
    page.select_option("#basemap-select", "light")
    assert page.evaluate("window.citygrid.map.getPaintProperty('streets:1', 'line-color')") == "#ffffff"
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_component_density_choropleth(browser: object, world: psycopg.Connection, live_server: str) -> None:
    """普查成果's 部件密度 map: each community coloured by its 大类 density, the numbers equal SQL."""
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator(".tabs button[data-tab=work]").click()
    page.select_option("#census-level", "community")
    page.locator("#census-run").click()
    page.wait_for_function("window.citygrid.work && window.citygrid.work.census", timeout=20_000)
    page.select_option("#census-density", "01")
    page.wait_for_function("window.citygrid.density && window.citygrid.density.major === '01'", timeout=20_000)
    got = {a["code"]: a for a in page.evaluate("window.citygrid.density.areas")}
    want = dict(world.execute(
        "SELECT a.code, count(c.*) FILTER (WHERE c.major = '01') FROM admin_areas a LEFT JOIN components c"
        " ON left(c.unit_grid_code, 12) = a.code WHERE a.level = 'community' GROUP BY a.code").fetchall())
    km2 = dict(world.execute("SELECT code, ST_Area(geom::geography) / 1e6 FROM admin_areas"
                             " WHERE level = 'community'").fetchall())
    assert {c: a["count"] for c, a in got.items()} == want
    assert want["310113003001"] > 0
    for code, a in got.items():
        assert abs(a["density"] - want[code] / km2[code]) < 0.01 * max(1.0, a["density"])
    page.evaluate("window.citygrid.whenIdle()")
    assert page.evaluate("window.citygrid.map.queryRenderedFeatures({ layers: ['overlay:density-fill'] })"
                         ".length") >= 2
    assert "公用设施密度" in page.locator("#density-legend").inner_text()
    page.mouse.click(*screen_xy(page, 121.475, 31.385))  # in 淞滨社区
    page.wait_for_function("window.citygrid.densityClicked", timeout=10_000)
    assert page.evaluate("window.citygrid.densityClicked.code") == "310113003001"
    assert f"{want['310113003001']} 个" in page.locator("#info-body").inner_text()
    shot(page, "web-maps-11-component-density")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


def test_batch_result_kept_as_a_named_layer(browser: object, world: psycopg.Connection, live_server: str,
                                            http: object, api_keys: dict[str, str]) -> None:
    """批量地址 → 保存为图层: the placed rows stored under the name, published through OGC, drawn again."""
    db = world
    db.execute("DELETE FROM geocoded_points")
    watched = open_map(browser, live_server)
    page = watched.page
    try:
        page.locator(".tabs button[data-tab=work]").click()
        csv = "address\n淞滨路100号\n双城路8号\n火星大道999号\n".encode()
        page.set_input_files("#batch-file", files=[{"name": "addresses.csv", "mimeType": "text/csv", "buffer": csv}])
        page.locator("#batch-run").click()
        page.wait_for_function("window.citygrid.work && window.citygrid.work.batch", timeout=30_000)
        page.locator("#batch-layer-name").fill("整改地址")
        page.locator("#batch-save").click()
        page.locator("#key-dialog").wait_for(state="visible")
        page.locator("#key-input").fill(api_keys["inspector"])
        page.locator("#key-ok").click()
        page.wait_for_function("window.citygrid.geocodedShown && window.citygrid.geocodedShown['整改地址'] === 2",
                               timeout=20_000)
        rows = db.execute("SELECT row_no, standard_address, match_level FROM geocoded_points WHERE layer = '整改地址'"
                          " ORDER BY row_no").fetchall()
        assert len(rows) == 2 and rows[0][1].endswith("淞滨路100号") and rows[1][1].endswith("双城路8号")
        ogc = http.get("/ogc/collections/geocoded_points/items", params={"layer": "整改地址"}).json()
        assert ogc["numberMatched"] == 2
        assert {f["properties"]["standard_address"] for f in ogc["features"]} == {r[1] for r in rows}
        assert "2 个点" in page.locator("#batch-layers li[data-layer='整改地址']").inner_text()
        page.evaluate("window.citygrid.whenIdle()")
        assert page.evaluate("window.citygrid.map.queryRenderedFeatures({ layers: ['overlay:geocoded'] })"
                             ".length") == 2
        shot(page, "web-maps-12-batch-layer")
        # the same name again is refused by the server, and said so on the page
        page.locator("#batch-save").click()
        page.locator(".toast.error").filter(has_text="already exists").wait_for()
        assert db.execute("SELECT count(*) FROM geocoded_points").fetchone()[0] == 2
        bad = http.post("/api/geocode/layers", json={"name": "x", "points": [{"lon": 500, "lat": 31}]},
                        headers=auth(api_keys["inspector"]))
        assert bad.status_code == 400 and "points[0]" in bad.text
        assert http.post("/api/geocode/layers", json={"name": "x", "points": [{"lon": 121.48, "lat": 31.38}]},
                         headers=auth(api_keys["viewer"])).status_code == 403
        # 删除 removes it from the database and the map
        page.on("dialog", lambda d: d.accept())
        page.locator("#batch-layers li[data-layer='整改地址'] button.danger").click()
        page.wait_for_function("window.citygrid.geocodedLayers && window.citygrid.geocodedLayers.length === 0",
                               timeout=20_000)
        assert db.execute("SELECT count(*) FROM geocoded_points").fetchone()[0] == 0
        assert [e for e in watched.errors if "409" not in e] == []  # the refused duplicate answers 409
        assert watched.outside == []
    finally:
        page.context.close()
        db.execute("DELETE FROM geocoded_points")


#: Records, from the page's start, every frame the map paints and what the first idle shows.
FRAMES = """window.__frames = []; const hook = setInterval(() => {
    const m = window.citygrid && window.citygrid.map; if (!m) return; clearInterval(hook);
    m.on('render', () => window.__frames.push(performance.now()));
    window.__overlayData = 0; // when the fences' or vehicles' data last came (their panels' setData)
    m.on('sourcedata', (e) => { if (!e.tile && e.sourceDataType === 'content'
        && ['overlay:fences', 'overlay:vehicles'].includes(e.sourceId)) window.__overlayData = performance.now(); });
    m.once('idle', () => { window.__firstView = {
        fences: m.queryRenderedFeatures({ layers: ['overlay:fences-fill'] }).length,
        vehicles: m.getLayoutProperty('overlay:vehicles', 'visibility'),
        vehicleCount: ((v) => v.online + v.offline)(window.citygrid.vehicles || { online: 0, offline: 0 }),
        components: m.queryRenderedFeatures({ layers: ['components:clusters', 'components:0'] }).length,
        streets: m.queryRenderedFeatures({ layers: ['streets:1'] }).length }; }); }, 2);"""


def test_first_view_painted_once_its_tiles_are_in(browser: object, world: psycopg.Connection,
                                                   live_server: str) -> None:
    """web/src/firstframes.js: no frame is painted while the first view's tiles load (one frame asks for
    them, the next draws them), the default layers and overlays are all drawn at the first idle, and
    afterwards the map repaints as usual (the hold is gone)."""
    world.execute("INSERT INTO fences (name, kind, geom) VALUES ('首屏禁行区', 'forbidden', "
                  "'SRID=4490;POLYGON((121.475 31.375,121.48 31.375,121.48 31.38,121.475 31.38,121.475 31.375))')")
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = context.new_page()
        page.add_init_script(FRAMES)
        page.goto(live_server + "/")
        page.wait_for_function("window.citygrid && window.citygrid.firstIdle && window.__firstView", timeout=20_000)
        log = page.evaluate("window.citygrid.firstFrames")
        steps = [what for what, _ in log]
        assert steps[:3] == ["layers added", "asking", "held"]
        assert steps[3] in ("tiles loaded", "timeout", "moved") and len(steps) == 4
        asking, released = log[1][1], log[3][1]
        frames = page.evaluate("window.__frames")
        # one frame asks for the tiles (it ends after the hold has begun); nothing else is painted while held
        assert len([t for t in frames if asking - 1 < t < released - 1]) == 1
        if steps[3] == "tiles loaded":
            first_idle, overlay_data = page.evaluate("[window.citygrid.firstIdle, window.__overlayData]")
            # the frame with the tiles, and MapLibre's second look at the symbols placed in it (cluster numbers);
            # one more when the fences' or vehicles' data came after the tiles (a slow answer is not waited for)
            late = 1 if overlay_data > released else 0
            assert len([t for t in frames if released <= t <= first_idle + 1]) <= 3 + late
        drawn = page.evaluate("window.__firstView")
        # every default layer drawn at the first idle: the district's, and the fences (filled as the page starts);
        # the vehicles' layer is drawn when its source came back with vehicles, hidden again when empty (a world
        # without positions; earlier tests of the session may have stored some)
        assert drawn["fences"] > 0 and drawn["components"] > 0 and drawn["streets"] > 0
        assert drawn["vehicles"] == ("visible" if drawn["vehicleCount"] else "none")
        # the map's own repaint again: a pan is drawn and the map comes to rest
        assert page.evaluate("Object.prototype.hasOwnProperty.call(window.citygrid.map, 'triggerRepaint')") is False
        before = len(page.evaluate("window.__frames"))
        page.evaluate("window.citygrid.map.panBy([200, 0], { duration: 0 })")
        page.evaluate("window.citygrid.whenIdle()")
        assert len(page.evaluate("window.__frames")) > before
        context.close()
    finally:
        world.execute("DELETE FROM fences WHERE name = '首屏禁行区'")
