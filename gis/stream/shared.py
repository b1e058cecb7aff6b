"""State several server processes (and machines) must share: failed-key lock-outs and per-key rate limits.

With `redis_url` set, `citygrid serve --workers N` on several machines counts failures and spends tokens
in one place, so a client locked out by one worker is locked out by all, and a key's rate limit is the
limit of the deployment, not of each worker. Each check is one round trip (a Lua script for the token
bucket, so that read-refill-spend is atomic). Without Redis the in-process limiter of `api.auth` stays.

Cache invalidation needs nothing here: the grid index, the geocoder's reference index, the fence set and
the OGC count/extent/tile caches are each tagged with a change counter in PostgreSQL (grid_changes,
ogc_changes, the fence version, the reference data version) that every process compares per request,
so a write by any process on any machine invalidates them everywhere.
"""

from __future__ import annotations

import redis

from gis.settings import get_settings
from gis.stream import fixstream

# KEYS[1] bucket; ARGV rate, burst. Time from Redis (one clock for every machine). Returns 1 if spent.
_SPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(b[1]) or burst, tonumber(b[2]) or now
tokens = math.min(burst, tokens + (now - last) * rate)
if tokens < 1 then return 0 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return 1
"""


class SharedLimits:
    """Lock-out counters and token buckets in Redis (the same semantics as the in-process limiter: a
    failure window opens at the first failure and lasts `auth_lockout_s`)."""

    def __init__(self, r: redis.Redis | None = None) -> None:
        self.r = r or fixstream.client()
        self.prefix = get_settings().stream_prefix
        self._spend = self.r.register_script(_SPEND)

    def locked(self, client: str) -> bool:
        count = self.r.get(f"{self.prefix}:authfail:{client}")
        return count is not None and int(count) >= get_settings().auth_max_failures

    def failed(self, client: str) -> None:
        key = f"{self.prefix}:authfail:{client}"
        pipe = self.r.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, get_settings().auth_lockout_s, nx=True)
        pipe.execute()

    def spend(self, key_id: int | str) -> bool:
        rate = get_settings().rate_limit_per_key
        return bool(self._spend(keys=[f"{self.prefix}:bucket:{key_id}"], args=[rate, rate * 2]))

    def reset(self) -> None:
        for pattern in ("authfail:*", "bucket:*"):
            keys = list(self.r.scan_iter(f"{self.prefix}:{pattern}"))
            if keys:
                self.r.delete(*keys)


_shared: dict[str, SharedLimits] = {}


def limits() -> SharedLimits | None:
    """The shared limits of the configured Redis, or None (in-process limits) when there is none."""
    url = get_settings().redis_url
    if not url:
        return None
    if url not in _shared:
        _shared[url] = SharedLimits(fixstream.client(url))
    return _shared[url]
