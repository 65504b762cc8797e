"""A small, real OAuth 2.1 / OpenID Connect authorization server for tests.

Served over HTTP on 127.0.0.1 (ephemeral port). Supports discovery (RFC 8414 + OIDC), JWKS,
authorization code + PKCE (auto-approves as `user`), refresh tokens, dynamic client
registration (RFC 7591), the device authorization grant (RFC 8628) and both legs of SEP-990
(token exchange of an ID token for an ID-JAG, and the jwt-bearer grant redeeming it). Access tokens are
RS256 JWTs with `aud` = the requested `resource`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"
ID_JAG_TYPE = "urn:ietf:params:oauth:token-type:id-jag"


@dataclass
class FakeIdP:
    issuer: str = ""
    user: dict[str, Any] = field(
        default_factory=lambda: {"sub": "u-1", "preferred_username": "alice", "groups": ["mt-admins"]}
    )
    access_ttl: int = 3600
    clients: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    authorize_requests: list[dict[str, Any]] = field(default_factory=list)
    jag_client_ids: dict[str, str] = field(default_factory=dict)  # IdP client -> its id at the AS

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "k1"

    # ---- tokens --------------------------------------------------------------------------
    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk

    def sign(self, claims: dict[str, Any], key: Any = None, kid: str | None = None) -> str:
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": kid or self.kid})

    def access_token(
        self,
        aud: str | list[str],
        scope: str = "mcp:tools",
        sub: str = "client-app",
        ttl: int | None = None,
        **extra: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": sub,
            "aud": aud,
            "iat": now,
            "exp": now + (ttl or self.access_ttl),
            "scope": scope,
            "client_id": sub,
            "jti": secrets.token_hex(8),
            **extra,
        }
        return self.sign(claims)

    def _issue(
        self, client_id: str, scope: str, resource: str | None, nonce: str | None = None
    ) -> dict[str, Any]:
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = {"client_id": client_id, "scope": scope, "resource": resource}
        body = {
            "access_token": self.access_token(resource or client_id, scope, sub=client_id),
            "token_type": "Bearer",
            "expires_in": self.access_ttl,
            "refresh_token": refresh,
            "scope": scope,
        }
        if "openid" in scope.split():
            now = int(time.time())
            body["id_token"] = self.sign(
                {
                    "iss": self.issuer,
                    "aud": client_id,
                    "iat": now,
                    "exp": now + 300,
                    "nonce": nonce,
                    **self.user,
                }
            )
        return body

    # ---- endpoints -----------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "registration_endpoint": f"{self.issuer}/register",
            "device_authorization_endpoint": f"{self.issuer}/device_authorization",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code",
            ],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none", "client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "profile", "mcp:tools", "mcp:admin"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    async def _meta(self, request: Request) -> Response:
        return JSONResponse(self.metadata())

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.jwk()]})

    async def _register(self, request: Request) -> Response:
        body = await request.json()
        client_id = "dyn-" + secrets.token_hex(6)
        record = {**body, "client_id": client_id, "client_id_issued_at": int(time.time())}
        record["token_endpoint_auth_method"] = body.get("token_endpoint_auth_method", "none")
        self.clients[client_id] = record
        return JSONResponse(record, status_code=201)

    async def _authorize(self, request: Request) -> Response:
        q = dict(request.query_params)
        self.authorize_requests.append(q)
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = q
        params = {"code": code, "state": q.get("state", ""), "iss": self.issuer}
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(params)}", status_code=302)

    def _client_id(self, request: Request, form: dict[str, Any]) -> str | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            user, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            expected = self.clients.get(user, {}).get("client_secret")
            return user if expected is None or expected == secret else None
        client_id = form.get("client_id")
        expected = self.clients.get(client_id or "", {}).get("client_secret")
        if expected is not None and form.get("client_secret") != expected:
            return None
        return client_id

    async def _token(self, request: Request) -> Response:
        form = dict(await request.form())
        self.token_requests.append(form)
        client_id = self._client_id(request, form)
        if client_id is None:
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            pending = self.codes.pop(form.get("code", ""), None)
            if pending is None or pending["client_id"] != client_id:
                return JSONResponse({"error": "invalid_grant"}, 400)
            digest = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            if digest.rstrip(b"=").decode() != pending["code_challenge"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE mismatch"}, 400)
            if form.get("redirect_uri") != pending["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant", "error_description": "redirect_uri"}, 400)
            return JSONResponse(
                self._issue(
                    client_id, pending.get("scope", ""), pending.get("resource"), pending.get("nonce")
                )
            )
        if grant == "refresh_token":
            record = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if record is None:
                return JSONResponse({"error": "invalid_grant"}, 400)
            return JSONResponse(
                self._issue(client_id, record["scope"], form.get("resource") or record["resource"])
            )
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            device = self.devices.get(form.get("device_code", ""))
            if device is None:
                return JSONResponse({"error": "invalid_grant"}, 400)
            if not device["approved"]:
                return JSONResponse({"error": "authorization_pending"}, 400)
            self.devices.pop(form["device_code"])
            return JSONResponse(
                self._issue(client_id, device["scope"], form.get("resource") or device["resource"])
            )
        if grant == "client_credentials":
            if self.clients.get(client_id, {}).get("client_secret") is None:
                return JSONResponse({"error": "unauthorized_client"}, 400)
            body = self._issue(client_id, form.get("scope", ""), form.get("resource"))
            body.pop("refresh_token")
            return JSONResponse(body)
        if grant == TOKEN_EXCHANGE:
            return self._id_jag(client_id, form)
        if grant == JWT_BEARER:
            return self._redeem_id_jag(client_id, form)
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    def id_token(self, client_id: str, ttl: int = 300) -> str:
        """An ID token for `user`, as this issuer gives one to `client_id` at sign-in."""
        now = int(time.time())
        return self.sign({"iss": self.issuer, "aud": client_id, "iat": now, "exp": now + ttl, **self.user})

    def _id_jag(self, client_id: str, form: dict[str, Any]) -> Response:
        """SEP-990 leg 1, as the enterprise IdP: RFC 8693 exchange of an ID token for an ID-JAG."""
        if form.get("subject_token_type") != ID_TOKEN_TYPE or form.get("requested_token_type") != ID_JAG_TYPE:
            return JSONResponse({"error": "invalid_request", "error_description": "token types"}, 400)
        if not form.get("audience") or not form.get("resource"):
            return JSONResponse({"error": "invalid_request", "error_description": "audience, resource"}, 400)
        try:
            claims = jwt.decode(
                form.get("subject_token", ""), self.key.public_key(), ["RS256"], audience=client_id
            )
        except jwt.PyJWTError as exc:
            return JSONResponse({"error": "invalid_grant", "error_description": str(exc)}, 400)
        now = int(time.time())
        grant = {
            "iss": self.issuer,
            "sub": claims["sub"],
            "aud": form["audience"],
            "resource": form["resource"],
            "client_id": self.jag_client_ids.get(client_id, client_id),
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_hex(8),
        }
        if form.get("scope"):
            grant["scope"] = form["scope"]
        token = jwt.encode(grant, self.key, algorithm="RS256", headers={"typ": "oauth-id-jag+jwt"})
        return JSONResponse({"access_token": token, "issued_token_type": ID_JAG_TYPE, "token_type": "N_A"})

    def _redeem_id_jag(self, client_id: str, form: dict[str, Any]) -> Response:
        """SEP-990 leg 2, as the MCP authorization server: RFC 7523 jwt-bearer with an ID-JAG."""
        if self.clients.get(client_id, {}).get("client_secret") is None:
            return JSONResponse({"error": "invalid_client"}, 401)
        assertion = form.get("assertion", "")
        try:
            if jwt.get_unverified_header(assertion).get("typ") != "oauth-id-jag+jwt":
                raise jwt.InvalidTokenError("not an ID-JAG")
            claims = jwt.decode(assertion, self.key.public_key(), ["RS256"], audience=self.issuer)
        except jwt.PyJWTError as exc:
            return JSONResponse({"error": "invalid_grant", "error_description": str(exc)}, 400)
        if claims.get("client_id") != client_id or claims.get("resource") != form.get("resource"):
            return JSONResponse({"error": "invalid_grant", "error_description": "client or resource"}, 400)
        body = self._issue(client_id, form.get("scope", ""), claims["resource"])
        body.pop("refresh_token")
        return JSONResponse(body)

    async def _device(self, request: Request) -> Response:
        form = dict(await request.form())
        client_id = self._client_id(request, form)
        if client_id is None:
            return JSONResponse({"error": "invalid_client"}, 401)
        device_code, user_code = secrets.token_urlsafe(16), secrets.token_hex(4).upper()
        self.devices[device_code] = {
            "user_code": user_code,
            "approved": False,
            "scope": form.get("scope", ""),
            "resource": form.get("resource"),
            "client_id": client_id,
        }
        return JSONResponse(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": f"{self.issuer}/device",
                "verification_uri_complete": f"{self.issuer}/device?user_code={user_code}",
                "expires_in": 300,
                "interval": 1,
            }
        )

    def approve_device(self, user_code: str) -> bool:
        for device in self.devices.values():
            if device["user_code"] == user_code:
                device["approved"] = True
                return True
        return False

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._meta),
                Route("/.well-known/oauth-authorization-server", self._meta),
                Route("/jwks", self._jwks),
                Route("/register", self._register, methods=["POST"]),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
                Route("/device_authorization", self._device, methods=["POST"]),
            ]
        )
