"""Batch geocoding: CSV, NDJSON, plain lines or Excel in; one answer per input row out, in input order,
streamed in chunks (the grid hierarchy of a chunk's points is located in one vectorised call).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
import psycopg

from geocoder.answer import grids_for, segments_of, storage_coords
from geocoder.index import ReferenceIndex
from geocoder.match import geocode
from gis import crs as gcrs
from gis.errors import InvalidInput
from gis.grids.locate import IndexCache as GridIndexes
from gis.security import scope
from gis.security.scope import Area

#: Column names that hold the address (first match wins), and the id column.
ADDRESS_COLUMNS = ("address", "q", "query", "addr", "地址", "address_text", "text", "标准地址", "位置描述")
ID_COLUMNS = ("id", "ID", "编号", "序号")
CHUNK = 500
CSV_FIELDS = ["id", "query", "lon", "lat", "standard_address", "match_level", "confidence",
              "district", "street", "community", "unit_grid", "eval_grid"]


def detect_format(content_type: str | None, name: str | None, head: bytes) -> str:
    """'ndjson', 'csv' or 'xlsx' from a content type, a file name or the first bytes."""
    ct = (content_type or "").lower()
    nm = (name or "").lower()
    if "spreadsheet" in ct or nm.endswith((".xlsx", ".xlsm")) or head[:2] == b"PK":
        return "xlsx"
    if "ndjson" in ct or "jsonl" in ct or "json" in ct or nm.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    if head.lstrip()[:1] in (b"{", b'"'):
        return "ndjson"
    return "csv"


def read_rows(data: bytes, fmt: str) -> Iterator[tuple[Any, str]]:
    """(id, address) per input row; id defaults to the 1-based row number."""
    if fmt == "xlsx":
        yield from _table_rows(_xlsx_rows(data))
    elif fmt == "ndjson":
        yield from _ndjson_rows(data)
    else:
        text = data.decode("utf-8-sig", errors="replace")
        yield from _table_rows(csv.reader(io.StringIO(text)))


def _ndjson_rows(data: bytes) -> Iterator[tuple[Any, str]]:
    n = 0
    for lineno, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        n += 1
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"line {lineno} is not JSON: {exc}") from exc
        if isinstance(obj, str):
            yield n, obj
        elif isinstance(obj, dict):
            q = next((obj[k] for k in ADDRESS_COLUMNS if k in obj), None)
            if not isinstance(q, str):
                raise InvalidInput(f"line {lineno} has no address field (one of {', '.join(ADDRESS_COLUMNS[:4])})")
            yield next((obj[k] for k in ID_COLUMNS if k in obj), n), q
        else:
            raise InvalidInput(f"line {lineno} must be a JSON object or string")


def _table_rows(rows: Iterable[list[Any]]) -> Iterator[tuple[Any, str]]:
    it = iter(rows)
    first = next(it, None)
    if first is None:
        return
    header = [str(c or "").strip() for c in first]
    lowered = [h.lower() for h in header]
    addr_col = next((lowered.index(c.lower()) for c in ADDRESS_COLUMNS if c.lower() in lowered), None)
    id_col = next((lowered.index(c.lower()) for c in ID_COLUMNS if c.lower() in lowered), None)
    n = 0
    if addr_col is None:  # no header: every row is data, the address in the only/first column
        addr_col = 0
        n += 1
        yield n, str(first[0] if first else "")
    for row in it:
        if not row or all(c in (None, "") for c in row):
            continue
        n += 1
        q = row[addr_col] if addr_col < len(row) else ""
        rid = row[id_col] if id_col is not None and id_col < len(row) else n
        yield rid, "" if q is None else str(q)


def _xlsx_rows(data: bytes) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput(f"not a readable Excel file: {exc}") from exc
    for row in wb.worksheets[0].iter_rows(values_only=True):
        yield list(row)


def answers(conn: psycopg.Connection | None, rows: Iterable[tuple[Any, str]], crs: str | int | None = None, *,
            index: ReferenceIndex, chunk: int = CHUNK,
            grids: GridIndexes | None = None, area: Area | None = None) -> Iterator[dict[str, Any]]:
    """One GeoJSON Feature per row (geometry null when nothing matched), in input order. For a caller
    limited to an `area`, a row whose best match lies outside it is answered as unmatched."""
    ref = gcrs.resolve(crs)
    buf: list[tuple[Any, str]] = []
    for row in rows:
        buf.append(row)
        if len(buf) >= chunk:
            yield from _chunk(conn, index, buf, ref, grids, area)
            buf = []
    if buf:
        yield from _chunk(conn, index, buf, ref, grids, area)


def _chunk(conn: psycopg.Connection | None, index: ReferenceIndex, rows: list[tuple[Any, str]],
           ref: gcrs.CrsRef, grids: GridIndexes | None = None, area: Area | None = None) -> Iterator[dict[str, Any]]:
    results = [geocode(index, q, 1) for _, q in rows]
    best = [m[0] for _, m in results if m]
    lon, lat = storage_coords(index, best)
    if area is not None and best:
        ok = scope.points_inside(conn, area, lon, lat)
        flags = iter(ok)
        results = [(p, m if not m or next(flags) else []) for p, m in results]
        keep = [i for i, inside in enumerate(ok) if inside]
        best, lon, lat = [best[i] for i in keep], lon[keep], lat[keep]
    located = grids_for(conn, lon, lat, grids)
    out_x, out_y = gcrs.from_storage(lon, lat, ref) if len(best) else (lon, lat)
    k = 0
    for (rid, q), (parsed, matches) in zip(rows, results, strict=True):
        props: dict[str, Any] = {"id": rid, "query": q}
        if matches:
            m = matches[0]
            props.update(standard_address=m.standard_address, match_level=m.level, confidence=m.confidence,
                         segments=segments_of(parsed, m), grid=located[k])
            geom = {"type": "Point", "coordinates": [round(float(out_x[k]), 7), round(float(out_y[k]), 7)]}
            k += 1
        else:
            props.update(standard_address=None, match_level=None, confidence=0.0,
                         segments=segments_of(parsed, None), grid=None)
            geom = None
        yield {"type": "Feature", "geometry": geom, "properties": props}


def ndjson_lines(features: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for f in features:
        yield orjson.dumps(f) + b"\n"


def csv_lines(features: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    for f in features:
        p = f["properties"]
        coords = f["geometry"]["coordinates"] if f["geometry"] else ["", ""]
        grid = p.get("grid") or {}
        cell = [(grid.get(k) or {}).get("code", "") for k in ("district", "street", "community", "unit_grid",
                                                              "eval_grid")]
        writer.writerow([p["id"], p["query"], *coords, p["standard_address"] or "", p["match_level"] or "",
                         p["confidence"], *cell])
        yield buf.getvalue().encode("utf-8")
        buf.seek(0)
        buf.truncate()
