"""Batch geocoding: CSV, NDJSON, plain lines or Excel in; one answer per input row out, in input order,
streamed in chunks (the grid hierarchy of a chunk's points is located in one vectorised call).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from geocoder.answer import grids_for, segments_of, storage_coords
from geocoder.index import ReferenceIndex
from geocoder.match import geocode
from gis import crs as gcrs
from gis.errors import InvalidInput
from gis.grids.locate import IndexCache as GridIndexes
from gis.grids.locate import locate as locate_grids
from gis.security import scope
from gis.security.scope import Area
from gis.settings import STORAGE_SRID

#: Column names that hold the address (first match wins), and the id column.
ADDRESS_COLUMNS = ("address", "q", "query", "addr", "地址", "address_text", "text", "标准地址", "位置描述")
ID_COLUMNS = ("id", "ID", "编号", "序号")
CHUNK = 500
CHUNK_MAX = 4_000
#: Distinct addresses whose answers a batch keeps for its later rows (bounds the memory of a 10^5-row batch
#: of distinct addresses; past it, repeats are only shared within a chunk).
MEMO = 20_000
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
            index: ReferenceIndex, chunk: int = CHUNK, grids: GridIndexes | None = None,
            memo: int = MEMO, area: Area | None = None) -> Iterator[dict[str, Any]]:
    """One GeoJSON Feature per row (geometry null when nothing matched), in input order. Rows with the same
    address share their `segments` and `grid` dicts (read-only: each query is answered once per batch).
    For a caller limited to an `area`, a row whose best match lies outside it is answered as unmatched."""
    for part, found in _answered(conn, rows, crs, index, chunk, grids, memo_size=memo, area=area):
        for (rid, q), a in zip(part, found, strict=True):
            geom = None if a.coords is None else {"type": "Point", "coordinates": list(a.coords)}
            yield {"type": "Feature", "geometry": geom,
                   "properties": {"id": rid, "query": q, "standard_address": a.standard_address,
                                  "match_level": a.match_level, "confidence": a.confidence,
                                  "segments": a.segments, "grid": a.grid}}


def ndjson_blocks(conn: psycopg.Connection | None, rows: Iterable[tuple[Any, str]], crs: str | int | None = None,
                  *, index: ReferenceIndex, chunk: int = CHUNK, grids: GridIndexes | None = None,
                  memo: int = MEMO, area: Area | None = None) -> Iterator[bytes]:
    """The NDJSON of `answers` (byte for byte `ndjson_lines(answers(…))`), one block of lines per chunk.

    Why not `ndjson_lines`: a streamed answer pays a thread hand-off per piece, and a Feature dict per row
    costs more than matching it. Here each distinct address's line is serialised once, as the bytes before
    and after its id, and a row is `head + id + tail + grid + }}`; the grid part comes from the grid engine's
    vectorised encoder, one bytes object per distinct grid hierarchy in the batch (most of a line's bytes,
    so a remembered answer costs a few hundred bytes)."""
    dumps = orjson.dumps
    for part, found in _answered(conn, rows, crs, index, chunk, grids, ndjson=True, memo_size=memo, area=area):
        pieces: list[bytes] = []
        for (rid, _), a in zip(part, found, strict=True):
            pieces += (a.head, dumps(rid), a.tail, a.grid_json, b"}}\n")
        yield b"".join(pieces)


def csv_blocks(conn: psycopg.Connection | None, rows: Iterable[tuple[Any, str]], crs: str | int | None = None,
               *, index: ReferenceIndex, chunk: int = CHUNK, grids: GridIndexes | None = None,
               memo: int = MEMO, area: Area | None = None) -> Iterator[bytes]:
    """The CSV of `answers` (byte for byte `csv_lines(answers(…))`), the header then one block per chunk."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_FIELDS)
    yield buf.getvalue().encode("utf-8")
    for part, found in _answered(conn, rows, crs, index, chunk, grids, memo_size=memo, area=area):
        buf.seek(0)
        buf.truncate()
        writer.writerows([(rid, q, *a.csv_cells) for (rid, q), a in zip(part, found, strict=True)])
        yield buf.getvalue().encode("utf-8")


@dataclass(slots=True)
class _Answer:
    """What one distinct address answers, whatever the id of the row that asked."""

    coords: tuple[float, float] | None
    standard_address: str | None
    match_level: str | None
    confidence: float
    segments: dict[str, Any]
    grid: dict[str, Any] | None = None
    head: bytes = b""                 # NDJSON: the line up to the id …
    tail: bytes = b""                 # … from the query to the grid …
    grid_json: bytes = b"null"        # … and the grid (shared by the answers in the same grids)

    @property
    def csv_cells(self) -> list[Any]:
        """The CSV columns after id and query."""
        coords = list(self.coords) if self.coords is not None else ["", ""]
        grid = self.grid or {}
        cells = [(grid.get(k) or {}).get("code", "") for k in ("district", "street", "community", "unit_grid",
                                                               "eval_grid")]
        return [*coords, self.standard_address or "", self.match_level or "", self.confidence, *cells]


_FEATURE = b'{"type":"Feature","geometry":'
_NO_MATCH = b'{"type":"Feature","geometry":null,"properties":{"id":'


