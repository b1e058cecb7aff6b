"""Export to GeoJSON (RFC 7946, CRS84, UTF-8) and GeoPackage (any CRS), and export -> import round trips."""

from __future__ import annotations

import json

import numpy as np
import pyogrio.raw
import pytest
import shapely
from io_helpers import CID1, COMM1, GRID1, GRID2, STREET, pt, snapshot, write_geojson
from pyproj import Transformer

from gis.errors import InvalidInput
from gis.io.export import export_layer
from gis.io.load import import_file


def test_geojson_is_rfc7946_crs84_utf8(io_district_with_components, tmp_path):
    out = tmp_path / "c.geojson"
    assert export_layer(io_district_with_components, "components", out) == 2
    raw = out.read_bytes()
    assert "上水井盖".encode() in raw          # UTF-8, not \\u escapes
    doc = json.loads(raw)
    assert "crs" not in doc                  # RFC 7946: CRS84 implied
    f1, f2 = doc["features"]
    assert f1["properties"]["id"] == CID1 and f1["properties"]["unit_grid_code"] == GRID1
    assert f2["properties"]["name"] is None and f2["properties"]["unit_grid_code"] == GRID2
    assert f1["geometry"] == {"type": "Point", "coordinates": [121.31, 31.35]}


def test_geojson_refuses_other_crs(io_district_with_components, tmp_path):
    with pytest.raises(InvalidInput, match=r"GeoJSON is always CRS84 .* \.gpkg file for EPSG:4549"):
        export_layer(io_district_with_components, "components", tmp_path / "c.geojson", crs="EPSG:4549")


def test_geopackage_in_gauss_kruger(io_district_with_components, tmp_path):
    out = tmp_path / "grids.gpkg"
    assert export_layer(io_district_with_components, "unit_grids", out, crs="EPSG:4549") == 2
    meta, _, geoms, values = pyogrio.raw.read(out)
    assert meta["crs"] == "EPSG:4549" and meta["geometry_type"] == "MultiPolygon"
    codes = list(values[list(meta["fields"]).index("code")])
    assert codes == [GRID1, GRID2]
    x, y = shapely.get_coordinates(shapely.from_wkb(geoms[0])).T
    lon, lat = Transformer.from_crs("EPSG:4549", "EPSG:4490", always_xy=True).transform(x, y)
    assert lon.min() == pytest.approx(121.30, abs=1e-8) and lat.max() == pytest.approx(31.40, abs=1e-8)
    assert x.min() > 400_000 and y.min() > 3_400_000          # metres of the 120°E zone


def test_where_filter(io_district_with_components, tmp_path):
    out = tmp_path / "c.gpkg"
    assert export_layer(io_district_with_components, "components", out, where=["unit_grid_code=" + GRID2]) == 1
    assert export_layer(io_district_with_components, "components", out, where=["标识码=31011301*"]) == 2
    with pytest.raises(InvalidInput, match="no filterable column 'nope'"):
        export_layer(io_district_with_components, "components", out, where=["nope=1"])


def test_gbt_layer_round_trip(io_district_with_components, tmp_path):
    """Doorplates exported with GB/T 30428.3 names import back into an emptied layer unchanged."""
    src = write_geojson(tmp_path / "in.geojson", [
        (pt(121.32, 31.33), {"AddID": "D1", "AddName": "友谊路100号", "RoadName": "友谊路", "HouseName": "100号",
                             "SubDisCode": STREET, "CommuCode": COMM1, "ORDate": "20210305"}),
        (pt(121.33, 31.33), {"AddID": "D2", "AddName": "友谊路100弄3号", "Lane": "100弄", "HouseName": "3号"}),
    ])
    import_file(io_district_with_components, "doorplates", src)
    before = snapshot(io_district_with_components, "doorplates")
    out = tmp_path / "plates.gpkg"
    assert export_layer(io_district_with_components, "doorplates", out) == 2
    meta, *_ = pyogrio.raw.read(out)
    assert {"AddID", "AddName", "HouseName", "ORDate", "CommuCode"} <= set(meta["fields"])
    report = import_file(io_district_with_components, "doorplates", out, mode="replace")
    assert (report.deleted, report.inserted) == (2, 2)
    assert snapshot(io_district_with_components, "doorplates") == before


def test_regions_round_trip_keeps_aliases_and_dates(io_district_with_components, tmp_path):
    io_district_with_components.execute(
        "UPDATE admin_areas SET alias = '{友谊,友谊街道}', or_date = '2001-02-03' WHERE code = %s", [STREET])
    out = tmp_path / "regions.geojson"
    export_layer(io_district_with_components, "regions", out)
    props = {f["properties"]["AddID"]: f["properties"] for f in json.loads(out.read_text())["features"]}
    assert props[STREET]["Alias"] == "{友谊/友谊街道}" and props[STREET]["ORDate"] == "20010203"


def test_vehicles_without_geometry(io_district_with_components, tmp_path):
    io_district_with_components.execute("INSERT INTO vehicles (id, plate, kind) VALUES ('V1', '沪A12345', 'muck')")
    out = tmp_path / "v.gpkg"
    assert export_layer(io_district_with_components, "vehicles", out) == 1
    meta, _, _geoms, values = pyogrio.raw.read(out)
    assert meta["geometry_type"] is None and list(values[1]) == ["沪A12345"]
    io_district_with_components.execute("DELETE FROM vehicles")
    assert import_file(io_district_with_components, "vehicles", out).inserted == 1
    assert io_district_with_components.execute("SELECT id, plate, kind FROM vehicles").fetchone() == \
        ("V1", "沪A12345", "muck")


def test_cli_export(io_district_with_components, tmp_path):
    from typer.testing import CliRunner

    from gis.cli import create_app

    app = create_app()

    out = tmp_path / "grids.gpkg"
    res = CliRunner().invoke(app, ["export", "unit_grids", str(out), "--crs", "LOCAL:SH", "--where",
                                   f"code={GRID1}"])
    assert res.exit_code == 0, res.output
    assert "unit_grids: 1 features written" in res.output
    meta, _, geoms, _ = pyogrio.raw.read(out)
    from pyproj import CRS

    from gis.crs import resolve

    assert CRS.from_user_input(meta["crs"]).equals(resolve("LOCAL:SH").proj, ignore_axis_order=True)
    x, y = shapely.get_coordinates(shapely.from_wkb(geoms[0])).T
    assert np.abs(x).max() < 50_000 and np.abs(y).max() < 50_000     # metres around People's Square
