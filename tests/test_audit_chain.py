"""The audit chain with several writers at once: server writers (group commit, one statement per batch;
the thread `audit.Writer` and the event loop's `audit_loop.LoopWriter`, each test run with both),
direct appends (the CLI's), a writer whose connection broke. Whatever the interleaving, `verify` must
pass, every stored entry must be one link of one chain (no fork, no gap in the ids), and every caller
must learn the id of exactly its own entry."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from gis.security import audit, audit_loop


@pytest.fixture
def chain_url(own_db: Callable[..., str]) -> str:
    """A database of its own, so these chains do not mix with other tests' entries."""
    return own_db()


def _connector(url: str, opened: list[psycopg.Connection] | None = None):
    @contextlib.contextmanager
    def connect() -> Iterator[psycopg.Connection]:
        with psycopg.connect(url, autocommit=True) as conn:
            if opened is not None:
                opened.append(conn)
            yield conn
    return connect


class _OnLoop:
    """A LoopWriter driven from the test's threads: its own event loop in a thread; `submit` gives a
    concurrent Future, as the thread writer's does."""

    def __init__(self, url: str, opened: list | None = None) -> None:
        async def connect() -> psycopg.AsyncConnection:
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            if opened is not None:
                opened.append(conn)
            return conn

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.writer = audit_loop.LoopWriter(connect)

    def submit(self, entry: audit.Entry):
        return asyncio.run_coroutine_threadsafe(self.writer.append(entry), self.loop)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.writer.aclose(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(params=["thread", "loop"])
def make_writer(request: pytest.FixtureRequest):
    """A server writer of either kind on a URL (connections it opens go to `opened`)."""
    def make(url: str, opened: list | None = None):
        return audit.Writer(_connector(url, opened)) if request.param == "thread" else _OnLoop(url, opened)
    make.kind = request.param
    return make


def _links(conn: psycopg.Connection) -> list[tuple[int, str, str, str]]:
    return conn.execute("SELECT id, action, prev_hash, hash FROM audit_log ORDER BY id").fetchall()


def _assert_one_chain(conn: psycopg.Connection, expected_rows: int) -> None:
    result = audit.verify(conn)
    assert result.ok, result.problems
    rows = _links(conn)
    assert len(rows) == expected_rows == result.checked
    assert [r[0] for r in rows] == list(range(rows[0][0], rows[0][0] + len(rows)))  # no gap
    assert len({r[2] for r in rows}) == len(rows)  # no two rows follow the same row: no fork
    for before, after in itertools.pairwise(rows):
        assert after[2] == before[3]


def test_several_server_writers_and_direct_appends_make_one_chain(chain_url: str, make_writer) -> None:
    writers = [make_writer(chain_url) for _ in range(3)]
    futures: list[list] = [[] for _ in writers]
    direct: list[list[int]] = [[], []]
    start = threading.Barrier(len(writers) + len(direct))

    def submit(i: int) -> None:
        start.wait()
        for n in range(150):
            futures[i].append(writers[i].submit(audit.Entry("tester", f"writer{i}", "things", (str(n),))))

    def append(i: int) -> None:
        with psycopg.connect(chain_url, autocommit=True) as conn:
            start.wait()
            for n in range(40):
                if n % 2:
                    direct[i].append(audit.record(conn, "tester", f"direct{i}", "things", [str(n)]))
                else:  # a batch of three, as partition maintenance appends its reports
                    direct[i].extend(audit.append(conn, [audit.Entry("tester", f"direct{i}", "things", (str(n),))
                                                         for _ in range(3)]))

    failures: list[BaseException] = []

    def guarded(target, i: int) -> None:   # a thread's exception is a finding, not a silent short count
        try:
            target(i)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=guarded, args=(submit, i)) for i in range(len(writers))]
    threads += [threading.Thread(target=guarded, args=(append, i)) for i in range(len(direct))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    ids = [[f.result(timeout=60) for f in fs] for fs in futures]
    for w in writers:
        w.close()

    with psycopg.connect(chain_url, autocommit=True) as conn:
        _assert_one_chain(conn, 3 * 150 + 2 * (20 + 20 * 3))
        stored = {r[0]: r[1] for r in conn.execute("SELECT id, action || ':' || ids[1] FROM audit_log")}
        for i, got in enumerate(ids):  # each caller got its own entry's id, in the order submitted
            assert [stored[x] for x in got] == [f"writer{i}:{n}" for n in range(150)]
            assert got == sorted(got)
        for i, got in enumerate(direct):
            assert all(stored[x].startswith(f"direct{i}:") for x in got) and got == sorted(got)
        # A row inserted by hand with the column's DEFAULT id lands after the chain, not inside it.
        top = conn.execute("SELECT max(id) FROM audit_log").fetchone()[0]
        assert conn.execute("SELECT nextval('audit_log_id_seq')").fetchone()[0] > top


def test_an_append_inside_a_transaction_waits_for_a_rival_and_then_follows_it(chain_url: str, make_writer) -> None:
    """An append in a caller's open transaction (partition maintenance) holds its ids until commit;
    a writer on the same head waits for it, then chains after it."""
    with psycopg.connect(chain_url) as holder:
        holder.execute("SELECT 1")
        held = audit.append(holder, [audit.Entry("tester", "held", "things")])
        writer = make_writer(chain_url)
        after = writer.submit(audit.Entry("tester", "after", "things"))
        with pytest.raises(TimeoutError):
            after.result(timeout=1)  # blocked on the uncommitted first id
        holder.commit()
    got = after.result(timeout=30)
    writer.close()
    assert got == held[0] + 1
    with psycopg.connect(chain_url, autocommit=True) as conn:
        _assert_one_chain(conn, 2)


def test_the_writer_reconnects_after_its_connection_was_closed(chain_url: str, make_writer) -> None:
    opened: list = []
    writer = make_writer(chain_url, opened)
    first = writer.submit(audit.Entry("tester", "first", "things")).result(timeout=30)
    with psycopg.connect(chain_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (opened[0].info.backend_pid,))
        second = writer.submit(audit.Entry("tester", "second", "things")).result(timeout=30)
        writer.close()
        assert second == first + 1 and len(opened) == 2
        _assert_one_chain(conn, 2)


def test_a_batch_committed_just_before_the_connection_broke_is_stored_once(
        chain_url: str, monkeypatch: pytest.MonkeyPatch, make_writer) -> None:
    """The reply to the INSERT is lost: whether it was committed is read from the chain's head."""
    calls = []
    if make_writer.kind == "thread":
        real = audit._execute

        def lost_reply(conn: psycopg.Connection, payload: str) -> None:
            calls.append(payload)
            real(conn, payload)
            if len(calls) == 1:
                raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(audit, "_execute", lost_reply)
    else:
        real_async = audit_loop._execute

        async def lost_reply_async(conn: psycopg.AsyncConnection, payload: str) -> None:
            calls.append(payload)
            await real_async(conn, payload)
            if len(calls) == 1:
                raise psycopg.OperationalError("server closed the connection unexpectedly")

        monkeypatch.setattr(audit_loop, "_execute", lost_reply_async)
    writer = make_writer(chain_url)
    got = writer.submit(audit.Entry("tester", "once", "things")).result(timeout=30)
    writer.close()
    with psycopg.connect(chain_url, autocommit=True) as conn:
        _assert_one_chain(conn, 1)
        assert _links(conn)[0][0] == got and len(calls) == 1


def test_an_append_on_an_idle_connection_without_autocommit_is_committed(chain_url: str) -> None:
    """The CLI's connections are not autocommit: the entry must be stored when `record` returns, not
    when (or if) the caller commits."""
    conn = psycopg.connect(chain_url)
    got = audit.record(conn, "tester", "cli", "things")
    conn.close()  # without commit: a rollback
    with psycopg.connect(chain_url, autocommit=True) as check:
        assert [r[0] for r in _links(check)] == [got]


def test_the_first_writers_of_a_fresh_install_share_one_whole_key(tmp_path, monkeypatch) -> None:
    """Several threads needing the audit key of an install that has none yet: every one gets the same,
    complete key (before, one could read the file half-written or fail on its O_EXCL create)."""
    import secrets
    import time

    from gis import settings as settings_module

    token_hex = secrets.token_hex

    def slow_token_hex(n: int) -> str:   # widens the window between creating the file and filling it
        time.sleep(0.05)
        return token_hex(n)

    monkeypatch.setattr(audit.secrets, "token_hex", slow_token_hex)
    monkeypatch.delenv("CITYGRID_AUDIT_KEY", raising=False)
    monkeypatch.setenv("CITYGRID_VAR_DIR", str(tmp_path))
    settings_module.get_settings.cache_clear()
    try:
        for attempt in range(5):
            (tmp_path / "secrets" / "audit.key").unlink(missing_ok=True)
            audit._key.cache_clear()   # the key is read once per process
            start = threading.Barrier(8)
            keys: list[bytes | BaseException] = []

            def take(start: threading.Barrier = start, keys: list = keys) -> None:
                start.wait()
                try:
                    keys.append(audit._key())
                except BaseException as exc:  # the failure is the finding
                    keys.append(exc)

            threads = [threading.Thread(target=take) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(set(keys)) == 1, (attempt, keys)
            assert len(keys[0]) == 64   # 32 random bytes as hex
            assert sorted(p.name for p in (tmp_path / "secrets").iterdir()) == ["audit.key"]
    finally:
        settings_module.get_settings.cache_clear()
        audit._key.cache_clear()
