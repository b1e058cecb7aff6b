"""Client addresses behind reverse proxies (`CITYGRID_TRUSTED_PROXIES`): X-Forwarded-For is believed only
from a trusted proxy, and then its right-most hop that is not a trusted proxy is the client — for the
lock-out after failed attempts (against the real server) and the audit's `remote`.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest

from api.clientaddr import client_address
from gis.settings import Settings, get_settings


@pytest.fixture
def trusting(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server's peer (127.0.0.1) is a trusted proxy; three failures lock a client out."""
    monkeypatch.setattr(get_settings(), "trusted_proxies", ["127.0.0.1/32", "10.0.0.0/8"])
    monkeypatch.setattr(get_settings(), "auth_max_failures", 3)


def test_the_right_most_untrusted_hop_is_the_client(trusting: None) -> None:
    assert client_address("127.0.0.1", ["203.0.113.7"]) == "203.0.113.7"
    # the client writes what it likes on the left; our proxies append on the right
    assert client_address("127.0.0.1", ["1.2.3.4, 203.0.113.7, 10.1.2.3"]) == "203.0.113.7"
    assert client_address("127.0.0.1", ["1.2.3.4", "203.0.113.7"]) == "203.0.113.7"  # the header twice
    assert client_address("127.0.0.1", ["10.0.0.5, 10.0.0.6"]) == "10.0.0.5"        # all trusted: the left-most
    assert client_address("127.0.0.1", []) == "127.0.0.1"
    assert client_address("198.51.100.9", ["203.0.113.7"]) == "198.51.100.9"        # not from a proxy: ignored


def test_without_trusted_proxies_the_header_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "trusted_proxies", [])
    assert client_address("127.0.0.1", ["203.0.113.7"]) == "127.0.0.1"


def test_the_setting_reads_a_list_of_cidr_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYGRID_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "127.0.0.1/32"]
    monkeypatch.setenv("CITYGRID_TRUSTED_PROXIES", "10.0.0.300/8")
    with pytest.raises(ValueError, match=r"10\.0\.0\.300/8"):
        Settings()


def _whoami(http: httpx.Client, key: str, forwarded: str | None) -> int:
    headers = {"X-API-Key": key, **({"X-Forwarded-For": forwarded} if forwarded else {})}
    return http.get("/api/auth/whoami", headers=headers).status_code


def test_lock_out_is_per_forwarded_client_behind_a_trusted_proxy(trusting: None, http: httpx.Client,
                                                                 api_keys: dict[str, str]) -> None:
    for _ in range(3):
        assert _whoami(http, "wrong-key", "203.0.113.7") == 401
    assert _whoami(http, api_keys["viewer"], "203.0.113.7") == 429                 # that client is locked out
    assert _whoami(http, api_keys["viewer"], "6.6.6.6, 203.0.113.7") == 429        # a forged left hop: still it
    assert _whoami(http, api_keys["viewer"], "203.0.113.8") == 200                 # the others behind the proxy
    assert _whoami(http, api_keys["viewer"], None) == 200                          # the proxy itself too


def test_without_the_setting_everyone_behind_the_proxy_shares_one_address(http: httpx.Client,
                                                                          api_keys: dict[str, str],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "auth_max_failures", 3)
    for _ in range(3):
        assert _whoami(http, "wrong-key", "203.0.113.7") == 401
    assert _whoami(http, api_keys["viewer"], "203.0.113.8") == 429  # (why the setting exists)


def test_the_audit_records_the_forwarded_client(trusting: None, http: httpx.Client, api_keys: dict[str, str],
                                                db: psycopg.Connection) -> None:
    ring = [[121.40, 31.30], [121.401, 31.30], [121.401, 31.301], [121.40, 31.30]]
    fence = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
             "properties": {"name": "代理测试", "kind": "forbidden"}}
    r = http.post("/api/fences", json=fence, headers={"X-API-Key": api_keys["planner"],
                                                       "X-Forwarded-For": "6.6.6.6, 203.0.113.9"})
    assert r.status_code == 201, r.text
    remote = db.execute("SELECT remote FROM audit_log WHERE action LIKE 'POST /api/fences%%' ORDER BY id DESC "
                        "LIMIT 1").fetchone()[0]
    assert str(remote).split("/")[0] == "203.0.113.9"
