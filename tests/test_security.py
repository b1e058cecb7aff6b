"""Access control and the audit chain."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from http_auth import auth

from gis.security import audit, keys
from gis.settings import get_settings

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: The least role each write path needs; every write path of the app must be listed here.
LEAST_ROLE = {
    "/api/eval-grids/sample": "inspector",
    "/api/eval-grids/build": "planner",
    "/api/fences": "planner",
    "/api/fences/{fence_id}": "planner",
    "/api/routes": "planner",
    "/api/routes/{route_id}": "planner",
    "/api/positions": "device",
    "/api/devices/readings": "device",
    "/api/devices/sweep": "inspector",
    "/api/shops/import": "planner",
    "/api/shops/collections": "inspector",
    "/api/shops/evaluations": "inspector",
    "/api/muck/permits": "planner",
    "/api/muck/sync": "planner",
    "/api/eval-samples/draw": "inspector",
    "/api/geocode/layers": "inspector",
    "/api/geocode/layers/{name}": "inspector",
    "/api/eval-samples/draws/{draw_id}/assign": "planner",
    "/api/eval-samples/checkin": "device",
    "/api/webhooks": "planner",
    "/api/webhooks/{sub_id}": "planner",
    "/api/scenes": "planner",
    "/api/scenes/{slug}": "planner",
}
#: Writes that are reads in disguise (bulk queries sent as POST bodies): open like the GET forms.
READ_POSTS = {"/api/grids/locate", "/api/geocode/batch"}
#: Logging in proves who one is with a password instead of a key (tests/test_users.py); logging out needs a
#: login session (an API key is answered 400, tests/test_users.py).
OWN_CHECKS = {"/api/auth/login", "/api/auth/logout"}


def _write_routes() -> list[tuple[str, str]]:
    """Every write operation the OpenAPI document declares (the source of truth for clients)."""
    from api.app import create_app

    found = []
    for path, operations in create_app().openapi()["paths"].items():
        for method in operations:
            if (method.upper() in WRITE_METHODS and path not in READ_POSTS | OWN_CHECKS
                    and not path.startswith("/ogc")):
                found.append((method.upper(), path))
    return sorted(found)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_keys_are_stored_hashed(db: psycopg.Connection) -> None:
    key_id, secret = keys.create_key(db, "hash-check", "viewer")
    stored = db.execute("SELECT key_hash, prefix FROM api_keys WHERE id = %s", (key_id,)).fetchone()
    assert secret not in stored[0] and stored[0] == keys.digest(secret)
    assert keys.authenticate(db, secret).role == "viewer"


def test_unknown_role_is_refused(db: psycopg.Connection) -> None:
    with pytest.raises(Exception, match="unknown role"):
        keys.create_key(db, "x", "superuser")


@pytest.mark.parametrize("method, path", _write_routes())
def test_every_write_refuses_missing_and_wrong_keys(http: httpx.Client, api_keys: dict, method: str,
                                                    path: str) -> None:
    least = LEAST_ROLE.get(path, "admin")
    url = _concrete(path)
    assert http.request(method, url).status_code == 401
    assert http.request(method, url, headers={"X-API-Key": "cg_not-a-key"}).status_code == 401
    weaker = {"inspector": "viewer", "planner": "inspector", "admin": "planner", "device": "viewer"}[least]
    assert http.request(method, url, headers=auth(api_keys[weaker])).status_code == 403


def test_the_right_key_is_accepted_and_a_revoked_one_is_not(http: httpx.Client, db: psycopg.Connection,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A key's principal is kept `principal_cache_s` after a look-up (api/principals.py): a revocation by
    another process (the CLI) takes effect within that time."""
    monkeypatch.setattr(get_settings(), "principal_cache_s", 1.0)
    key_id, secret = keys.create_key(db, "revoke-me", "planner")
    r = http.get("/api/auth/whoami", headers=auth(secret))
    assert r.status_code == 200 and r.json()["role"] == "planner"
    keys.revoke_key(db, key_id)
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 200  # kept: within the TTL
    time.sleep(1.1)
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 401


def test_without_the_principal_cache_a_revocation_applies_at_once(http: httpx.Client, db: psycopg.Connection,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "principal_cache_s", 0)
    key_id, secret = keys.create_key(db, "revoke-me-now", "planner")
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 200
    keys.revoke_key(db, key_id)
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 401


