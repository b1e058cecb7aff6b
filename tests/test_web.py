"""The web map in headless Chromium (Debian's, through Playwright's `executable_path`) against the real
server on a small hand-made district (tests/web_world.py). Each test leaves a screenshot in
var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from browser_kit import Watched, open_map, screen_xy, shot
from http_auth import auth
from web_world import FORBIDDEN, IN_SOUTH_WEST, PLATE_100, ensure_world

pytestmark = pytest.mark.browser

@pytest.fixture
def site(live_server: str, database_url: str) -> str:
    ensure_world(database_url)
    return live_server


@pytest.fixture
def map_page(browser: object, site: str) -> Iterator[Watched]:
    watched = open_map(browser, site)
    yield watched
    watched.page.context.close()


def rendered(page: object, layer_prefix: str) -> int:
    return page.evaluate(
        "(prefix) => { const m = window.citygrid.map;"
        " const ids = m.getStyle().layers.map((l) => l.id).filter((id) => id.startsWith(prefix));"
        " return ids.length ? m.queryRenderedFeatures({layers: ids}).length : -1; }", layer_prefix)


def jump(page: object, zoom: float) -> None:
    """Centres the map on the fixture's six components at `zoom` and waits until it is drawn."""
    page.evaluate("(z) => window.citygrid.map.jumpTo({center: [121.486, 31.3805], zoom: z})", zoom)
    page.evaluate("window.citygrid.whenIdle()")


def cluster_properties(page: object) -> list[dict]:
    return page.evaluate("() => window.citygrid.map.queryRenderedFeatures({layers: ['components:clusters']})"
                         ".map((f) => f.properties)")


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians((a[1] + b[1]) / 2))
    dy = (a[1] - b[1]) * 110_574
    return math.hypot(dx, dy)


def test_page_loads_clean_and_stays_local(map_page: Watched) -> None:
    page = map_page.page
    assert page.title().startswith("CityGrid")
    assert page.locator("#layer-tree").get_by_text("城市部件").is_visible()
    assert page.locator(".tabs").get_by_text("围栏路线").is_visible()
    # the district's own layers are drawn from the project's vector tiles
    assert rendered(page, "unit_grids:") > 0
    assert rendered(page, "components:") > 0
    shot(page, "web-01-desk")
    assert map_page.errors == []
    assert map_page.outside == []


def test_empty_overlays_are_not_drawn_until_they_have_features(map_page: Watched) -> None:
    """An overlay with nothing in it is hidden (MapLibre would still pay stencil passes for its tiles every
    frame); it shows when its panel gives it features and hides again when emptied. A panel's own switch
    (the live vehicles) still rules over a filled overlay."""
    page = map_page.page

    def visibility(layer: str) -> str:
        return page.evaluate(f"window.citygrid.map.getLayoutProperty('{layer}', 'visibility') || 'visible'")

    page.evaluate("window.citygrid.whenIdle()")
    for layer in ("overlay:heat-hex", "overlay:choropleth", "overlay:work-track", "overlay:work-points"):
        assert visibility(layer) == "none", layer
    point = ("{type: 'FeatureCollection', features: [{type: 'Feature', properties: {},"
             " geometry: {type: 'Point', coordinates: [121.486, 31.3805]}}]}")
    page.evaluate(f"window.citygrid.map.getSource('overlay:work-points').setData({point})")
    # shown once the worker has parsed the data (showing it before would only cost an empty frame)
    page.wait_for_function("window.citygrid.map.getLayoutProperty('overlay:work-points', 'visibility') === 'visible'",
                           timeout=10_000)
    page.evaluate("window.citygrid.whenIdle()")
    assert page.evaluate("window.citygrid.map.queryRenderedFeatures({layers: ['overlay:work-points']}).length") == 1
    page.evaluate("window.citygrid.map.getSource('overlay:work-points')"
                  ".setData({type: 'FeatureCollection', features: []})")
    assert visibility("overlay:work-points") == "none"
    # the vehicles' checkbox: off hides them whatever they hold; on shows them only while there are some
    page.locator(".tabs button[data-tab=live]").click()
    page.wait_for_function("window.citygrid.vehicles", timeout=20_000)
    if page.evaluate("window.citygrid.vehicles.online + window.citygrid.vehicles.offline") == 0:
        assert visibility("overlay:vehicles") == "none"
        page.evaluate(f"window.citygrid.map.getSource('overlay:vehicles').setData({point})")
    page.wait_for_function("(window.citygrid.map.getLayoutProperty('overlay:vehicles', 'visibility') || 'visible')"
                           " === 'visible'", timeout=10_000)
    page.locator("#show-vehicles").uncheck()
    assert visibility("overlay:vehicles") == "none"
    page.locator("#show-vehicles").check()
    assert visibility("overlay:vehicles") == "visible"
    assert map_page.errors == []


