"""A small in-process cache of layer answers, keyed by the change counters of the tables they read.

`ogc_changes` (migrations 0004, 0007) holds a counter per table that statement-level triggers bump inside
the writing transaction, so one cheap read tells whether anything a layer reads has changed. The counter
is read before the answer is computed: an entry can only be newer than its key, never older, and the
next request after a write misses and recomputes. The time of the last bump is part of the key too, so a
database restored to an older counter does not meet entries of another timeline. One `LayerCache` per app (per worker
process); bounded by bytes (least recently used entries go first).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

import psycopg

T = TypeVar("T")

#: Budget of one worker's cache.
MAX_BYTES = 128 * 1024 * 1024
#: Size assumed for answers that are not bytes (GeoJSON dicts of a few hundred features).
OBJECT_BYTES = 256 * 1024

def version(conn: psycopg.Connection, tables: Iterable[str]) -> tuple[int, Any]:
    """(sum of the tables' change counters, time of the last change) as the caller's connection sees them."""
    row = conn.execute("SELECT coalesce(sum(version), 0)::bigint, max(changed_at) FROM ogc_changes "
                       "WHERE table_name = ANY(%s)", (list(tables),)).fetchone()
    return int(row[0]), row[1]


class LayerCache:
    """Layer answers keyed by the change version of the tables they read. One per app (held on
    `app.state.services`); code without an app (CLI, reports, tests of the engines) passes none and
    computes every answer."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._used = 0
        self.stats = {"hits": 0, "misses": 0}

    def get_or_compute(self, conn: psycopg.Connection, tables: Iterable[str], key: Hashable,
                       compute: Callable[[], T]) -> T:
        """The cached answer for `key` at the tables' current version, else `compute()` stored under it."""
        info = conn.info
        full = (info.host, info.port, info.dbname, version(conn, tables), key)
        with self._lock:
            hit = self._entries.get(full)
            if hit is not None:
                self._entries.move_to_end(full)
                self.stats["hits"] += 1
                return hit[0]
        value = compute()
        size = _size(value)
        if size > self.max_bytes // 4:
            return value
        with self._lock:
            self.stats["misses"] += 1
            if full not in self._entries:
                self._entries[full] = (value, size)
                self._used += size
            while self._used > self.max_bytes and self._entries:
                _, (_, s) = self._entries.popitem(last=False)
                self._used -= s
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._used = 0


def get_or_compute(cache: LayerCache | None, conn: psycopg.Connection, tables: Iterable[str], key: Hashable,
                   compute: Callable[[], T]) -> T:
    """Through `cache` when there is one, else computed."""
    if cache is None:
        return compute()
    return cache.get_or_compute(conn, tables, key, compute)


def _size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    return OBJECT_BYTES if isinstance(value, dict | list) else sys.getsizeof(value)
