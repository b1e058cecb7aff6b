"""The server survives PostgreSQL restarting: clean 503s while it is down, success once it is back.

Runs on a private cluster (its own data directory and port) so that restarting it disturbs no other test.
"""

from __future__ import annotations

import shutil
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


@pytest.fixture(scope="module")
def server(private_cluster: Cluster) -> Iterator[str]:
    env = {"CITYGRID_STATEMENT_TIMEOUT_MS": "5000", "CITYGRID_DB_ACQUIRE_TIMEOUT_S": "1"}
    with uvicorn_subprocess(private_cluster.url(), env) as base:
        yield base


def test_readiness_follows_the_database(private_cluster: Cluster, server: str) -> None:
    assert httpx.get(server + "/readyz", timeout=10).json()["ready"] is True
    private_cluster.stop()
    try:
        down = httpx.get(server + "/readyz", timeout=15)
        assert down.status_code == 503 and down.json()["ready"] is False
        # A request that needs the database fails cleanly, not with a 500.
        r = httpx.get(server + "/api/auth/whoami", headers={"X-API-Key": "cg_x"}, timeout=30)
        assert r.status_code == 503 and r.json()["error"] == "database_unavailable"
        assert httpx.get(server + "/healthz", timeout=5).status_code == 200
    finally:
        private_cluster.start()
    deadline = time.monotonic() + 30
    while httpx.get(server + "/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "not ready again within 30 s"
        time.sleep(0.5)
    assert httpx.get(server + "/api/auth/whoami", headers={"X-API-Key": "cg_x"}, timeout=10).status_code == 401


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
