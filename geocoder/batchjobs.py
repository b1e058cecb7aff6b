"""Geocoding many addresses on Dask distributed (`citygrid batch geocode`): chunks of rows, each answered
by `geocoder.batch.answers` — the same code as `POST /api/geocode/batch` — in a worker process that loads
the reference index once: the cache is the worker's (an attribute of the Dask worker, as the server's is
on its app), checked against the reference data version for every chunk.

Not spatially partitioned: an address's place is what is being looked for. A city's reference index is
tens of MB, small enough for every worker; partitioning by the district named in the address would only
pay once the reference data of a province no longer fits one worker.
"""

from __future__ import annotations

from typing import Any

import psycopg

from geocoder.index import IndexCache


def geocode_task(db_url: str, rows: list[tuple[Any, str]], crs: str | None) -> list[dict[str, Any]]:
    from geocoder import batch

    with psycopg.connect(db_url, autocommit=True) as conn:
        return list(batch.answers(conn, rows, crs, index=_worker_indexes().get(conn)))


def _worker_indexes() -> IndexCache:
    """The index cache of the Dask worker running this task (a fresh one outside a worker)."""
    from distributed import get_worker

    try:
        worker = get_worker()
    except ValueError:  # not on a worker (a task run in-process)
        return IndexCache()
    cache = getattr(worker, "citygrid_addresses", None)
    if cache is None:
        cache = worker.citygrid_addresses = IndexCache()
    return cache


def geocode_rows(client: Any, db_url: str, rows: list[tuple[Any, str]], crs: str | None = None,
                 chunk: int = 5_000) -> list[dict[str, Any]]:
    """GeoJSON features in input order."""
    futures = [client.submit(geocode_task, db_url, rows[a:a + chunk], crs, pure=False)
               for a in range(0, len(rows), chunk)]
    out: list[dict[str, Any]] = []
    for fut in futures:
        out.extend(fut.result())
        fut.release()
    return out