def test_the_principal_cache_keeps_digests_not_secrets(http: httpx.Client, db: psycopg.Connection,
                                                        live_app: object) -> None:
    secret = keys.create_key(db, "cached", "viewer")[1]
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 200
    held = live_app.state.services.principals._held
    assert keys.digest(secret) in held and all(secret not in k for k in held)
    assert http.get("/api/auth/whoami", headers=auth("cg_not-a-key")).status_code == 401
    assert keys.digest("cg_not-a-key") not in held  # failures are never kept


def test_rotation_replaces_the_secret(http: httpx.Client, db: psycopg.Connection) -> None:
    key_id, old = keys.create_key(db, "rotate-me", "inspector")
    new_id, new = keys.rotate_key(db, key_id)
    assert new_id != key_id
    assert http.get("/api/auth/whoami", headers=auth(old)).status_code == 401
    assert http.get("/api/auth/whoami", headers=auth(new)).json()["role"] == "inspector"


def _fresh_chain(db: psycopg.Connection, n: int = 5) -> list[int]:
    return [audit.record(db, "tester", "test.write", "things", [str(i)], "127.0.0.1", {"i": i}) for i in range(n)]


def _tamper(db: psycopg.Connection, sql: str, *params: object) -> None:
    db.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
    try:
        db.execute(sql, params)
    finally:
        db.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


@pytest.fixture
def chain_db(own_db: Callable[..., str]) -> Iterator[psycopg.Connection]:
    """A database of its own, so tampering does not leak into other tests' audit chains."""
    with psycopg.connect(own_db(), autocommit=True) as conn:
        yield conn


def test_audit_verify_passes_on_a_clean_log(chain_db: psycopg.Connection) -> None:
    _fresh_chain(chain_db)
    result = audit.verify(chain_db)
    assert result.ok and result.checked == 5


def test_audit_verify_names_a_changed_row(chain_db: psycopg.Connection) -> None:
    ids = _fresh_chain(chain_db)
    _tamper(chain_db, "UPDATE audit_log SET actor = 'mallory' WHERE id = %s", ids[2])
    result = audit.verify(chain_db)
    assert not result.ok and any(p.startswith(f"row {ids[2]}:") for p in result.problems)


def test_audit_verify_names_a_deleted_row(chain_db: psycopg.Connection) -> None:
    ids = _fresh_chain(chain_db)
    _tamper(chain_db, "DELETE FROM audit_log WHERE id = %s", ids[1])
    result = audit.verify(chain_db)
    assert not result.ok and any(f"row {ids[2]}: chain broken after row {ids[0]}" in p for p in result.problems)


def test_audit_verify_names_an_inserted_row(chain_db: psycopg.Connection) -> None:
    ids = _fresh_chain(chain_db)
    prev = chain_db.execute("SELECT hash FROM audit_log WHERE id = %s", (ids[3],)).fetchone()[0]
    _tamper(chain_db, "INSERT INTO audit_log (id, actor, action, target, prev_hash, hash) "
            "VALUES (%s, 'mallory', 'forged', 'x', %s, %s)", ids[3] * 10 + 1000, prev, "f" * 64)
    result = audit.verify(chain_db)
    assert not result.ok and any(p.startswith(f"row {ids[3] * 10 + 1000}:") for p in result.problems)


