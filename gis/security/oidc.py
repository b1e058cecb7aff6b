"""OpenID Connect: the issuer's discovery document and keys, token verification, the authorization-code
flow with PKCE, and the mapping of claims to a role and an area.

Verification is joserfc's (the JOSE library of the Authlib project): the signature against the issuer's
JWKS (asymmetric algorithms only, so a token signed with the public key as an HMAC secret is refused),
then `iss`, `aud`, `exp`, `nbf`, `iat` (with `oidc_leeway_s`) and, for ID tokens, the `nonce`. The
discovery document and JWKS are cached for `oidc_cache_s`; a token whose `kid` is not in the cached set
refetches the JWKS once (the issuer rotated its keys), at most every 10 s.

One `Issuer` per process lives on the app's services; settings are read on use, so the tests (and an
operator editing `.env` before a restart) may change them without rebuilding it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gis.errors import Forbidden, InvalidInput, Unauthorized
from gis.security.keys import ROLES, Principal
from gis.settings import get_settings

#: Signature algorithms accepted: asymmetric only (never HS*: the JWKS is public).
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
_REFETCH_S = 10.0


class NotConfigured(InvalidInput):
    code = "oidc_not_configured"


@dataclass(frozen=True)
class Identity:
    """A verified person or machine client: its name, role and area from the claims."""

    subject: str
    name: str
    role: str
    area: str | None
    client: str | None      # `azp` / `client_id` of a machine client's token


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) of RFC 7636."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Issuer:
    """The configured issuer: discovery and JWKS caches behind a lock, and the HTTP calls to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._discovery: tuple[str, float, dict[str, Any]] | None = None
        self._keys: tuple[str, float, KeySet] | None = None
        self._last_refetch = 0.0

    @staticmethod
    def configured() -> bool:
        s = get_settings()
        return bool(s.oidc_discovery_url and s.oidc_client_id)

    def _require(self) -> None:
        if not self.configured():
            raise NotConfigured("single sign-on is not configured (CITYGRID_OIDC_DISCOVERY_URL, _CLIENT_ID)")

    def _get(self, url: str) -> dict[str, Any]:
        try:
            response = httpx.get(url, timeout=10)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Unauthorized(f"the identity provider could not be reached at {url}: {exc}") from exc

    def discovery(self) -> dict[str, Any]:
        self._require()
        s = get_settings()
        url = s.oidc_discovery_url
        with self._lock:
            if self._discovery and self._discovery[0] == url and time.monotonic() - self._discovery[1] < s.oidc_cache_s:
                return self._discovery[2]
        doc = self._get(url)
        for field in ("issuer", "jwks_uri", "authorization_endpoint", "token_endpoint"):
            if field not in doc:
                raise Unauthorized(f"the identity provider's discovery document lacks {field!r}")
        with self._lock:
            self._discovery = (url, time.monotonic(), doc)
        return doc

    def keyset(self, *, refresh: bool = False) -> KeySet:
        """The issuer's keys; `refresh` (a token named a key we do not have) refetches them at once, at most
        every 10 s so that tokens with made-up key ids cannot make us hammer the issuer."""
        s = get_settings()
        uri = self.discovery()["jwks_uri"]
        with self._lock:
            cached = self._keys
            fresh = cached is not None and cached[0] == uri and time.monotonic() - cached[1] < s.oidc_cache_s
            if fresh and not (refresh and time.monotonic() - self._last_refetch > _REFETCH_S):
                return cached[2]
            if refresh:
                self._last_refetch = time.monotonic()
        keys = KeySet.import_key_set(self._get(uri))
        with self._lock:
            self._keys = (uri, time.monotonic(), keys)
        return keys

    def reset(self) -> None:
        with self._lock:
            self._discovery = self._keys = None
            self._last_refetch = 0.0

    def verify(self, token: str, *, audiences: list[str], nonce: str | None = None) -> dict[str, Any]:
        """The claims of a token signed by the issuer for one of `audiences`; Unauthorized naming the
        reason otherwise (bad signature, unknown key, expired, wrong issuer or audience, replayed nonce)."""
        issuer = self.discovery()["issuer"]
        try:
            keys = self.keyset()
            if _kid(token) not in {k.kid for k in keys.keys}:
                keys = self.keyset(refresh=True)   # perhaps the issuer rotated its keys
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
            s = get_settings()
            registry = jwt.JWTClaimsRegistry(
                leeway=s.oidc_leeway_s,
                iss={"essential": True, "value": issuer},
                aud={"essential": True, "values": audiences},
                sub={"essential": True},
                exp={"essential": True},
                **({"nonce": {"essential": True, "value": nonce}} if nonce is not None else {}),
            )
            registry.validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            raise Unauthorized(f"the token was refused: {exc}") from exc
        return decoded.claims

    def authorization_url(self, state: str, nonce: str, challenge: str) -> str:
        s = get_settings()
        if not s.oidc_redirect_url:
            raise NotConfigured("single sign-on needs CITYGRID_OIDC_REDIRECT_URL (this server's "
                                "/api/auth/oidc/callback)")
        query = {"response_type": "code", "client_id": s.oidc_client_id, "redirect_uri": s.oidc_redirect_url,
                 "scope": s.oidc_scopes, "state": state, "nonce": nonce, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        endpoint = self.discovery()["authorization_endpoint"]
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    def exchange(self, code: str, verifier: str, nonce: str) -> dict[str, Any]:
        """Trades the authorization code (and the PKCE verifier) for tokens; returns the verified ID token's
        claims. The client authenticates with HTTP Basic (client_secret_basic) when it has a secret."""
        s = get_settings()
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": s.oidc_redirect_url,
                "code_verifier": verifier, "client_id": s.oidc_client_id}
        auth = (s.oidc_client_id, s.oidc_client_secret) if s.oidc_client_secret else None
        try:
            response = httpx.post(self.discovery()["token_endpoint"], data=data, auth=auth, timeout=10)
        except httpx.HTTPError as exc:
            raise Unauthorized(f"the identity provider's token endpoint could not be reached: {exc}") from exc
        if response.status_code != 200:
            raise Unauthorized(f"the identity provider refused the code: HTTP {response.status_code} "
                               f"{response.text[:200]}")
        id_token = response.json().get("id_token")
        if not id_token:
            raise Unauthorized("the identity provider's answer has no id_token")
        return self.verify(id_token, audiences=[s.oidc_client_id], nonce=nonce)


