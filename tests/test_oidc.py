"""Single sign-on against a small OpenID Connect provider the tests start (tests/oidc_provider.py, real HTTP
and real RSA signatures): the authorization-code round trip with PKCE, claims mapped to role and area,
and bearer JWTs of machine clients — forged, expired, wrongly signed, wrong-audience, wrong-issuer and
unmapped tokens refused.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import psycopg
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, new_key

from gis.settings import get_settings

#: The areas the claims name (310113003, 310113) must exist: the grid-engine district, loaded here rather
#: than left behind by an earlier module (the module passes run alone).
pytestmark = pytest.mark.usefixtures("grid_district")

ROLE_MAP = {"city-planner": "planner", "street-staff": "inspector", "public": "viewer"}


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    p = Provider().start()
    yield p
    p.stop()


@pytest.fixture
def oidc(provider: Provider, live_server: str, live_app: object, monkeypatch: pytest.MonkeyPatch) -> Provider:
    """The live server configured for the provider (settings are read on use)."""
    settings = get_settings()
    for name, value in (("oidc_discovery_url", provider.discovery_url), ("oidc_client_id", CLIENT_ID),
                        ("oidc_client_secret", CLIENT_SECRET),
                        ("oidc_redirect_url", f"{live_server}/api/auth/oidc/callback"),
                        ("oidc_role_map", ROLE_MAP), ("oidc_role_claim", "roles"), ("oidc_area_claim", "area")):
        monkeypatch.setattr(settings, name, value)
    live_app.state.services.issuer.reset()
    provider.nonce_override = None
    return provider


def _sign_in(client: httpx.Client, provider: Provider, next_path: str = "/") -> httpx.Response:
    """The browser's walk: our login → the issuer's authorize → our callback. Returns the callback's answer."""
    start = client.get("/api/auth/oidc/login", params={"next": next_path})
    assert start.status_code == 302, start.text
    to_issuer = start.headers["location"]
    back = httpx.get(to_issuer)                     # the issuer "logs the person in" (provider.next_login)
    assert back.status_code == 302, back.text
    callback = urlparse(back.headers["location"])
    return client.get(callback.path + "?" + callback.query)


def test_single_sign_on_round_trip(oidc: Provider, live_server: str, db: psycopg.Connection) -> None:
    oidc.next_login = {"sub": "u-1001", "preferred_username": "wangfang", "roles": ["public", "street-staff"],
                       "area": "310113003"}
    with httpx.Client(base_url=live_server) as browser:
        start = browser.get("/api/auth/oidc/login", params={"next": "/?tab=fences"})
        query = parse_qs(urlparse(start.headers["location"]).query)
        assert start.headers["location"].startswith(oidc.issuer + "/authorize?")
        assert query["code_challenge_method"] == ["S256"] and query["client_id"] == [CLIENT_ID]
        assert {"state", "nonce", "code_challenge"} <= query.keys()
        back = httpx.get(start.headers["location"])
        cb = urlparse(back.headers["location"])
        done = browser.get(cb.path + "?" + cb.query)
        assert done.status_code == 303 and done.headers["location"] == "/?tab=fences"
        session = next(c for c in done.headers.get_list("set-cookie") if c.startswith("citygrid_session="))
        assert "HttpOnly" in session and "samesite=lax" in session.lower()
        me = browser.get("/api/auth/whoami").json()
        # The highest mapped role wins; the area comes from its claim.
        assert (me["user"], me["role"], me["area"], me["via"]) == ("wangfang", "inspector", "310113003", "session")
        # The code is single-use and the state is consumed: replaying the callback fails.
        assert browser.get(cb.path + "?" + cb.query).status_code == 401
    # The token request carried the PKCE verifier whose S256 hash is the challenge sent to /authorize.
    assert oidc.token_requests[-1]["code_verifier"]
    row = db.execute("SELECT source, role, area, password_hash FROM users WHERE name = 'wangfang'").fetchone()
    assert row == ("oidc", "inspector", "310113003", None)
    entry = db.execute("SELECT actor, detail FROM audit_log WHERE action = 'auth.login' ORDER BY id DESC LIMIT 1"
                       ).fetchone()
    assert entry[0] == "user:wangfang" and entry[1]["via"] == "oidc" and entry[1]["subject"] == "u-1001"


def test_claims_refresh_role_and_area_at_each_login(oidc: Provider, live_server: str) -> None:
    oidc.next_login = {"sub": "u-2002", "preferred_username": "lisi", "roles": "public", "area": "310113003"}
    with httpx.Client(base_url=live_server) as browser:
        assert _sign_in(browser, oidc).status_code == 303
        assert browser.get("/api/auth/whoami").json()["role"] == "viewer"
    oidc.next_login = {**oidc.next_login, "roles": ["city-planner"], "area": "310113"}
    with httpx.Client(base_url=live_server) as browser:
        assert _sign_in(browser, oidc).status_code == 303
        me = browser.get("/api/auth/whoami").json()
        assert (me["role"], me["area"]) == ("planner", "310113")


