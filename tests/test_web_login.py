"""Logging in on the web map (headless Chromium against the real server): a wrong password is refused in
the dialog, the right one shows who is logged in (name, role, area), a fence drawn on the page is saved
with the session (the page sends the CSRF token; no key is asked for) and audited under the user, and
logging out ends the session on the server. Screenshots go to var/screenshots/.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from browser_kit import Watched, open_map, screen_xy, shot
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider
from web_world import ensure_world

from gis.security import users
from gis.settings import get_settings

pytestmark = pytest.mark.browser
PASSWORD = "Web-login-2026"


@pytest.fixture
def page_of(browser: object, live_server: str, database_url: str) -> Iterator[Watched]:
    ensure_world(database_url)
    watched = open_map(browser, live_server)
    yield watched
    watched.page.context.close()


def _log_in(page: object, name: str, password: str) -> None:
    page.locator("#login-button").click()
    page.locator("#login-dialog").wait_for(state="visible")
    page.locator("#login-user").fill(name)
    page.locator("#login-password").fill(password)
    page.locator("#login-ok").click()


def test_log_in_write_with_the_session_and_log_out(page_of: Watched, db: psycopg.Connection,
                                                   live_server: str) -> None:
    page = page_of.page
    name = f"web-{uuid.uuid4().hex[:6]}"
    users.create_user(db, name, "planner", PASSWORD, "310113003")
    assert page.locator("#login-button").inner_text() == "登录" and page.locator("#whoami").is_hidden()

    _log_in(page, name, "Wrong-password-9")
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert "用户名或密码错误" in error.inner_text()
    assert page.locator("#login-dialog").is_visible()              # stays open for another try
    shot(page, "web-login-01-refused")

    page.locator("#login-password").fill(PASSWORD)
    page.locator("#login-password").press("Enter")                 # Enter submits (not 取消)
    page.locator("#login-dialog").wait_for(state="hidden")
    badge = page.locator("#whoami")
    badge.wait_for(state="visible")
    assert name in badge.inner_text() and "规划员" in badge.inner_text() and "310113003" in badge.inner_text()
    assert page.locator("#login-button").inner_text() == "退出"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["citygrid_session"]["httpOnly"] and cookies["citygrid_session"]["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").count("citygrid_session") == 0     # the page cannot read it
    shot(page, "web-login-02-logged-in")

    # A write from the page goes with the session: no key dialog, the CSRF token in its header.
    page.locator('.tabs button[data-tab="fences"]').click()
    page.locator("#fence-name").fill("会话围栏")
    page.locator("#fence-buffer").fill("20")
    page.locator("#draw-corridor").click()
    for lon, lat in [(121.474, 31.3790), (121.480, 31.3810)]:
        page.mouse.click(*screen_xy(page, lon, lat))
    page.locator("#drawbar-finish").click()
    page.wait_for_function("window.citygrid.lastFence", timeout=10_000)
    assert page.locator("#key-dialog").is_hidden()
    saved = page.evaluate("window.citygrid.lastFence")
    fence_id = saved.get("id", saved.get("properties", {}).get("id"))
    actor = db.execute("SELECT actor FROM audit_log WHERE action LIKE 'POST /api/fences%' ORDER BY id DESC LIMIT 1"
                       ).fetchone()[0]
    assert actor == f"user:{name}"
    shot(page, "web-login-03-fence-saved")

    session = cookies["citygrid_session"]["value"]
    page.locator("#login-button").click()                          # 退出
    badge.wait_for(state="hidden")
    assert page.locator("#login-button").inner_text() == "登录"
    assert "citygrid_session" not in {c["name"] for c in page.context.cookies()}
    replay = httpx.get(f"{live_server}/api/auth/whoami", cookies={"citygrid_session": session})
    assert replay.status_code == 401                                # ended on the server, not only in the page
    assert db.execute("SELECT count(*) FROM audit_log WHERE action = 'auth.logout' AND %s = ANY(ids)",
                      (name,)).fetchone()[0] == 1
    # The refused login is expected: its HTTP 401 and Chromium's console line about it, nothing else.
    refused = [e for e in page_of.errors if "/api/auth/login" in e or "status of 401" in e]
    assert len(refused) == 2 and [e for e in page_of.errors if e not in refused] == []
    assert page_of.outside == []
    db.execute("DELETE FROM fences WHERE id = %s", (fence_id,))


def test_key_dialog_still_works_and_offers_a_login(page_of: Watched, db: psycopg.Connection) -> None:
    page = page_of.page
    name = f"web-{uuid.uuid4().hex[:6]}"
    users.create_user(db, name, "viewer", PASSWORD)
    page.locator("#key-button").click()
    page.locator("#key-dialog").wait_for(state="visible")
    page.locator("#key-login").click()                             # 改用账号登录
    page.locator("#login-dialog").wait_for(state="visible")
    page.locator("#login-user").fill(name)
    page.locator("#login-password").fill(PASSWORD)
    page.locator("#login-ok").click()
    page.locator("#whoami").wait_for(state="visible")
    assert "浏览员" in page.locator("#whoami").inner_text()
    # The key dialog itself is unchanged: a key typed there is kept for the browsing session.
    page.locator("#key-button").click()
    page.locator("#key-input").fill("cg_some-key")
    page.locator("#key-ok").click()
    # The dialog's `close` event (where the key is kept) is queued as a task after the click.
    page.wait_for_function("sessionStorage.getItem('citygrid.apiKey') === 'cg_some-key'", timeout=10_000)


def test_single_sign_on_from_the_page(browser: object, live_server: str, live_app: object, database_url: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """统一身份认证: the dialog's link goes to the issuer and back; the page then shows the person."""
    provider = Provider().start()
    try:
        settings = get_settings()
        for name, value in (("oidc_discovery_url", provider.discovery_url), ("oidc_client_id", CLIENT_ID),
                            ("oidc_client_secret", CLIENT_SECRET),
                            ("oidc_redirect_url", f"{live_server}/api/auth/oidc/callback"),
                            ("oidc_role_map", {"city-planner": "planner"})):
            monkeypatch.setattr(settings, name, value)
        live_app.state.services.issuer.reset()
        provider.next_login = {"sub": "u-77", "preferred_username": "sso-zhou", "roles": ["city-planner"],
                               "area": "310113003"}
        ensure_world(database_url)
        watched = open_map(browser, live_server, path="/?hide=roads")
        page = watched.page
        page.locator("#login-button").click()
        link = page.locator("#login-sso")
        link.wait_for(state="visible")                               # offered: an issuer is configured
        link.click()
        page.wait_for_url(f"{live_server}/?hide=roads", timeout=20_000)   # back where the person was
        page.wait_for_function("window.citygrid && window.citygrid.ready", timeout=20_000)
        badge = page.locator("#whoami")
        badge.wait_for(state="visible")
        assert "sso-zhou" in badge.inner_text() and "规划员" in badge.inner_text()
        shot(page, "web-login-04-sso")
        assert watched.errors == [] and watched.outside == []
        page.context.close()
    finally:
        provider.stop()
