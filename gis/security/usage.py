"""Calls per application, route template and day (数据交换 监控), counted in memory and added to the
`app_calls` table in batches: one upsert statement per flush, never a write per request.

A background thread flushes every `usage_flush_s`; `close()` flushes what is left. Counts taken while the
database is unreachable stay in memory and go with the next successful flush (a crash loses at most one
interval's counts: they are monitoring figures, not billing).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, datetime

import psycopg

from gis.settings import get_settings

log = logging.getLogger("citygrid.usage")
Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


class Usage:
    def __init__(self, connect: Connect, tz: str | None = None) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str, date]] = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        from zoneinfo import ZoneInfo

        self._tz = ZoneInfo(tz or get_settings().timezone)

    def count(self, app: str, route: str) -> None:
        """One call of `app` on `route` (a route template, so the key space stays bounded)."""
        day = datetime.now(self._tz).date()
        with self._lock:
            self._counts[(app, route, day)] += 1

    def flush(self) -> int:
        """Adds the counts so far to `app_calls`; returns the number of rows touched."""
        with self._lock:
            batch, self._counts = self._counts, Counter()
        if not batch:
            return 0
        rows = [(app, route, day, n) for (app, route, day), n in batch.items()]
        try:
            with self._connect() as conn, conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO app_calls (app, route, day, count) "
                    "SELECT * FROM unnest(%s::text[], %s::text[], %s::date[], %s::bigint[]) "
                    "ON CONFLICT (day, app, route) DO UPDATE SET count = app_calls.count + excluded.count",
                    ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]),
                )
                if not conn.autocommit:
                    conn.commit()
        except Exception:
            with self._lock:  # keep them for the next flush
                self._counts.update(batch)
            log.warning("per-application call counts not flushed; kept for the next attempt", exc_info=True)
            return 0
        return len(rows)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="citygrid-usage", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(get_settings().usage_flush_s):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def daily(conn: psycopg.Connection, since: date | None = None) -> list[dict]:
    """The daily counts (newest day first), for `citygrid keys usage` and the tests."""
    cur = conn.execute(
        "SELECT day, app, route, count FROM app_calls WHERE %s::date IS NULL OR day >= %s::date "
        "ORDER BY day DESC, app, route", (since, since),
    )
    return [{"day": r[0], "app": r[1], "route": r[2], "count": r[3]} for r in cur.fetchall()]
