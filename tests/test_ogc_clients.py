"""Real OGC clients against the real server: GDAL's OAPIF driver (`ogrinfo` from gdal-bin) and
OWSLib's `Features`. A CQL2 filter sent by OWSLib gives the answer of the equivalent SQL."""

from __future__ import annotations

import re
import shutil
import subprocess

import httpx
import psycopg
import pytest
from ogc_data import COLLECTION_IDS, components, load

pytestmark = pytest.mark.clients


@pytest.fixture
def server(clean_db: str, live_server: str) -> str:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return live_server


def ogrinfo(*args: str) -> str:
    exe = shutil.which("ogrinfo")
    if exe is None:
        pytest.fail("ogrinfo (gdal-bin) is not installed")
    out = subprocess.run([exe, "-ro", *args], capture_output=True, text=True, timeout=120,
                         env={"GDAL_HTTP_TIMEOUT": "30", "CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gdal_lists_every_collection(server: str) -> None:
    out = ogrinfo(f"OAPIF:{server}/ogc")
    layers = set(re.findall(r"^\d+: (\w+)", out, re.M))
    assert layers == COLLECTION_IDS


def test_gdal_reads_the_moving_features_collection_as_a_table_of_vehicles(server: str) -> None:
    out = ogrinfo(f"OAPIF:{server}/ogc", "vehicle_tracks")
    assert len(re.findall(r"^OGRFeature\(vehicle_tracks\)", out, re.M)) == 1   # the one vehicle with fixes
    assert "沪A00001" in out


def test_gdal_reads_feature_count_and_pages_to_the_end(server: str) -> None:
    summary = ogrinfo("-so", f"OAPIF:{server}/ogc", "components")
    assert re.search(r"Feature Count: 25\b", summary)
    full = ogrinfo("-oo", "PAGE_SIZE=7", f"OAPIF:{server}/ogc", "components")
    ids = re.findall(r"^\s+id \(String\) = (\d+)", full, re.M)
    assert sorted(ids) == sorted(c[0] for c in components())
    assert "上水井盖00" in full


def test_gdal_honours_bbox_and_attribute_filter(server: str) -> None:
    spat = ogrinfo("-spat", "121.4095", "31.3095", "121.4125", "31.3125", f"OAPIF:{server}/ogc", "components")
    assert len(re.findall(r"^OGRFeature\(components\)", spat, re.M)) == 4
    where = ogrinfo("-where", "major = '03' AND minor = '02'", f"OAPIF:{server}/ogc", "components")
    assert len(re.findall(r"^OGRFeature\(components\)", where, re.M)) == 4
    assert "垃圾箱" in where and "上水井盖" not in where


def test_owslib_reads_collections_queryables_and_items(server: str, db: psycopg.Connection) -> None:
    from owslib.ogcapi.features import Features

    api = Features(f"{server}/ogc")
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids == COLLECTION_IDS
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in api.conformance()["conformsTo"]
    queryables = api.collection_queryables("components")
    assert queryables["properties"]["major"]["type"] == "string"
    page = api.collection_items("components", limit=5)
    assert page["numberMatched"] == 25 and len(page["features"]) == 5
    text = "major = '03' AND name LIKE '垃圾%'"
    filtered = api.collection_items("components", filter=text, limit=100)
    expected = sorted(r[0] for r in db.execute("SELECT id FROM components WHERE major = '03' AND name LIKE '垃圾%'"))
    assert sorted(f["id"] for f in filtered["features"]) == expected and expected


def test_plain_http_cql2_json_matches_sql(server: str, db: psycopg.Connection) -> None:
    body = '{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[121.411,31.311,121.4155,31.3155]}]}'
    r = httpx.get(f"{server}/ogc/collections/components/items",
                  params={"filter": body, "filter-lang": "cql2-json", "limit": 100})
    expected = sorted(r[0] for r in db.execute(
        "SELECT id FROM components "
        "WHERE ST_Intersects(geom, ST_MakeEnvelope(121.411, 31.311, 121.4155, 31.3155, 4490))"))
    assert sorted(f["id"] for f in r.json()["features"]) == expected and len(expected) == 4


def test_a_feature_written_through_part4_is_read_back_by_gdal(server: str, api_keys: dict[str, str]) -> None:
    """OWSLib has no Part 4 client: the write is plain HTTP, the read GDAL's OAPIF driver."""
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4055, 31.3055]},
            "properties": {"code": "GDAL-1", "major": "01", "minor": "01", "description": "经第四部分写入",
                           "reported_at": "2026-04-02T10:00:00+08:00"}}
    r = httpx.post(f"{server}/ogc/collections/cases/items", json=body,
                   headers={"X-API-Key": api_keys["inspector"], "Content-Type": "application/geo+json"})
    assert r.status_code == 201, r.text
    out = ogrinfo("-where", "code = 'GDAL-1'", f"OAPIF:{server}/ogc", "cases")
    assert len(re.findall(r"^OGRFeature\(cases\)", out, re.M)) == 1
    assert "经第四部分写入" in out and "310113003001001" in out
    assert re.search(r"POINT \(121\.4055 31\.3055\)", out)
