"""Generate tools from the real Petstore spec, load them in a real gateway process and call
them against a real local Petstore service: over REST, over MCP, with the API key injected
from the vault, and through smart discovery."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.generators.petstore_service import PETSTORE_KEY, PETSTORE_TOKEN, run_petstore
from tests.generators.specs import SpecsUnavailable, oas_examples
from tests.support.gateway import RunningGateway, run_gateway

ADMIN = "admin-e2e-token"
CREDENTIAL = "swagger_petstore.api_key"
OAUTH_CREDENTIAL = "swagger_petstore.petstore_auth"


@pytest.fixture(scope="module")
def petstore() -> Iterator[tuple[str, Any]]:
    with run_petstore() as (base, app):
        yield base, app


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory, petstore: tuple[str, Any]) -> Iterator[RunningGateway]:
    try:
        spec = oas_examples() / "3.0/json/petstore.json"
    except SpecsUnavailable as exc:
        pytest.skip(str(exc))
    workdir = tmp_path_factory.mktemp("generated")
    caps = workdir / "capabilities"
    caps.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "magictunnel",
            "generate",
            "openapi",
            str(spec),
            "--base-url",
            petstore[0],
            "-o",
            str(caps / "petstore.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "wrote 20 tools" in proc.stderr
    text = (caps / "petstore.yaml").read_text()
    assert PETSTORE_KEY not in text and f"credential: {CREDENTIAL}" in text
    with run_gateway(
        workdir, config={"registry": {"paths": ["./capabilities"]}}, env={"MAGICTUNNEL_ADMIN_TOKEN": ADMIN}
    ) as gw:
        yield gw


def rest_call(gw: RunningGateway, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{gw.base_url}/api/tools/{name}/call", json={"arguments": arguments}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_generated_tools_are_listed(gateway: RunningGateway) -> None:
    tools = httpx.get(f"{gateway.base_url}/api/tools", timeout=10).json()
    names = {t["name"] for t in (tools["tools"] if isinstance(tools, dict) else tools)}
    assert {"getPetById", "findPetsByStatus", "addPet", "getInventory"} <= names


def test_credentials_come_from_the_vault(gateway: RunningGateway, petstore: tuple[str, Any]) -> None:
    before = rest_call(gateway, "getPetById", {"petId": 7})
    assert before["isError"] is True
    assert CREDENTIAL in before["content"][0]["text"]
    put = httpx.put(
        f"{gateway.base_url}/api/vault/secrets/{CREDENTIAL}",
        json={"value": PETSTORE_KEY},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert put.status_code == 200, put.text
    result = rest_call(gateway, "getPetById", {"petId": 7})
    assert result.get("isError") is not True, result
    assert result["structuredContent"]["name"] == "Rex"
    assert petstore[1].state.calls[-1] == {"op": "getPetById", "path": "/v2/pet/7", "api_key": PETSTORE_KEY}
    assert PETSTORE_KEY not in gateway.log()


def test_query_body_and_errors_through_rest(gateway: RunningGateway) -> None:
    _ensure_secret(gateway)
    found = rest_call(gateway, "findPetsByStatus", {"status": ["sold"]})
    assert "Tom" in found["content"][0]["text"]
    created = rest_call(
        gateway, "addPet", {"body": {"name": "Nemo", "photoUrls": ["u"], "status": "pending"}}
    )
    assert created["structuredContent"]["name"] == "Nemo" and created["structuredContent"]["id"] >= 9
    missing = rest_call(gateway, "getPetById", {"petId": 404})
    assert missing["isError"] is True and "404" in missing["content"][0]["text"]
    invalid = httpx.post(
        f"{gateway.base_url}/api/tools/getPetById/call", json={"arguments": {"petId": "x"}}, timeout=10
    ).json()
    assert invalid["isError"] is True and "petId" in invalid["content"][0]["text"]


@pytest.mark.anyio
async def test_generated_tool_over_mcp(gateway: RunningGateway) -> None:
    _ensure_secret(gateway)
    async with Client(streamable_http_client(gateway.mcp_url), mode="legacy") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert listed["getPetById"].input_schema["required"] == ["petId"]
        result = await client.call_tool("getPetById", {"petId": 8})
        assert not result.is_error
        assert result.structured_content["name"] == "Tom"


def test_smart_discovery_runs_the_generated_tool(gateway: RunningGateway, petstore: tuple[str, Any]) -> None:
    _ensure_secret(gateway)
    result = rest_call(gateway, "smart_tool_discovery", {"request": "show me the pet with id 7"})
    assert result.get("isError") is not True, result
    assert "Rex" in str(result)
    assert petstore[1].state.calls[-1]["path"] == "/v2/pet/7"


def _ensure_secret(gw: RunningGateway) -> None:
    # the spec secures pet search and creation with OAuth2 (implicit flow): the vault holds the token
    for name, value in ((CREDENTIAL, PETSTORE_KEY), (OAUTH_CREDENTIAL, PETSTORE_TOKEN)):
        httpx.put(
            f"{gw.base_url}/api/vault/secrets/{name}",
            json={"value": value},
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=10,
        ).raise_for_status()
