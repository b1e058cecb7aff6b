"""Local accounts and login sessions against the real server: the `citygrid users` commands, login by JSON
and by form, hardened cookies, CSRF refusal, idle and absolute timeouts, lock-out per account and per
client, logout, and the audit entries of each; API keys keep working and their calls are counted per
application (Prometheus and the daily table).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from http_auth import auth
from typer.testing import CliRunner

from gis.cli import create_app as cli_app
from gis.errors import InvalidInput
from gis.security import keys, users
from gis.settings import get_settings

#: The areas these tests give users (310113003, 310113, R001 …) must exist: the grid-engine district,
#: loaded here rather than left behind by an earlier module (the module passes run alone).
pytestmark = pytest.mark.usefixtures("grid_district")

PASSWORD = "Grid-map-2026"
RING = [[121.40, 31.30], [121.41, 31.30], [121.41, 31.31], [121.40, 31.31], [121.40, 31.30]]
FENCE = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [RING]},
         "properties": {"name": "会话测试", "kind": "forbidden"}}


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def browser_like(live_server: str) -> Iterator[httpx.Client]:
    """A client with its own cookie jar, as a browser tab would have."""
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


def _user(db: psycopg.Connection, role: str = "planner", area: str | None = "310113003") -> str:
    name = _name("u")
    users.create_user(db, name, role, PASSWORD, area)
    return name


def _login(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": name, "password": password})


def _last_audit(db: psycopg.Connection, action: str, name: str) -> tuple | None:
    return db.execute("SELECT actor, action, ids, remote, detail FROM audit_log WHERE action = %s AND %s = ANY(ids) "
                      "ORDER BY id DESC LIMIT 1", (action, name)).fetchone()


def test_users_commands_create_list_reset_and_disable(database_url: str, db: psycopg.Connection,
                                                      browser_like: httpx.Client) -> None:
    runner, name = CliRunner(), _name("cli")
    weak = runner.invoke(cli_app(), ["users", "create", name, "--role", "inspector"], input="short\n")
    # (`citygrid`'s main turns the engine's error into a message and exit status 2: gis/cli.py)
    assert weak.exit_code != 0 and "at least 10 characters" in str(weak.exception)
    made = runner.invoke(cli_app(), ["users", "create", name, "--role", "inspector", "--area", "310113003"],
                         input=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    stored = db.execute("SELECT password_hash, area FROM users WHERE name = %s", (name,)).fetchone()
    assert stored[0].startswith("$argon2id$") and PASSWORD not in stored[0] and stored[1] == "310113003"
    listed = runner.invoke(cli_app(), ["users", "list"])
    assert re.search(rf"{name}\s+inspector\s+310113003\s+local\s+active", listed.output), listed.output

    assert _login(browser_like, name).status_code == 200
    new = "Second-pass-77"
    reset = runner.invoke(cli_app(), ["users", "reset-password", name], input=new + "\n")
    assert reset.exit_code == 0, reset.output
    assert browser_like.get("/api/auth/whoami").status_code == 401      # the old session ended with the old password
    assert _login(browser_like, name).status_code == 401
    assert _login(browser_like, name, new).status_code == 200

    assert runner.invoke(cli_app(), ["users", "disable", name]).exit_code == 0
    assert browser_like.get("/api/auth/whoami").status_code == 401      # its sessions end at once
    assert _login(browser_like, name, new).status_code == 401
    assert "disabled" in runner.invoke(cli_app(), ["users", "list"]).output
    actions = [r[0] for r in db.execute("SELECT action FROM audit_log WHERE %s = ANY(ids) ORDER BY id", (name,))]
    assert actions[0] == "users.create" and "users.reset-password" in actions and "users.disable" in actions
    assert _last_audit(db, "auth.login.failed", name)[4]["reason"] == "disabled"


def test_password_rules_name_the_rule_broken(db: psycopg.Connection) -> None:
    for password, rule in (("Ab1-", "at least 10 characters"), ("alllowercaseletters", "mix at least 3"),
                           ("Xx1-zhangsan-99", "user name")):
        with pytest.raises(Exception, match=rule):
            users.create_user(db, "zhangsan", "viewer", password)


def test_areas_are_region_or_work_grid_codes(db: psycopg.Connection) -> None:
    for good in ("310113", "310113003", "310113003001", "R001", "responsibility:R002"):
        name = _name("area")
        users.create_user(db, name, "viewer", PASSWORD, good)
        assert db.execute("SELECT area FROM users WHERE name = %s", (name,)).fetchone()[0] == good
    for bad, why in (("3101130", "6, 9 or 12 digits"), ("宝山区", "work-grid code"), ("", "6, 9 or 12 digits"),
                     ("310113999", "no street with this code"), ("310113003009", "no community with this code"),
                     ("G404", "neither a 6/9/12-digit region code"), ("work:R001", "neither")):
        name = _name("area")
        with pytest.raises(InvalidInput, match=why):
            users.create_user(db, name, "viewer", PASSWORD, bad)
        assert db.execute("SELECT count(*) FROM users WHERE name = %s", (name,)).fetchone()[0] == 0


def test_users_create_checks_the_area_like_keys_create(database_url: str, db: psycopg.Connection) -> None:
    """One check for both commands (gis.security.scope.validate): the same refusal, exit status 2, nothing
    stored; a known area is stored as given."""
    env = {**os.environ, "DATABASE_URL": database_url}
    cli = [str(Path(sys.executable).with_name("citygrid"))]
    name = _name("cli-area")
    for area, why in (("310113999", "no street with this code"), ("G404", "nor a work-grid code")):
        user = subprocess.run([*cli, "users", "create", name, "--role", "viewer", "--area", area],
                              input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60)
        key = subprocess.run([*cli, "keys", "create", name, "--role", "viewer", "--area", area],
                             capture_output=True, text=True, env=env, timeout=60)
        assert user.returncode == key.returncode == 2, (user.stderr, key.stderr)
        assert area in user.stderr and why in user.stderr and user.stderr == key.stderr, (user.stderr, key.stderr)
    assert db.execute("SELECT count(*) FROM users WHERE name = %s", (name,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM api_keys WHERE name = %s", (name,)).fetchone()[0] == 0
    made = subprocess.run([*cli, "users", "create", name, "--role", "viewer", "--area", "R001"],
                          input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert made.returncode == 0, made.stderr
    assert db.execute("SELECT area FROM users WHERE name = %s", (name,)).fetchone()[0] == "R001"


def test_login_by_json_or_form_sets_a_hardened_session(browser_like: httpx.Client, db: psycopg.Connection,
                                                        live_server: str) -> None:
    name = _user(db, "planner", "310113003")
    r = _login(browser_like, name)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == "planner" and body["area"] == "310113003" and len(body["csrf"]) > 30
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("citygrid_session="))
    csrf = next(c for c in cookies if c.startswith("citygrid_csrf="))
    assert "HttpOnly" in session and "samesite=lax" in session.lower() and "Secure" not in session
    assert "HttpOnly" not in csrf and body["csrf"] in csrf
    token = session.split(";")[0].split("=", 1)[1]
    assert db.execute("SELECT count(*) FROM sessions WHERE id = %s", (token,)).fetchone()[0] == 0  # only a digest
    me = browser_like.get("/api/auth/whoami").json()
    assert (me["name"], me["role"], me["area"], me["user"], me["via"]) == (name, "planner", "310113003", name,
                                                                          "session")
    assert me["csrf"] == body["csrf"]
    entry = _last_audit(db, "auth.login", name)
    assert entry is not None and entry[0] == f"user:{name}" and entry[3] == "127.0.0.1"

    # Logging in again in the same browser ends the session it had (no second live session left behind).
    first = browser_like.cookies["citygrid_session"]
    assert _login(browser_like, name).status_code == 200
    assert httpx.get(f"{live_server}/api/auth/whoami", cookies={"citygrid_session": first}).status_code == 401

    with httpx.Client(base_url=live_server) as other:
        form = other.post("/api/auth/login", data={"username": name, "password": PASSWORD})
        assert form.status_code == 200 and other.get("/api/auth/whoami").json()["role"] == "planner"


def test_cookie_is_secure_behind_tls(browser_like: httpx.Client, db: psycopg.Connection) -> None:
    name = _user(db)
    r = browser_like.post("/api/auth/login", json={"username": name, "password": PASSWORD},
                          headers={"X-Forwarded-Proto": "https"})
    assert all("Secure" in c for c in r.headers.get_list("set-cookie"))


def test_bad_logins_are_refused_without_telling_which_part_was_wrong(browser_like: httpx.Client,
                                                                   db: psycopg.Connection) -> None:
    name = _user(db)
    wrong = _login(browser_like, name, "Wrong-password-1")
    unknown = _login(browser_like, _name("nobody"), "Wrong-password-1")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert browser_like.post("/api/auth/login", json={"username": name}).status_code == 400
    assert browser_like.post("/api/auth/login", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
    failed = _last_audit(db, "auth.login.failed", name)
    assert failed is not None and failed[4]["reason"] == "password"


def test_repeated_failures_lock_the_account(browser_like: httpx.Client, db: psycopg.Connection,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "login_max_failures", 3)
    name = _user(db)
    assert [_login(browser_like, name, "Wrong-password-1").status_code for _ in range(3)] == [401, 401, 429]
    locked = _login(browser_like, name)                 # the right password does not help while locked
    assert locked.status_code == 429 and "locked" in locked.json()["detail"]
    lockout = _last_audit(db, "auth.lockout", name)
    assert lockout is not None and lockout[4]["after"] == 3
    db.execute("UPDATE users SET locked_until = now() - interval '1 second' WHERE name = %s", (name,))
    assert _login(browser_like, name).status_code == 200


def test_repeated_failures_lock_the_client_out(browser_like: httpx.Client, db: psycopg.Connection,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "auth_max_failures", 4)
    name = _user(db)
    for _ in range(4):                                  # different accounts: only the client is common
        assert _login(browser_like, _name("guess"), "Wrong-password-1").status_code == 401
    assert _login(browser_like, name).status_code == 429
    entry = _last_audit(db, "auth.lockout", "127.0.0.1")                 # audited once, when it began
    assert entry is not None and entry[0] == "client:127.0.0.1" and entry[4]["last"] == "password"


def test_cookie_writes_need_the_csrf_token(browser_like: httpx.Client, db: psycopg.Connection) -> None:
    name = _user(db, "planner", None)
    csrf = _login(browser_like, name).json()["csrf"]
    before = db.execute("SELECT count(*) FROM fences").fetchone()[0]
    missing = browser_like.post("/api/fences", json=FENCE)
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    assert browser_like.post("/api/fences", json=FENCE, headers={"X-CSRF-Token": "forged"}).status_code == 403
    assert db.execute("SELECT count(*) FROM fences").fetchone()[0] == before
    ok = browser_like.post("/api/fences", json=FENCE, headers={"X-CSRF-Token": csrf})
    assert ok.status_code in (200, 201), ok.text
    row = db.execute("SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert row[0] == f"user:{name}" and "/api/fences" in row[1]
    fence_id = ok.json().get("id") or ok.json()["properties"]["id"]
    assert browser_like.delete(f"/api/fences/{fence_id}", headers={"X-CSRF-Token": csrf}).status_code in (200, 204)


def test_roles_of_users_are_enforced(browser_like: httpx.Client, db: psycopg.Connection) -> None:
    csrf = _login(browser_like, _user(db, "viewer")).json()["csrf"]
    r = browser_like.post("/api/fences", json=FENCE, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "'planner'" in r.json()["detail"]


def test_sessions_end_after_idle_and_absolute_timeouts(browser_like: httpx.Client, db: psycopg.Connection) -> None:
    settings = get_settings()
    name = _user(db)
    _login(browser_like, name)
    assert browser_like.get("/api/auth/whoami").status_code == 200
    db.execute("UPDATE sessions s SET last_seen_at = now() - make_interval(secs => %s) FROM users u "
               "WHERE u.id = s.user_id AND u.name = %s", (settings.session_idle_s + 5, name))
    idle = browser_like.get("/api/auth/whoami")
    assert idle.status_code == 401 and "timed out" in idle.json()["detail"]

    _login(browser_like, name)
    age = ("UPDATE sessions s SET created_at = now() - make_interval(secs => %s) FROM users u "
           "WHERE u.id = s.user_id AND u.name = %s AND s.ended_at IS NULL")
    db.execute(age, (settings.session_absolute_s - 60, name))
    assert browser_like.get("/api/auth/whoami").status_code == 200    # active, and young enough
    db.execute(age, (settings.session_absolute_s + 5, name))
    assert browser_like.get("/api/auth/whoami").status_code == 401    # active, but too old
    # An ended session on an open read is simply anonymous: the map keeps working.
    assert browser_like.get("/api/codes/310113").status_code != 401


def test_logout_ends_the_session(browser_like: httpx.Client, db: psycopg.Connection, live_server: str) -> None:
    name = _user(db)
    csrf = _login(browser_like, name).json()["csrf"]
    cookie = browser_like.cookies["citygrid_session"]
    assert browser_like.post("/api/auth/logout").status_code == 403          # a write: needs the CSRF token
    r = browser_like.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert any(c.startswith("citygrid_session=") and "Max-Age=0" in c for c in r.headers.get_list("set-cookie"))
    # The server forgot it too: replaying the old cookie does not work.
    replay = httpx.get(f"{live_server}/api/auth/whoami", cookies={"citygrid_session": cookie})
    assert replay.status_code == 401
    entry = _last_audit(db, "auth.logout", name)
    assert entry is not None and entry[0] == f"user:{name}"


def test_api_keys_work_as_before_and_cannot_log_out(http: httpx.Client, api_keys: dict) -> None:
    me = http.get("/api/auth/whoami", headers=auth(api_keys["planner"])).json()
    assert me["role"] == "planner" and me["via"] == "key" and me["app"] == "test-planner"
    assert http.post("/api/auth/logout", headers=auth(api_keys["planner"])).status_code == 400


def test_calls_are_counted_per_application(http: httpx.Client, db: psycopg.Connection, live_app: object) -> None:
    app_name = _name("交换平台")
    _, secret = keys.create_key(db, "exchange", "viewer", app=app_name)
    _, other = keys.create_key(db, _name("plain"), "viewer")          # no --app: counted under its name
    for _ in range(3):
        assert http.get("/api/codes/310113", headers=auth(secret)).status_code == 200
    assert http.get("/api/auth/whoami", headers=auth(secret)).status_code == 200
    assert http.get("/api/codes/310113", headers=auth(other)).status_code == 200
    assert http.get("/api/codes/310113").status_code == 200                    # anonymous: not counted
    metrics = http.get("/metrics").text
    assert f'citygrid_app_calls_total{{app="{app_name}",route="/api/codes/{{code}}"}} 3.0' in metrics
    assert f'citygrid_app_calls_total{{app="{app_name}",route="/api/auth/whoami"}} 1.0' in metrics
    live_app.state.services.usage.flush()
    rows = dict(db.execute("SELECT route, count FROM app_calls WHERE app = %s", (app_name,)).fetchall())
    assert rows == {"/api/codes/{code}": 3, "/api/auth/whoami": 1}
    assert db.execute("SELECT count(*) FROM app_calls WHERE app = 'exchange'").fetchone()[0] == 0
    # The next flush adds to the same rows (one upsert per batch, not a row per call).
    http.get("/api/codes/310113", headers=auth(secret))
    live_app.state.services.usage.flush()
    assert db.execute("SELECT count FROM app_calls WHERE app = %s AND route = '/api/codes/{code}'",
                      (app_name,)).fetchone()[0] == 4


def test_login_stays_open_when_reads_need_a_credential(browser_like: httpx.Client, db: psycopg.Connection,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "read_requires_key", True)
    assert browser_like.get("/api/codes/310113").status_code == 401
    assert _login(browser_like, _user(db, "viewer")).status_code == 200
    assert browser_like.get("/api/codes/310113").status_code == 200      # the session is the credential


def test_old_sessions_are_purged(db: psycopg.Connection, browser_like: httpx.Client) -> None:
    name = _user(db)
    _login(browser_like, name)
    db.execute("UPDATE sessions s SET ended_at = now() - interval '2 days' FROM users u "
               "WHERE u.id = s.user_id AND u.name = %s", (name,))
    _login(browser_like, name)
    assert db.execute("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.name = %s",
                      (name,)).fetchone()[0] == 1