def _answered(conn: psycopg.Connection | None, rows: Iterable[tuple[Any, str]], crs: str | int | None,
              index: ReferenceIndex, chunk: int, grids: GridIndexes | None, ndjson: bool = False,
              memo_size: int = MEMO, area: Area | None = None) -> Iterator[tuple[list[tuple[Any, str]], list[_Answer]]]:
    """(rows, their answers) per chunk of rows. Each distinct address is matched once per batch (a list of
    complaints names the same places again and again), and the grid hierarchy of a chunk's new points is
    located in one vectorised call. Chunks grow from `chunk` rows (the first answers come soon) to
    `CHUNK_MAX` (a grid look-up costs ~5 ms whatever its size). `memo_size=0`: every row matched on its
    own (what a batch of distinct addresses costs; the benchmark's figure)."""
    ref = gcrs.resolve(crs)
    memo = _Memo(memo_size)
    buf: list[tuple[Any, str]] = []
    size = chunk
    for row in rows:
        buf.append(row)
        if len(buf) >= size:
            yield buf, _chunk(conn, index, buf, ref, grids, memo, ndjson, area)
            buf = []
            size = min(2 * size, max(chunk, CHUNK_MAX))
    if buf:
        yield buf, _chunk(conn, index, buf, ref, grids, memo, ndjson, area)


class _Memo(dict):
    """Answers of the addresses seen so far in a batch, up to `size` of them."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size
        self.grids: dict[bytes, bytes] = {}   # one bytes object per distinct grid hierarchy (NDJSON)


def _chunk(conn: psycopg.Connection | None, index: ReferenceIndex, rows: list[tuple[Any, str]],
           ref: gcrs.CrsRef, grids: GridIndexes | None, memo: _Memo, ndjson: bool,
           area: Area | None) -> list[_Answer]:
    if not memo.size:
        return _answer_all(conn, index, [q for _, q in rows], ref, grids, ndjson, memo.grids, area)
    new = [q for q in dict.fromkeys(q for _, q in rows) if q not in memo]
    fresh = dict(zip(new, _answer_all(conn, index, new, ref, grids, ndjson, memo.grids, area), strict=True))
    if len(memo) < memo.size:
        memo.update(fresh)
    return [memo.get(q) or fresh[q] for _, q in rows]


def _answer_all(conn: psycopg.Connection | None, index: ReferenceIndex, new: list[str], ref: gcrs.CrsRef,
                grids: GridIndexes | None, ndjson: bool, shared: dict[bytes, bytes],
                area: Area | None = None) -> list[_Answer]:
    """The answers of `new`, in order. NDJSON answers keep their bytes only (segments dropped) and share the
    grid bytes through `shared`. Matches outside `area` count as no match."""
    results = [geocode(index, q, 1) for q in new]
    best = [m[0] for _, m in results if m]
    lon, lat = storage_coords(index, best)
    if area is not None and best:
        ok = scope.points_inside(conn, area, lon, lat)
        flags = iter(ok)
        results = [(p, m if not m or next(flags) else []) for p, m in results]
        keep = [i for i, inside in enumerate(ok) if inside]
        best, lon, lat = [best[i] for i in keep], lon[keep], lat[keep]
    located = list(_grid_json(conn, lon, lat, grids)) if ndjson else grids_for(conn, lon, lat, grids)
    out_x, out_y = gcrs.from_storage(lon, lat, ref) if len(best) else (lon, lat)
    out: list[_Answer] = []
    k = 0
    for q, (parsed, matches) in zip(new, results, strict=True):
        if matches:
            m = matches[0]
            a = _Answer((round(float(out_x[k]), 7), round(float(out_y[k]), 7)), m.standard_address, m.level,
                        m.confidence, segments_of(parsed, m))
            grid = located[k]
            k += 1
        else:
            a = _Answer(None, None, None, 0.0, segments_of(parsed, None))
            grid = None
        if ndjson:
            _templates(a, q)
            if grid is not None:
                a.grid_json = shared.setdefault(grid, grid)
            a.segments = {}
        else:
            a.grid = grid
        out.append(a)
    return out


def _grid_json(conn: psycopg.Connection | None, lon: Any, lat: Any, grids: GridIndexes | None) -> Iterator[bytes]:
    """Each point's grid hierarchy as compact JSON (the bytes of `orjson.dumps(record)`)."""
    if not len(lon):
        return iter(())
    return locate_grids(conn, lon, lat, STORAGE_SRID, grids).json_lines()


def _templates(a: _Answer, query: str) -> None:
    """The NDJSON line of `a` as the bytes before the row's id and those between it and the grid: with the
    grid's bytes and `}}`, exactly what `orjson.dumps` makes of the Feature dict of `answers` (keys in the
    same order)."""
    if a.coords is None:
        a.head = _NO_MATCH
    else:
        geom = orjson.dumps({"type": "Point", "coordinates": list(a.coords)})
        a.head = _FEATURE + geom + b',"properties":{"id":'
    rest = orjson.dumps({"query": query, "standard_address": a.standard_address, "match_level": a.match_level,
                         "confidence": a.confidence, "segments": a.segments})
    a.tail = b"," + rest[1:-1] + b',"grid":'


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