def _kid(token: str) -> str | None:
    """The `kid` of a compact JWS's header (unverified: only to pick the key)."""
    try:
        head = token.split(".", 1)[0]
        header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return header.get("kid") if isinstance(header, dict) else None


def identity(claims: dict[str, Any]) -> Identity:
    """Maps verified claims to a name, a role and an area by configuration (docs/decisions.md)."""
    s = get_settings()
    raw = claims.get(s.oidc_role_claim)
    values = [raw] if isinstance(raw, str) else [v for v in (raw or []) if isinstance(v, str)]
    # Only an explicit mapping grants a role: an issuer's own "admin" must not become ours by name.
    roles = [r for r in (s.oidc_role_map.get(v) for v in values) if r in ROLES]
    if not roles:
        raise Forbidden(f"the token's {s.oidc_role_claim!r} claim ({values or 'absent'}) maps to no role of this "
                        "server (CITYGRID_OIDC_ROLE_MAP)")
    role = max(roles, key=ROLES.index)
    area = claims.get(s.oidc_area_claim)
    area = s.oidc_area_map.get(str(area), str(area)) if area not in (None, "") else None
    name = str(claims.get(s.oidc_name_claim) or claims["sub"])
    client = claims.get("azp") or claims.get("client_id")
    return Identity(str(claims["sub"]), name, role, area, str(client) if client else None)


def bearer_principal(issuer: Issuer, token: str) -> Principal:
    """The principal of a machine client's bearer JWT (verified against the issuer's JWKS)."""
    s = get_settings()
    claims = issuer.verify(token, audiences=s.oidc_audiences or [s.oidc_client_id or ""])
    who = identity(claims)
    # A token issued to a client for itself (client-credentials: sub is the client) names an application;
    # one carrying a person's name (preferred_username) names that person and the client it went through.
    person = claims.get(s.oidc_name_claim)
    return Principal(None, who.name, who.role, area=who.area, user=str(person) if person else None,
                     app=who.client or who.subject, via="bearer")
