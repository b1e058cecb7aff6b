"""Logging in and out, single sign-on, and "who am I".

`POST /api/auth/login` checks a local account's password and starts a server-side session (cookie);
`/api/auth/oidc/login` → the issuer → `/api/auth/oidc/callback` does the same through single sign-on.
Every login, failure, lock-out and logout is written to the audit log.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from api.auth import CSRF_COOKIE, SESSION_COOKIE, area_of, client_of, note_failure, require_role
from api.models import LoginAnswer, WhoAmI
from api.responses import JSONResponse
from gis.errors import CityGridError, InvalidInput, RateLimited, Unauthorized, UnsupportedMediaType
from gis.security import audit, oidc, sessions, users
from gis.security.keys import Principal
from gis.settings import get_settings

router = APIRouter(tags=["access"])

#: How long the issuer may take between /oidc/login and /oidc/callback.
PENDING_S = 600

_LOGIN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            ct: {"schema": {"type": "object", "required": ["username", "password"],
                            "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}}
            for ct in ("application/json", "application/x-www-form-urlencoded")
        },
    }
}


@router.get("/api/auth/whoami", response_model=WhoAmI, response_model_exclude_unset=True)
def whoami(request: Request, principal: Principal = Depends(require_role("viewer", device=True))) -> dict:
    """The caller: name, role, the area it is limited to (`area` null: the whole city), and the user or
    application it stands for."""
    area = area_of(request)
    answer: dict[str, Any] = {"name": principal.name, "role": principal.role, "vehicles": list(principal.vehicles),
                              "area": principal.area, "area_kind": area.kind if area else None,
                              "area_name": area.name if area else None, "via": principal.via}
    if principal.user is not None:
        answer["user"] = principal.user
    if principal.app is not None:
        answer["app"] = principal.app
    if (session := getattr(request.state, "session", None)) is not None:
        answer["csrf"] = session.csrf
    return answer


async def _credentials(request: Request) -> tuple[str, str]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if kind == "application/json":
        try:
            body = json.loads(raw or b"{}")
        except ValueError as exc:
            raise InvalidInput(f"the login body is not valid JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise InvalidInput("the login body must be a JSON object {username, password}")
    elif kind == "application/x-www-form-urlencoded":
        body = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    else:
        raise UnsupportedMediaType(f"log in with application/json or a form, not {kind or 'an untyped body'!r}")
    name, password = body.get("username"), body.get("password")
    if not isinstance(name, str) or not name or not isinstance(password, str) or not password:
        raise InvalidInput("the login needs a username and a password")
    return name, password


def secure_request(request: Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return get_settings().session_cookie_secure or request.url.scheme == "https" or forwarded == "https"


def _set_cookies(response: Response, request: Request, token: str, csrf: str) -> None:
    s = get_settings()
    secure = secure_request(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=s.session_absolute_s, path="/", httponly=True,
                        secure=secure, samesite="lax")
    # Readable by the page (not HttpOnly): it sends the value back in X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, csrf, max_age=s.session_absolute_s, path="/", httponly=False,
                        secure=secure, samesite="lax")


def _clear_cookies(response: Response, request: Request) -> None:
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", httponly=http_only, secure=secure_request(request), samesite="lax")


def _login_answer(principal: Principal, csrf: str) -> dict[str, Any]:
    s = get_settings()
    return {"name": principal.name, "role": principal.role, "area": principal.area, "csrf": csrf,
            "idle_timeout_s": s.session_idle_s, "absolute_timeout_s": s.session_absolute_s}


def _check_password(request: Request, name: str, password: str) -> tuple[Principal, str, str]:
    """Runs on a worker thread (argon2 takes tens of milliseconds): the password check, the failure and
    lock-out bookkeeping with their audit entries, and the new session."""
    services = request.app.state.services
    client = client_of(request)
    services.limits.check_locked(client)
    with services.connection() as conn:
        result = users.verify_login(conn, name, password)
        if result.user is None:
            audit.record(conn, f"user:{name}", "auth.login.failed", "users", [name], remote=client,
                         detail={"reason": result.reason, "via": "password"})
            if result.locked_now:
                audit.record(conn, f"user:{name}", "auth.lockout", "users", [name], remote=client,
                             detail={"until": result.locked_until, "after": get_settings().login_max_failures})
            note_failure(request, client, "password", conn)
            if result.reason == "locked" or result.locked_now:
                raise RateLimited(f"the account {name!r} is locked after repeated failed logins until "
                                  f"{result.locked_until:%Y-%m-%d %H:%M:%S %Z}")
            raise Unauthorized("unknown user name or wrong password")
        user = result.user
        if (previous := request.cookies.get(SESSION_COOKIE)) is not None:
            sessions.end_token(conn, previous)  # a new login replaces the browser's old session
        sessions.purge(conn)  # rows of sessions that ended over a day ago (a small table: cheap)
        token, csrf = sessions.create_session(conn, user.id, client, request.headers.get("user-agent"))
    principal = Principal(None, user.name, user.role, area=user.area, user=user.name, via="session", user_id=user.id)
    return principal, token, csrf


@router.post("/api/auth/login", response_model=LoginAnswer, openapi_extra=_LOGIN_BODY,
             responses={401: {"description": "unknown user or wrong password"},
                        429: {"description": "the account or the client is locked out after repeated failures"}})
async def login(request: Request) -> JSONResponse:
    """Log in with a local account (JSON or form `{username, password}`): sets the session cookie
    (HttpOnly, SameSite=Lax, Secure over TLS) and the CSRF cookie, and answers the CSRF token."""
    name, password = await _credentials(request)
    principal, token, csrf = await run_in_threadpool(_check_password, request, name, password)
    # The audit middleware writes the "auth.login" entry before the answer leaves (as for every write).
    request.state.principal = principal
    request.state.audit = {"action": "auth.login", "target": "users", "ids": [principal.name],
                           "detail": {"via": "password"}}
    response = JSONResponse(_login_answer(principal, csrf))
    _set_cookies(response, request, token, csrf)
    return response


@router.post("/api/auth/logout", status_code=204, response_class=Response,
             responses={400: {"description": "the caller is not a login session (an API key or a bearer token)"}})
def logout(request: Request, principal: Principal = Depends(require_role("viewer"))) -> Response:
    """Ends the login session (its cookie is cleared); needs the session's CSRF token like every write."""
    session = getattr(request.state, "session", None)
    if session is None:
        raise InvalidInput(f"only a login session can log out; this caller authenticates by {principal.via}")
    with request.app.state.services.connection() as conn:
        sessions.end(conn, session.id)
    request.state.audit = {"action": "auth.logout", "target": "sessions", "ids": [principal.name]}
    response = Response(status_code=204)
    _clear_cookies(response, request)
    return response


