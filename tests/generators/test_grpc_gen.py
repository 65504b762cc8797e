"""gRPC generation from .proto files (grpcio-tools) and from server reflection."""

from __future__ import annotations

from pathlib import Path

from magictunnel.catalog.capability_file import load_capability_file
from magictunnel.generators.grpc_gen import GrpcOptions, generate_grpc
from magictunnel.generators.output import write_result
from tests.generators.grpc_demo_server import PROTO, run_inventory_server


def _by_name(result) -> dict:
    return {t["name"]: t for t in result.tools}


def test_proto_file_methods_and_message_schemas(tmp_path: Path) -> None:
    result = generate_grpc(GrpcOptions(target="127.0.0.1:50051", proto_files=[str(PROTO)], max_messages=7))
    assert result.problems == []
    tools = _by_name(result)
    assert list(tools) == ["GetItem", "ListItems", "AddItems", "Echo", "Ping"]
    get = tools["GetItem"]
    assert get["inputSchema"] == {"type": "object", "properties": {"sku": {"type": "string"}}}
    item = get["outputSchema"]["properties"]
    assert item["category"] == {"type": "string", "enum": ["CATEGORY_UNSPECIFIED", "TOOLS", "FOOD"]}
    assert item["quantity"]["type"] == ["integer", "string"]
    assert item["tags"] == {"type": "array", "items": {"type": "string"}}
    assert item["attributes"] == {"type": "object", "additionalProperties": {"type": "string"}}
    assert item["updated_at"] == {"type": "string", "format": "date-time"}
    assert item["note"] == {"type": "string"}
    assert "Recursive reference to demo.inventory.Item" in item["replacement"]["description"]
    assert get["outputSchema"]["description"] == "oneof price: set at most one of amount, quote"
    cfg = get["routing"]["config"]
    assert cfg == {
        "target": "127.0.0.1:50051",
        "service": "demo.inventory.Inventory",
        "method": "GetItem",
        "proto_files": [str(PROTO.resolve())],
    }
    stream = tools["ListItems"]
    assert stream["routing"]["config"]["max_messages"] == 7
    assert "up to 7 messages" in stream["description"]
    assert set(stream["outputSchema"]["properties"]) == {"messages", "truncated"}
    assert tools["AddItems"]["inputSchema"]["required"] == ["messages"]
    assert tools["Ping"]["inputSchema"] == {"type": "object", "properties": {}}
    out = tmp_path / "grpc.yaml"
    write_result(result, out)
    assert load_capability_file(out, {"grpc"}).problems == []


def test_reflection_lists_the_same_methods() -> None:
    with run_inventory_server() as target:
        result = generate_grpc(GrpcOptions(target=target, reflection=True, qualify=True, naming="snake"))
    assert result.problems == []
    assert [t["name"] for t in result.tools] == [
        "inventory_get_item",
        "inventory_list_items",
        "inventory_add_items",
        "inventory_echo",
        "inventory_ping",
    ]
    assert all(t["routing"]["config"]["reflection"] is True for t in result.tools)


def test_bad_proto_and_unknown_service_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.proto"
    bad.write_text('syntax = "proto3";\nmessage A { strin x = 1; }\n')
    result = generate_grpc(GrpcOptions(target="127.0.0.1:1", proto_files=[str(bad)]))
    assert (
        result.tools == [] and "protoc failed" in result.problems[0] and "bad.proto:2" in result.problems[0]
    )
    result = generate_grpc(GrpcOptions(target="127.0.0.1:1", proto_files=[str(PROTO)], services=["Nope"]))
    assert result.problems == ["no gRPC services found matching ['Nope']"]
    result = generate_grpc(GrpcOptions(target="127.0.0.1:1", proto_files=[str(tmp_path / "missing.proto")]))
    assert "proto file not found" in result.problems[0]


def test_protos_next_to_the_capability_file_are_referenced_relatively(tmp_path: Path) -> None:
    import asyncio
    import shutil

    from magictunnel.backends.grpc import GrpcBackend
    from magictunnel.catalog.capability_file import load_capability_file
    from magictunnel.pipeline.context import CallContext

    (tmp_path / "protos").mkdir()
    shutil.copy(PROTO, tmp_path / "protos" / "inventory.proto")
    with run_inventory_server() as target:
        result = generate_grpc(
            GrpcOptions(
                target=target,
                proto_files=[str(tmp_path / "protos" / "inventory.proto")],
                relative_to=str(tmp_path),
                services=["Inventory"],
            )
        )
        assert result.tools[0]["routing"]["config"]["proto_files"] == ["protos/inventory.proto"]
        write_result(result, tmp_path / "inventory.yaml")
        tool = next(
            t
            for t in load_capability_file(tmp_path / "inventory.yaml", {"grpc"}).tools
            if t.name == "GetItem"
        )

        async def call() -> dict:
            backend = GrpcBackend()
            try:
                return (await backend.execute(tool, {"sku": "A1"}, CallContext())).structured_content
            finally:
                await backend.aclose()

        assert asyncio.run(call())["name"] == "hammer"
