"""OGC API – Processes Part 1: the process list and descriptions, synchronous execution, asynchronous jobs
(status with progress, results, dismissal) kept in the database, so that a job outlives a restart of
the server — or is reported failed when the server that ran it died."""

from __future__ import annotations

import time

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient
from http_auth import auth
from ogc_data import load

POINTS = [[121.405, 31.305], [121.42, 31.305], [121.405, 31.32], [121.6, 31.6]]


@pytest.fixture
def ogc(clean_db: str, http: httpx.Client) -> httpx.Client:
    with psycopg.connect(clean_db, autocommit=True) as conn:
        load(conn)
    return http


def wait(http: httpx.Client, location: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        doc = http.get(location).json()
        if doc["status"] in ("successful", "failed", "dismissed") or time.monotonic() > deadline:
            return doc
        time.sleep(0.1)


def test_processes_are_listed_described_declared_and_linked(ogc: httpx.Client) -> None:
    ids = {p["id"] for p in ogc.get("/ogc/processes").json()["processes"]}
    assert ids == {"geocode", "reverse-geocode", "locate", "eval-grid-sample"}
    locate = ogc.get("/ogc/processes/locate").json()
    assert "points" in locate["inputs"] and "results" in locate["outputs"]
    assert "async-execute" in locate["jobControlOptions"]
    assert ogc.get("/ogc/processes/nosuch").status_code == 404
    conf = ogc.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list" in conf
    rels = {lk["rel"] for lk in ogc.get("/ogc").json()["links"]}
    ogc_rel = "http://www.opengis.net/def/rel/ogc/1.0/"
    assert {ogc_rel + "processes", ogc_rel + "job-list"} <= rels


def test_sync_locate_equals_the_locate_api(ogc: httpx.Client) -> None:
    r = ogc.post("/ogc/processes/locate/execution", json={"inputs": {"points": POINTS}})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x.get("unit_grid", {}).get("code") if x.get("unit_grid") else None for x in results] == [
        "310113003001001", "310113003001002", "310113003001003", None]
    direct = ogc.post("/api/grids/locate", json=POINTS).json()
    assert results == direct


@pytest.mark.parametrize(("body", "fragment"), [
    ({"inputs": {}}, "missing points"),
    ({"inputs": {"points": POINTS, "frob": 1}}, "unknown frob"),
    ({"inputs": {"points": [[1]]}}, "points[0]"),
    ({"inputs": {"points": []}}, "non-empty"),
    ([1, 2], "inputs"),
])
def test_bad_inputs_name_what_is_wrong(ogc: httpx.Client, body: object, fragment: str) -> None:
    r = ogc.post("/ogc/processes/locate/execution", json=body)
    assert r.status_code == 400 and fragment in r.json()["detail"], r.text


def test_async_job_reports_progress_results_and_can_be_dismissed(ogc: httpx.Client, db: psycopg.Connection) -> None:
    points = POINTS * 300   # 1,200 items: three chunks of progress
    r = ogc.post("/ogc/processes/locate/execution", json={"inputs": {"points": points}},
                 headers={"Prefer": "respond-async"})
    assert r.status_code == 201, r.text
    location = r.headers["location"]
    assert r.json()["status"] in ("accepted", "running", "successful")
    done = wait(ogc, location)
    assert done["status"] == "successful" and done["progress"] == 100
    results = ogc.get(f"{location}/results").json()["results"]
    assert len(results) == 1200 and results[1]["unit_grid"]["code"] == "310113003001002"
    listed = {j["jobID"] for j in ogc.get("/ogc/jobs").json()["jobs"]}
    assert done["jobID"] in listed
    # large inputs become a job even without Prefer
    big = ogc.post("/ogc/processes/locate/execution", json={"inputs": {"points": POINTS * 260}})
    assert big.status_code == 201
    d = ogc.delete(big.headers["location"])
    assert d.status_code == 200 and d.json()["status"] == "dismissed"
    time.sleep(0.5)
    assert wait(ogc, big.headers["location"])["status"] == "dismissed"
    assert ogc.get(f"{big.headers['location']}/results").status_code == 404
    assert ogc.get("/ogc/jobs/nosuch").status_code == 404


def test_a_job_survives_a_restart_or_reports_failed(ogc: httpx.Client, clean_db: str) -> None:
    r = ogc.post("/ogc/processes/locate/execution", json={"inputs": {"points": POINTS * 300}},
                 headers={"Prefer": "respond-async"})
    job = wait(ogc, r.headers["location"])["jobID"]
    with psycopg.connect(clean_db, autocommit=True) as conn:   # a job whose server died mid-run
        conn.execute("INSERT INTO ogc_jobs (job_id, process_id, status, progress, inputs, started, updated) "
                     "VALUES ('dead', 'locate', 'running', 40, '{}', now() - interval '1 hour', "
                     "now() - interval '1 hour')")
    from api.app import create_app

    with TestClient(create_app()) as fresh:   # another server process: a restart
        kept = fresh.get(f"/ogc/jobs/{job}/results")
        assert kept.status_code == 200 and len(kept.json()["results"]) == 1200
        dead = fresh.get("/ogc/jobs/dead").json()
        assert dead["status"] == "failed" and "stopped" in dead["message"]
        assert fresh.get("/ogc/jobs/dead/results").status_code == 409


def test_eval_grid_sample_needs_an_inspector(ogc: httpx.Client, api_keys: dict) -> None:
    body = {"inputs": {"city_class": 3, "seed": 7}}
    assert ogc.post("/ogc/processes/eval-grid-sample/execution", json=body).status_code == 401
    r = ogc.post("/ogc/processes/eval-grid-sample/execution", json=body, headers=auth(api_keys["inspector"]))
    assert r.status_code in (200, 400), r.text   # the small test district may not supply a full draw
    if r.status_code == 400:
        assert "type" in r.json()["detail"] or "grid" in r.json()["detail"]
