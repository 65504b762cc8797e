"""`magictunnel generate ...` as a user runs it (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from magictunnel.catalog.capability_file import load_capability_file
from tests.generators.grpc_demo_server import PROTO

SPEC = {
    "openapi": "3.0.3",
    "info": {"title": "Todo API", "version": "1"},
    "servers": [{"url": "http://127.0.0.1:1/api"}],
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}},
    "security": [{"key": []}],
    "paths": {
        "/todos": {
            "get": {
                "operationId": "listTodos",
                "tags": ["todo"],
                "responses": {"200": {"description": "ok"}},
            },
            "post": {
                "operationId": "createTodo",
                "tags": ["todo"],
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"title": {"type": "string"}}}
                        }
                    }
                },
                "responses": {"201": {"description": "created"}},
            },
        },
        "/todos/{id}": {
            "delete": {
                "operationId": "deleteTodo",
                "tags": ["admin"],
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"204": {"description": "gone"}},
            }
        },
    },
}


def mt(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "magictunnel", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "todo.yaml"
    path.write_text(yaml.safe_dump(SPEC))
    return path


def test_openapi_write_then_dry_run_regeneration(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    out = tmp_path / "caps" / "todo.yaml"
    first = mt("generate", "openapi", str(spec), "-o", str(out), "--credential", "key=todo/api-key")
    assert first.returncode == 0, first.stderr
    assert f"wrote 3 tools to {out}" in first.stderr
    loaded = load_capability_file(out, {"http"})
    assert loaded.problems == [] and [t.name for t in loaded.tools] == [
        "listTodos",
        "createTodo",
        "deleteTodo",
    ]
    assert loaded.tools[0].routing.config["auth"]["credential"] == "todo/api-key"

    before = out.read_text()
    dry = mt("generate", "openapi", str(spec), "-o", str(out), "--tag", "todo", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "listTodos" in dry.stdout and "deleteTodo" not in dry.stdout
    assert "removed (1): deleteTodo" in dry.stderr and "dry run: 2 tools would be written" in dry.stderr
    assert out.read_text() == before  # nothing written


def test_json_summary_and_stdout_yaml(tmp_path: Path) -> None:
    spec = spec_file(tmp_path)
    summary = mt("generate", "openapi", str(spec), "--json", "--naming", "snake", "--prefix", "todo_")
    assert summary.returncode == 0, summary.stderr
    data = json.loads(summary.stdout)
    assert data["tools"] == 3 and data["tool_names"] == [
        "todo_list_todos",
        "todo_create_todo",
        "todo_delete_todo",
    ]
    printed = mt("generate", "openapi", str(spec), "--method", "delete")
    assert yaml.safe_load(printed.stdout)["tools"][0]["name"] == "deleteTodo"


def test_errors_exit_non_zero_with_the_location(tmp_path: Path) -> None:
    missing = mt("generate", "openapi", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1 and f"{tmp_path / 'nope.yaml'}: file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    bad_naming = mt("generate", "openapi", str(spec_file(tmp_path)), "--naming", "kebab")
    assert bad_naming.returncode == 2 and "--naming: expected keep, snake or camel" in bad_naming.stderr
    bad_pair = mt("generate", "openapi", str(spec_file(tmp_path)), "--credential", "oops")
    assert bad_pair.returncode == 2 and "--credential: expected NAME=VALUE" in bad_pair.stderr
    no_source = mt("generate", "grpc", "--target", "127.0.0.1:1")
    assert no_source.returncode == 2 and "give .proto files or --reflection" in no_source.stderr


def test_graphql_grpc_and_merge(tmp_path: Path) -> None:
    sdl = tmp_path / "s.graphql"
    sdl.write_text("type Query { hello(name: String!): String }")
    gql = mt(
        "generate",
        "graphql",
        str(sdl),
        "--endpoint",
        "http://127.0.0.1:1/graphql",
        "-o",
        str(tmp_path / "a.yaml"),
    )
    assert gql.returncode == 0, gql.stderr
    grpc = mt(
        "generate",
        "grpc",
        str(PROTO),
        "--target",
        "127.0.0.1:1",
        "--service",
        "Inventory",
        "-o",
        str(tmp_path / "b.yaml"),
    )
    assert grpc.returncode == 0, grpc.stderr
    merged = mt(
        "generate",
        "merge",
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
        "-o",
        str(tmp_path / "m.yaml"),
    )
    assert merged.returncode == 0 and "wrote 6 tools" in merged.stderr
    names = [t.name for t in load_capability_file(tmp_path / "m.yaml", {"graphql", "grpc"}).tools]
    assert names == ["hello", "GetItem", "ListItems", "AddItems", "Echo", "Ping"]
    validated = mt("validate", str(tmp_path / "m.yaml"), str(tmp_path / "a.yaml"), str(tmp_path / "b.yaml"))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "0 problems" in validated.stdout
    conflict = mt("generate", "merge", str(tmp_path / "a.yaml"), str(tmp_path / "a.yaml"))
    assert conflict.returncode == 1 and "name 'hello' already defined" in conflict.stderr


def test_default_auth_for_specs_without_security(tmp_path: Path) -> None:
    spec = dict(SPEC)
    spec.pop("security")
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "open-tools.yaml"
    done = mt(
        "generate",
        "openapi",
        str(path),
        "-o",
        str(out),
        "--auth-type",
        "bearer",
        "--auth-credential",
        "todo/pat",
    )
    assert done.returncode == 0, done.stderr
    tools = load_capability_file(out, {"http"}).tools
    assert all(t.routing.config["auth"] == {"type": "bearer", "credential": "todo/pat"} for t in tools)
    bad = mt("generate", "openapi", str(path), "--auth-type", "digest", "--auth-credential", "x")
    assert bad.returncode == 2 and "--auth-type: expected bearer, api_key or basic" in bad.stderr
