"""Import of each format into real PostGIS, and rejection of bad files with the database unchanged.

Fixtures are tiny files written in tmp_path (hand-made GeoJSON, pyogrio GeoPackage/Shapefile, csv CSV)
over a district drawn as squares (tests/io_helpers.py).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely
from io_helpers import (
    COMM1,
    COMM2,
    DISTRICT,
    GRID1,
    GRID2,
    STREET,
    pt,
    snapshot,
    write_geojson,
    write_ogr,
)
from pyproj import Transformer

from gis.errors import ImportRejected, InvalidInput
from gis.io.load import import_file

CID1 = "3101130101000001"   # 公用设施 / 上水井盖, in GRID1
CID2 = "3101130102000002"   # 公用设施 / 污水井盖, in GRID2



def _import(db: psycopg.Connection, layer: str, path: Path, **kw):
    return import_file(db, layer, path, **kw)


def _rejected(db, layer, path, table, **kw) -> dict[int, str]:
    """Imports a bad file, asserts the table is unchanged, returns {row: reasons joined}."""
    before = snapshot(db, table)
    with pytest.raises(ImportRejected) as exc:
        import_file(db, layer, path, **kw)
    assert snapshot(db, table) == before
    return {r["row"]: " | ".join(r["reasons"]) for r in exc.value.rows}


# -- each format -------------------------------------------------------------------------------------


def test_geojson_components_stored_in_4490_with_grids_assigned(io_district, tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        (pt(121.31, 31.35), {"标识码": CID1, "名称": "上水井盖", "主管部门": "水务局", "初始时间": "20240102"}),
        (pt(121.36, 31.35), {"标识码": CID2, "名称": "污水井盖", "源比例尺分母": 500}),
    ])
    report = _import(io_district, "components", path)
    assert (report.inserted, report.rejected, report.crs) == (2, [], "CRS84")
    rows = io_district.execute("SELECT id, major, minor, name, dept, unit_grid_code, init_date::text, scale_denom, "
                               "ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM components ORDER BY id").fetchall()
    assert rows[0][:7] == (CID1, "01", "01", "上水井盖", "水务局", GRID1, "2024-01-02")
    assert rows[1][5] == GRID2 and rows[1][7] == 500
    assert rows[0][8:] == (pytest.approx(121.31), pytest.approx(31.35), 4490)


def test_geopackage_unit_grids_in_gauss_kruger_promoted_to_multipolygon(io_district, tmp_path):
    io_district.execute("DELETE FROM unit_grids")
    to_gk = Transformer.from_crs("EPSG:4490", "EPSG:4549", always_xy=True)
    boxes = {GRID1: (121.30, 31.30, 121.35, 31.40), GRID2: (121.35, 31.30, 121.40, 31.40)}
    polys = [shapely.transform(shapely.box(*b), lambda c: np.column_stack(to_gk.transform(c[:, 0], c[:, 1])))
             for b in boxes.values()]
    path = write_ogr(tmp_path / "grids.gpkg", polys, {"code": list(boxes), "name": ["甲", "乙"]}, crs="EPSG:4549")
    report = _import(io_district, "unit_grids", path)
    assert report.inserted == 2 and report.crs == "EPSG:4549"
    rows = io_district.execute("SELECT code, community_code, GeometryType(geom), ST_XMin(geom), ST_YMax(geom) "
                               "FROM unit_grids ORDER BY code").fetchall()
    assert rows[0][:3] == (GRID1, COMM1, "MULTIPOLYGON")
    assert rows[0][3] == pytest.approx(121.30, abs=1e-8) and rows[0][4] == pytest.approx(31.40, abs=1e-8)


def test_shapefile_gbk_with_and_without_cpg(io_district, tmp_path):
    props = {"AddID": ["D1", "D2"], "AddName": ["友谊路100号", "淞滨路5弄2号"], "RoadName": ["友谊路", "淞滨路"],
             "HouseName": ["100号", "2号"], "CommuCode": [COMM1, COMM2]}
    geoms = [pt(121.32, 31.33), pt(121.45, 31.36)]
    shp = write_ogr(tmp_path / "plates.shp", geoms, props, encoding="GBK")
    assert (tmp_path / "plates.cpg").read_text().strip().upper() == "GBK"
    assert "友谊路".encode("gbk") in (tmp_path / "plates.dbf").read_bytes()
    report = _import(io_district, "doorplates", shp)
    assert report.inserted == 2 and report.encoding == "gb18030"
    rows = io_district.execute("SELECT add_name, road_name, house_num, commu_code FROM doorplates ORDER BY add_id")
    assert rows.fetchall() == [("友谊路100号", "友谊路", 100, COMM1), ("淞滨路5弄2号", "淞滨路", 2, COMM2)]
    # The same file without its .cpg: the encoding is detected from the records.
    (tmp_path / "plates.cpg").unlink()
    report = _import(io_district, "doorplates", shp, mode="replace")
    assert (report.inserted, report.deleted, report.encoding) == (2, 2, "gb18030")
    assert io_district.execute("SELECT add_name FROM doorplates ORDER BY add_id").fetchall()[1] == ("淞滨路5弄2号",)


def test_geojson_in_gbk_zones_with_a_polygon(io_district, tmp_path):
    path = write_geojson(tmp_path / "z.geojson", [
        (shapely.box(121.31, 31.31, 121.32, 31.32), {"ZoneID": "Z1", "ZoneName": "通河新村", "Alias": "{通河}",
                                                     "SubDisCode": STREET, "CommuCode": COMM1,
                                                     "CHDate": "20230615"}),
    ], encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    report = import_file(io_district, "zones", path)
    assert (report.inserted, report.encoding) == (1, "gb18030")
    assert io_district.execute("SELECT name, alias, ch_date::text, GeometryType(geom) FROM zones").fetchone() == (
        "通河新村", ["通河"], "2023-06-15", "MULTIPOLYGON")


def test_csv_lonlat_gb18030_and_gcj02(io_district, tmp_path):
    from gis.crs import wgs84_to_gcj02

    gx, gy = wgs84_to_gcj02([121.33], [31.34])
    path = tmp_path / "pois.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["POIID", "POIName", "Alias", "经度", "纬度", "ORDate"])
        w.writerow(["P1", "宝山医院", "{宝山区人民医院/区医院}", f"{gx[0]:.9f}", f"{gy[0]:.9f}", "20200131"])
    report = _import(io_district, "pois", path, crs="GCJ02")
    assert (report.inserted, report.encoding, report.crs) == (1, "gb18030", "GCJ02")
    name, alias, or_date, x, y = io_district.execute(
        "SELECT name, alias, or_date::text, ST_X(geom), ST_Y(geom) FROM pois").fetchone()
    assert (name, alias, or_date) == ("宝山医院", ["宝山区人民医院", "区医院"], "2020-01-31")
    assert x == pytest.approx(121.33, abs=1e-7) and y == pytest.approx(31.34, abs=1e-7)


def test_csv_wkt_streets_and_geojson_regions_with_parents_in_the_file(clean_db, db, tmp_path):
    regions = write_geojson(tmp_path / "regions.geojson", [
        (shapely.box(121.40, 31.30, 121.50, 31.40), {"AddID": COMM2, "AddName": "二村", "Alias": "{二村社区}"}),
        (shapely.box(121.30, 31.30, 121.50, 31.40), {"AddID": STREET, "AddName": "友谊路街道", "ORDate": "19990101"}),
        (shapely.box(121.30, 31.30, 121.50, 31.40), {"AddID": DISTRICT, "AddName": "宝山区", "OldName": "{宝山县}"}),
    ])
    assert import_file(db, "regions", regions).inserted == 3
    assert db.execute("SELECT code, level, parent_code, alias, old_name, or_date::text FROM admin_areas "
                      "ORDER BY code").fetchall() == [
        (DISTRICT, "district", None, [], ["宝山县"], None),
        (STREET, "street", DISTRICT, [], [], "1999-01-01"),
        (COMM2, "community", STREET, ["二村社区"], [], None)]
    path = tmp_path / "streets.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, delimiter=";")
        w.writerow(["StrID", "StrName", "SHousenum", "LHousenum", "SubDisCode", "WKT"])
        w.writerow(["S1", "友谊路", "1", "99", STREET, "LINESTRING (121.41 31.35, 121.49 31.35)"])
        w.writerow(["S2", "淞滨路", "2", "", "", "MULTILINESTRING ((121.45 31.31, 121.45 31.35), (121.45 31.35, "
                                                 "121.45 31.39))"])
    assert import_file(db, "streets", path).inserted == 2
    assert db.execute("SELECT str_id, s_housenum, l_housenum, street_code, GeometryType(geom), ST_NPoints(geom) "
                      "FROM streets ORDER BY str_id").fetchall() == [
        ("S1", 1, 99, STREET, "LINESTRING", 2), ("S2", 2, None, None, "LINESTRING", 3)]


def test_waste_facilities_kinds_attrs_and_coverage_and_cases_times(io_district, tmp_path):
    path = tmp_path / "wf.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "名称", "类型", "RJLJSJL", "LX", "lon", "lat", "覆盖范围"])
        w.writerow(["T1", "宝山中转站", "中转站", "300", "2", "121.36", "31.35",
                    "POLYGON ((121.30 31.30, 121.40 31.30, 121.40 31.40, 121.30 31.40, 121.30 31.30))"])
        w.writerow(["T2", "公厕一", "public_toilet", "", "", "121.31", "31.35", ""])
    assert import_file(io_district, "waste_facilities", path).inserted == 2
    assert io_district.execute("SELECT code, kind, capacity_tpd, attrs, unit_grid_code, district_code, "
                               "GeometryType(coverage) FROM waste_facilities ORDER BY code").fetchall() == [
        ("T1", "transfer_station", 300.0, {"LX": "2"}, GRID2, DISTRICT, "MULTIPOLYGON"),
        ("T2", "public_toilet", None, {}, GRID1, DISTRICT, None)]
    cases = write_geojson(tmp_path / "cases.geojson", [
        (pt(121.31, 31.35), {"major": "01", "minor": "01", "reported_at": "2024-05-01 08:30:00"}),
        (pt(121.31, 31.35), {"major": "01", "minor": "01", "reported_at": "2024-05-01T08:30:00+00:00",
                             "closed_at": "2024-04-30T00:00:00+00:00"}),
    ])
    rows = _rejected(io_district, "cases", cases, "cases")
    assert list(rows) == [2] and "is before reported_at" in rows[2]
    report = import_file(io_district, "cases", cases, keep_good=True)
    assert report.inserted == 1
    assert io_district.execute(
        "SELECT reported_at AT TIME ZONE 'UTC', unit_grid_code FROM cases").fetchone()[1] == GRID1
    assert str(io_district.execute("SELECT reported_at AT TIME ZONE 'UTC' FROM cases").fetchone()[0]) == \
        "2024-05-01 00:30:00"   # naive times are the district's local time (Asia/Shanghai)


def test_replace_refused_while_other_layers_refer(io_district, tmp_path):
    path = write_geojson(tmp_path / "r.geojson", [
        (shapely.box(121.30, 31.30, 121.50, 31.40), {"AddID": DISTRICT, "AddName": "宝山区"})])
    before = snapshot(io_district, "admin_areas")
    with pytest.raises(InvalidInput, match="cannot replace layer admin_areas"):
        import_file(io_district, "regions", path, mode="replace")
    assert snapshot(io_district, "admin_areas") == before


# -- rejections: the database is unchanged and every bad row is named -------------------------------------


def test_wrong_geometry_type(io_district, tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        (pt(121.31, 31.35), {"标识码": CID1}),
        (shapely.LineString([(121.31, 31.35), (121.32, 31.36)]), {"标识码": CID2}),
    ])
    rows = _rejected(io_district, "components", path, "components")
    assert list(rows) == [2] and "LineString geometry where the layer takes Point" in rows[2]


def test_invalid_geometry(io_district, tmp_path):
    io_district.execute("DELETE FROM unit_grids")
    bowtie = shapely.Polygon([(121.30, 31.30), (121.35, 31.40), (121.35, 31.30), (121.30, 31.40)])
    path = write_geojson(tmp_path / "g.geojson", [(shapely.box(121.35, 31.30, 121.40, 31.40), {"code": GRID2}),
                                                  (bowtie, {"code": GRID1})])
    rows = _rejected(io_district, "unit_grids", path, "unit_grids")
    assert list(rows) == [2] and "invalid geometry: Self-intersection" in rows[2]


def test_bad_codes_name_the_segment(io_district, tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        (pt(121.31, 31.35), {"标识码": "310113010100001"}),                 # 15 digits
        (pt(121.31, 31.35), {"标识码": "3101130199000001"}),                # 小类 99 not in categories
        (pt(121.31, 31.35), {"标识码": "3101140101000001"}),                # district 310114 not loaded
        (pt(121.31, 31.35), {"标识码": CID1}),                              # good
        (pt(121.31, 31.35), {"标识码": "3101130701000001"}),                # 大类 07 does not exist
    ])
    rows = _rejected(io_district, "components", path, "components")
    assert sorted(rows) == [1, 2, 3, 5]
    assert "must be 16 digits" in rows[1]
    assert "小类 segment 99 of 3101130199000001" in rows[2]
    assert "district segment 310114 of 3101140101000001" in rows[3]
    assert "大类 segment 07" in rows[5]
    grids = write_geojson(tmp_path / "g.geojson", [
        (shapely.box(121.30, 31.30, 121.31, 31.31), {"code": "310113099001001"}),   # street 099 missing
        (shapely.box(121.30, 31.30, 121.31, 31.31), {"code": "310113003009001"}),   # community 009 missing
        (shapely.box(121.41, 31.30, 121.42, 31.31), {"code": "310113003001009"}),   # lies in community 002
    ])
    rows = _rejected(io_district, "unit_grids", grids, "unit_grids")
    assert "street segment 099 of 310113099001001" in rows[1]
    assert "community segment 009 of 310113003009001" in rows[2]
    assert "lies outside its community 310113003001" in rows[3]


def test_unit_grid_code_must_match_the_position(io_district, tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [
        (pt(121.31, 31.35), {"标识码": CID1, "所在单元网格": GRID2}),
        (pt(121.36, 31.35), {"标识码": CID2, "所在单元网格": GRID2}),
    ])
    rows = _rejected(io_district, "components", path, "components")
    assert rows == {1: f"unit grid {GRID2} given for component {CID1} but its position lies in {GRID1}"}


def test_missing_required_field(io_district, tmp_path):
    path = write_geojson(tmp_path / "p.geojson", [(pt(121.31, 31.35), {"POIID": "P1", "POIName": "甲"}),
                                                  (pt(121.32, 31.35), {"POIID": "P2", "POIName": None})])
    rows = _rejected(io_district, "pois", path, "pois")
    assert rows == {2: "missing required field POIName"}
    no_column = write_geojson(tmp_path / "p2.geojson", [(pt(121.31, 31.35), {"POIID": "P1"})])
    with pytest.raises(ImportRejected, match=r"required column\(s\) name \(one of POIName"):
        import_file(io_district, "pois", no_column)


def test_wrong_crs_is_caught(io_district, tmp_path):
    # Gauss–Krüger metres declared as EPSG:4490 degrees.
    metres = write_ogr(tmp_path / "m.gpkg", [pt(500123.0, 3470000.0)], {"POIID": ["P1"], "POIName": ["甲"]},
                       crs="EPSG:4490")
    rows = _rejected(io_district, "pois", metres, "pois")
    assert "not plausible in EPSG:4490" in rows[1]
    # Degrees declared as a Gauss–Krüger zone: they land off the equator, outside China.
    degrees = write_geojson(tmp_path / "d.geojson", [(pt(121.31, 31.35), {"POIID": "P1", "POIName": "甲"})])
    rows = _rejected(io_district, "pois", degrees, "pois", crs="EPSG:4549")
    assert "EPSG:4549" in rows[1] and ("outside China" in rows[1] or "not plausible" in rows[1])
    # Plausible lon/lat, but in Beijing: far from the loaded district.
    beijing = write_geojson(tmp_path / "b.geojson", [(pt(116.40, 39.91), {"POIID": "P1", "POIName": "甲"})])
    rows = _rejected(io_district, "pois", beijing, "pois")
    assert "outside the loaded district" in rows[1]


def test_duplicates_in_file_and_against_database(io_district, tmp_path):
    first = write_geojson(tmp_path / "a.geojson", [(pt(121.31, 31.35), {"POIID": "P1", "POIName": "甲"})])
    import_file(io_district, "pois", first)
    path = write_geojson(tmp_path / "b.geojson", [(pt(121.31, 31.35), {"POIID": "P2", "POIName": "乙"}),
                                                  (pt(121.32, 31.35), {"POIID": "P2", "POIName": "丙"}),
                                                  (pt(121.33, 31.35), {"POIID": "P1", "POIName": "丁"})])
    rows = _rejected(io_district, "pois", path, "pois")
    assert rows == {2: "duplicate POIID P2 (first on row 1)",
                    3: "POIID P1 is already in the database (append mode; --mode replace reloads the layer)"}


def test_keep_good_stores_the_good_rows(io_district, tmp_path):
    path = write_geojson(tmp_path / "c.geojson", [(pt(121.31, 31.35), {"标识码": CID1}),
                                                  (pt(121.31, 31.35), {"标识码": "31011301"}),
                                                  (pt(121.36, 31.35), {"标识码": CID2})])
    report = import_file(io_district, "components", path, keep_good=True)
    assert report.inserted == 2 and [r["row"] for r in report.rejected] == [2]
    assert [r[0] for r in io_district.execute("SELECT id FROM components ORDER BY id")] == [CID1, CID2]


def test_keep_good_rejects_children_of_rejected_regions(clean_db, db, tmp_path):
    bowtie = shapely.Polygon([(121.30, 31.30), (121.50, 31.40), (121.50, 31.30), (121.30, 31.40)])
    path = write_geojson(tmp_path / "r.geojson", [
        (shapely.box(121.30, 31.30, 121.50, 31.40), {"AddID": DISTRICT, "AddName": "宝山区"}),
        (bowtie, {"AddID": STREET, "AddName": "友谊路街道"}),
        (shapely.box(121.30, 31.30, 121.40, 31.40), {"AddID": COMM1, "AddName": "一村"}),
    ])
    report = import_file(db, "regions", path, keep_good=True)
    assert report.inserted == 1
    assert {r["row"]: r["reasons"][0] for r in report.rejected} == {
        2: "invalid geometry: Self-intersection[121.4 31.35]", 3: f"its parent {STREET} was rejected"}


def test_replace_rolls_back_with_a_bad_file(io_district, tmp_path):
    good = write_geojson(tmp_path / "a.geojson", [(pt(121.31, 31.35), {"POIID": "P1", "POIName": "甲"})])
    import_file(io_district, "pois", good)
    bad = write_geojson(tmp_path / "b.geojson", [(pt(121.31, 31.35), {"POIID": "P9", "POIName": "乙"}),
                                                 (pt(0.5, 0.5), {"POIID": "P8", "POIName": "丙"})])
    rows = _rejected(io_district, "pois", bad, "pois", mode="replace")
    assert list(rows) == [2]
    assert io_district.execute("SELECT poi_id FROM pois").fetchall() == [("P1",)]
    ok = write_geojson(tmp_path / "c.geojson", [(pt(121.32, 31.35), {"POIID": "P1", "POIName": "新"})])
    report = import_file(io_district, "pois", ok, mode="replace")
    assert (report.deleted, report.inserted) == (1, 1)
    assert io_district.execute("SELECT poi_id, name FROM pois").fetchall() == [("P1", "新")]


def test_database_errors_reach_the_user_per_row(io_district, tmp_path):
    """A refusal only the database knows (here a trigger made for the test) is attributed to its row."""
    io_district.execute("""CREATE FUNCTION test_refuse_poi() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.name = '禁止' THEN RAISE EXCEPTION 'poi % refused by the test trigger', NEW.poi_id; END IF;
        RETURN NEW; END $$""")
    io_district.execute("CREATE TRIGGER test_refuse_poi BEFORE INSERT ON pois FOR EACH ROW "
                        "EXECUTE FUNCTION test_refuse_poi()")
    try:
        path = write_geojson(tmp_path / "p.geojson", [
            (pt(121.30 + i / 1000, 31.35), {"POIID": f"P{i}", "POIName": "禁止" if i in (3, 6) else "可"})
            for i in range(1, 9)])
        rows = _rejected(io_district, "pois", path, "pois")
        assert rows == {3: "poi P3 refused by the test trigger", 6: "poi P6 refused by the test trigger"}
        report = import_file(io_district, "pois", path, keep_good=True)
        assert report.inserted == 6 and [r["row"] for r in report.rejected] == [3, 6]
    finally:
        io_district.execute("DROP TRIGGER test_refuse_poi ON pois")
        io_district.execute("DROP FUNCTION test_refuse_poi()")


def test_unknown_layer_and_format(io_district, tmp_path):
    with pytest.raises(InvalidInput, match="unknown layer 'roads'"):
        import_file(io_district, "roads", tmp_path / "x.geojson")
    (tmp_path / "x.kml").write_text("<kml/>")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        import_file(io_district, "pois", tmp_path / "x.kml")


# -- the command line --------------------------------------------------------------------------------------


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    exe = Path(sys.executable).with_name("citygrid")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=120)


def test_cli_import_exit_codes(io_district, database_url, tmp_path):
    from typer.testing import CliRunner

    from gis.cli import create_app

    app = create_app()

    bad = write_geojson(tmp_path / "bad.geojson", [(pt(121.31, 31.35), {"POIID": "P1", "POIName": "甲"}),
                                                   (pt(121.31, 31.35), {"POIID": "P2"})])
    res = _cli(database_url, "import", "pois", str(bad))      # the real console script
    assert res.returncode == 1
    assert "row 2 (P2): missing required field POIName" in res.stderr and "nothing was imported" in res.stderr
    assert snapshot(io_district, "pois")[0] == 0
    runner = CliRunner()
    res = runner.invoke(app, ["import", "pois", str(bad), "--keep-good"])
    assert res.exit_code == 3 and "1 of 2 features imported" in res.output
    good = write_geojson(tmp_path / "good.geojson", [(pt(121.32, 31.35), {"POIID": "P3", "POIName": "乙"})])
    res = runner.invoke(app, ["import", "pois", str(good)])
    assert res.exit_code == 0, res.output
    assert snapshot(io_district, "pois")[0] == 2
    # Every stored import is audited (the refused one is not: it changed nothing).
    entry = io_district.execute(
        "SELECT actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert entry[0].startswith("cli:") and entry[1:3] == ("import", "pois") and entry[3]["inserted"] == 1


def test_imported_points_carry_their_h3_cell(io_district, tmp_path):
    """Heat layers aggregate on the stored cell: an import must fill it, like the demo loader does."""
    import h3

    f = write_geojson(tmp_path / "pois.geojson", [(pt(121.31, 31.35), {"POIID": "P9", "POIName": "丙"})])
    from gis.io.load import import_file

    import_file(io_district, "pois", f)
    cell = io_district.execute("SELECT h3_cell FROM pois WHERE poi_id = 'P9'").fetchone()[0]
    assert cell == int(h3.latlng_to_cell(31.35, 121.31, 15), 16)


def test_a_crs_declared_only_by_the_file_is_honoured(io_district, tmp_path):
    """A GeoPackage carrying its own CRS definition (not one we name) imports without --crs."""
    from gis.io.load import import_file

    f = write_ogr(tmp_path / "own-crs.gpkg", [pt(121.31, 31.35)], {"POIID": ["P7"], "POIName": ["丁"]},
                  crs="OGC:CRS84")
    report = import_file(io_district, "pois", f)
    assert report.inserted == 1
    x, y = io_district.execute("SELECT ST_X(geom), ST_Y(geom) FROM pois WHERE poi_id = 'P7'").fetchone()
    assert abs(x - 121.31) < 1e-9 and abs(y - 31.35) < 1e-9
