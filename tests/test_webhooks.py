"""Alarm webhooks: a receiver that is down for a while gets every alarm afterwards, in order, once,
signed; an event that keeps failing too long is dead-lettered and delivery moves on."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import psycopg
import pytest
from http_auth import auth

from gis.fences.webhooks import deliver_due
from gis.settings import get_settings


class Receiver:
    """A webhook receiver on a free port that answers 503 while `down`."""

    def __init__(self) -> None:
        self.down = True
        self.got: list[tuple[int, bytes, str]] = []
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.down:
                    outer.refused += 1
                    self.send_response(503)
                else:
                    outer.got.append((int(self.headers["X-CityGrid-Event-Id"]), body,
                                      self.headers["X-CityGrid-Signature"]))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def _events(db: psycopg.Connection, items: list[tuple[str, str]]) -> list[int]:
    """Alarm events as the fence engine writes them (aged past the commit-lag guard)."""
    rows = db.execute(
        "INSERT INTO alarm_events (alarm_id, op, at, payload) SELECT n, 'opened', now() - interval '1 minute', "
        "jsonb_build_object('vehicle_id', v, 'kind', k) FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY "
        "AS x(v, k, n) ORDER BY n RETURNING id", ([v for v, _ in items], [k for _, k in items])).fetchall()
    return sorted(r[0] for r in rows)


def _wait(check, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "webhook_retry_s", 0.2)
    monkeypatch.setattr(settings, "webhook_retry_max_s", 0.5)


def test_a_receiver_down_for_a_while_gets_every_alarm_in_order_once(
        clean_db: str, http: httpx.Client, api_keys: dict, db: psycopg.Connection, fast_retries: None) -> None:
    rx = Receiver()
    try:
        r = http.post("/api/webhooks", json={"url": rx.url}, headers=auth(api_keys["planner"]))
        assert r.status_code == 201, r.text
        sub, secret = r.json()["id"], r.json()["secret"]
        first = _events(db, [("A", "overspeed"), ("B", "overspeed"), ("A", "out_of_area"), ("B", "dwell"),
                             ("A", "overspeed")])
        _wait(lambda: rx.refused >= 3)          # retried with backoff while down
        more = _events(db, [("B", "overspeed"), ("A", "dwell"), ("A", "overspeed")])
        rx.down = False
        _wait(lambda: len(rx.got) >= 8)
        time.sleep(1.0)                          # nothing more may arrive
        ids = [g[0] for g in rx.got]
        assert ids == first + more               # every one, once, in order
        for event_id, body, signature in rx.got:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(signature, expected)
            assert json.loads(body)["event_id"] == event_id
        per_vehicle = [json.loads(b)["vehicle_id"] for _, b, _ in rx.got]
        assert per_vehicle == ["A", "B", "A", "B", "A", "B", "A", "A"]
        # another server process (a restart of the sender) finds nothing left to send
        with psycopg.connect(clean_db, autocommit=True) as conn, httpx.Client() as client:
            assert deliver_due(conn, client) == 0
        got = http.get("/api/webhooks", headers=auth(api_keys["planner"]))
        assert got.status_code == 200, got.text
        listed = got.json()["subscriptions"]
        mine = next(s for s in listed if s["id"] == sub)
        assert mine["delivered"] == 8 and mine["failures"] >= 3 and mine["dead"] == 0
        assert mine["last_event_id"] == more[-1]
        assert http.delete(f"/api/webhooks/{sub}", headers=auth(api_keys["planner"])).status_code == 204
    finally:
        rx.close()


def test_an_event_failing_too_long_is_dead_lettered(
        clean_db: str, http: httpx.Client, api_keys: dict, db: psycopg.Connection, fast_retries: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "webhook_max_age_s", 0.5)
    rx = Receiver()
    try:
        sub = http.post("/api/webhooks", json={"url": rx.url, "kinds": ["overspeed"]},
                        headers=auth(api_keys["planner"])).json()["id"]
        (skipped, dead) = _events(db, [("A", "dwell"), ("A", "overspeed")])
        _wait(lambda: http.get(f"/api/webhooks/{sub}/dead-letters",
                               headers=auth(api_keys["planner"])).json()["dead_letters"] != [])
        letters = http.get(f"/api/webhooks/{sub}/dead-letters",
                           headers=auth(api_keys["planner"])).json()["dead_letters"]
        assert [d["event_id"] for d in letters] == [dead] and letters[0]["last_error"] == "HTTP 503"
        rx.down = False
        (later,) = _events(db, [("B", "overspeed")])
        _wait(lambda: len(rx.got) == 1)
        assert rx.got[0][0] == later and skipped not in [g[0] for g in rx.got]
    finally:
        rx.close()


def test_subscriptions_need_a_planner_and_a_url(http: httpx.Client, api_keys: dict, clean_db: str) -> None:
    assert http.post("/api/webhooks", json={"url": "http://x"}).status_code == 401
    assert http.post("/api/webhooks", json={"url": "http://x"},
                     headers=auth(api_keys["inspector"])).status_code == 403
    assert http.post("/api/webhooks", json={"url": "ftp://x"},
                     headers=auth(api_keys["planner"])).status_code == 422
    for bad in (rb'{"url": "http://x", "kinds": ["\ud800"]}', rb'{"url": "http://x", "vehicles": ["a\u0000b"]}'):
        r = http.post("/api/webhooks", content=bad,
                      headers={**auth(api_keys["planner"]), "Content-Type": "application/json"})
        assert r.status_code == 422, r.text