def test_writes_through_http_are_audited(http: httpx.Client, api_keys: dict, db: psycopg.Connection) -> None:
    """A successful write leaves an entry naming the key and the path; a refused one leaves none."""
    ring = [[121.40, 31.30], [121.41, 31.30], [121.41, 31.31], [121.40, 31.31], [121.40, 31.30]]
    fence = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
             "properties": {"name": "审计测试", "kind": "forbidden"}}
    before = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    assert http.post("/api/fences", json=fence, headers=auth(api_keys["viewer"])).status_code == 403
    r = http.post("/api/fences", json=fence, headers=auth(api_keys["planner"]))
    assert r.status_code in (200, 201), r.text
    row = db.execute("SELECT actor, action, remote FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == before + 1
    assert row[0].startswith("test-planner#") and "/api/fences" in row[1] and row[2] == "127.0.0.1"


def test_repeated_bad_keys_lock_the_client_out(http: httpx.Client, api_keys: dict,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from gis.settings import get_settings

    monkeypatch.setattr(get_settings(), "auth_max_failures", 3)
    for _ in range(3):
        assert http.get("/api/auth/whoami", headers=auth("cg_wrong")).status_code == 401
    # Locked out now, even with a good key, until the lock-out expires.
    r = http.get("/api/auth/whoami", headers=auth(api_keys["viewer"]))
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"


def test_oversized_bodies_are_refused_with_413(http: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from gis.settings import get_settings

    monkeypatch.setattr(get_settings(), "max_body_bytes", 1000)
    r = http.post("/api/grids/locate", content=b"[" + b"[121.4,31.3]," * 200 + b"[121.4,31.3]]",
                  headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_requests_carry_ids_and_show_in_metrics(http: httpx.Client) -> None:
    r = http.get("/healthz", headers={"X-Request-Id": "abc123"})
    assert r.headers["x-request-id"] == "abc123"
    metrics = http.get("/metrics").text
    assert 'citygrid_request_seconds_count{method="GET",route="/healthz",status="200"}' in metrics


def test_readiness_reports_migrations(http: httpx.Client) -> None:
    body = http.get("/readyz").json()
    assert body["ready"] is True and body["migration"] == body["head"]


def test_reads_can_require_a_key(http: httpx.Client, api_keys: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    from gis.settings import get_settings

    monkeypatch.setattr(get_settings(), "read_requires_key", True)
    assert http.get("/api/codes/310113").status_code == 401
    assert http.get("/healthz").status_code == 200
    assert http.get("/api/codes/310113", headers=auth(api_keys["viewer"])).status_code != 401


def _through_writer(kind: str, url: str | None, password: str | None, entries: list[audit.Entry],
                    busy: bool = False) -> list:
    """Appends `entries` through the thread writer (CLI, imports) or the server's writer on its event loop
    (gis/security/audit_loop.py), all submitted while, if `busy`, another append holds the chain's head;
    what each caller got (its id or its error). No `url`: every connection fails."""
    import asyncio
    import contextlib

    from gis.security.audit_loop import LoopWriter

    def hold() -> psycopg.Connection:
        holder = psycopg.connect(url, password=password)
        holder.execute("SELECT 1")  # the chain is busy: an append on its head, not committed yet
        audit.append(holder, [audit.Entry("tester", "test.hold", "things")])
        return holder

    def release(holder: psycopg.Connection | None) -> None:
        if holder is not None:
            holder.rollback()
            holder.close()

    if kind == "thread":
        @contextlib.contextmanager
        def connect() -> Iterator[psycopg.Connection]:
            if url is None:
                raise psycopg.OperationalError("no database")
            with psycopg.connect(url, password=password, autocommit=True) as conn:
                yield conn

        writer = audit.Writer(connect)
        holder = hold() if busy else None
        try:
            futures = [writer.submit(entry) for entry in entries]
        finally:
            release(holder)
        got = []
        for future in futures:
            try:
                got.append(future.result(timeout=30))
            except psycopg.Error as error:
                got.append(error)
        writer.close()
        return got

    async def connect_async() -> psycopg.AsyncConnection:
        if url is None:
            raise psycopg.OperationalError("no database")
        return await psycopg.AsyncConnection.connect(url, password=password, autocommit=True)

    async def run() -> list:
        writer = LoopWriter(connect_async)
        holder = hold() if busy else None
        try:
            tasks = [asyncio.create_task(writer.append(entry)) for entry in entries]
            await asyncio.sleep(0.5 if busy else 0)  # the first batch waits on the held id; the rest queue
        finally:
            release(holder)
        got = await asyncio.gather(*tasks, return_exceptions=True)
        await writer.aclose()
        return got

    return asyncio.run(run())


@pytest.mark.parametrize("kind", ["thread", "loop"])
def test_a_writer_stores_queued_entries_in_one_commit_and_keeps_the_chain(kind: str,
                                                                          chain_db: psycopg.Connection) -> None:
    """Entries that queue while an append waits for another one on the same head go in together,
    chained in the order they were submitted, and each waiting caller learns its own id."""
    action = f"test.{kind}"
    entries = [audit.Entry("tester", action, "things", (str(i),)) for i in range(50)]
    ids = _through_writer(kind, chain_db.info.dsn, chain_db.info.password, entries, busy=True)
    assert ids == sorted(ids) and len(set(ids)) == 50
    rows = chain_db.execute(
        "SELECT ids[1], xmin::text FROM audit_log WHERE action = %s ORDER BY id", (action,)).fetchall()
    assert [r[0] for r in rows] == [str(i) for i in range(50)]
    assert len({r[1] for r in rows}) <= 2          # at most the first entry alone, then the rest in one commit
    assert audit.verify(chain_db).ok


@pytest.mark.parametrize("kind", ["thread", "loop"])
def test_a_failed_batch_reaches_every_waiting_caller(kind: str) -> None:
    got = _through_writer(kind, None, None, [audit.Entry("tester", "test.fail", "things") for _ in range(3)])
    assert len(got) == 3 and all(isinstance(r, psycopg.OperationalError) for r in got)
