"""A small in-process cache of layer answers, keyed by the change counters of the tables they read.

`ogc_changes` (migrations 0004, 0007) holds a counter per table that statement-level triggers bump inside
the writing transaction, so one cheap read tells whether anything a layer reads has changed. The counter
is read before the answer is computed: an entry can only be newer than its key, never older, and the
next request after a write misses and recomputes. The time of the last bump is part of the key too, so a
database restored to an older counter does not meet entries of another timeline. Per worker process;
bounded by bytes (least recently used entries go first).
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

_lock = threading.Lock()
_entries: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
_used = 0
stats = {"hits": 0, "misses": 0}


def version(conn: psycopg.Connection, tables: Iterable[str]) -> tuple[int, Any]:
    """(sum of the tables' change counters, time of the last change) as the caller's connection sees them."""
    row = conn.execute("SELECT coalesce(sum(version), 0)::bigint, max(changed_at) FROM ogc_changes "
                       "WHERE table_name = ANY(%s)", (list(tables),)).fetchone()
    return int(row[0]), row[1]


def get_or_compute(conn: psycopg.Connection, tables: Iterable[str], key: Hashable, compute: Callable[[], T]) -> T:
    """The cached answer for `key` at the tables' current version, else `compute()` stored under it."""
    global _used
    info = conn.info
    full = (info.host, info.port, info.dbname, version(conn, tables), key)
    with _lock:
        hit = _entries.get(full)
        if hit is not None:
            _entries.move_to_end(full)
            stats["hits"] += 1
            return hit[0]
    value = compute()
    size = _size(value)
    if size > MAX_BYTES // 4:
        return value
    with _lock:
        stats["misses"] += 1
        if full not in _entries:
            _entries[full] = (value, size)
            _used += size
        while _used > MAX_BYTES and _entries:
            _, (_, s) = _entries.popitem(last=False)
            _used -= s
    return value


def clear() -> None:
    global _used
    with _lock:
        _entries.clear()
        _used = 0


def _size(value: Any) -> int:
    if isinstance(value, bytes | bytearray):
        return len(value)
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    return OBJECT_BYTES if isinstance(value, dict | list) else sys.getsizeof(value)
