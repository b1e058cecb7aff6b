"""A minimal OpenID Connect provider for the tests (a helper module: test modules import it): a real HTTP
server in a thread with a discovery document, a JWKS, an authorization endpoint and a token endpoint,
signing real RS256 tokens with a freshly generated RSA key. Nothing of the server's verification is
mocked: it fetches these documents over HTTP and checks these signatures.

The authorization endpoint does not show a login form: the person who "logs in" is whoever the test put
in `provider.next_login` (claims), as if they had typed their password at the issuer. The token endpoint
checks what a real issuer checks: client credentials (HTTP Basic), the code (once), the redirect URI and
the PKCE verifier against the S256 challenge.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "citygrid-web"
CLIENT_SECRET = "s3cret-of-the-client"


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


class Provider:
    def __init__(self) -> None:
        self.key = new_key("key-1")
        self.published: list[RSAKey] = [self.key]
        self.next_login: dict[str, Any] = {}
        self.codes: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.nonce_override: str | None = None
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle
    def start(self) -> Provider:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def rotate(self, kid: str) -> None:
        """A new signing key, published beside the old one (as issuers do while rotating)."""
        self.key = new_key(kid)
        self.published.append(self.key)

    # -- tokens
    def token(self, claims: dict[str, Any] | None = None, *, key: RSAKey | None = None, lifetime: int = 300,
              header: dict[str, Any] | None = None) -> str:
        """A signed JWT with this issuer's defaults (iss, aud = the client, iat, exp), overridable."""
        now = int(time.time())
        body = {"iss": self.issuer, "aud": CLIENT_ID, "iat": now, "exp": now + lifetime, **(claims or {})}
        signer = key or self.key
        return jwt.encode({"alg": "RS256", "kid": signer.kid, **(header or {})}, body, signer)

    # -- HTTP
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _json(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/.well-known/openid-configuration":
                    self._json(200, {
                        "issuer": provider.issuer, "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token", "jwks_uri": f"{provider.issuer}/jwks",
                        "response_types_supported": ["code"], "id_token_signing_alg_values_supported": ["RS256"],
                        "code_challenge_methods_supported": ["S256"], "subject_types_supported": ["public"],
                    })
                elif url.path == "/jwks":
                    self._json(200, KeySet(provider.published).as_dict(private=False))
                elif url.path == "/authorize":
                    self._authorize({k: v[0] for k, v in parse_qs(url.query).items()})
                else:
                    self._json(404, {"error": "not_found"})

            def _authorize(self, q: dict[str, str]) -> None:
                if q.get("client_id") != CLIENT_ID or q.get("response_type") != "code":
                    self._json(400, {"error": "invalid_request"})
                    return
                if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
                    self._json(400, {"error": "invalid_request", "error_description": "PKCE S256 required"})
                    return
                code = secrets.token_urlsafe(16)
                provider.codes[code] = {"redirect_uri": q["redirect_uri"], "challenge": q["code_challenge"],
                                        "nonce": q.get("nonce"), "claims": dict(provider.next_login)}
                self.send_response(302)
                self.send_header("Location", q["redirect_uri"] + "?" + urlencode({"code": code, "state": q["state"]}))
                self.end_headers()

            def do_POST(self) -> None:
                if urlparse(self.path).path != "/token":
                    self._json(404, {"error": "not_found"})
                    return
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = {k: v[0] for k, v in parse_qs(raw).items()}
                provider.token_requests.append(form)
                basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                if self.headers.get("Authorization") != basic:
                    self._json(401, {"error": "invalid_client"})
                    return
                grant = provider.codes.pop(form.get("code", ""), None)
                if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
                    self._json(400, {"error": "invalid_grant"})
                    return
                verifier = form.get("code_verifier", "")
                challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if challenge != grant["challenge"]:
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                    return
                nonce = provider.nonce_override or grant["nonce"]
                id_token = provider.token({"nonce": nonce, **grant["claims"]})
                self._json(200, {"access_token": provider.token(grant["claims"]), "token_type": "Bearer",
                                 "expires_in": 300, "id_token": id_token})

        return Handler
