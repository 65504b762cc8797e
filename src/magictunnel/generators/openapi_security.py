"""OpenAPI security schemes -> `routing.config.auth` for the http backend.

The generated file never holds a secret. It names a credential that the gateway's vault
(`gateway.extensions["vault"].get_secret(name)`) supplies at call time::

    auth: {type: api_key, credential: petstore.api_key, in: header, name: api_key}  # in: header|query|cookie
    auth: {type: bearer, credential: petstore.bearer}
    auth: {type: basic, credential: petstore.basic}          # the secret is "user:password"
    auth: {type: bearer, credential: svc.oauth,              # OAuth2 client credentials: the
           oauth2: {flow: client_credentials,                # vault holds "client_id:client_secret";
                    token_url: https://.../token,            # backends/oauth2_client.py exchanges it
                    scopes: [read]}}                         # for a cached access token per call
    auth: {type: bearer, credential: svc.user_token,         # other OAuth2 flows (a user signs in in
           oauth2: {flow: authorizationCode, note: ...}}     # a browser): the vault holds the token

Credential names default to `<prefix>.<scheme name>` (prefix: the spec's title, slugged);
`credentials={scheme: name}` overrides them.
"""

from __future__ import annotations

import re
from typing import Any

SUPPORTED_NOTE = "apiKey (header/query/cookie), http bearer/basic, oauth2 clientCredentials"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "api"


def scheme_to_auth(
    name: str, scheme: dict[str, Any], credential: str
) -> tuple[dict[str, Any] | None, str | None]:
    """(auth config, None) or (None, why it is not supported)."""
    kind = scheme.get("type")
    if kind == "apiKey":
        where = scheme.get("in", "header")
        if where not in ("header", "query", "cookie"):
            return None, f"apiKey in {where!r} is not supported"
        if not scheme.get("name"):
            return None, "apiKey scheme has no `name`"
        return {"type": "api_key", "credential": credential, "in": where, "name": scheme["name"]}, None
    if kind == "http":
        http_scheme = str(scheme.get("scheme", "")).lower()
        if http_scheme == "bearer":
            return {"type": "bearer", "credential": credential}, None
        if http_scheme == "basic":
            return {"type": "basic", "credential": credential}, None
        return None, f"http scheme {http_scheme!r} is not supported"
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        cc = flows.get("clientCredentials")
        if isinstance(cc, dict) and cc.get("tokenUrl"):
            return {
                "type": "bearer",
                "credential": credential,
                "oauth2": {
                    "flow": "client_credentials",
                    "token_url": cc["tokenUrl"],
                    "scopes": sorted((cc.get("scopes") or {}).keys()),
                },
            }, None
        # other flows need a user in a browser: the vault holds an access token obtained elsewhere
        if flows:
            return {
                "type": "bearer",
                "credential": credential,
                "oauth2": {"flow": next(iter(flows)), "note": "access token supplied by the vault"},
            }, None
        return None, "oauth2 scheme without flows"
    if kind == "openIdConnect":
        return {
            "type": "bearer",
            "credential": credential,
            "oidc": {"discovery_url": scheme.get("openIdConnectUrl")},
        }, None
    return None, f"security scheme type {kind!r} is not supported ({SUPPORTED_NOTE})"


def pick_auth(
    requirements: Any, schemes: dict[str, Any], credential_for: dict[str, str], prefix: str, resolve: Any
) -> tuple[dict[str, Any] | None, list[str]]:
    """The auth to inject for an operation's security requirements, plus warnings.

    Requirements are alternatives (OR) of scheme sets (AND). The first alternative whose
    schemes are all supported is used; the http backend injects one credential, so an
    alternative that needs several only gets the first (with a warning). An empty
    alternative (`{}`) means auth is optional: nothing is injected if it comes first.
    """
    warnings: list[str] = []
    if not isinstance(requirements, list) or not requirements:
        return None, warnings
    reasons: list[str] = []
    for alternative in requirements:
        if not isinstance(alternative, dict):
            continue
        if not alternative:
            return None, warnings
        auths = []
        ok = True
        for scheme_name in alternative:
            scheme = schemes.get(scheme_name)
            if isinstance(scheme, dict) and "$ref" in scheme:
                scheme = resolve(scheme)
            if not isinstance(scheme, dict):
                ok = False
                reasons.append(
                    f"security scheme {scheme_name!r} is not defined in components.securitySchemes"
                )
                break
            credential = credential_for.get(scheme_name) or f"{prefix}.{slug(scheme_name)}"
            auth, why = scheme_to_auth(scheme_name, scheme, credential)
            if auth is None:
                ok = False
                reasons.append(f"{scheme_name}: {why}")
                break
            auths.append(auth)
        if ok and auths:
            if len(auths) > 1:
                warnings.append(
                    f"needs {len(auths)} credentials together ({', '.join(alternative)}); "
                    f"only {auths[0]['credential']!r} is injected"
                )
            return auths[0], warnings
    if reasons:
        warnings.append("no supported security scheme: " + "; ".join(reasons))
    return None, warnings
