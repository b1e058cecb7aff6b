"""沿街商铺 (issue 16): import placed by address (good / ambiguous / unmatched / too vague, each with its
reason), nothing half-written on a bad file, collection and evaluation → integrity colour, per-area
figures against plain SQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from geocode_world import ensure_world, plate_xy

from gis.errors import ImportRejected, InvalidInput, NotFound
from gis.io.load import import_file
from gis.params import district_tz
from gis.shops import figures, records

BAND = "SRID=4490;MULTIPOLYGON(((121.469 31.3495,121.491 31.3495,121.491 31.3505,121.469 31.3505,121.469 31.3495)))"


@pytest.fixture
def street(database_url: str, db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The geocoder's world plus a 市容环境卫生责任区 band along 淞滨路; shops emptied before and after."""
    ensure_world(database_url)
    db.execute("TRUNCATE shops RESTART IDENTITY CASCADE")
    db.execute("INSERT INTO work_grids (code, kind, name, street_code, geom) VALUES "
               "('SR001', 'cityscape_responsibility', '淞滨路市容环境卫生责任区', '310113113', %s)", (BAND,))
    yield db
    db.execute("TRUNCATE shops RESTART IDENTITY CASCADE")
    db.execute("DELETE FROM work_grids WHERE code = 'SR001'")