def _safe_return(path: str | None) -> str:
    """Only a path on this server (no scheme, no host, no `//`): an open redirect otherwise."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


@router.get("/api/auth/oidc/login", status_code=302, response_class=RedirectResponse,
            responses={302: {"description": "to the identity provider's authorization endpoint"}})
def oidc_login(request: Request, next: str | None = None) -> RedirectResponse:
    """Single sign-on: sends the browser to the issuer (authorization code with PKCE, state and nonce)."""
    services = request.app.state.services
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    verifier, challenge = oidc.pkce_pair()
    url = services.issuer.authorization_url(state, nonce, challenge)
    with services.connection() as conn:
        conn.execute("DELETE FROM oidc_pending WHERE created_at < now() - make_interval(secs => %s)", (PENDING_S,))
        conn.execute("INSERT INTO oidc_pending (state, verifier, nonce, return_to) VALUES (%s, %s, %s, %s)",
                     (state, verifier, nonce, _safe_return(next)))
    return RedirectResponse(url, status_code=302)


@router.get("/api/auth/oidc/callback", status_code=303, response_class=RedirectResponse,
            responses={303: {"description": "logged in: back to the page"},
                       401: {"description": "the issuer refused, or the code, state or tokens did not verify"}})
def oidc_callback(request: Request, state: str | None = None, code: str | None = None,
                  error: str | None = None, error_description: str | None = None) -> RedirectResponse:
    """Single sign-on, back from the issuer: checks the state, trades the code (with the PKCE verifier) for
    tokens, verifies the ID token, maps its claims to a role and an area, and starts a session."""
    services = request.app.state.services
    client = client_of(request)
    with services.connection() as conn:
        try:
            if error:
                raise Unauthorized(f"the identity provider answered {error}: {error_description or ''}".strip())
            if not state or not code:
                raise InvalidInput("the callback needs the state and code parameters")
            pending = conn.execute(
                "DELETE FROM oidc_pending WHERE state = %s AND created_at > now() - make_interval(secs => %s) "
                "RETURNING verifier, nonce, return_to", (state, PENDING_S),
            ).fetchone()
            if pending is None:
                raise Unauthorized("unknown or expired login state (start again at /api/auth/oidc/login)")
            claims = services.issuer.exchange(code, pending[0], pending[1])
            who = oidc.identity(claims)
            user = users.upsert_sso_user(conn, who.name, who.role, who.area)
        except CityGridError as exc:
            audit.record(conn, "oidc", "auth.login.failed", "users", [], remote=client,
                         detail={"reason": exc.detail, "via": "oidc"})
            raise
        if (previous := request.cookies.get(SESSION_COOKIE)) is not None:
            sessions.end_token(conn, previous)
        token, csrf = sessions.create_session(conn, user.id, client, request.headers.get("user-agent"))
        audit.record(conn, f"user:{user.name}", "auth.login", "users", [user.name], remote=client,
                     detail={"via": "oidc", "subject": who.subject, "role": user.role, "area": user.area})
    response = RedirectResponse(pending[2], status_code=303)
    _set_cookies(response, request, token, csrf)
    return response
