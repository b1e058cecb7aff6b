"""Point-in-time recovery (pgBackRest) on a private cluster: a restore to a time between two writes
keeps the first and not the second, and the audit chain verifies afterwards."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator

import psycopg
import pytest

from gis.db import migrate
from gis.db.cluster import Cluster
from gis.ops.pitr import Pitr
from gis.security import audit
from gis.settings import Settings
from tests.servers import free_port


@pytest.fixture(scope="module")
def pitr_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("pitr") / "cluster-home"
    cluster = Cluster(Settings(pg_data=home, pg_port=free_port(), pg_database="citygrid"))
    cluster.start()
    migrate.upgrade(cluster.url())
    yield cluster
    cluster.stop()
    shutil.rmtree(home.resolve(), ignore_errors=True)
    if home.is_symlink():
        home.unlink()


def _write(url: str, code: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES (%s, 'district', %s, "
                     "'SRID=4490;MULTIPOLYGON(((121.4 31.3,121.5 31.3,121.5 31.4,121.4 31.4,121.4 31.3)))')",
                     (code, name))
        audit.record(conn, "tester", "pitr.test", "admin_areas", [code])


def test_restore_to_a_time_between_two_writes(pitr_cluster: Cluster) -> None:
    pitr = Pitr.for_cluster(pitr_cluster)
    full = pitr.backup("full")
    assert full["type"] == "full"
    url = pitr_cluster.url()
    _write(url, "310113", "宝山区")  # the first write: kept
    time.sleep(1.1)
    with psycopg.connect(url) as conn:
        between = conn.execute("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', "
                               "'YYYY-MM-DD HH24:MI:SS.US') || '+08'").fetchone()[0]
    time.sleep(1.1)
    _write(url, "310114", "嘉定区")  # the second write: after the target, gone after the restore
    incr = pitr.backup("incr")  # an incremental backup after the target: the restore must pick the full one
    assert incr["type"] == "incr"
    pitr.archive_now()
    assert "verified" in pitr.verify()

    pitr.restore(between)
    with psycopg.connect(url) as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM admin_areas ORDER BY code")]
        chain = audit.verify(conn)
    assert codes == ["310113"]
    assert chain.ok and chain.checked == 1, chain.problems
    # The restored cluster takes writes and keeps archiving (a new timeline).
    _write(url, "310115", "浦东新区")
    pitr.archive_now()