def test_callback_refuses_unknown_state_wrong_nonce_and_unmapped_roles(oidc: Provider, live_server: str,
                                                                        db: psycopg.Connection) -> None:
    with httpx.Client(base_url=live_server) as browser:
        r = browser.get("/api/auth/oidc/callback", params={"state": "made-up", "code": "x"})
        assert r.status_code == 401 and "state" in r.json()["detail"]
        oidc.next_login = {"sub": "u-3", "preferred_username": "zhaoliu", "roles": ["city-planner"]}
        oidc.nonce_override = "not-the-nonce-we-sent"
        r = _sign_in(browser, oidc)
        assert r.status_code == 401 and "nonce" in r.json()["detail"]
        oidc.nonce_override = None
        oidc.next_login = {"sub": "u-4", "preferred_username": "outsider", "roles": ["visitor"]}
        r = _sign_in(browser, oidc)
        assert r.status_code == 403 and "maps to no role" in r.json()["detail"]
        assert "citygrid_session" not in browser.cookies
    reasons = [r[0]["reason"] for r in db.execute(
        "SELECT detail FROM audit_log WHERE action = 'auth.login.failed' ORDER BY id DESC LIMIT 3")]
    assert any("nonce" in r for r in reasons) and any("no role" in r for r in reasons)


def test_open_redirects_are_not_followed(oidc: Provider, live_server: str) -> None:
    oidc.next_login = {"sub": "u-5", "preferred_username": "qianqi", "roles": ["public"]}
    with httpx.Client(base_url=live_server) as browser:
        assert _sign_in(browser, oidc, "https://evil.example/").headers["location"] == "/"
        assert _sign_in(browser, oidc, "//evil.example/x").headers["location"] == "/"


# -- bearer tokens of machine clients


def _whoami(live_server: str, token: str) -> httpx.Response:
    return httpx.get(f"{live_server}/api/auth/whoami", headers={"Authorization": f"Bearer {token}"})


def test_a_machine_client_token_is_accepted(oidc: Provider, live_server: str) -> None:
    token = oidc.token({"sub": "exchange-system", "azp": "exchange-system", "roles": ["city-planner"],
                        "area": "310113"})
    r = _whoami(live_server, token)
    assert r.status_code == 200, r.text
    me = r.json()
    assert (me["role"], me["area"], me["app"], me["via"]) == ("planner", "310113", "exchange-system", "bearer")
    metrics = httpx.get(f"{live_server}/metrics").text
    assert 'citygrid_app_calls_total{app="exchange-system",route="/api/auth/whoami"}' in metrics


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_forged_tokens_are_refused(oidc: Provider, live_server: str) -> None:
    good = oidc.token({"sub": "exchange-system", "roles": ["public"]})
    head, _, sig = good.split(".")
    # The payload changed (a higher role), the signature kept.
    forged = f"{head}.{_b64({**jwt.decode(good, oidc.key).claims, 'roles': ['city-planner']})}.{sig}"
    r = _whoami(live_server, forged)
    assert r.status_code == 401 and "refused" in r.json()["detail"]
    # Unsigned (alg none).
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(jwt.decode(good, oidc.key).claims)}."
    assert _whoami(live_server, unsigned).status_code == 401
    # HMAC-signed with the issuer's public modulus as the secret (the algorithm-confusion attack).
    public = json.dumps(oidc.key.as_dict(private=False)).encode()
    hs = jwt.encode({"alg": "HS256", "kid": oidc.key.kid}, {"iss": oidc.issuer, "aud": CLIENT_ID, "sub": "x",
                                                            "exp": int(time.time()) + 60, "roles": ["public"]},
                    OctKey.import_key(public))
    assert _whoami(live_server, hs).status_code == 401


def test_a_token_signed_by_another_key_is_refused(oidc: Provider, live_server: str) -> None:
    stranger = new_key(oidc.key.kid)                # same kid, different key: the signature does not verify
    r = _whoami(live_server, oidc.token({"sub": "x", "roles": ["public"]}, key=stranger))
    assert r.status_code == 401 and "signature" in r.json()["detail"].lower()


def test_expired_wrong_audience_and_wrong_issuer_tokens_are_refused(oidc: Provider, live_server: str) -> None:
    claims = {"sub": "exchange-system", "roles": ["public"]}
    expired = _whoami(live_server, oidc.token({**claims, "iat": int(time.time()) - 3600}, lifetime=-600))
    assert expired.status_code == 401 and "exp" in expired.json()["detail"]
    audience = _whoami(live_server, oidc.token({**claims, "aud": "another-client"}))
    assert audience.status_code == 401 and "aud" in audience.json()["detail"]
    issuer = _whoami(live_server, oidc.token({**claims, "iss": "http://127.0.0.1:1/other"}))
    assert issuer.status_code == 401 and "iss" in issuer.json()["detail"]
    unmapped = _whoami(live_server, oidc.token({**claims, "roles": ["visitor"]}))
    assert unmapped.status_code == 403


def test_rotated_keys_are_fetched_again(oidc: Provider, live_server: str) -> None:
    claims = {"sub": "exchange-system", "roles": ["public"]}
    assert _whoami(live_server, oidc.token(claims)).status_code == 200      # JWKS now cached
    oidc.rotate("key-2")
    assert _whoami(live_server, oidc.token(claims)).status_code == 200      # unknown kid: JWKS fetched again


def test_bearer_needs_configuration(live_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "oidc_discovery_url", None)
    r = _whoami(live_server, "a.b.c")
    assert r.status_code in (400, 401) and "not configured" in r.json()["detail"]
