"""The thin read of the OGC hot paths (api/ogc/pool.fetchone_text): parameters as text, placeholders,
statements prepared once per connection and bounded, errors mapped as for every other read."""

from __future__ import annotations

import asyncio

import pytest

from api.ogc import pool as ogc_pool
from gis.errors import InvalidInput


def _run(database_url: str, work) -> object:
    async def main() -> object:
        pool = await ogc_pool.open_pool(database_url)
        try:
            await pool.wait(timeout=10)
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def test_values_come_back_as_the_text_postgresql_sent(database_url: str) -> None:
    async def work(pool):
        return await ogc_pool.fetchone_text(
            pool, "SELECT %s::text, '%%' || %s, %s::int + 1, %s::float8 * 2, %s::text IS NULL, "
                  "(%s::text[])[2], array_length(%s::text[], 1)",
            ["it's", "x", 41, 0.25, None, ['a"b', 'c\\d,"e"', "f"], ["1", "2", "3", "4"]])

    assert _run(database_url, work) == (b"it's", b"%x", b"42", b"0.5", b"t", b'c\\d,"e"', b"4")


def test_no_row_is_none_and_a_bad_value_names_the_problem(database_url: str) -> None:
    async def work(pool):
        none = await ogc_pool.fetchone_text(pool, "SELECT 1 WHERE %s::int > 5", [3])
        with pytest.raises(InvalidInput, match="abc"):
            await ogc_pool.fetchone_text(pool, "SELECT %s::int", ["abc"])
        after = await ogc_pool.fetchone_text(pool, "SELECT %s::int", ["7"])  # the connection still serves
        return none, after

    assert _run(database_url, work) == (None, (b"7",))


def test_statements_are_prepared_once_and_the_oldest_dropped_past_the_bound(database_url: str,
                                                                            monkeypatch) -> None:
    monkeypatch.setattr(ogc_pool, "PREPARED_MAX", 3)
    count = "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'cg\\_%%'"

    async def work(pool):
        async with ogc_pool.connection(pool) as conn:  # one connection throughout
            seen = []
            for i in range(6):
                name = await ogc_pool._prepared(conn, ogc_pool._numbered(f"SELECT {i} + %s::int"))
                seen.append(name)
            again = await ogc_pool._prepared(conn, ogc_pool._numbered("SELECT 5 + %s::int"))
            cur = await conn.execute(count.replace("%%", "%"))
            n = (await cur.fetchone())[0]
            return seen, again, n

    seen, again, n = _run(database_url, work)
    assert len(set(seen)) == 6 and again == seen[5]
    assert n == 3


def test_parameters_it_cannot_send_as_text_are_refused_before_the_database(database_url: str) -> None:
    assert ogc_pool.plain(["a", 1, 2.5, None, ["x", "y"]])
    for bad in ([True], [b"raw"], [{"a": 1}], [[1, 2]]):
        assert not ogc_pool.plain(bad)

    async def work(pool):
        with pytest.raises(TypeError):
            await ogc_pool.fetchone_text(pool, "SELECT %s", [b"raw"])

    _run(database_url, work)
    with pytest.raises(ValueError, match="%s placeholders only"):
        ogc_pool._numbered("SELECT %(name)s")


def test_a_statement_dropped_or_outdated_under_it_is_prepared_again(database_url: str) -> None:
    """psycopg sends DEALLOCATE ALL when it clears its own statement cache, and a re-created table
    makes an old plan's result type wrong: the read prepares again instead of failing."""
    sql = ogc_pool._numbered("SELECT * FROM pool_text_probe WHERE %s::int > 0")

    async def work(pool):
        async with ogc_pool.connection(pool) as conn:
            await conn.execute("DROP TABLE IF EXISTS pool_text_probe")
            await conn.execute("CREATE TABLE pool_text_probe AS SELECT 1 AS a")
            first = (await ogc_pool._run_prepared(conn, sql, [b"1"])).get_value(0, 0)
            await conn.execute("DEALLOCATE ALL")
            second = (await ogc_pool._run_prepared(conn, sql, [b"1"])).get_value(0, 0)
            await conn.execute("DROP TABLE pool_text_probe")
            await conn.execute("CREATE TABLE pool_text_probe AS SELECT 'two'::text AS a, 3 AS b")
            third = await ogc_pool._run_prepared(conn, sql, [b"1"])
            await conn.execute("DROP TABLE pool_text_probe")
            return first, second, (third.get_value(0, 0), third.get_value(0, 1))

    assert _run(database_url, work) == (b"1", b"1", (b"two", b"3"))


def test_a_name_left_prepared_but_unrecorded_is_replaced(database_url: str) -> None:
    """A prepare whose answer was never read (a cancelled request) leaves its name on the server."""
    async def work(pool):
        async with ogc_pool.connection(pool) as conn:
            first = await ogc_pool._prepared(conn, ogc_pool._numbered("SELECT 'old' WHERE %s::int > 0"))
            known = getattr(conn, ogc_pool._PREPARED_ATTR)
            known.names.clear()
            known.made = 0  # as if that prepare had never been recorded
            sql = ogc_pool._numbered("SELECT 'new' WHERE %s::int > 0")
            second = (first, await ogc_pool._prepared(conn, sql))
            return second, (await ogc_pool._run_prepared(conn, sql, [b"1"])).get_value(0, 0)

    (first, second), value = _run(database_url, work)
    assert first == second == b"cg_0" and value == b"new"
