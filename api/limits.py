"""Failed-attempt lock-out per client address and a token bucket per caller: process state of the app,
held on `app.state.services.limits` (one per app, so two apps in one process — the tests, a benchmark —
do not share counters), or shared through Redis by every worker process when `redis_url` is set
(gis.stream.shared).
"""

from __future__ import annotations

import threading
import time

from gis.errors import RateLimited
from gis.settings import get_settings
from gis.stream.shared import limits


class Limiter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float]] = {}
        self._buckets: dict[str, tuple[float, float]] = {}

    def reset(self) -> None:
        if (shared := limits()) is not None:
            shared.reset()
        with self._lock:
            self._failures.clear()
            self._buckets.clear()

    def check_locked(self, client: str) -> None:
        """RateLimited while `client` has failed `auth_max_failures` times within `auth_lockout_s`."""
        settings = get_settings()
        if (shared := limits()) is not None:
            if shared.locked(client):
                raise RateLimited(f"too many failed attempts (keys, tokens or logins) from {client}; try again later")
            return
        with self._lock:
            count, since = self._failures.get(client, (0, 0.0))
            if count >= settings.auth_max_failures and time.monotonic() - since < settings.auth_lockout_s:
                raise RateLimited(f"too many failed attempts (keys, tokens or logins) from {client}; try again later")

    def failed(self, client: str) -> bool:
        """Counts a failure; True when it is the one that locks the client out (to be audited once)."""
        settings = get_settings()
        if (shared := limits()) is not None:
            shared.failed(client)
            return shared.locked(client)
        with self._lock:
            count, since = self._failures.get(client, (0, time.monotonic()))
            if time.monotonic() - since >= settings.auth_lockout_s:
                count, since = 0, time.monotonic()
            self._failures[client] = (count + 1, since)
            return count + 1 == settings.auth_max_failures

    def spend(self, bucket: str) -> None:
        """One request from the caller's bucket (`Principal.bucket`: a key, a user, a bearer subject)."""
        rate = get_settings().rate_limit_per_key
        if (shared := limits()) is not None:
            if not shared.spend(bucket):
                raise RateLimited(f"rate limit of {rate:g} requests/s for this caller exceeded")
            return
        burst = rate * 2
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(bucket, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                raise RateLimited(f"rate limit of {rate:g} requests/s for this caller exceeded")
            self._buckets[bucket] = (tokens - 1, now)
