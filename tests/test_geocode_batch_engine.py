"""The batch geocoding engine (geocoder/batch.py) on real PostGIS: its fast NDJSON and CSV encoders give,
byte for byte, what answering every row on its own and serialising its Feature dict gives — with repeated
addresses, ids of every JSON type, rows that match nothing, several chunks, another CRS — and each
distinct address is matched once per batch."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import psycopg
import pytest
from geocode_world import ensure_world

from geocoder import batch
from geocoder.answer import segments_of
from geocoder.index import ReferenceIndex
from geocoder.match import geocode
from gis import crs as gcrs
from gis.grids.locate import IndexCache, locate_point

ADDRESSES = ["淞滨路9号", "不存在路1号", "淞滨路7号", "宝杨小区3号楼", "淞滨路与长江路交叉口", "沃尔玛东50米",
             "上海市宝山区淞南镇淞滨路９号", "淞滨路", "宝杨小区", "北京市海淀区中关村大街1号", ""]
IDS: list[Any] = [0, "r-1", 2.5, None, {"k": [1, "二"]}, True, -7, "编号,8", 'q"9', 10**12, "x"]


def _rows() -> list[tuple[Any, str]]:
    """Every address three times over, shuffled by a fixed stride, with ids of every kind."""
    n = 3 * len(ADDRESSES)
    return [(IDS[i % len(IDS)] if i % 4 else i, ADDRESSES[(i * 7) % len(ADDRESSES)]) for i in range(n)]


def _reference(conn: psycopg.Connection, index: ReferenceIndex, rows: list[tuple[Any, str]],
               crs: str | None) -> list[dict[str, Any]]:
    """Each row answered on its own (one geocode, one grid look-up) as the Feature dict of the contract."""
    ref = gcrs.resolve(crs)
    out = []
    for rid, q in rows:
        parsed, matches = geocode(index, q, 1)
        props: dict[str, Any] = {"id": rid, "query": q}
        if matches:
            m = matches[0]
            lon, lat = index.frame.to_lonlat([m.x], [m.y])
            x, y = gcrs.from_storage(lon, lat, ref)
            props.update(standard_address=m.standard_address, match_level=m.level, confidence=m.confidence,
                         segments=segments_of(parsed, m), grid=locate_point(conn, float(lon[0]), float(lat[0]), 4490))
            geom = {"type": "Point", "coordinates": [round(float(x[0]), 7), round(float(y[0]), 7)]}
        else:
            props.update(standard_address=None, match_level=None, confidence=0.0,
                         segments=segments_of(parsed, None), grid=None)
            geom = None
        out.append({"type": "Feature", "geometry": geom, "properties": props})
    return out


@pytest.fixture
def engine(database_url: str) -> Any:
    ensure_world(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn, ReferenceIndex.load(conn), IndexCache()


@pytest.mark.parametrize("crs", [None, "GCJ02", "EPSG:4549"])
@pytest.mark.parametrize(("chunk", "memo"), [(500, batch.MEMO), (4, batch.MEMO), (4, 2), (5, 0)])
def test_ndjson_blocks_are_the_features_byte_for_byte(engine: Any, crs: str | None, chunk: int, memo: int) -> None:
    conn, index, grids = engine
    rows = _rows()
    expected = b"".join(orjson.dumps(f) + b"\n" for f in _reference(conn, index, rows, crs))
    blocks = list(batch.ndjson_blocks(conn, rows, crs, index=index, grids=grids, chunk=chunk, memo=memo))
    assert b"".join(blocks) == expected
    assert 1 <= len(blocks) <= len(rows) // 4 + 1     # one block per chunk (growing), not one piece per row
    if chunk < len(rows):
        assert len(blocks[0].splitlines()) == chunk   # the first answers come after `chunk` rows
    assert b"".join(batch.ndjson_lines(batch.answers(conn, rows, crs, index=index, grids=grids, chunk=chunk,
                                                     memo=memo))) == expected


@pytest.mark.parametrize(("chunk", "memo"), [(500, batch.MEMO), (4, 2)])
def test_csv_blocks_are_the_csv_of_the_features(engine: Any, chunk: int, memo: int) -> None:
    conn, index, grids = engine
    rows = [(str(rid), q) for rid, q in _rows()]
    expected = b"".join(batch.csv_lines(iter(_reference(conn, index, rows, None))))
    got = b"".join(batch.csv_blocks(conn, rows, None, index=index, grids=grids, chunk=chunk, memo=memo))
    assert got == expected
    parsed = list(csv.reader(io.StringIO(got.decode())))
    assert [r[0] for r in parsed[1:]] == [rid for rid, _ in rows]       # ids with commas/quotes survive


def test_each_distinct_address_is_matched_once(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    conn, index, grids = engine
    calls: list[str] = []

    def counted(ix: ReferenceIndex, q: str, limit: int = 5) -> Any:
        calls.append(q)
        return geocode(ix, q, limit)

    monkeypatch.setattr(batch, "geocode", counted)
    rows = _rows()
    lines = b"".join(batch.ndjson_blocks(conn, rows, None, index=index, grids=grids, chunk=4)).splitlines()
    assert sorted(calls) == sorted(set(ADDRESSES))
    assert [orjson.loads(x)["properties"]["id"] for x in lines] == [rid for rid, _ in rows]
    calls.clear()
    list(batch.ndjson_blocks(conn, rows, None, index=index, grids=grids, chunk=4, memo=0))
    assert len(calls) == len(rows)                   # memo=0: every row on its own (the benchmark's measure)
