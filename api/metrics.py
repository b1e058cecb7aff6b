"""Prometheus counters of the operations (request latency lives in api/middleware.py).

Served at /metrics with the rest. Per worker process, as Prometheus' client library keeps them.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

FIXES = Counter("citygrid_fixes_total", "GPS fixes received by POST /api/positions", ["result"])
FIXES_REJECTED = Counter("citygrid_fixes_rejected_total", "GPS fixes rejected, by reason", ["reason"])
ALARM_EVENTS = Counter("citygrid_alarm_events_total", "Alarm events raised by the fence engine", ["kind", "op"])


def count_ingest(answer: dict[str, Any], events: list[dict[str, Any]]) -> None:
    FIXES.labels("accepted").inc(answer.get("accepted", 0))
    FIXES.labels("rejected").inc(answer.get("rejected", 0))
    for reason, n in (answer.get("reasons") or {}).items():
        FIXES_REJECTED.labels(reason).inc(n)
    for event in events:
        ALARM_EVENTS.labels(str(event.get("kind", "unknown")), str(event.get("op", "unknown"))).inc()
#: Calls per application (API keys name one; bearer tokens their client) and route template: both label sets
#: are bounded (applications are made by an administrator, routes are the app's templates).
APP_CALLS = Counter("citygrid_app_calls_total", "Requests of other systems, by application and route", ["app", "route"])
