"""The geocoding HTTP contract on a real server, reverse geocoding text, batch order and streaming, the CLI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from geocode_world import ensure_world, plate_xy

from geocoder.reverse import describe


@pytest.fixture
def world(database_url: str) -> None:
    ensure_world(database_url)


def test_geocode_answers_a_feature_collection(http: httpx.Client, world: None) -> None:
    r = http.get("/api/geocode", params={"q": "上海市宝山区淞南镇淞滨路９号"})
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 1
    f = body["features"][0]
    p = f["properties"]
    assert (p["standard_address"], p["match_level"], p["confidence"]) == ("淞滨路9号", "doorplate", 1.0)
    assert p["segments"]["street"] == "淞滨路" and p["segments"]["number"] == 9
    assert p["segments"]["regions"] == ["上海市", "宝山区", "淞南镇"]
    assert p["grid"]["district"]["code"] == "310113"
    assert p["grid"]["street"]["code"] == "310113113"
    assert p["grid"]["unit_grid"]["code"] == "310113113001001"
    assert f["geometry"]["coordinates"] == pytest.approx(list(plate_xy(9)), abs=1e-6)


def test_geocode_other_crs_and_limit(http: httpx.Client, world: None) -> None:
    plain = http.get("/api/geocode", params={"q": "泰和路8号"}).json()["features"]
    assert len(plain) == 2
    assert len(http.get("/api/geocode", params={"q": "泰和路8号", "limit": 1}).json()["features"]) == 1
    gcj = http.get("/api/geocode", params={"q": "淞滨路9号", "crs": "GCJ02"}).json()["features"][0]
    lon, _ = gcj["geometry"]["coordinates"]
    assert abs(lon - plate_xy(9)[0]) > 0.001      # GCJ-02 is offset by hundreds of metres


def test_no_match_is_200_without_features(http: httpx.Client, world: None) -> None:
    r = http.get("/api/geocode", params={"q": "北京市海淀区中关村大街1号"})
    assert r.status_code == 200 and r.json()["features"] == []


def test_bad_requests_name_the_problem(http: httpx.Client, world: None) -> None:
    r = http.get("/api/geocode", params={"q": "淞滨路9号", "crs": "EPSG:999999"})
    assert r.status_code == 400 and "999999" in r.json()["detail"]
    r = http.get("/api/geocode")
    assert r.status_code == 422 and "q" in r.json()["detail"]
    r = http.get("/api/reverse", params={"lon": 500, "lat": 31.35})
    assert r.status_code == 400 and "500" in r.json()["detail"]


def test_describe_writes_direction_and_distance() -> None:
    assert describe("淞滨路100号", 20, 0) == "淞滨路100号东20米"
    assert describe("淞滨路100号", -14.2, -14.2) == "淞滨路100号西南20米"
    assert describe("淞滨路100号", 0, 2) == "淞滨路100号"


def test_reverse_near_a_plate(http: httpx.Client, world: None) -> None:
    lon, lat = plate_xy(21)
    r = http.get("/api/reverse", params={"lon": lon + 0.000212, "lat": lat})   # ≈ 20 m east
    assert r.status_code == 200
    p = r.json()["properties"]
    assert p["standard_address"] == "淞滨路21号东20米"
    assert p["match_level"] == "doorplate" and p["nearest_doorplate"]["id"] == "P21"
    assert p["grid"]["community"]["code"] == "310113113001"


def test_reverse_between_plates_interpolates_the_number(http: httpx.Client, world: None) -> None:
    lon, lat = plate_xy(35)   # no plate 23–47 on the north side: the street's numbering says 35
    p = http.get("/api/reverse", params={"lon": lon, "lat": lat + 0.0001}).json()["properties"]
    assert p["match_level"] == "interpolated" and p["interpolated_number"] == 35
    assert p["standard_address"].startswith("淞滨路35号")
    assert p["standard_address"].endswith("北11米")


def test_reverse_far_from_everything(http: httpx.Client, world: None) -> None:
    p = http.get("/api/reverse", params={"lon": 121.515, "lat": 31.405}).json()["properties"]
    assert p["match_level"] == "region" and p["standard_address"] == "宝山区吴淞街道海团村"
    assert http.get("/api/reverse", params={"lon": 100.0, "lat": 30.0}).status_code == 404


BATCH = ["淞滨路9号", "不存在路1号", "淞滨路7号", "宝杨小区3号楼", "淞滨路与长江路交叉口", "沃尔玛东50米"]


def test_batch_ndjson_in_order(http: httpx.Client, world: None) -> None:
    body = "\n".join(json.dumps({"id": f"r{i}", "address": q}, ensure_ascii=False) for i, q in enumerate(BATCH))
    r = http.post("/api/geocode/batch", content=body.encode(), headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [x["properties"]["id"] for x in lines] == [f"r{i}" for i in range(len(BATCH))]
    levels = [x["properties"]["match_level"] for x in lines]
    assert levels == ["doorplate", None, "interpolated", "doorplate", "intersection", "offset"]
    assert lines[1]["geometry"] is None and lines[0]["properties"]["grid"]["district"]["code"] == "310113"


def test_batch_csv_streams_many_rows_in_order(http: httpx.Client, world: None) -> None:
    n = 2400  # several chunks
    rows = ["id,地址"] + [f"{i},淞滨路{1 + i % 100}号" for i in range(n)]
    with http.stream("POST", "/api/geocode/batch", params={"out": "csv"}, content="\n".join(rows).encode(),
                     headers={"Content-Type": "text/csv"}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        chunks = list(r.iter_bytes())
    text = b"".join(chunks).decode()
    out = text.splitlines()
    assert out[0].startswith("id,query,lon,lat,standard_address,match_level")
    assert len(out) == n + 1
    assert [line.split(",")[0] for line in out[1:]] == [str(i) for i in range(n)]
    assert out[1].split(",")[4] == "淞滨路1号"


def test_batch_excel(http: httpx.Client, world: None) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["编号", "地址"])
    ws.append(["a", "淞滨路9号"])
    ws.append(["b", "宝杨小区"])
    buf = io.BytesIO()
    wb.save(buf)
    r = http.post("/api/geocode/batch", content=buf.getvalue(),
                  headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert [(x["properties"]["id"], x["properties"]["match_level"]) for x in lines] == [("a", "doorplate"),
                                                                                        ("b", "zone")]


def test_batch_rejects_bad_input_before_streaming(http: httpx.Client, world: None) -> None:
    r = http.post("/api/geocode/batch", content=b'{"address": "x"}\nnot json\n',
                  headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "line 2" in r.json()["detail"]
    r = http.post("/api/geocode/batch", content=b'{"name": "x"}\n', headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 400 and "address" in r.json()["detail"]


def test_cli_geocode_file(database_url: str, world: None, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("address\n淞滨路9号\n火星路1号\n淞滨路7号\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    res = subprocess.run([str(Path(sys.executable).parent / "citygrid"), "geocode", str(src), "--out", str(out)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "3 addresses, 2 matched" in res.stderr
    rows = out.read_text(encoding="utf-8").splitlines()
    assert [r.split(",")[5] for r in rows[1:]] == ["doorplate", "", "interpolated"]
