"""Generate tools from a GraphQL SDL and a .proto file with the CLI, load them in a real
gateway process and call them through it against real local GraphQL and gRPC services
that require credentials, injected from the vault."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.generators.graphql_service import GRAPHQL_TOKEN, SDL, run_graphql_service
from tests.generators.grpc_demo_server import PROTO, run_inventory_server
from tests.support.gateway import RunningGateway, run_gateway

ADMIN = "admin-e2e-token"
GRPC_TOKEN = "grpc-e2e-token"


def generate(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "magictunnel", "generate", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    workdir = tmp_path_factory.mktemp("generated")
    caps = workdir / "capabilities"
    caps.mkdir()
    sdl = workdir / "library.graphql"
    sdl.write_text(SDL)
    with run_graphql_service() as endpoint, run_inventory_server(token=GRPC_TOKEN) as target:
        assert "wrote 3 tools" in generate(
            "graphql",
            str(sdl),
            "--endpoint",
            endpoint,
            "--prefix",
            "library_",
            "--auth-type",
            "bearer",
            "--credential",
            "library.token",
            "-o",
            str(caps / "library.yaml"),
        )
        assert "wrote 5 tools" in generate(
            "grpc",
            str(PROTO),
            "--target",
            target,
            "--qualify",
            "--naming",
            "snake",
            "--auth-type",
            "bearer",
            "--credential",
            "inventory.token",
            "-o",
            str(caps / "inventory.yaml"),
        )
        with run_gateway(
            workdir,
            config={"registry": {"paths": ["./capabilities"]}},
            env={"MAGICTUNNEL_ADMIN_TOKEN": ADMIN},
        ) as gw:
            for name, value in (("library.token", GRAPHQL_TOKEN), ("inventory.token", GRPC_TOKEN)):
                httpx.put(
                    f"{gw.base_url}/api/vault/secrets/{name}",
                    json={"value": value},
                    headers={"Authorization": f"Bearer {ADMIN}"},
                    timeout=10,
                ).raise_for_status()
            yield gw


def call(gw: RunningGateway, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{gw.base_url}/api/tools/{name}/call", json={"arguments": arguments}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_graphql_query_and_mutation(gateway: RunningGateway) -> None:
    book = call(gateway, "library_book", {"id": "1"})
    assert book.get("isError") is not True, book
    assert book["structuredContent"]["title"] == "The Dispossessed"
    assert book["structuredContent"]["author"]["name"] == "Ursula"
    added = call(gateway, "library_addBook", {"input": {"title": "Lathe", "year": 1971, "authorId": "1"}})
    assert added["structuredContent"]["id"] == "2" and added["structuredContent"]["title"] == "Lathe"
    # the selection set cuts the Book -> Author -> books cycle
    assert added["structuredContent"]["author"] == {"id": "1", "name": "Ursula"}
    bad = call(gateway, "library_book", {})
    assert bad["isError"] is True and "id" in bad["content"][0]["text"]


def test_grpc_unary_and_streaming(gateway: RunningGateway) -> None:
    item = call(gateway, "inventory_get_item", {"sku": "F1"})
    assert item.get("isError") is not True, item
    assert item["structuredContent"]["name"] == "apple" and item["structuredContent"]["quantity"] == "120"
    listed = call(gateway, "inventory_list_items", {"category": "TOOLS"})
    assert [m["sku"] for m in listed["structuredContent"]["messages"]] == ["A1", "A2"]
    missing = call(gateway, "inventory_get_item", {"sku": "nope"})
    assert missing["isError"] is True and "NOT_FOUND" in missing["content"][0]["text"]


def test_secrets_stay_out_of_files_and_logs(gateway: RunningGateway) -> None:
    caps = Path(gateway.workdir) / "capabilities"
    text = (caps / "library.yaml").read_text() + (caps / "inventory.yaml").read_text()
    assert GRAPHQL_TOKEN not in text and GRPC_TOKEN not in text
    assert GRAPHQL_TOKEN not in gateway.log() and GRPC_TOKEN not in gateway.log()