def test_layers_toggle(map_page: Watched) -> None:
    page = map_page.page
    before = rendered(page, "components:")
    assert before > 0
    page.locator('#layer-tree input[data-layer="components"]').uncheck()
    page.evaluate("window.citygrid.whenIdle()")
    assert page.evaluate("window.citygrid.map.getLayoutProperty('components:0', 'visibility')") == "none"
    assert rendered(page, "components:") == 0
    # eval grids are off by default; switching them on draws them
    assert rendered(page, "eval_grids:") == 0
    page.locator('#layer-tree input[data-layer="eval_grids"]').check()
    page.evaluate("window.citygrid.whenIdle()")
    assert rendered(page, "eval_grids:") > 0
    # a 大类 switched off in the legend disappears from the map: 01 公用设施 is 3 of the 6 components. Below
    # zoom 15 the components are clusters counted per class by the server; from 15 on they are points.
    page.locator('#layer-tree input[data-layer="components"]').check()
    page.locator('.layer[data-layer="components"] .expand').click()
    assert "聚合" in page.locator('.layer[data-layer="components"] .cluster-legend').inner_text()
    jump(page, 13)
    assert rendered(page, "components:0") == 0  # no single points at district zooms
    assert sum(p["point_count"] for p in cluster_properties(page)) == 6
    jump(page, 15)
    assert rendered(page, "components:0") == 6 and rendered(page, "components:clusters") == 0
    page.locator('.layer[data-layer="components"] li[data-value="01"] input').uncheck()
    page.evaluate("window.citygrid.whenIdle()")
    assert rendered(page, "components:0") == 3
    jump(page, 13)
    drawn = cluster_properties(page)  # only clusters holding a class still on, numbered without 01
    assert drawn and all(p["point_count"] > p.get("c:01", 0) for p in drawn)
    assert sum(p["point_count"] - p.get("c:01", 0) for p in drawn) == 3
    shot(page, "web-02-layers")
    assert map_page.errors == []


def test_search_puts_marker_at_doorplate(map_page: Watched) -> None:
    page = map_page.page
    box = page.locator("#search-input")
    box.fill("淞滨路100号")
    page.locator("#search-suggest li[role=option]").first.wait_for(timeout=5000)  # suggestions after a pause
    box.press("Enter")
    page.locator("[data-testid=search-popup]").wait_for(timeout=5000)
    result = page.evaluate("window.citygrid.searchResult")
    assert metres_between((result["lon"], result["lat"]), PLATE_100) < 10
    popup = page.locator("[data-testid=search-popup]").inner_text()
    assert "淞滨路100号" in popup
    assert "门牌" in popup                       # the match level, in Chinese
    assert re.search(r"\b310113003001\d{3}\b", popup)  # the unit-grid code
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-03-search")

    box.fill("火星大道999号")
    box.press("Enter")
    page.get_by_text("未找到匹配地址").first.wait_for(timeout=5000)
    assert map_page.errors == []


