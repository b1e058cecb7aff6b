"""A short-lived cache of the principals of API keys, keyed by the digest of the secret.

Every request with a key looked the key up in the database (a pooled connection and a query) before
any work. A key's principal changes only when the key is revoked or rotated, so the answer is kept for
`principal_cache_s` seconds (settings; 0 turns the cache off): a revocation (by `citygrid keys revoke`,
in another process) takes effect within that time, not at once. Only successful look-ups are kept, so an
unknown key still costs a query and still counts as a failed attempt; the secret itself is never kept,
only its SHA-256 digest, as in the database. Held on `app.state.services.principals`, per process.
"""

from __future__ import annotations

import threading
import time

from gis.security.keys import Principal
from gis.settings import get_settings

#: Keys held at most; beyond, the oldest entries go (a city has hundreds of keys, not millions).
MAX_ENTRIES = 10_000


class PrincipalCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[float, Principal]] = {}

    def get(self, digest: str) -> Principal | None:
        """The principal of the key with this digest while its entry is younger than the TTL."""
        ttl = get_settings().principal_cache_s
        kept = self._held.get(digest)
        if kept is None or ttl <= 0 or time.monotonic() - kept[0] >= ttl:
            return None
        return kept[1]

    def put(self, digest: str, principal: Principal) -> None:
        if get_settings().principal_cache_s <= 0:
            return
        with self._lock:
            if len(self._held) >= MAX_ENTRIES:
                for old in sorted(self._held, key=lambda k: self._held[k][0])[: MAX_ENTRIES // 10]:
                    del self._held[old]
            self._held[digest] = (time.monotonic(), principal)

    def clear(self) -> None:
        with self._lock:
            self._held.clear()
