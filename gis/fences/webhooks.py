"""Alarm webhooks: every alarm event to every subscribed system, once, in order, across restarts.

How the guarantees are kept:

- **In order**: a subscription has one cursor (`last_event_id`) and events go out strictly in
  `alarm_events.id` order; a failing event blocks the ones after it (all vehicles: the order per vehicle
  holds a fortiori) until it is delivered or dead-lettered.
- **Every one, across restarts of either side**: the cursor is in the database and moves only after the
  receiver answered 2xx; a receiver that is down gets retries with doubling delays (`webhook_retry_s` up
  to `webhook_retry_max_s`) and then the backlog, in order. An event that keeps failing for
  `webhook_max_age_s` goes to `webhook_dead_letters` and the cursor moves past it (the list is there to
  replay from).
- **Once**: the cursor advances in the same transaction that holds the subscription's row lock (`FOR
  UPDATE SKIP LOCKED`: two server processes never deliver the same subscription at once). If a process
  dies between the receiver's 2xx and the commit, that event is sent again: each request carries
  `X-CityGrid-Event-Id`, by which a receiver drops the repeat (at-least-once on the wire, once in effect).
- **Commit lag**: ids are taken at insert, so an event may commit after a higher id; only events older
  than `LAG_S` are delivered, so the cursor never passes one still in flight.

Each POST body is the event (`{"event_id", "op", …alarm}`) as JSON, signed with the subscription's
secret: `X-CityGrid-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from typing import Any

import httpx
import psycopg
from prometheus_client import Counter, Histogram

from gis.errors import DatabaseUnavailable
from gis.settings import get_settings

log = logging.getLogger("citygrid.webhooks")
LAG_S = 2.0
BATCH = 200

DELIVERED = Counter("citygrid_webhook_delivered_total", "Alarm events delivered to webhooks")
FAILED = Counter("citygrid_webhook_failed_attempts_total", "Failed webhook delivery attempts")
DEAD = Counter("citygrid_webhook_dead_letters_total", "Alarm events dead-lettered")
LATENCY = Histogram("citygrid_webhook_seconds", "Webhook delivery latency",
                    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10))


def sign(secret: str, body: bytes) -> str:
    """The `X-CityGrid-Signature` value of `body` (receivers compute the same and compare)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _due(conn: psycopg.Connection) -> list[int]:
    rows = conn.execute("SELECT id FROM webhook_subscriptions WHERE active AND next_attempt_at <= now() "
                        "ORDER BY id").fetchall()
    return [r[0] for r in rows]


def _events(conn: psycopg.Connection, after: int, kinds: list[str], vehicles: list[str]) -> list[tuple]:
    return conn.execute(
        "SELECT id, op, payload FROM alarm_events WHERE id > %s AND at < now() - make_interval(secs => %s) "
        "ORDER BY id LIMIT %s", (after, LAG_S, BATCH)).fetchall()


def _wanted(payload: dict, kinds: list[str], vehicles: list[str]) -> bool:
    return (not kinds or payload.get("kind") in kinds) and (not vehicles or payload.get("vehicle_id") in vehicles)


def deliver_subscription(conn: psycopg.Connection, sub_id: int, client: httpx.Client) -> int:
    """Delivers what is due to one subscription (one transaction); answers the events delivered."""
    settings = get_settings()
    sent = 0
    with conn.transaction():
        row = conn.execute(
            "SELECT url, secret, kinds, vehicles, last_event_id, attempts, failing_since FROM webhook_subscriptions "
            "WHERE id = %s AND active AND next_attempt_at <= now() FOR UPDATE SKIP LOCKED", (sub_id,)).fetchone()
        if row is None:
            return 0
        url, secret, kinds, vehicles, cursor, attempts, failing_since = row
        for event_id, op, payload in _events(conn, cursor, kinds, vehicles):
            if not _wanted(payload, kinds, vehicles):
                cursor = event_id
                continue
            body = json.dumps({"event_id": event_id, "op": op, **payload}, ensure_ascii=False,
                              separators=(",", ":")).encode()
            started = time.perf_counter()
            error = None
            try:
                r = client.post(url, content=body, headers={
                    "Content-Type": "application/json", "X-CityGrid-Event-Id": str(event_id),
                    "X-CityGrid-Signature": sign(secret, body)})
                if not 200 <= r.status_code < 300:
                    error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            elapsed = time.perf_counter() - started
            LATENCY.observe(elapsed)
            if error is None:
                DELIVERED.inc()
                sent += 1
                cursor, attempts, failing_since = event_id, 0, None
                conn.execute("UPDATE webhook_subscriptions SET last_event_id = %s, attempts = 0, failing_since = NULL, "
                             "last_error = NULL, delivered = delivered + 1, last_latency_ms = %s WHERE id = %s",
                             (event_id, elapsed * 1000, sub_id))
                continue
            FAILED.inc()
            attempts += 1
            since = conn.execute("SELECT coalesce(%s::timestamptz, now())", (failing_since,)).fetchone()[0]
            too_old = conn.execute("SELECT %s::timestamptz < now() - make_interval(secs => %s)",
                                   (since, settings.webhook_max_age_s)).fetchone()[0]
            if too_old:
                DEAD.inc()
                conn.execute("INSERT INTO webhook_dead_letters (subscription_id, event_id, attempts, last_error) "
                             "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING", (sub_id, event_id, attempts, error))
                conn.execute("UPDATE webhook_subscriptions SET last_event_id = %s, attempts = 0, failing_since = NULL, "
                             "last_error = %s, dead = dead + 1, failures = failures + 1 WHERE id = %s",
                             (event_id, error, sub_id))
                cursor, attempts, failing_since = event_id, 0, None
                continue
            delay = min(settings.webhook_retry_s * 2 ** (attempts - 1), settings.webhook_retry_max_s)
            conn.execute("UPDATE webhook_subscriptions SET attempts = %s, failing_since = %s, last_error = %s, "
                         "failures = failures + 1, next_attempt_at = now() + make_interval(secs => %s) "
                         "WHERE id = %s", (attempts, since, error, delay, sub_id))
            return sent
        conn.execute("UPDATE webhook_subscriptions SET last_event_id = greatest(last_event_id, %s) WHERE id = %s",
                     (cursor, sub_id))
    return sent


def deliver_due(conn: psycopg.Connection, client: httpx.Client) -> int:
    """One pass over every due subscription."""
    return sum(deliver_subscription(conn, sub_id, client) for sub_id in _due(conn))


class Worker:
    """Delivers in a background thread of the server process (a pass every `interval_s`)."""

    def __init__(self, connect: Any, interval_s: float = 0.5) -> None:
        self.connect = connect          # () -> context manager yielding a psycopg.Connection
        self.interval_s = interval_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)

    def _loop(self) -> None:
        failing = 0
        with httpx.Client(timeout=get_settings().webhook_timeout_s) as client:
            while not self.stop.is_set():
                try:
                    with self.connect() as conn:
                        deliver_due(conn, client)
                    failing = 0
                except psycopg.errors.UndefinedTable:
                    if failing == 0:   # a database not migrated to 0012 yet: say so once, look again later
                        log.warning("webhook tables missing (run `citygrid db migrate`); delivery waits")
                    failing += 1
                except DatabaseUnavailable:  # the breaker is open: it has said so already; wait quietly
                    failing += 1
                except Exception:  # a database hiccup must not end delivery; the next passes retry, slower
                    if failing == 0:
                        log.exception("webhook delivery pass failed")
                    failing += 1
                self.stop.wait(min(self.interval_s * 2 ** min(failing, 6), 30.0))
