"""评价样本点位 (issue 16): import with kind labels, reproducible and audited draws by kind and quota,
assignments, and check-ins inside/outside a point's radius or polygon with GCJ-02 input."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from gis import crs as gcrs
from gis.errors import ImportRejected
from gis.io.load import import_file

DISTRICT = "SRID=4490;MULTIPOLYGON(((121.30 31.20,121.60 31.20,121.60 31.45,121.30 31.45,121.30 31.20)))"
MARKET = "POLYGON((121.4500 31.3000,121.4520 31.3000,121.4520 31.3015,121.4500 31.3015,121.4500 31.3000))"


@pytest.fixture
def points(clean_db: str, db: psycopg.Connection, tmp_path: Path) -> psycopg.Connection:
    db.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', %s)",
               (DISTRICT,))
    rows = ["点位编码,点位名称,点位类型,lon,lat,打卡半径,点位范围"]
    for i in range(8):
        rows.append(f"ZG{i:02d},主干道{i},主次干道,{121.40 + i * 0.005},31.30,50,")
    for i in range(5):
        rows.append(f"BJ{i:02d},背街{i},背街小巷,{121.40 + i * 0.005},31.31,30,")
    rows.append(f'SC01,菜场,集贸市场,121.451,31.301,50,"{MARKET}"')
    path = tmp_path / "samples.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert import_file(db, "eval_samples", path).inserted == 14
    return db


def test_import_refuses_an_unknown_kind(points, tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("code,name,kind,lon,lat\nX1,某点,火星基地,121.4,31.3\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        import_file(points, "eval_samples", path)
    assert "火星基地" in " ".join(err.value.rows[0]["reasons"])


def _draw(http, key, **body):
    return http.post("/api/eval-samples/draw", json=body, headers={"X-API-Key": key})


def test_draw_is_reproducible_and_audited(points, http, api_keys) -> None:
    key = api_keys["inspector"]
    a = _draw(http, key, kinds={"main_road": 3, "背街小巷": 2}, area="310113", seed=42)
    b = _draw(http, key, kinds={"main_road": 3, "back_street": 2}, area="310113", seed=42)
    c = _draw(http, key, kinds={"main_road": 3, "back_street": 2}, area="310113", seed=7)
    assert a.status_code == b.status_code == c.status_code == 200, a.text
    codes = [p["code"] for p in a.json()["points"]]
    assert codes == [p["code"] for p in b.json()["points"]] and len(codes) == 5
    assert sum(c.startswith("ZG") for c in codes) == 3 and a.json()["pool_sha256"] == b.json()["pool_sha256"]
    assert codes != [p["code"] for p in c.json()["points"]]
    log = http.get("/api/eval-samples/draws", headers={"X-API-Key": key}).json()["draws"]
    assert [d["seed"] for d in log[:3]] == [7, 42, 42] and log[0]["actor"] == "test-inspector"
    assert points.execute("SELECT count(*) FROM audit_log WHERE target LIKE '%%eval-samples%%' "
                          "OR detail::text LIKE '%%eval-samples%%'").fetchone()[0] >= 3


def test_a_quota_the_pool_cannot_fill_is_refused_and_not_recorded(points, http, api_keys) -> None:
    r = _draw(http, api_keys["inspector"], kinds={"back_street": 6}, seed=1)
    assert r.status_code == 400 and "only 5" in r.json()["detail"]
    r = _draw(http, api_keys["inspector"], kinds={"moon": 1}, seed=1)
    assert r.status_code == 400 and "unknown kind" in r.json()["detail"]
    assert points.execute("SELECT count(*) FROM eval_sample_draws").fetchone()[0] == 0
    assert _draw(http, api_keys["viewer"], kinds={"main_road": 1}, seed=1).status_code == 403


def _checkin(http, key, point, lon, lat, crs=None, inspector=None):
    body = {"point": point, "lon": lon, "lat": lat, **({"crs": crs} if crs else {}),
            **({"inspector": inspector} if inspector else {})}
    r = http.post("/api/eval-samples/checkin", json=body, headers={"X-API-Key": key})
    assert r.status_code == 200, r.text
    return r.json()


def test_assignment_and_checkin_inside_outside_with_gcj02(points, http, api_keys) -> None:
    drawn = _draw(http, api_keys["inspector"], kinds={"main_road": 2}, seed=3).json()
    r = http.post(f"/api/eval-samples/draws/{drawn['id']}/assign", json={"inspectors": ["张三"]},
                  headers={"X-API-Key": api_keys["planner"]})
    assert r.status_code == 200 and {a["inspector"] for a in r.json()["assignments"]} == {"张三"}
    code = drawn["points"][0]["code"]
    lon, lat = drawn["points"][0]["lon"], drawn["points"][0]["lat"]
    # The phone's GCJ-02 reading of a spot 20 m east of the point: inside its 50 m.
    gx, gy = gcrs.transform([lon + 20 / 95_000], [lat], gcrs.STORAGE, "GCJ02")
    ok = _checkin(http, api_keys["inspector"], code, float(gx[0]), float(gy[0]), "GCJ02", "张三")
    assert ok["inside"] and ok["rule"] == "radius" and 15 < ok["distance_m"] < 25 and ok["assigned"]
    # The storage coordinates sent as if they were GCJ-02: ~500 m off in Shanghai, outside.
    off = _checkin(http, api_keys["inspector"], code, lon, lat, "GCJ02", "李四")
    assert not off["inside"] and off["distance_m"] > 300 and not off["assigned"]
    rows = points.execute("SELECT inspector, inside FROM eval_sample_checkins ORDER BY id").fetchall()
    assert rows == [("张三", True), ("李四", False)]


def test_checkin_against_a_polygon(points, http, api_keys) -> None:
    gx, gy = gcrs.transform([121.4518], [31.3013], gcrs.STORAGE, "GCJ02")   # a corner of the market
    inside = _checkin(http, api_keys["inspector"], "SC01", float(gx[0]), float(gy[0]), "GCJ02")
    assert inside["inside"] and inside["rule"] == "polygon" and inside["distance_m"] == 0
    outside = _checkin(http, api_keys["inspector"], "SC01", 121.4530, 31.3013)
    assert not outside["inside"] and 80 < outside["distance_m"] < 110
