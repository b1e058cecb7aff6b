"""The server survives PostgreSQL restarting and failing over: fast, clean 503s while it is down, the
in-memory paths (locate, geocode, reverse) answering meanwhile, success once it is back, and no
acknowledged fix lost when the hot standby is promoted.

Runs on a private cluster (its own data directory and port) so that restarting it disturbs no other test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gis.db import migrate
from gis.db.cluster import Cluster
from gis.settings import Settings
from tests.servers import free_port, uvicorn_subprocess

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def private_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = tmp_path_factory.mktemp("pg") / "cluster-home"
    cluster = Cluster(Settings(pg_data=home, pg_port=free_port(), pg_database="citygrid"))
    cluster.start()
    migrate.upgrade(cluster.url())
    yield cluster
    cluster.stop()
    target = home.resolve()
    shutil.rmtree(target, ignore_errors=True)
    if home.is_symlink():
        home.unlink()


ENV = {"CITYGRID_STATEMENT_TIMEOUT_MS": "5000", "CITYGRID_DB_ACQUIRE_TIMEOUT_S": "1"}
DISTRICT = ("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310113', 'district', '宝山区', "
            "'SRID=4490;MULTIPOLYGON(((121.3 31.2,121.6 31.2,121.6 31.5,121.3 31.5,121.3 31.2)))') "
            "ON CONFLICT DO NOTHING")


@pytest.fixture(scope="module")
def server(private_cluster: Cluster) -> Iterator[str]:
    import psycopg

    with psycopg.connect(private_cluster.url(), autocommit=True) as conn:
        conn.execute(DISTRICT)
    with uvicorn_subprocess(private_cluster.url(), ENV) as base:
        yield base


def _wait_readyz(base: str, status: int, within: float = 30.0) -> dict:
    deadline = time.monotonic() + within
    while (r := httpx.get(base + "/readyz", timeout=10)).status_code != status:
        assert time.monotonic() < deadline, f"/readyz not {status} within {within:.0f} s: {r.text}"
        time.sleep(0.2)
    return r.json()


def test_readiness_follows_the_database(private_cluster: Cluster, server: str) -> None:
    """While PostgreSQL is down: database paths answer 503 + Retry-After at once, the in-memory paths
    answer from their last index marked stale, writes are refused; afterwards all works, no restart."""
    assert httpx.get(server + "/readyz", timeout=10).json()["ready"] is True
    locate = {"lon": 121.45, "lat": 31.35}
    warm = httpx.get(server + "/api/grids/locate", params=locate, timeout=10)
    assert warm.status_code == 200 and warm.json()["district"]["code"] == "310113", warm.text
    assert "x-data-stale" not in warm.headers
    assert httpx.get(server + "/api/geocode", params={"q": "宝山区"}, timeout=10).status_code == 200
    private_cluster.stop()
    try:
        down = _wait_readyz(server, 503, within=10)
        assert down["ready"] is False and down["database"] == "unreachable"
        assert "/api/grids/locate" in down["degraded"]["from_memory"]
        # A request that needs the database fails cleanly and fast (the breaker is open), not with a 500.
        started = time.monotonic()
        r = httpx.get(server + "/api/grids/census", timeout=30)
        elapsed = time.monotonic() - started
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable", r.text
        assert int(r.headers["retry-after"]) > 0
        assert elapsed <= 1.0, f"a database path took {elapsed:.2f} s to refuse"
        r = httpx.get(server + "/api/auth/whoami", headers={"X-API-Key": "cg_x"}, timeout=30)
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable"
        r = httpx.post(server + "/api/positions", headers={"X-API-Key": "cg_x"}, timeout=30,
                       json=[{"vehicle_id": "v", "ts": "2026-05-01T00:00:00Z", "lon": 121.4, "lat": 31.3}])
        assert r.status_code == 503, r.text  # writes refused, nothing half-written
        # The in-memory paths still answer, from the index loaded before, marked as maybe stale.
        r = httpx.get(server + "/api/grids/locate", params=locate, timeout=10)
        assert r.status_code == 200 and r.json() == warm.json(), r.text
        assert r.headers["x-data-stale"].startswith("as-of=")
        r = httpx.get(server + "/api/geocode", params={"q": "宝山区"}, timeout=10)
        assert r.status_code == 200 and "x-data-stale" in r.headers, r.text
        r = httpx.post(server + "/api/grids/locate", json=[[121.45, 31.35]], timeout=10)
        assert r.status_code == 200 and r.json()[0]["district"]["code"] == "310113", r.text
        assert httpx.get(server + "/healthz", timeout=5).status_code == 200
    finally:
        private_cluster.start()
    _wait_readyz(server, 200)
    assert httpx.get(server + "/api/auth/whoami", headers={"X-API-Key": "cg_x"}, timeout=10).status_code == 401
    assert httpx.get(server + "/api/grids/census", timeout=10).status_code == 200
    r = httpx.get(server + "/api/grids/locate", params=locate, timeout=10)
    assert r.status_code == 200 and "x-data-stale" not in r.headers


def test_a_restart_during_a_replay_loses_no_acknowledged_fix(private_cluster: Cluster, server: str) -> None:
    """Batches are posted while PostgreSQL stops and starts: every batch answered 200 is stored in full,
    batches refused while it was down are refused cleanly (503) and stored on retry, nothing twice."""
    import psycopg

    from gis.security.keys import create_key

    with psycopg.connect(private_cluster.url(), autocommit=True) as conn:
        conn.execute("INSERT INTO vehicles (id, kind) VALUES ('truck-r', 'household_waste') ON CONFLICT DO NOTHING")
        _, key = create_key(conn, "replayer", "device", ["truck-r"])
    headers = {"X-API-Key": key}
    t0 = 1_780_000_000  # 2026-05-28, a fixed instant: batches never overlap in time

    def batch(i: int) -> list[dict]:
        return [{"vehicle_id": "truck-r", "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 600 + k)),
                 "lon": 121.40 + (i * 60 + k) * 1e-5, "lat": 31.30, "speed_kmh": 20} for k in range(0, 60, 5)]

    acknowledged: set[int] = set()
    refused: list[int] = []
    with httpx.Client(base_url=server, headers=headers, timeout=30) as client:
        for i in range(40):
            if i == 15:
                private_cluster.stop()
            if i == 25:
                private_cluster.start()
            r = client.post("/api/positions", json=batch(i))
            if r.status_code == 200:
                assert r.json()["accepted"] == 12, r.text
                acknowledged.add(i)
            else:
                assert r.status_code == 503, r.text  # clean refusal, never a 500
                refused.append(i)
        assert refused, "the database was down for ten batches: some must have been refused"
        for i in refused:  # a client retries what was refused
            deadline = time.monotonic() + 30
            while (r := client.post("/api/positions", json=batch(i))).status_code != 200:
                assert time.monotonic() < deadline, r.text
                time.sleep(0.5)
            acknowledged.add(i)
    with psycopg.connect(private_cluster.url()) as conn:
        stored = conn.execute(
            "SELECT count(*), count(DISTINCT ts) FROM positions WHERE vehicle_id = 'truck-r'").fetchone()
    assert stored == (12 * len(acknowledged), 12 * len(acknowledged)) and len(acknowledged) == 40


def _exports_read_from_the_standby(url: str, standby_url: str, out: Path) -> None:
    """Read-only bulk work may go to the standby: the read URL lands on it, and `citygrid export` with
    CITYGRID_READS_ON_STANDBY runs there (a standby refuses writes, so any write would fail it)."""
    import psycopg

    env = {**os.environ, "DATABASE_URL": url, "CITYGRID_READS_ON_STANDBY": "1"}
    probe = ("from gis.db.engine import connect, read_url\n"
             "with connect(read_url()) as c: print(c.execute('SELECT pg_is_in_recovery()').fetchone()[0])")
    where = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == "True", where.stderr
    with psycopg.connect(url, autocommit=True) as primary:
        assert primary.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with psycopg.connect(standby_url, autocommit=True) as conn:  # flushed there, maybe not yet replayed
        deadline = time.monotonic() + 10
        while conn.execute("SELECT pg_last_wal_replay_lsn() < %s::pg_lsn", (lsn,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the standby did not replay the primary's WAL"
            time.sleep(0.1)
    done = subprocess.run([str(Path(sys.executable).with_name("citygrid")), "export", "regions", str(out)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    codes = [f["properties"]["AddID"] for f in json.loads(out.read_text(encoding="utf-8"))["features"]]
    assert codes == ["310113"], codes


def test_failover_to_the_standby_during_ingest_loses_no_acknowledged_fix(
        private_cluster: Cluster, server: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A synchronous hot standby is promoted while batches are posted (the primary crashes: immediate
    stop): the server, connected with a multi-host URL, follows it; every acknowledged fix is there."""
    import psycopg

    from gis.db.replication import create_standby, failover_url, promote
    from gis.security.keys import create_key

    home = tmp_path_factory.mktemp("standby") / "cluster-home"
    standby = Cluster(Settings(pg_data=home, pg_port=free_port(), pg_database="citygrid"))
    create_standby(private_cluster, standby, sync=True)
    try:
        with psycopg.connect(private_cluster.url(), autocommit=True) as conn:
            conn.execute("INSERT INTO vehicles (id, kind) VALUES ('truck-f', 'household_waste') "
                         "ON CONFLICT DO NOTHING")
            _, key = create_key(conn, "failover", "device", ["truck-f"])
        t0 = 1_790_000_000

        def batch(i: int) -> list[dict]:
            return [{"vehicle_id": "truck-f", "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + i * 600 + k)),
                     "lon": 121.40 + (i * 60 + k) * 1e-5, "lat": 31.30, "speed_kmh": 20} for k in range(0, 60, 5)]

        url = failover_url([private_cluster, standby])
        _exports_read_from_the_standby(url, standby.url(), tmp_path_factory.mktemp("export") / "regions.geojson")
        acknowledged: set[int] = set()
        refused: list[int] = []
        with uvicorn_subprocess(url, ENV) as base, \
                httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=30) as client:
            for i in range(30):
                if i == 10:
                    promote(standby, private_cluster)  # the primary dies (immediate stop), the standby takes over
                r = client.post("/api/positions", json=batch(i))
                if r.status_code == 200:
                    assert r.json()["accepted"] == 12, r.text
                    acknowledged.add(i)
                else:
                    assert r.status_code == 503, r.text
                    refused.append(i)
            for i in refused:
                deadline = time.monotonic() + 30
                while (r := client.post("/api/positions", json=batch(i))).status_code != 200:
                    assert time.monotonic() < deadline, r.text
                    time.sleep(0.3)
                acknowledged.add(i)
            ready = client.get("/readyz").json()
            assert ready["ready"] is True and ready["server"].endswith(f":{standby.settings.pg_port}"), ready
        with psycopg.connect(standby.url()) as conn:
            stored = conn.execute(
                "SELECT count(*), count(DISTINCT ts) FROM positions WHERE vehicle_id = 'truck-f'").fetchone()
        assert stored == (12 * 30, 12 * 30) and len(acknowledged) == 30
    finally:
        standby.stop()
        shutil.rmtree(home.resolve(), ignore_errors=True)
        if home.is_symlink():
            home.unlink()