def write(tmp_path: Path, text: str, name: str = "shops.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


MIXED = ("商户编号,商户名称,经营地址,经营类别\n"
         "S1,阿强面馆,淞滨路5号,餐饮\n"
         "S2,好又多超市,泰和路8号,零售\n"
         "S3,老王烟杂店,幸福路3号,零售\n"
         "S4,小李水果,淞滨路,零售\n")


def test_import_reports_ambiguous_unmatched_and_vague_rows_and_stores_nothing(street, tmp_path) -> None:
    with pytest.raises(ImportRejected) as err:
        import_file(street, "shops", write(tmp_path, MIXED))
    by_id = {r["id"]: " ".join(r["reasons"]) for r in err.value.rows}
    assert set(by_id) == {"S2", "S3", "S4"}
    assert "ambiguous" in by_id["S2"]
    assert "unmatched" in by_id["S3"] and "not found" in by_id["S3"]
    assert "uncertain" in by_id["S4"] and "street" in by_id["S4"]
    assert street.execute("SELECT count(*) FROM shops").fetchone()[0] == 0


def test_keep_good_places_the_good_row_with_level_confidence_and_area(street, tmp_path) -> None:
    report = import_file(street, "shops", write(tmp_path, MIXED), keep_good=True)
    assert report.inserted == 1 and [r["id"] for r in report.rejected] == ["S2", "S3", "S4"]
    code, level, conf, area, x, y = street.execute(
        "SELECT s.code, s.match_level, s.confidence, w.code, ST_X(s.geom), ST_Y(s.geom) FROM shops s "
        "LEFT JOIN work_grids w ON w.id = s.area_id").fetchone()
    assert (code, level, area) == ("S1", "doorplate", "SR001")
    assert conf == pytest.approx(1.0)
    px, py = plate_xy(5)
    assert abs(x - px) < 1e-5 and abs(y - py) < 1e-5


def test_rows_with_coordinates_keep_them_and_the_rest_are_geocoded(street, tmp_path) -> None:
    text = ("code,name,address,lon,lat\n"
            "A1,甲,,121.4801,31.3502\n"
            "A2,乙,淞滨路9号,,\n")
    report = import_file(street, "shops", write(tmp_path, text))
    assert report.inserted == 2
    rows = dict(street.execute("SELECT code, match_level FROM shops").fetchall())
    assert rows == {"A1": None, "A2": "doorplate"}


def test_a_bad_file_leaves_nothing_half_written(street, tmp_path) -> None:
    text = "code,name,address\nB1,甲,淞滨路5号\nB1,乙,淞滨路9号\nB3,,淞滨路10号\n"
    with pytest.raises(ImportRejected) as err:
        import_file(street, "shops", write(tmp_path, text))
    reasons = " ".join(" ".join(r["reasons"]) for r in err.value.rows)
    assert "duplicate" in reasons.lower() and "name" in reasons
    assert street.execute("SELECT count(*) FROM shops").fetchone()[0] == 0


def test_excel_lists_import_too(street, tmp_path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["商户编号", "商户名称", "地址"])
    ws.append(["X1", "丙", "淞滨路10号"])
    path = tmp_path / "shops.xlsx"
    wb.save(path)
    assert import_file(street, "shops", path).inserted == 1


def _shop(db: psycopg.Connection, tmp_path: Path, n: int = 3) -> None:
    rows = "".join(f"C{i},店{i},淞滨路{i}号\n" for i in range(1, n + 1))
    import_file(db, "shops", write(tmp_path, "code,name,address\n" + rows))


def colour(db: psycopg.Connection, code: str) -> str:
    return records.shop_state(db, code)["integrity"]


def test_collections_and_evaluations_give_the_colour(street, tmp_path) -> None:
    _shop(street, tmp_path, 1)
    now = datetime.now(district_tz())
    assert colour(street, "C1") == "yellow"          # never collected
    records.add_collections(street, [{"shop": "C1", "ts": (now - timedelta(hours=2)).isoformat(),
                                      "waste_kind": "湿垃圾", "weight_kg": 12.5}])
    assert colour(street, "C1") == "green"
    records.add_evaluations(street, [{"shop": "C1", "ts": (now - timedelta(hours=1)).isoformat(), "result": "不合格"}])
    assert colour(street, "C1") == "red"             # latest evaluation failed
    records.add_evaluations(street, [{"shop": "C1", "ts": now.isoformat(), "result": "pass"}])
    assert colour(street, "C1") == "yellow"          # one fail in 30 days, latest passed
    records.add_evaluations(street, [{"shop": "C1", "ts": (now - timedelta(days=3)).isoformat(), "result": "fail"}])
    assert colour(street, "C1") == "red"             # two fails in 30 days
    state = records.shop_state(street, "C1")
    assert state["integrity_name"] == "红" and state["fails_30d"] == 2 and state["last_weight_kg"] == 12.5


def test_a_bad_record_batch_stores_nothing(street, tmp_path) -> None:
    _shop(street, tmp_path, 1)
    now = datetime.now(district_tz()).isoformat()
    with pytest.raises(InvalidInput, match="item 2: weight_kg"):
        records.add_collections(street, [{"shop": "C1", "ts": now, "waste_kind": "kitchen", "weight_kg": 1},
                                         {"shop": "C1", "ts": now, "waste_kind": "kitchen", "weight_kg": -1}])
    with pytest.raises(NotFound, match="item 2"):
        records.add_collections(street, [{"shop": "C1", "ts": now, "waste_kind": "kitchen", "weight_kg": 1},
                                         {"shop": "nope", "ts": now, "waste_kind": "kitchen", "weight_kg": 1}])
    assert street.execute("SELECT count(*) FROM shop_collections").fetchone()[0] == 0


def test_area_figures_agree_with_sql(street, tmp_path) -> None:
    _shop(street, tmp_path, 6)
    now = datetime.now(district_tz())
    records.add_collections(street, [{"shop": f"C{i}", "ts": now.isoformat(), "waste_kind": "residual",
                                      "weight_kg": 2.0 * i} for i in (1, 2, 3)])
    records.add_evaluations(street, [{"shop": "C2", "ts": now.isoformat(), "result": "fail"},
                                     {"shop": "C3", "ts": now.isoformat(), "result": "warn"}])
    got = figures.area_figures(street, "310113113")
    area = next(a for a in got["areas"] if a["code"] == "SR001")
    d0, d1 = figures.day_bounds(now.date())
    shops, collected, kg = street.execute(
        "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM shop_collections c WHERE c.shop_id = s.id "
        "AND c.ts >= %(d0)s AND c.ts < %(d1)s)), (SELECT sum(weight_kg) FROM shop_collections c JOIN shops s2 "
        "ON s2.id = c.shop_id WHERE s2.area_id = w.id AND c.ts >= %(d0)s AND c.ts < %(d1)s) "
        "FROM shops s JOIN work_grids w ON w.id = s.area_id WHERE w.code = 'SR001' GROUP BY w.id",
        {"d0": d0, "d1": d1}).fetchone()
    assert (area["shops"], area["collected"], area["not_collected"]) == (shops, collected, shops - collected)
    assert area["collected_kg"] == pytest.approx(kg)
    assert (area["red"], area["yellow"], area["green"]) == (1, 4, 1)
    assert got["totals"]["shops"] == 6
    with pytest.raises(InvalidInput, match="9-digit"):
        figures.area_figures(street, "31011")


def test_http_upload_reports_progress_then_the_report(street, http, api_keys) -> None:
    key = {"X-API-Key": api_keys["planner"]}
    body = "商户编号,商户名称,经营地址\n" + "".join(f"H{i},店{i},淞滨路{i}号\n" for i in range(1, 21))
    r = http.post("/api/shops/import", params={"filename": "shops.csv"}, content=body.encode(), headers=key)
    assert r.status_code == 202, r.text
    job = r.json()
    url = job["status_url"]
    for _ in range(200):
        job = http.get(url, headers=key).json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    assert job["state"] == "done" and job["result"]["inserted"] == 20
    assert job["phase"] == "store" and job["done"] == job["total"] == 20
    # the placed shops, with their positions, for the upload page's map
    placed = job["result"]["placed"]
    assert sorted(p["code"] for p in placed) == sorted(f"H{i}" for i in range(1, 21))
    where = dict(street.execute("SELECT code, ST_X(geom) FROM shops").fetchall())
    assert all(abs(p["lon"] - where[p["code"]]) < 1e-9 and p["match_level"] for p in placed)
    assert http.post("/api/shops/import", params={"filename": "shops.csv"}, content=body.encode(),
                     headers={"X-API-Key": api_keys["inspector"]}).status_code == 403


def test_http_upload_waiting_answers_422_with_each_reason(street, http, api_keys) -> None:
    r = http.post("/api/shops/import", params={"filename": "shops.csv", "wait": "true"}, content=MIXED.encode(),
                  headers={"X-API-Key": api_keys["planner"]})
    assert r.status_code == 422, r.text
    result = r.json()["result"]
    assert [row["id"] for row in result["rejected"]] == ["S2", "S3", "S4"]
    # sorted by what to do about them, and said in Chinese for the upload page
    assert [row["kind"] for row in result["rejected"]] == ["ambiguous", "unmatched", "uncertain"]
    zh = {row["id"]: row["reasons_zh"][0] for row in result["rejected"]}
    assert "泰和路8号" in zh["S2"] and "多个地点" in zh["S2"]
    assert "幸福路3号" in zh["S3"] and "未找到" in zh["S3"]
    assert "街巷" in zh["S4"] and "0.50" in zh["S4"] and "0.60" in zh["S4"]
    assert result["rejected_by_kind"] == {"unmatched": 1, "ambiguous": 1, "uncertain": 1, "no_address": 0,
                                          "invalid": 0}
    assert street.execute("SELECT count(*) FROM shops").fetchone()[0] == 0
    r = http.post("/api/shops/import", params={"filename": "shops.doc"}, content=b"x",
                  headers={"X-API-Key": api_keys["planner"]})
    assert r.status_code == 400 and ".xlsx" in r.json()["detail"]


def test_shop_state_collection_areas_api_and_collected_weight_heat(street, http, api_keys, tmp_path) -> None:
    _shop(street, tmp_path, 2)
    now = datetime.now(district_tz()).isoformat()
    r = http.post("/api/shops/collections", headers={"X-API-Key": api_keys["inspector"]},
                  json={"items": [{"shop": "C1", "ts": now, "waste_kind": "kitchen", "weight_kg": 30}]})
    assert r.status_code == 200 and r.json() == {"stored": 1}
    fc = http.get("/ogc/collections/shop_state/items", params={"f": "json"}).json()
    colours = {f["properties"]["code"]: (f["properties"]["integrity"], f["properties"]["integrity_name"])
               for f in fc["features"]}
    assert colours == {"C1": ("green", "绿"), "C2": ("yellow", "黄")}
    shops = http.get("/ogc/collections/shops/items", params={"f": "json"}).json()["features"]
    assert {f["properties"]["area_name"] for f in shops} == {"淞滨路市容环境卫生责任区"}
    areas = http.get("/api/shops/areas", params={"street": "310113113"}).json()
    sr = next(a for a in areas["areas"] if a["code"] == "SR001")
    assert (sr["shops"], sr["collected"], sr["not_collected"], sr["collected_kg"]) == (2, 1, 1, 30.0)
    heat = http.get("/api/layers/heat", params={"source": "shop_collections", "bbox": "121.46,31.34,121.50,31.36",
                                                "resolution": 9, "weight": "weight_kg"})
    assert heat.status_code == 200, heat.text
    cells = heat.json()["features"]
    assert sum(c["properties"].get("weight", c["properties"].get("value", 0)) for c in cells) == pytest.approx(30)