def test_click_shows_unit_grid_code(map_page: Watched) -> None:
    page = map_page.page
    x, y = screen_xy(page, *IN_SOUTH_WEST)
    page.mouse.click(x, y)
    code = page.locator('#info-body [data-grid="单元网格"]')
    code.wait_for(timeout=5000)
    assert re.fullmatch(r"\d{15}", code.inner_text().strip())
    assert code.inner_text().strip() == "310113003001001"
    body = page.locator("#info-body").inner_text()
    assert "吴淞街道" in body and "淞滨社区" in body
    assert "淞滨路100号" in page.locator("[data-testid=reverse-address]").inner_text()
    shot(page, "web-04-click")
    assert map_page.errors == []


def test_measure_distance(map_page: Watched) -> None:
    page = map_page.page
    page.locator('#toolbar [data-tool="measure-line"]').click()
    for lon in (121.475, 121.485):
        page.mouse.click(*screen_xy(page, lon, 31.3760))
    page.locator("#drawbar-finish").click()
    text = page.locator("[data-testid=measure-result]").inner_text()
    metres = float(re.search(r"([\d.]+) 米", text).group(1))
    assert abs(metres - 950) < 15  # 0.01° of longitude at 31.376° N ≈ 950 m


def test_draw_corridor_saves_fence(map_page: Watched, http: object, api_keys: dict[str, str]) -> None:
    page = map_page.page
    page.locator('.tabs button[data-tab="fences"]').click()
    page.locator("#fence-name").fill("测试走廊")
    page.locator("#fence-buffer").fill("25")
    page.locator("#draw-corridor").click()
    points = [(121.474, 31.3790), (121.480, 31.3810), (121.486, 31.3790)]
    for lon, lat in points:
        page.mouse.click(*screen_xy(page, lon, lat))
    assert "长度" in page.locator("#drawbar-text").inner_text()
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-05-corridor-preview")
    page.locator("#drawbar-finish").click()
    page.locator("#key-dialog").wait_for(state="visible")
    page.locator("#key-input").fill(api_keys["planner"])
    page.locator("#key-ok").click()
    page.wait_for_function("window.citygrid.lastFence", timeout=10_000)
    saved = page.evaluate("window.citygrid.lastFence")
    fence_id = saved.get("id", saved.get("properties", {}).get("id"))
    fence = http.get(f"/api/fences/{fence_id}").json()
    props = fence.get("properties", fence)
    assert props["kind"] == "corridor"
    assert props["name"] == "测试走廊"
    assert props["buffer_m"] == 25
    assert fence["geometry"]["type"] == "LineString"
    assert len(fence["geometry"]["coordinates"]) == 3
    for got, want in zip(fence["geometry"]["coordinates"], points, strict=True):
        assert metres_between(tuple(got[:2]), want) < 10  # clicks land on whole pixels (≈ 7 m here)
    page.locator(f'#fence-list li[data-fence-id="{fence_id}"]').wait_for()
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-06-fence-saved")
    http.delete(f"/api/fences/{fence_id}", headers=auth(api_keys["planner"]))


def test_replayed_violation_alarm_appears(browser: object, site: str, http: object, api_keys: dict[str, str]) -> None:
    w, s, e, n = FORBIDDEN
    ring = [[w, s], [e, s], [e, n], [w, n], [w, s]]
    r = http.post("/api/fences", headers=auth(api_keys["planner"]), json={
        "type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"name": "禁行测试区", "kind": "forbidden", "vehicles": ["dev-1"],
                       "debounce": {"fixes": 2, "seconds": 5, "margin_m": 10}}})
    assert r.status_code in (200, 201), r.text
    fence = r.json()
    watched = open_map(browser, site)
    page = watched.page
    try:
        page.locator('.tabs button[data-tab="live"]').click()
        page.wait_for_function("window.citygrid.alarmStreamOpen === true", timeout=10_000)
        start = datetime.now(UTC) - timedelta(seconds=30)
        fixes = [{"vehicle_id": "dev-1", "ts": (start + timedelta(seconds=5 * i)).isoformat(),
                  "lon": w - 0.002 + 0.001 * i, "lat": (s + n) / 2, "speed_kmh": 20} for i in range(7)]
        r = http.post("/api/positions", headers=auth(api_keys["device"]), json=fixes)
        assert r.status_code in (200, 201, 202), r.text
        item = page.locator('#alarm-list li[data-kind="forbidden"]')
        # Pushed live by the alarm stream (the page does not poll alarms): the wait only bounds a hang;
        # how fast it arrives is bench/simulate.py's alarm-to-SSE figure, not a test.
        item.first.wait_for(timeout=15_000)
        assert "禁行" in item.first.inner_text() and "dev-1" in item.first.inner_text()
        page.evaluate("window.citygrid.whenIdle()")
        shot(page, "web-07-alarm")
        assert watched.errors == []
    finally:
        page.context.close()
        fid = fence.get("id", fence.get("properties", {}).get("id"))
        http.delete(f"/api/fences/{fid}", headers=auth(api_keys["planner"]))


