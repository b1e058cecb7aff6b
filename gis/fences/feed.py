"""The live alarm feed of this process: subscribers (SSE streams) get every alarm event once.

Events reach it two ways: directly from the ingest path of this process (lowest latency), and from
PostgreSQL LISTEN/NOTIFY for events written by other workers. Event ids are unique and increasing in the
database, so duplicates from the two paths are dropped by id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from typing import Any

import psycopg

from gis.db.engine import database_url
from gis.fences import alarms as alarm_store

log = logging.getLogger(__name__)


class Feed:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = set()
        self._seen: set[int] = set()
        self._order: deque[int] = deque()
        self._cursor = 0
        self._floor = 0   # events before the listener started are history (Last-Event-ID serves them)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._url: str | None = None

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Thread-safe: hands each unseen event to every subscriber's event loop."""
        with self._lock:
            fresh = [e for e in events if e["event_id"] not in self._seen]
            for e in fresh:
                self._seen.add(e["event_id"])
                self._order.append(e["event_id"])
                self._cursor = max(self._cursor, e["event_id"])
            while len(self._order) > 50_000:
                self._seen.discard(self._order.popleft())
            subs = list(self._subs)
        for loop, queue in subs:
            for e in fresh:
                with contextlib.suppress(RuntimeError):  # loop closed: the subscriber is gone
                    loop.call_soon_threadsafe(queue.put_nowait, e)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._subs.add((asyncio.get_running_loop(), queue))
        self._ensure_listener()
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._subs = {s for s in self._subs if s[1] is not queue}

    def _ensure_listener(self) -> None:
        url = database_url()
        with self._lock:
            if self._thread is not None and self._thread.is_alive() and self._url == url:
                return
            if self._thread is not None:
                self._stop.set()
            self._stop = threading.Event()
            self._url = url
            self._thread = threading.Thread(target=self._listen, args=(url, self._stop), daemon=True,
                                            name="alarm-feed-listener")
            self._thread.start()

    def _idle(self) -> bool:
        with self._lock:
            return not self._subs

    def _listen(self, url: str, stop: threading.Event) -> None:
        """LISTENs while anyone is subscribed; a later subscriber starts it again."""
        while not stop.is_set() and not self._idle():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {alarm_store.CHANNEL}")
                    floor = alarm_store.last_event_id(conn)
                    with self._lock:
                        self._floor = max(self._floor, floor)
                        self._cursor = max(self._cursor, floor)
                    while not stop.is_set() and not self._idle():
                        notified = False
                        for _ in conn.notifies(timeout=1.0, stop_after=1):
                            notified = True
                        if notified:
                            self._catch_up(conn)
            except psycopg.Error as exc:  # database restarting: retry while someone listens
                log.warning("alarm feed listener: %s", exc)
                stop.wait(2.0)

    def _catch_up(self, conn: psycopg.Connection) -> None:
        with self._lock:
            cursor, floor = self._cursor, self._floor
        # Events may commit out of id order: look back a little and let the seen-set drop repeats.
        events = alarm_store.events_after(conn, max(cursor - 1000, floor), limit=5000)
        if events:
            self.publish(events)


feed = Feed()
