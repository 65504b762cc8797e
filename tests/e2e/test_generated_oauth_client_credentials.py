"""An OpenAPI spec secured with OAuth2 client credentials: the generated tool names a vault
credential (`client_id:client_secret`); the gateway exchanges it for an access token at the
spec's token URL, caches it, and calls the real local API with it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from magictunnel.backends.oauth2_client import clear_cache
from magictunnel.config.loader import load_config
from magictunnel.core.gateway import Gateway
from magictunnel.generators.openapi import generate_openapi
from magictunnel.generators.output import write_result
from magictunnel.pipeline.context import CallContext
from tests.generators.petstore_service import serve_app

CLIENT = "reports-client:cl-s3cret"
TOKEN_CALLS: list[dict[str, Any]] = []


async def token(request: Request) -> Response:
    form = await request.form()
    basic = request.headers.get("authorization", "").removeprefix("Basic ")
    TOKEN_CALLS.append({"grant": form.get("grant_type"), "scope": form.get("scope")})
    if base64.b64decode(basic or "").decode() != CLIENT or form.get("grant_type") != "client_credentials":
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    return JSONResponse({"access_token": "at-reports-1", "token_type": "Bearer", "expires_in": 3600})


async def report(request: Request) -> Response:
    if request.headers.get("authorization") != "Bearer at-reports-1":
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    return JSONResponse({"id": request.path_params["id"], "total": 42})


class DictVault:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def get_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    app = Starlette(
        routes=[Route("/oauth/token", token, methods=["POST"]), Route("/v1/reports/{id}", report)]
    )
    with serve_app(app) as base:
        yield base


def spec(base: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Reports", "version": "1"},
        "servers": [{"url": f"{base}/v1"}],
        "components": {
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{base}/oauth/token",
                            "scopes": {"reports:read": "read reports"},
                        }
                    },
                }
            }
        },
        "paths": {
            "/reports/{id}": {
                "get": {
                    "operationId": "getReport",
                    "security": [{"oauth": ["reports:read"]}],
                    "parameters": [
                        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }


@pytest.fixture
async def gateway(tmp_path: Path, service: str) -> AsyncIterator[Gateway]:
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec(service)))
    result = generate_openapi(str(tmp_path / "spec.yaml"))
    assert result.problems == []
    write_result(result, tmp_path / "capabilities" / "reports.yaml")
    (tmp_path / "magictunnel-config.yaml").write_text(
        yaml.safe_dump({"registry": {"paths": ["./capabilities"]}})
    )
    gw = Gateway(load_config(tmp_path / "magictunnel-config.yaml"), base_dir=tmp_path)
    await gw.start()
    gw.extensions["vault"] = DictVault({"reports.oauth": CLIENT})
    clear_cache()
    TOKEN_CALLS.clear()
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.mark.anyio
async def test_client_credentials_token_is_fetched_cached_and_used(gateway: Gateway) -> None:
    auth = gateway.resolve_tool("getReport").routing.config["auth"]
    assert auth["credential"] == "reports.oauth" and auth["oauth2"]["flow"] == "client_credentials"
    first = await gateway.call_tool("getReport", {"id": "r1"}, CallContext(source="rest"))
    assert not first.is_error, first
    assert first.structured_content == {"id": "r1", "total": 42}
    second = await gateway.call_tool("getReport", {"id": "r2"}, CallContext(source="rest"))
    assert second.structured_content["id"] == "r2"
    assert TOKEN_CALLS == [{"grant": "client_credentials", "scope": "reports:read"}]  # cached


@pytest.mark.anyio
async def test_refused_client_credentials_are_a_clear_error(gateway: Gateway) -> None:
    gateway.extensions["vault"] = DictVault({"reports.oauth": "reports-client:wrong"})
    result = await gateway.call_tool("getReport", {"id": "r1"}, CallContext(source="rest"))
    assert result.is_error
    text = result.content[0].text
    assert "refused the client credentials: HTTP 401 invalid_client" in text and "wrong" not in text