def test_heat_layer_renders(map_page: Watched) -> None:
    page = map_page.page
    page.locator('.tabs button[data-tab="analysis"]').click()
    page.locator("#heat-from").fill("2026-10-01T00:00")
    page.locator("#heat-to").fill("2026-12-31T00:00")
    page.locator("#heat-show").click()
    page.wait_for_function("window.citygrid.heat && window.citygrid.heat.features > 0", timeout=10_000)
    page.evaluate("window.citygrid.whenIdle()")
    assert rendered(page, "overlay:heat-hex") > 0
    assert page.locator("#heat-legend li").count() > 0
    shot(page, "web-08-heat-hexagons")
    page.locator("#heat-mode").select_option("png")
    page.locator("#heat-show").click()
    page.wait_for_function("window.citygrid.heat && window.citygrid.heat.mode === 'png'", timeout=10_000)
    page.evaluate("window.citygrid.whenIdle()")
    assert page.evaluate("!!window.citygrid.map.getLayer('overlay:heat-png')")
    shot(page, "web-09-heat-raster")
    assert map_page.errors == []


@pytest.mark.parametrize(("name", "width", "height"), [("phone", 390, 844), ("wall-32x9", 2560, 720)])
def test_responsive_layouts(browser: object, site: str, name: str, width: int, height: int) -> None:
    watched = open_map(browser, site, width, height)
    page = watched.page
    try:
        canvas = page.locator("#map canvas").bounding_box()
        assert canvas["width"] >= width * (0.95 if name == "phone" else 0.6)
        assert page.locator("#search-input").is_visible()
        if name == "phone":
            assert not page.locator("#sidebar").is_visible() or page.locator("#sidebar").bounding_box()["x"] < 0
            page.locator("#menu-toggle").click()
            page.wait_for_timeout(300)
            assert page.locator("#sidebar").bounding_box()["x"] >= 0
        shot(page, f"web-10-{name}")
        assert watched.errors == []
    finally:
        page.context.close()


# -- cameras and devices (issue 15) ----------------------------------------------------------------

CAMERA = "31011300081310099001"
CAMERA_AT = (121.4780, 31.3760)


@pytest.fixture
def hls_server(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """A local HLS stream (playlist + one segment) and a snapshot, served with CORS like a video platform."""
    import http.server
    import threading
    from functools import partial

    (tmp_path / "cam.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
                                       "#EXTINF:2.0,\nseg0.ts\n#EXT-X-ENDLIST\n")
    (tmp_path / "seg0.ts").write_bytes(bytes([0x47]) + bytes(187))   # one empty MPEG-TS packet
    (tmp_path / "snap.png").write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000" "1f15c4890000000d49444154789c6360f8cf0000"
        "0301010018dd8db00000000049454e44ae426082"))

    class Handler(http.server.SimpleHTTPRequestHandler):
        requested: ClassVar[list[str]] = []

        def end_headers(self) -> None:
            self.send_header("Access-Control-Allow-Origin", "*")
            super().end_headers()

        def do_GET(self) -> None:
            Handler.requested.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", Handler.requested
    server.shutdown()


