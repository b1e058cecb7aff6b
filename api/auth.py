"""Who may call what: an API key (`X-API-Key`), a bearer JWT of the configured issuer
(`Authorization: Bearer`), or a login session (cookie), each resolved to a `Principal` with a role.

`require_role("planner")` guards a write; it also records the principal on the request so that the
audit middleware can say who did it. Failed attempts are limited per client address and each caller gets
a token bucket (api/limits.py, on `app.state.services.limits`).

Cookie-authenticated writes must carry the session's CSRF token in the `X-CSRF-Token` header (a
synchronizer token kept in the session row; the page reads it from the `citygrid_csrf` cookie or the
login answer). Keys and bearer tokens are never sent by a browser on its own, so they need none.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from contextlib import nullcontext

import psycopg
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.clientaddr import client_address
from gis.errors import Forbidden, InvalidInput, Unauthorized
from gis.security import audit, oidc, sessions
from gis.security.keys import ANONYMOUS, Principal, authenticate, digest
from gis.security.scope import Area
from gis.settings import get_settings

HEADER = "X-API-Key"
SESSION_COOKIE = "citygrid_session"
CSRF_COOKIE = "citygrid_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_of(request: Request) -> str:
    """The client's address: the peer, or behind a trusted proxy the address it forwarded for
    (api/clientaddr.py, `CITYGRID_TRUSTED_PROXIES`)."""
    return client_address(request.client.host if request.client else None, request.headers.getlist("x-forwarded-for"))


def _bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def note_failure(request: Request, client: str, what: str, conn: psycopg.Connection | None = None) -> None:
    """Counts a failed attempt of `client`; the failure that locks it out goes to the audit log (on `conn`
    when the caller holds one, so as not to take a second pooled connection)."""
    services = request.app.state.services
    if services.limits.failed(client):
        s = get_settings()
        detail = {"after": s.auth_max_failures, "for_s": s.auth_lockout_s, "last": what}
        with nullcontext(conn) if conn is not None else services.connection() as held:
            audit.record(held, f"client:{client}", "auth.lockout", "clients", [client], remote=client, detail=detail)


class _NeedsIO(Exception):
    """principal_from(memory_only=True) found no cached principal: it must run in a thread."""


def principal_from(request: Request, *, required: bool, memory_only: bool = False) -> Principal:
    """The caller's principal; anonymous when no credential is sent and none is required.

    An ended session, or a cookie-authenticated write without its CSRF token, counts as no credential on
    an open read (the page keeps working) and is refused where one is required. `memory_only` (the
    event loop's call, `principal_async`): a key missing from the cache raises _NeedsIO before anything
    is counted, instead of querying the database.
    """
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    services = request.app.state.services
    limits = services.limits
    client = client_of(request)
    if secret := request.headers.get(HEADER):
        limits.check_locked(client)
        key_digest = digest(secret)
        principal = services.principals.get(key_digest)  # a few seconds (api/principals.py)
        if principal is None:
            if memory_only:  # expired since _in_memory looked: nothing done yet, so the thread starts over
                raise _NeedsIO
            with services.connection() as conn:
                principal = authenticate(conn, secret)
            if principal is not None:
                services.principals.put(key_digest, principal)
        if principal is None:
            note_failure(request, client, "api key")
            raise Unauthorized("the API key is unknown or revoked")
    elif token := _bearer(request):
        limits.check_locked(client)
        try:
            principal = oidc.bearer_principal(services.issuer, token)
        except Unauthorized:
            note_failure(request, client, "bearer token")
            raise
    elif cookie := request.cookies.get(SESSION_COOKIE):
        with services.connection() as conn:
            session = sessions.lookup(conn, cookie)
        if session is None:
            if required:
                raise Unauthorized("the login session has ended (logged out or timed out); log in again")
            return ANONYMOUS
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                if required:
                    raise Forbidden(f"a write with a login session needs the session's CSRF token in the {CSRF_HEADER} "
                                    "header")
                return ANONYMOUS
        principal = session.principal
        request.state.session = session
    else:
        if required:
            raise Unauthorized(f"this request needs an API key in the {HEADER} header, a bearer token or a login")
        return ANONYMOUS
    limits.spend(principal.bucket)
    request.state.principal = principal
    if principal.area is not None:
        attach_area(request, principal, conn=None)
    return principal


def attach_area(request: Request, principal: Principal, conn=None) -> Area | None:
    """Resolves the principal's area (once per app: `services.areas`) onto `request.state.area`, where
    the readers find it without a database round trip. Whoever sets `request.state.principal` (keys
    here, sessions later) calls this; `area_of` calls it when they did not."""
    if principal.area is None:
        return None
    areas = request.app.state.services.areas
    area = areas.cached(principal.area)
    if area is None:
        try:
            if conn is not None:
                area = areas.get(conn, principal.area)
            else:
                with request.app.state.services.connection() as c:
                    area = areas.get(c, principal.area)
        except InvalidInput as exc:  # the area was deleted since: refuse, never answer unscoped
            raise Forbidden(f"the area of this principal no longer resolves: {exc.detail}") from None
    request.state.area = area
    return area


def area_of(request: Request) -> Area | None:
    """The area the caller is limited to, or None (anonymous or unscoped). Sync: may resolve the area."""
    state = request.scope.get("state")
    principal = state.get("principal") if state else None
    if principal is None or principal.area is None:
        return None
    area = state.get("area")
    if area is not None and area.code == principal.area:
        return area
    return attach_area(request, principal)


def read_scope(request: Request, layer) -> Area | None:
    """The area a read of `layer` is limited to (None: not limited), for async endpoints.

    The hot path of an anonymous or unscoped read: one dict lookup and an attribute check. A layer
    whose catalog entry says `read_requires_key=True` refuses anonymous reads here (401)."""
    state = request.scope.get("state")
    principal = state.get("principal") if state else None
    if principal is None:
        if layer.read_requires_key:
            raise Unauthorized(f"reading {layer.id} needs an API key in the {HEADER} header (or a session)")
        return None
    if principal.area is None:
        return None
    area = state.get("area")
    if area is None or area.code != principal.area:
        cached = request.app.state.services.areas.cached(principal.area)
        if cached is None:  # resolved by principal_from in practice; never a silent unscoped answer
            raise Forbidden(f"the area {principal.area!r} of this principal could not be resolved")
        area = state["area"] = cached
    return area


def _in_memory(request: Request) -> bool:
    """Whether `principal_from` would answer without any I/O: the principal is already on the request, or
    the API key's principal (and its area) are in the caches and the limits are this process's (not
    Redis). Then it runs on the event loop: a thread-pool hop costs more CPU than the rest of it."""
    state = request.scope.get("state")
    if state and state.get("principal") is not None:
        return True
    secret = request.headers.get(HEADER)
    if not secret or get_settings().redis_url:
        return False
    services = request.app.state.services
    principal = services.principals.get(digest(secret))
    return principal is not None and (principal.area is None or services.areas.cached(principal.area) is not None)


async def principal_async(request: Request, *, required: bool) -> Principal:
    """`principal_from` for async code: on the event loop when it needs no I/O, else in a thread."""
    if _in_memory(request):
        try:
            return principal_from(request, required=required, memory_only=True)
        except _NeedsIO:
            pass
    return await run_in_threadpool(principal_from, request, required=required)


def check_role(principal: Principal, role: str, *, device: bool = False) -> Principal:
    """`principal` when it has `role` or above (or is a device key and `device`), else Forbidden."""
    if principal.has_role(role) or (device and principal.role == "device"):
        return principal
    raise Forbidden(f"this request needs the role {role!r}{' or a device key' if device else ''}; "
                    f"the caller has {principal.role!r}")


def require_role(role: str, *, device: bool = False) -> Callable[[Request], Principal]:
    """A dependency admitting callers of `role` or above (and `device` keys too when `device=True`)."""

    def dependency(request: Request) -> Principal:
        return check_role(principal_from(request, required=True), role, device=device)

    return dependency


#: Paths that stay open even when reads need a key (probes, the page itself, and logging in).
OPEN_PATHS = ("/healthz", "/readyz", "/metrics", "/", "/api/auth/login", "/api/auth/oidc/login",
              "/api/auth/oidc/callback")


def sends_credentials(request: Request) -> bool:
    return bool(request.headers.get(HEADER) or request.headers.get("authorization")
                or SESSION_COOKIE in request.cookies)


def _open_collection(path: str) -> bool:
    """A read of an OGC collection whose catalog entry opens it (`read_requires_key=False`) although
    CITYGRID_READ_REQUIRES_KEY is set."""
    if not path.startswith("/ogc/collections/"):
        return False
    from gis import catalog

    layer = catalog.by_id().get(path.split("/", 4)[3])
    return layer is not None and layer.read_requires_key is False


async def optional_principal(request: Request) -> Principal:
    """App-wide: anonymous unless a credential is sent or `read_requires_key` is set (then it must be valid).

    Async, and without a database round trip for reads without credentials, so that open hot paths pay nothing.
    """
    path = request.url.path
    required = get_settings().read_requires_key and path not in OPEN_PATHS and not _open_collection(path)
    if not required and not sends_credentials(request):
        return ANONYMOUS
    return await principal_async(request, required=required)
