"""The example capability files shipped in capabilities/ load cleanly and every tool works offline."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext

pytestmark = pytest.mark.anyio
REPO = Path(__file__).resolve().parents[2]

CALLS: dict[str, dict[str, Any]] = {
    "echo": {"message": "hello; rm -rf / $(id)"},
    "current_time": {},
    "disk_usage": {"path": "."},
    "list_directory": {"path": str(REPO / "capabilities")},
    "system_info": {},
    "whoami": {},
    "count_words": {"text": "one two three\nfour"},
    "sort_lines": {"text": "pear\napple\npear\nfig\n", "unique": True},
    "base64_encode": {"text": "MagicTunnel"},
}


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    config = MagicTunnelConfig.model_validate({"registry": {"paths": [str(REPO / "capabilities")]}})
    gw = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)
    gw.files.reload()
    return gw


def test_default_set_loads_without_problems(gateway: Gateway) -> None:
    assert gateway.files.problems == []
    assert {n for n, t in gateway.catalog.tools.items() if t.source.startswith("file:")} == set(CALLS)
    listed = {t.name for t in gateway.visible_tools()}
    assert "whoami" not in listed and "echo" in listed
    assert "summarize_text" in gateway.catalog.prompts
    assert "magictunnel://examples/about" in gateway.catalog.resources
    assert gateway.catalog.tools["count_words"].keywords  # enhanced-format discovery data kept


async def test_every_shipped_tool_succeeds_offline(gateway: Gateway) -> None:
    outputs = {}
    for name, args in CALLS.items():
        result = await gateway.call_tool(name, args, CallContext())
        assert not result.is_error, f"{name}: {result.content[0].text}"
        outputs[name] = result.structured_content["stdout"]
    assert outputs["echo"] == "hello; rm -rf / $(id)\n"
    assert outputs["count_words"].split() == ["1", "4", "18"]
    assert outputs["sort_lines"] == "apple\nfig\npear\n"
    assert base64.b64decode(outputs["base64_encode"]) == b"MagicTunnel"
    assert outputs["current_time"].strip().endswith("Z")
    assert "system_tools.yaml" in outputs["list_directory"] or "system" in outputs["list_directory"]


async def test_sort_lines_flags_keep_their_positions(gateway: Gateway) -> None:
    reverse_only = await gateway.call_tool(
        "sort_lines", {"text": "a\nb\na\n", "reverse": True}, CallContext()
    )
    assert reverse_only.structured_content["stdout"] == "b\na\na\n"
    unique_only = await gateway.call_tool("sort_lines", {"text": "b\na\nb\n", "unique": True}, CallContext())
    assert unique_only.structured_content["stdout"] == "a\nb\n"
