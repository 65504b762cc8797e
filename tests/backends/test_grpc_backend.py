"""The grpc backend against a real local gRPC server (dynamic messages, all four call kinds)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.generators.grpc_demo_server import PROTO, SERVICE, run_inventory_server

from magictunnel.backends.base import BackendError
from magictunnel.backends.grpc import GrpcBackend
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext


class DictVault:
    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets

    def get_secret(self, name: str) -> str | None:
        return self.secrets.get(name)


@pytest.fixture(scope="module")
def target() -> Iterator[str]:
    with run_inventory_server(token="s3cret") as address:
        yield address


@pytest.fixture
async def backend() -> AsyncIterator[GrpcBackend]:
    b = GrpcBackend(lambda: DictVault({"inv.token": "s3cret", "wrong": "nope"}))
    yield b
    await b.aclose()


def tool(target: str, method: str, **extra: Any) -> ToolDef:
    config = {
        "target": target,
        "service": SERVICE,
        "method": method,
        "proto_files": [str(PROTO)],
        "auth": {"type": "bearer", "credential": "inv.token"},
        **extra,
    }
    return ToolDef(name=f"t_{method}", routing={"type": "grpc", "config": config})


async def call(backend: GrpcBackend, t: ToolDef, args: dict[str, Any]) -> Any:
    return await backend.execute(t, args, CallContext())


@pytest.mark.anyio
async def test_unary_call_with_injected_credential(backend: GrpcBackend, target: str) -> None:
    result = await call(backend, tool(target, "GetItem"), {"sku": "A1"})
    assert not result.is_error
    item = result.structured_content
    assert item["name"] == "hammer" and item["category"] == "TOOLS" and item["quantity"] == "3"
    assert item["attributes"] == {"origin": "test"} and item["amount"] == 9.5


@pytest.mark.anyio
async def test_status_errors_and_bad_credentials(backend: GrpcBackend, target: str) -> None:
    missing = await call(backend, tool(target, "GetItem"), {"sku": "ZZ"})
    assert missing.is_error and missing.content[0].text == "gRPC NOT_FOUND: no item ZZ"
    wrong = await call(
        backend, tool(target, "GetItem", auth={"type": "bearer", "credential": "wrong"}), {"sku": "A1"}
    )
    assert wrong.is_error and "UNAUTHENTICATED" in wrong.content[0].text
    assert "nope" not in wrong.content[0].text


@pytest.mark.anyio
async def test_server_streaming_collects_up_to_the_limit(backend: GrpcBackend, target: str) -> None:
    full = await call(backend, tool(target, "ListItems"), {"category": "TOOLS"})
    assert full.structured_content["truncated"] is False
    assert [m["sku"] for m in full.structured_content["messages"]] == ["A1", "A2"]
    cut = await call(backend, tool(target, "ListItems", max_messages=4), {"page_size": 50})
    assert cut.structured_content["truncated"] is True and len(cut.structured_content["messages"]) == 4


@pytest.mark.anyio
async def test_client_and_bidirectional_streaming(backend: GrpcBackend, target: str) -> None:
    added = await call(
        backend, tool(target, "AddItems"), {"messages": [{"sku": "N1"}, {"sku": "N2", "quantity": 4}]}
    )
    assert added.structured_content == {"added": 2, "skus": ["N1", "N2"]}
    echoed = await call(
        backend, tool(target, "Echo"), {"messages": [{"sku": "E1", "updated_at": "2024-01-02T03:04:05Z"}]}
    )
    assert echoed.structured_content["messages"][0]["updated_at"] == "2024-01-02T03:04:05Z"
    with pytest.raises(BackendError, match="messages: required"):
        await call(backend, tool(target, "AddItems"), {"sku": "x"})


@pytest.mark.anyio
async def test_bad_arguments_and_descriptors_are_clear(
    backend: GrpcBackend, target: str, tmp_path: Path
) -> None:
    with pytest.raises(BackendError, match=r"not a valid demo\.inventory\.ListItemsRequest"):
        await call(backend, tool(target, "ListItems"), {"category": "NOT_A_CATEGORY"})
    with pytest.raises(BackendError, match=r"method 'Nope' not found in service demo\.inventory\.Inventory"):
        await call(backend, tool(target, "Nope"), {})
    with pytest.raises(BackendError, match="proto file not found"):
        await call(backend, tool(target, "GetItem", proto_files=[str(tmp_path / "x.proto")]), {})


@pytest.mark.anyio
async def test_reflection_and_relative_proto_paths(backend: GrpcBackend, target: str) -> None:
    reflected = ToolDef(
        name="r",
        routing={
            "type": "grpc",
            "config": {
                "target": target,
                "service": SERVICE,
                "method": "GetItem",
                "reflection": True,
                "metadata": {"authorization": "Bearer {token}"},
            },
        },
    )
    result = await call(backend, reflected, {"sku": "F1", "token": "s3cret"})
    assert result.structured_content["name"] == "apple"
    relative = tool(target, "Ping", proto_files=["data/inventory.proto"]).model_copy(
        update={"source": f"file:{PROTO.parent.parent / 'tools.yaml'}"}
    )
    assert (await call(backend, relative, {})).structured_content == {}


def test_check_config() -> None:
    backend = GrpcBackend()
    assert backend.check_config({}) == [
        "target: required, a string",
        "service: required, a string",
        "method: required, a string",
        "proto_files: required (a list of .proto paths) unless reflection: true",
    ]
    assert backend.check_config(
        {"target": "h:1", "service": "s", "method": "m", "reflection": True, "max_messages": 0}
    ) == ["max_messages: expected a positive integer"]


@pytest.mark.anyio
async def test_api_key_goes_into_metadata(target: str) -> None:
    backend = GrpcBackend(lambda: DictVault({"inv.key": "Bearer s3cret"}))
    auth = {"type": "api_key", "credential": "inv.key", "in": "query", "name": "Authorization"}
    try:
        result = await call(backend, tool(target, "GetItem", auth=auth), {"sku": "A2"})
    finally:
        await backend.aclose()
    assert result.structured_content["name"] == "saw"
