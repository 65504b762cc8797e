"""The generators' REST API on a real gateway process: admin only, dry run, write + reload."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import yaml

from tests.generators.test_cli import SPEC
from tests.support.gateway import RunningGateway, run_gateway

ADMIN = "admin-gen-token"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = tmp_path_factory.mktemp("gen-api")
    (workdir / "capabilities").mkdir()
    with run_gateway(
        workdir,
        config={"registry": {"paths": ["./capabilities"], "hot_reload": False}},
        env={"MAGICTUNNEL_ADMIN_TOKEN": ADMIN},
    ) as gw:
        yield gw


def post(gw: RunningGateway, kind: str, body: dict, headers: dict | None = AUTH) -> httpx.Response:
    return httpx.post(f"{gw.base_url}/api/generators/{kind}", json=body, headers=headers, timeout=60)


def test_admin_authentication_is_required(gateway: RunningGateway) -> None:
    assert post(gateway, "openapi", {"content": yaml.safe_dump(SPEC)}, headers=None).status_code == 401
    wrong = post(gateway, "openapi", {"content": "x"}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert httpx.get(f"{gateway.base_url}/api/generators", timeout=10).status_code == 401
    kinds = httpx.get(f"{gateway.base_url}/api/generators", headers=AUTH, timeout=10).json()["kinds"]
    assert "base_url" in kinds["openapi"] and "depth" in kinds["graphql"] and "target" in kinds["grpc"]


def test_dry_run_with_inline_content(gateway: RunningGateway) -> None:
    response = post(
        gateway, "openapi", {"content": yaml.safe_dump(SPEC), "options": {"include_tags": ["todo"]}}
    )
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["written"] is False and data["tool_names"] == ["listTodos", "createTodo"]
    assert data["tool_definitions"][0]["routing"]["config"]["auth"]["credential"] == "todo_api.key"
    tools = httpx.get(f"{gateway.base_url}/api/tools", timeout=10).json()
    names = {t["name"] for t in (tools["tools"] if isinstance(tools, dict) else tools)}
    assert "listTodos" not in names


def test_write_into_the_registry_and_reload(gateway: RunningGateway) -> None:
    body = {"content": yaml.safe_dump(SPEC), "output": "todo.yaml", "include_tools": False}
    response = post(gateway, "openapi", body)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["written"] is True and data["changes"]["added"] == ["listTodos", "createTodo", "deleteTodo"]
    assert "tool_definitions" not in data
    tools = httpx.get(f"{gateway.base_url}/api/tools", timeout=10).json()
    names = {t["name"] for t in (tools["tools"] if isinstance(tools, dict) else tools)}
    assert {"listTodos", "createTodo", "deleteTodo"} <= names
    again = post(gateway, "openapi", body).json()
    assert sorted(again["changes"]["unchanged"]) == ["createTodo", "deleteTodo", "listTodos"]


def test_bad_requests_are_clear(gateway: RunningGateway) -> None:
    outside = post(gateway, "openapi", {"content": yaml.safe_dump(SPEC), "output": "../escape.yaml"})
    assert outside.status_code == 400 and "inside a registry directory" in outside.json()["error"]
    not_yaml = post(gateway, "openapi", {"content": yaml.safe_dump(SPEC), "output": "x.txt"})
    assert not_yaml.status_code == 400
    unknown = post(gateway, "openapi", {"content": yaml.safe_dump(SPEC), "options": {"colour": "red"}})
    assert unknown.status_code == 400 and "unknown for openapi: colour" in unknown.json()["error"]
    nothing = post(gateway, "openapi", {"content": "openapi: 3.0.0\ninfo: {title: x, version: '1'}\n"})
    assert nothing.status_code == 422
    assert nothing.json()["problems"][0].startswith("paths: missing")
    missing = post(gateway, "graphql", {})
    assert missing.status_code == 400 and missing.json()["error"] == "source or content is required"
    bad_kind = post(gateway, "soap", {"content": "x"})
    assert bad_kind.status_code in (400, 404, 422)


def test_grpc_from_a_proto_path_relative_to_the_gateway(gateway: RunningGateway) -> None:
    import shutil

    from tests.generators.grpc_demo_server import PROTO

    shutil.copy(PROTO, gateway.workdir / "inventory.proto")
    response = post(
        gateway,
        "grpc",
        {"options": {"target": "127.0.0.1:1", "proto_files": ["inventory.proto"]}, "include_tools": False},
    )
    assert response.status_code == 200, response.text
    assert response.json()["tool_names"] == ["GetItem", "ListItems", "AddItems", "Echo", "Ping"]
    broken = post(gateway, "grpc", {"options": {"target": "127.0.0.1:1", "proto_files": ["nope.proto"]}})
    assert broken.status_code == 422 and "proto file not found" in broken.json()["problems"][0]