def test_click_camera_opens_player_with_stream(browser: object, site: str, database_url: str,
                                               hls_server: tuple[str, list[str]]) -> None:
    import psycopg

    hls_base, requested = hls_server
    url = f"{hls_base}/cam.m3u8"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM cameras WHERE id = %s", (CAMERA,))
        conn.execute("INSERT INTO cameras (id, device_code, name, kind, direction_deg, fov_deg, range_m, state, "
                     "stream_url, snapshot_url, geom) VALUES (%s, '31011300081320099001', '淞滨路口监控', 'bullet', "
                     "45, 90, 80, 'online', %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
                     (CAMERA, url, f"{hls_base}/snap.png", *CAMERA_AT))
    watched = open_map(browser, site)
    page = watched.page
    try:
        page.evaluate("([x, y]) => window.citygrid.map.jumpTo({center: [x, y], zoom: 17.5})", list(CAMERA_AT))
        page.evaluate("window.citygrid.reloadCameras()")
        page.evaluate("window.citygrid.whenIdle()")
        assert rendered(page, "overlay:camera-sectors") > 0      # the sector is drawn
        page.mouse.click(*screen_xy(page, *CAMERA_AT))
        page.locator("#player").wait_for(state="visible", timeout=5000)
        assert page.locator("[data-testid=stream-url]").inner_text().strip() == url
        page.wait_for_function("window.citygrid.player && (window.citygrid.player.manifest"
                               " || window.citygrid.player.fallback)", timeout=10_000)
        assert page.evaluate("window.citygrid.player.url") == url
        assert "/cam.m3u8" in requested                          # the player fetched the playlist
        # the clicked point offers the cameras near it
        page.locator("[data-testid=near-cameras]").first.click()
        item = page.locator("[data-testid=near-list-cameras] li").first
        item.wait_for(timeout=5000)
        assert "淞滨路口监控" in item.inner_text()
        shot(page, "web-09-camera-player")
        assert watched.errors == [], watched.errors
    finally:
        page.context.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM cameras WHERE id = %s", (CAMERA,))


def test_device_alarm_appears_in_live_view(browser: object, site: str, database_url: str, http: object,
                                           api_keys: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM devices WHERE id = 'WEB-BIN'")
        conn.execute("INSERT INTO devices (id, name, kind, geom) VALUES ('WEB-BIN', '淞滨路满溢传感器', 'overflow', "
                     "ST_SetSRID(ST_MakePoint(121.479, 31.377), 4490))")
    watched = open_map(browser, site)
    page = watched.page
    try:
        page.locator('.tabs button[data-tab="live"]').click()
        page.wait_for_function("window.citygrid.alarmStreamOpen === true", timeout=10_000)
        now = datetime.now(UTC)
        body = [{"device_id": "WEB-BIN", "ts": (now - timedelta(seconds=60 - 10 * i)).isoformat(), "metric": "fill_pct",
                 "value": 96 + i} for i in range(3)]
        r = http.post("/api/devices/readings", headers=auth(api_keys["inspector"]), json=body)
        assert r.status_code == 200 and r.json()["alarms"] == 1, r.text
        item = page.locator('#alarm-list li[data-source="device"]')
        item.first.wait_for(timeout=3000)
        assert "满溢" in item.first.inner_text() and "WEB-BIN" in item.first.inner_text()
        page.evaluate("([x, y]) => window.citygrid.map.jumpTo({center: [x, y], zoom: 17})", [121.479, 31.377])
        page.wait_for_function("window.citygrid.map.querySourceFeatures('overlay:devices')"
                               ".some((f) => f.properties.id === 'WEB-BIN' && f.properties.state === 'alarm')",
                               timeout=5000)
        page.evaluate("window.citygrid.whenIdle()")
        shot(page, "web-10-device-alarm")
        assert watched.errors == [], watched.errors
    finally:
        page.context.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM devices WHERE id = 'WEB-BIN'")
