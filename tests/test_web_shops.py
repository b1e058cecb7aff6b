"""The managed layers of issue 16 in the browser (headless Chromium, real server, the web-test world):
商户批量导入 with good, ambiguous, unmatched and too-vague rows (counts, Chinese reasons, the placed shops on
the map), the 责任区 screen against SQL (table, area click, shop card), the construction-waste sites and
muck-truck alarms, and the sample-point draw with a check-in. No console errors, nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from browser_kit import open_map, screen_xy, shot
from web_world import box, ensure_world

from gis.params import district_tz

pytestmark = pytest.mark.browser

#: 市容环境卫生责任区 bands: along 淞滨路 (west part) and along 双城路 (north part).
AREAS = [("SR1", "淞滨路沿线责任区", box(121.470, 31.3795, 121.4840, 31.3810)),
         ("SR2", "双城路沿线责任区", box(121.4845, 31.3810, 121.4860, 31.3900))]
#: A point of SR1 away from every shop (for clicking the area on the map).
IN_SR1 = (121.4730, 31.3800)
SHOP_LIST = ("商户编号,商户名称,经营地址,经营类别\n"
             "W1,阿强面馆,淞滨路100号,餐饮\n"          # doorplate, SR1
             "W2,好又多超市,淞滨路102号,零售\n"        # doorplate, SR1
             "W3,双城小吃,双城路8号,餐饮\n"            # doorplate, SR2
             "W4,老王烟杂店,泰和路8号,零售\n"          # ambiguous: two 泰和路 with an 8号
             "W5,小李水果,幸福路3号,零售\n"            # unmatched
             "W6,路边摊,淞滨路,零售\n"                 # only the street: too uncertain
             "W7,淞滨新村便利店,淞滨新村,零售\n")       # zone (0.8): placed, in no area
SITES = [("CS1", "淞滨路工地", "construction_site", 121.4760, 31.3870),
         ("DS1", "吴淞消纳场", "disposal_site", 121.4960, 31.3720),
         ("WH1", "吴淞码头", "wharf", 121.4980, 31.3880),
         ("PK1", "渣土车停车场", "parking", 121.4720, 31.3720)]
#: The extents of two sites (the others are points only): (code, west, south, east, north).
SITE_AREAS = [("CS1", 121.4745, 31.3860, 121.4775, 31.3880), ("DS1", 121.4945, 31.3710, 121.4975, 31.3732)]
SAMPLES = [("YB01", "淞滨路样本", "main_road", 121.4790, 31.3801),
           ("YB02", "双城路样本", "main_road", 121.4851, 31.3860),
           ("YB03", "淞滨新村样本", "residential", 121.4770, 31.3835),
           ("YB04", "同泰小区样本", "residential", 121.4930, 31.3840),
           ("YB05", "淞滨公厕", "public_toilet", 121.4745, 31.3760)]
#: Muck-truck alarms of vehicle dev-2: (kind, hours ago, lon, lat); the first still open.
MUCK_ALARMS = [("illegal_dumping", 2, 121.4900, 31.3750), ("unapproved_route", 30, 121.4820, 31.3740),
               ("restricted_hours", 50, 121.4950, 31.3800)]


def _cleanup(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE shops RESTART IDENTITY CASCADE")
    conn.execute("DELETE FROM work_grids WHERE code IN ('SR1', 'SR2')")
    conn.execute("DELETE FROM doorplates WHERE add_id IN ('T8A', 'T8B')")
    conn.execute("DELETE FROM streets WHERE id IN (901, 902)")
    conn.execute("DELETE FROM cw_sites WHERE code IN ('CS1', 'DS1', 'WH1', 'PK1')")
    conn.execute("TRUNCATE eval_sample_points RESTART IDENTITY CASCADE")
    conn.execute("DELETE FROM alarms WHERE details->>'test' = 'web_shops'")


@pytest.fixture
def managed_world(live_server: str, database_url: str) -> Iterator[psycopg.Connection]:
    """The web world plus two responsibility areas, a second 泰和路 pair (an ambiguous address), sites,
    sample points and three muck-truck alarms; all removed afterwards."""
    ensure_world(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        _cleanup(conn)
        x = conn.execute
        for code, name, geom in AREAS:
            x("INSERT INTO work_grids (code, kind, name, street_code, geom) VALUES "
              "(%s, 'cityscape_responsibility', %s, '310113003', %s)", (code, name, geom))
        street = ("INSERT INTO streets (id, str_id, name, s_housenum, l_housenum, district_code, street_code, geom)"
                  " VALUES (%s, %s, '泰和路', 1, 40, '310113', '310113003', ST_GeomFromText(%s, 4490))")
        x(street, (901, "S901", "LINESTRING(121.472 31.372,121.478 31.372)"))
        x(street, (902, "S902", "LINESTRING(121.490 31.388,121.496 31.388)"))
        plate = ("INSERT INTO doorplates (add_id, add_name, road_name, house_name, house_num, street_id, subdis_name,"
                 " subdis_code, geom) VALUES (%s, '泰和路8号', '泰和路', '8号', 8, %s, '吴淞街道', '310113003',"
                 " ST_SetSRID(ST_MakePoint(%s, %s), 4490))")
        x(plate, ("T8A", 901, 121.4745, 31.3722))
        x(plate, ("T8B", 902, 121.4925, 31.3882))
        conn.cursor().executemany("INSERT INTO cw_sites (code, name, kind, geom) VALUES "
                                  "(%s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", SITES)
        for code, *bounds in SITE_AREAS:
            x("UPDATE cw_sites SET area = ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4490)) WHERE code = %s",
              (*bounds, code))
        conn.cursor().executemany(
            "INSERT INTO eval_sample_points (code, name, kind, street_code, radius_m, geom) VALUES "
            "(%s, %s, %s, '310113003', 50, ST_SetSRID(ST_MakePoint(%s, %s), 4490))", SAMPLES)
        now = datetime.now(district_tz())
        for kind, hours, lon, lat in MUCK_ALARMS:
            x("INSERT INTO alarms (kind, vehicle_id, start, \"end\", details, geom) VALUES (%s, 'dev-2', %s, %s, "
              "'{\"test\": \"web_shops\"}', ST_SetSRID(ST_MakePoint(%s, %s), 4490))",
              (kind, now - timedelta(hours=hours), None if hours < 10 else now - timedelta(hours=hours - 1), lon, lat))
        try:
            yield conn
        finally:
            _cleanup(conn)


def _give_key(page: object, key: str) -> None:
    page.wait_for_selector("#key-dialog[open]", timeout=10_000)
    page.locator("#key-input").fill(key)
    page.locator("#key-ok").click()


def test_upload_a_shop_list_then_the_areas_against_sql(browser: object, managed_world: psycopg.Connection,
                                                       live_server: str, api_keys: dict[str, str],
                                                       tmp_path: Path) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator(".tabs button[data-tab=shops]").click()
    f = tmp_path / "商户名单.csv"
    f.write_text(SHOP_LIST, encoding="utf-8")
    page.locator("#shop-file").set_input_files(str(f))
    assert page.locator("#shop-keep-good").is_checked()
    page.locator("#shop-import-run").click()
    _give_key(page, api_keys["planner"])     # the write role is asked for in the key dialog
    page.wait_for_function("window.citygrid.shops.import && ['done', 'rejected', 'failed', 'error']"
                           ".includes(window.citygrid.shops.import.state)", timeout=30_000)
    got = page.evaluate("window.citygrid.shops.import")
    assert got["state"] == "done", got
    assert (got["read"], got["inserted"], got["rejected"]) == (7, 4, 3)
    assert got["byKind"] == {"unmatched": 1, "ambiguous": 1, "uncertain": 1, "no_address": 0, "invalid": 0}
    assert managed_world.execute("SELECT count(*) FROM shops").fetchone()[0] == 4
    summary = page.locator("#shop-import-summary").inner_text()
    assert "共 7 行" in summary and "已定位落图 4 家" in summary and "3 行未导入" in summary
    # each rejected row under its kind, with its reason in Chinese
    out = page.locator("#shop-import-out")
    for kind, code, words in [("ambiguous", "W4", ["泰和路8号", "多个地点"]),
                              ("unmatched", "W5", ["幸福路3号", "未找到"]),
                              ("uncertain", "W6", ["街巷", "可信度"])]:
        row = out.locator(f".rejected-group[data-kind={kind}] tr[data-id={code}]")
        assert row.count() == 1
        text = row.inner_text()
        assert all(w in text for w in words), text
    assert "not found" not in out.inner_text() and "ambiguous" not in out.inner_text()
    assert "null" not in out.inner_text() and "undefined" not in out.inner_text()
    assert "完成" in page.locator("#shop-progress-text").inner_text()
    # the placed shops are drawn where the database put them
    page.evaluate("window.citygrid.whenIdle()")
    drawn = page.evaluate("window.citygrid.map.queryRenderedFeatures({ layers: ['overlay:shop-import'] })"
                          ".map((f) => f.properties.code).sort()")
    assert drawn == ["W1", "W2", "W3", "W7"]
    shot(page, "web-shops-01-import-report")

    # collections and evaluations of the day: W1 collected (green), W2 collected but failed (red), W3 nothing;
    # stamped between the district's midnight and now, so that they are today's whenever the test runs
    now = datetime.now(district_tz())
    d0 = now.replace(hour=0, minute=0, second=0, microsecond=0)
    ids = dict(managed_world.execute("SELECT code, id FROM shops").fetchall())
    managed_world.execute(
        "INSERT INTO shop_collections (shop_id, ts, waste_kind, weight_kg, geom) SELECT id, %s, 'kitchen', %s, geom "
        "FROM shops WHERE code = %s", (d0 + (now - d0) * 0.5, 12.5, "W1"))
    managed_world.execute(
        "INSERT INTO shop_collections (shop_id, ts, waste_kind, weight_kg, geom) SELECT id, %s, 'residual', %s, geom "
        "FROM shops WHERE code = %s", (d0 + (now - d0) * 0.6, 4.0, "W2"))
    managed_world.execute("INSERT INTO shop_evaluations (shop_id, ts, result) VALUES (%s, %s, 'fail')",
                          (ids["W2"], d0 + (now - d0) * 0.7))
    page.locator("#shop-areas-run").click()
    page.wait_for_function("window.citygrid.shops.areas", timeout=20_000)
    want = {code: (shops, collected, shops - collected) for code, shops, collected in managed_world.execute(
        "SELECT w.code, count(s.id), count(s.id) FILTER (WHERE EXISTS (SELECT 1 FROM shop_collections c "
        "  WHERE c.shop_id = s.id AND c.ts >= %(d0)s AND c.ts < %(d0)s + interval '1 day')) "
        "FROM work_grids w LEFT JOIN shops s ON s.area_id = w.id WHERE w.kind = 'cityscape_responsibility' "
        "GROUP BY w.code", {"d0": d0}).fetchall()}
    assert want == {"SR1": (2, 2, 0), "SR2": (1, 0, 1)}
    table = {}
    for tr in page.locator("#shop-areas-table tbody tr[data-code]").all():
        cells = [c.inner_text() for c in tr.locator("td").all()]
        table[tr.get_attribute("data-code")] = [cells[0]] + [int(float(c.replace(",", ""))) for c in cells[1:4]] + [
            float(cells[4].replace(",", ""))] + [int(c) for c in cells[5:]]
    assert table["SR1"] == ["淞滨路沿线责任区", 2, 2, 0, 16.5, 1, 0, 1]
    assert table["SR2"] == ["双城路沿线责任区", 1, 0, 1, 0.0, 0, 1, 0]
    for code, (shops, collected, not_collected) in want.items():
        assert table[code][1:4] == [shops, collected, not_collected]
    doc = page.evaluate("window.citygrid.shops.areas")
    for a in doc["areas"]:
        assert table[a["code"]][1:] == [a["shops"], a["collected"], a["not_collected"], a["collected_kg"], a["red"],
                                        a["yellow"], a["green"]]
    total = [c.inner_text() for c in page.locator("#shop-areas-table tr.total td").all()]
    assert total[:4] == ["合计", "3", "2", "1"]
    assert "今日已收运" in page.locator("#shop-areas-table thead").inner_text()

    # click the area on the map: its figures, its shops coloured by integrity with a legend
    page.evaluate("window.citygrid.whenIdle()")
    page.mouse.click(*screen_xy(page, *IN_SR1))
    page.wait_for_function("window.citygrid.shops.selected && window.citygrid.shops.selected.code === 'SR1'",
                           timeout=20_000)
    sel = page.evaluate("window.citygrid.shops.selected")
    assert sel["mapped"] == 2 and sel["counts"] == {"green": 1, "yellow": 0, "red": 1}
    assert "淞滨路沿线责任区" in page.locator("#info-title").inner_text()
    legend_text = page.locator("#shop-integrity-legend").inner_text()
    assert "红" in legend_text and "绿" in legend_text
    page.evaluate("window.citygrid.whenIdle()")
    colours = dict(page.evaluate(
        "window.citygrid.map.queryRenderedFeatures({ layers: ['overlay:area-shops'] }).map((f) => {"
        " const c = f.layer.paint['circle-color'];"
        " return [f.properties.code, [c.r, c.g, c.b].map((v) => Math.round(v * 255))]; })"))
    assert colours == {"W1": [0x2f, 0x9e, 0x44], "W2": [0xe0, 0x31, 0x31]}     # 绿, 红 of styles/layers.json
    shot(page, "web-shops-02-area-figures")

    # click a shop: its latest collection and evaluation
    page.locator("#infopanel").evaluate("(n) => { n.hidden = true; }")
    page.mouse.click(*screen_xy(page, 121.4810, 31.3802))
    page.wait_for_function("window.citygrid.shops.shop && window.citygrid.shops.shop.code === 'W2'", timeout=20_000)
    card = page.locator("#info-body").inner_text()
    assert "不合格" in card and "4 公斤" in card and "红" in card
    shot(page, "web-shops-03-shop-card")
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()


#: Files the server cannot import at all, each with the error code it answers, the Chinese words the panel
#: must show for it and a word of the English detail kept in small print under it.
BAD_FILES = [
    # Excel's "Unicode text" export: UTF-16, neither UTF-8 nor GBK
    ("商户名单.csv", "\ufeff商户编号,商户名称,经营地址\nW1,阿强面馆,淞滨路100号\n".encode("utf-16-le"),
     "bad_encoding", ["文件编码无法识别", "UTF-8"], "not valid"),
    # a scanned list saved as .xlsx by renaming
    ("商户名单.xlsx", b"%PDF-1.4 not a workbook\n", "unreadable_file", ["文件无法读取", "扩展名"], "Excel"),
    # the right format, the wrong columns
    ("商户名单.csv", "店铺,位置\n阿强面馆,淞滨路100号\n".encode(), "missing_columns",
     ["缺少必需的列", "商户编号", "商户名称"], "required column"),
    # not a format the import reads (refused before any job starts)
    ("商户名单.pdf", b"%PDF-1.4\n", "unknown_format", ["文件格式不支持", "CSV"], ".csv"),
]


def test_a_file_that_cannot_be_imported_is_explained_in_chinese(browser: object, managed_world: psycopg.Connection,
                                                                live_server: str, api_keys: dict[str, str],
                                                                tmp_path: Path) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator(".tabs button[data-tab=shops]").click()
    for n, (name, data, code, words, english) in enumerate(BAD_FILES):
        f = tmp_path / str(n) / name
        f.parent.mkdir()
        f.write_bytes(data)
        page.locator("#shop-file").set_input_files(str(f))
        page.evaluate("window.citygrid.shops.import = null")
        page.locator("#shop-import-run").click()
        if n == 0:
            _give_key(page, api_keys["planner"])
        page.wait_for_function("window.citygrid.shops.import && ['done', 'rejected', 'failed', 'error']"
                               ".includes(window.citygrid.shops.import.state)", timeout=30_000)
        got = page.evaluate("window.citygrid.shops.import")
        assert (got["state"], got["error"]) == ("failed", code), got
        summary = page.locator("#shop-import-summary").inner_text()
        hint = page.locator("#shop-import-hint").inner_text()
        assert summary.startswith("导入失败：") and all(w in summary + hint for w in words), (summary, hint)
        assert not any(c.isascii() and c.isalpha() for c in summary), summary     # no English in the message
        detail = page.locator("#shop-import-detail")
        assert english in detail.inner_text() and detail.get_attribute("lang") == "en"
        small = page.evaluate("[document.querySelector('#shop-import-detail'), document.querySelector("
                              "'#shop-import-summary')].map((n) => parseFloat(getComputedStyle(n).fontSize))")
        assert small[0] < small[1]                     # the server's words are the secondary line
        assert "0 行" not in page.locator("#shop-import-out").inner_text()
    shot(page, "web-shops-00-failed-upload")
    assert managed_world.execute("SELECT count(*) FROM shops").fetchone()[0] == 0
    # the .pdf is refused with 400 before a job starts (the only failing request: Chromium logs it twice)
    refused = [e for e in watched.errors if ("HTTP 400" in e and "/api/shops/import?" in e) or "status of 400" in e]
    assert len(refused) == 2 and [e for e in watched.errors if e not in refused] == [], watched.errors
    assert watched.outside == []
    page.context.close()


def test_muck_sites_alarms_and_a_sample_draw_with_checkin(browser: object, managed_world: psycopg.Connection,
                                                         live_server: str, api_keys: dict[str, str]) -> None:
    watched = open_map(browser, live_server)
    page = watched.page
    page.locator(".tabs button[data-tab=special]").click()
    # the sites layer switched on from the panel, in step with the layer tree, counted per kind
    page.locator("#muck-sites-toggle").check()
    for part in ("point", "area", "outline"):
        assert page.evaluate(f"window.citygrid.map.getLayoutProperty('cw_sites:{part}', 'visibility')") == "visible"
    assert page.locator("#layer-tree input[data-layer=cw_sites]").is_checked()
    page.wait_for_function("window.citygrid.muck.sites", timeout=20_000)
    want = dict(managed_world.execute("SELECT kind, count(*) FROM cw_sites GROUP BY kind").fetchall())
    assert page.evaluate("window.citygrid.muck.sites") == want
    # the sites with an extent are drawn as areas in their kind's colour, under their points
    with_area = dict(managed_world.execute("SELECT code, kind FROM cw_sites WHERE area IS NOT NULL").fetchall())
    assert with_area == {"CS1": "construction_site", "DS1": "disposal_site"}
    assert page.evaluate("window.citygrid.muck.siteAreas") == {"construction_site": 1, "disposal_site": 1}
    assert "其中 2 处有场地范围" in page.locator("#muck-site-areas").inner_text()
    page.wait_for_function("window.citygrid.muck.alarms", timeout=20_000)   # its fitTo is done
    page.evaluate("window.citygrid.map.jumpTo({ center: [121.485, 31.380], zoom: 14 })")
    page.evaluate("window.citygrid.whenIdle()")
    drawn = page.evaluate(
        "window.citygrid.map.queryRenderedFeatures({ layers: ['cw_sites:area'] }).map((f) => {"
        " const c = f.layer.paint['fill-color'];"
        " return [f.properties.code, f.geometry.type, [c.r, c.g, c.b].map((v) => Math.round(v * 255))]; })")
    assert {code: (kind, rgb) for code, kind, rgb in drawn} == {
        "CS1": ("Polygon", [0xe8, 0x59, 0x0c]), "DS1": ("Polygon", [0x5f, 0x3d, 0xc4])}  # 建筑工地, 消纳场 colours
    outlined = page.evaluate("[...new Set(window.citygrid.map.queryRenderedFeatures({ layers: ['cw_sites:outline'] })"
                             ".map((f) => f.properties.code))].sort()")
    assert outlined == ["CS1", "DS1"]
    points = page.evaluate("[...new Set(window.citygrid.map.queryRenderedFeatures({ layers: ['cw_sites:point'] })"
                           ".map((f) => f.properties.code))].sort()")
    assert points == sorted(code for code, *_ in SITES)                   # every site keeps its point
    # the drawn area is the stored one: its corners where the database has them
    area_at = ("([x, y]) => { const m = window.citygrid.map; const p = m.project([x, y]);"
               " return m.queryRenderedFeatures([p.x, p.y], { layers: ['cw_sites:area'] })"
               ".map((f) => f.properties.code); }")
    for code, w, s_, e, n in SITE_AREAS:                 # inside each corner and just outside it
        for x, y, dx, dy in ((w, n, 1, -1), (e, s_, -1, 1)):
            assert page.evaluate(area_at, [x + dx * 0.0003, y + dy * 0.0003]) == [code]
            assert page.evaluate(area_at, [x - dx * 0.0006, y - dy * 0.0006]) == []
    shot(page, "web-shops-04a-site-areas")
    kinds_text = page.locator("#muck-site-kinds").inner_text()
    for label in ("建筑工地", "消纳场/卸点", "码头", "中转调配厂", "车辆停车场"):
        assert label in kinds_text
    # the muck alarms of the last 30 days (listed when the tab opens), with their Chinese labels; then one kind
    page.wait_for_function("window.citygrid.muck.alarms", timeout=20_000)
    n = managed_world.execute("SELECT count(*) FROM alarms WHERE kind IN ('illegal_dumping', 'unapproved_route', "
                              "'restricted_hours') AND start >= now() - interval '30 days'").fetchone()[0]
    assert page.evaluate("window.citygrid.muck.alarms.total") == n == 3
    listed = page.locator("#muck-alarm-list").inner_text()
    for label in ("偷倒/乱倒", "未按核准路线", "夜间/限时禁行"):
        assert label in listed
    assert "illegal_dumping" not in listed
    page.evaluate("window.citygrid.muck.alarms = null")
    page.select_option("#muck-alarm-kind", "illegal_dumping")
    page.wait_for_function("window.citygrid.muck.alarms", timeout=20_000)
    assert page.locator("#muck-alarm-list li").count() == 1
    assert "偷倒/乱倒" in page.locator("#muck-alarm-list").inner_text()
    page.evaluate("window.citygrid.whenIdle()")
    shot(page, "web-shops-04-muck")

    # the sample layer and a seeded draw of 1 主次干道 + 2 居住小区 in 吴淞街道
    page.locator("#sample-layer-toggle").check()
    page.wait_for_function("window.citygrid.samples.available", timeout=20_000)
    assert page.evaluate("window.citygrid.samples.available") == {"main_road": 2, "residential": 2, "public_toilet": 1}
    page.locator("#sample-quotas input[data-kind=main_road]").fill("1")
    page.locator("#sample-quotas input[data-kind=residential]").fill("2")
    page.select_option("#esp-area", "310113003")
    page.locator("#esp-seed").fill("20261203")
    page.locator("#sample-draw-run").click()
    _give_key(page, api_keys["planner"])           # a planner draws and assigns
    page.wait_for_function("window.citygrid.samples.draw", timeout=20_000)
    first = page.evaluate("window.citygrid.samples.draw")
    assert len(first["points"]) == 3
    assert sorted(p["kind"] for p in first["points"]) == ["main_road", "residential", "residential"]
    assert page.locator("#sample-draw-list li").count() == 3
    recorded = managed_world.execute("SELECT seed, request FROM eval_sample_draws WHERE id = %s",
                                     (first["id"],)).fetchone()
    assert recorded[0] == 20261203 and recorded[1]["area"] == "310113003"
    page.evaluate("window.citygrid.samples.draw = null")
    page.locator("#sample-draw-run").click()       # the same seed draws the same points
    page.wait_for_function("window.citygrid.samples.draw", timeout=20_000)
    again = page.evaluate("window.citygrid.samples.draw")
    assert [p["code"] for p in again["points"]] == [p["code"] for p in first["points"]] and again["id"] != first["id"]

    # the drawn points assigned: all to 张三, then the one ticked in the list to 李四; the database, the list,
    # the map's popup and the check-in agree
    assert page.locator("#sample-assign").is_visible()
    assert page.locator("#sample-draw-list .assignee").all_inner_texts() == ["未分派"] * 3
    stored_sql = ("SELECT p.code, a.inspector FROM eval_sample_assignments a JOIN eval_sample_points p "
                  "ON p.id = a.point_id WHERE a.draw_id = %s")
    page.locator("#sample-assignee").fill("张三")
    page.locator("#sample-assign-all").click()
    page.wait_for_function("window.citygrid.samples.assignments", timeout=20_000)
    assert dict(managed_world.execute(stored_sql, (again["id"],)).fetchall()) == {
        p["code"]: "张三" for p in again["points"]}
    second = again["points"][1]
    page.evaluate("window.citygrid.samples.assignments = null")
    page.locator(f"#sample-draw-list li[data-code={second['code']}] input.sample-pick").check()
    assert page.locator("#sample-assign-selected").inner_text() == "分派勾选的 1 个点位"
    page.locator("#sample-assignee").fill("李四")
    page.locator("#sample-assign-selected").click()
    page.wait_for_function("window.citygrid.samples.assignments", timeout=20_000)
    stored = dict(managed_world.execute(stored_sql, (again["id"],)).fetchall())
    assert stored == {**{p["code"]: "张三" for p in again["points"]}, second["code"]: "李四"}
    assert managed_world.execute("SELECT count(*) FROM eval_sample_assignments").fetchone()[0] == 3
    listed = {li.get_attribute("data-code"): li.locator(".assignee").inner_text()
              for li in page.locator("#sample-draw-list li").all()}
    assert listed == {code: f"检查员：{name}" for code, name in stored.items()}
    assert page.evaluate("window.citygrid.samples.assignments") == stored
    assert "张三 2 个，李四 1 个" in page.locator("#sample-assign-note").inner_text()
    assert page.locator("#sample-draw-list input.sample-pick:checked").count() == 0
    page.locator("#infopanel").evaluate("(n) => { n.hidden = true; }")
    page.evaluate(f"window.citygrid.map.jumpTo({{ center: [{second['lon']}, {second['lat']}], zoom: 16 }})")
    page.evaluate("window.citygrid.whenIdle()")
    page.mouse.click(*screen_xy(page, second["lon"], second["lat"]))
    page.wait_for_function("window.citygrid.samples.popup", timeout=20_000)
    assert page.evaluate("window.citygrid.samples.popup") == {"code": second["code"], "inspector": "李四"}
    card = page.locator("[data-testid=sample-point-card]").inner_text()
    assert second["name"] in card and "检查员" in card and "李四" in card
    assert page.locator("#checkin-point").input_value() == second["code"]
    assert page.locator("#checkin-inspector").input_value() == "李四"
    shot(page, "web-shops-05a-sample-assigned")
    page.locator(".maplibregl-popup-close-button").click()

    # check-in by the point's inspector: picked on the map at the drawn point → inside and theirs; then
    # typed 500 m away by someone else → outside and not theirs
    point = again["points"][0]
    page.select_option("#checkin-point", point["code"])
    assert page.locator("#checkin-inspector").input_value() == stored[point["code"]] == "张三"
    page.locator("#infopanel").evaluate("(n) => { n.hidden = true; }")
    page.evaluate(f"window.citygrid.map.jumpTo({{ center: [{point['lon']}, {point['lat']}], zoom: 16 }})")
    page.evaluate("window.citygrid.whenIdle()")
    page.locator("#checkin-pick").click()
    page.mouse.click(*screen_xy(page, point["lon"] + 0.0001, point["lat"]))
    assert page.locator("#checkin-crs").input_value() == "EPSG:4490"
    page.locator("#checkin-run").click()
    page.wait_for_function("window.citygrid.samples.checkin", timeout=20_000)
    verdict = page.evaluate("window.citygrid.samples.checkin")
    assert verdict["inside"] is True and verdict["distance_m"] < 20
    assert (verdict["inspector"], verdict["assigned"], verdict["assigned_to"]) == ("张三", True, ["张三"])
    assert "打卡有效" in page.locator("#checkin-verdict").inner_text()
    note = page.locator("#checkin-out").inner_text()
    assert "打卡人\n张三" in note and "负责检查员\n张三" in note and "是否负责人打卡\n是" in note, note
    shot(page, "web-shops-05-sample-checkin")
    page.evaluate("window.citygrid.samples.checkin = null")
    page.locator("#checkin-lon").fill(str(point["lon"] + 0.005))
    page.locator("#checkin-inspector").fill("王五")
    page.locator("#checkin-run").click()
    page.wait_for_function("window.citygrid.samples.checkin", timeout=20_000)
    verdict = page.evaluate("window.citygrid.samples.checkin")
    assert (verdict["inside"], verdict["inspector"], verdict["assigned"]) == (False, "王五", False)
    assert "打卡无效" in page.locator("#checkin-verdict").inner_text()
    assert "否（此点位分派给 张三）" in page.locator("#checkin-out").inner_text()
    assert managed_world.execute("SELECT p.code, c.inspector, c.inside FROM eval_sample_checkins c JOIN "
                                 "eval_sample_points p ON p.id = c.point_id ORDER BY c.id").fetchall() == [
        (point["code"], "张三", True), (point["code"], "王五", False)]
    assert watched.errors == []
    assert watched.outside == []
    page.context.close()
