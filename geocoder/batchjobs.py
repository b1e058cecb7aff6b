"""Geocoding many addresses on Dask distributed (`citygrid batch geocode`): chunks of rows, each answered
by `geocoder.batch.answers` — the same code as `POST /api/geocode/batch` — in a worker process that loads
the reference index once: the caches (addresses and grids) are the worker's (attributes of the Dask
worker, as the server's are on its app), checked against the data versions for every chunk.

What travels is bytes, not Python objects: a chunk's rows are scattered straight to a worker, and the
worker answers with the chunk's NDJSON (orjson, ~2 µs a feature) and its match count. Gathering the
features as dicts instead cost the client ~35 µs a feature just to unpickle — more than a worker spends
geocoding it — so the client, which assembles in order, was the bottleneck.

Not spatially partitioned: an address's place is what is being looked for. A city's reference index is
tens of MB, small enough for every worker; partitioning by the district named in the address would only
pay once the reference data of a province no longer fits one worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import psycopg

from geocoder.index import IndexCache
from gis.grids.locate import IndexCache as GridIndexes

#: Rows per task: big enough that the per-task costs (a connection, two version reads, a scheduler round
#: trip) vanish beside ~2–10 s of geocoding; small enough that answers stream back while others run.
CHUNK = 20_000


def geocode_task(db_url: str, rows: list[tuple[Any, str]], crs: str | None) -> tuple[bytes, int]:
    """One chunk: its answers as NDJSON lines (GeoJSON features, input order) and how many matched."""
    from geocoder import batch

    addresses, grids = _worker_caches()
    matched = 0
    lines: list[bytes] = []
    with psycopg.connect(db_url, autocommit=True) as conn:
        for f in batch.answers(conn, rows, crs, index=addresses.get(conn), grids=grids):
            matched += f["geometry"] is not None
            lines.append(orjson.dumps(f))
    lines.append(b"")
    return b"\n".join(lines), matched


def _worker_caches() -> tuple[IndexCache, GridIndexes]:
    """The address and grid index caches of the Dask worker running this task (fresh ones outside a worker)."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker (a task run in-process)
        return IndexCache(), GridIndexes()
    caches = getattr(worker, "citygrid_geocoder", None)
    if caches is None:
        caches = worker.citygrid_geocoder = (IndexCache(), GridIndexes())
    return caches


def geocode_ndjson(client: Any, db_url: str, rows: list[tuple[Any, str]], crs: str | None = None,
                   chunk: int = CHUNK) -> Iterator[tuple[bytes, int]]:
    """Per chunk in input order: its NDJSON answers and match count (a stream: write them as they come)."""
    data = client.scatter([rows[a:a + chunk] for a in range(0, len(rows), chunk)])
    futures = [client.submit(geocode_task, db_url, d, crs, pure=False) for d in data]
    for fut, d in zip(futures, data, strict=True):
        yield fut.result()
        fut.release()
        d.release()


def geocode_rows(client: Any, db_url: str, rows: list[tuple[Any, str]], crs: str | None = None,
                 chunk: int = CHUNK) -> list[dict[str, Any]]:
    """GeoJSON features in input order (for callers that want objects; the CLI streams `geocode_ndjson`)."""
    return [orjson.loads(line) for body, _ in geocode_ndjson(client, db_url, rows, crs, chunk)
            for line in body.splitlines()]
