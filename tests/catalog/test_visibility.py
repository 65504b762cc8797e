"""`hidden` tools are not listed but stay callable; `enabled: false` tools never execute."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway, UnknownToolError
from magictunnel.pipeline.context import CallContext

pytestmark = pytest.mark.anyio


def capability(tmp_path: Path) -> Path:
    marker = tmp_path / "executed"
    touch = {
        "command": sys.executable,
        "args": ["-c", "import sys; open(sys.argv[1], 'a').write('x')", str(marker)],
    }
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "tools.yaml").write_text(
        f"""
tools:
  - name: visible
    routing: {{type: subprocess, config: {{command: echo, args: [visible]}}}}
  - name: secret_helper
    hidden: true
    routing: {{type: subprocess, config: {{command: echo, args: [hidden-but-callable]}}}}
  - name: switched_off
    enabled: false
    routing: {{type: subprocess, config: {json.dumps(touch)}}}
enhanced_tools:
  - name: enhanced_hidden
    core: {{description: hidden via access}}
    execution: {{routing: {{type: subprocess, config: {{command: echo, args: [eh]}}}}}}
    access: {{hidden: true}}
  - name: enhanced_off
    execution: {{routing: {{type: subprocess, config: {json.dumps(touch)}}}}}
    access: {{enabled: false}}
"""
    )
    return caps


def make_gateway(tmp_path: Path, tools: dict[str, Any] | None = None) -> Gateway:
    caps = capability(tmp_path)
    config = MagicTunnelConfig.model_validate({"registry": {"paths": [str(caps)]}, "tools": tools or {}})
    gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)
    gateway.files.reload()
    assert gateway.files.problems == []
    return gateway


def file_tools(gateway: Gateway) -> set[str]:
    return {t.name for t in gateway.visible_tools() if t.source.startswith("file:")}


async def test_hidden_tools_are_not_listed_but_callable(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    assert file_tools(gateway) == {"visible", "switched_off", "enhanced_off"}
    assert "secret_helper" not in {t.name for t in gateway.catalog.list_tools()}
    assert "secret_helper" in {t.name for t in gateway.catalog.list_tools(include_hidden=True)}
    result = await gateway.call_tool("secret_helper", {}, CallContext())
    assert not result.is_error and result.content[0].text == "hidden-but-callable\n"
    enhanced = await gateway.call_tool("enhanced_hidden", {}, CallContext())
    assert enhanced.content[0].text == "eh\n"


async def test_disabled_tools_are_never_executed(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    for name in ("switched_off", "enhanced_off"):
        result = await gateway.call_tool(name, {}, CallContext())
        assert result.is_error and result.content[0].text == f"Tool {name} is disabled"
    assert not (tmp_path / "executed").exists()


async def test_config_overrides_visibility_and_enablement(tmp_path: Path) -> None:
    gateway = make_gateway(
        tmp_path,
        tools={
            "visible": {"hidden": True, "enabled": False},
            "switched_off": {"enabled": True},
            "secret_helper": {"hidden": False},
        },
    )
    assert file_tools(gateway) == {"secret_helper", "switched_off", "enhanced_off"}
    off = await gateway.call_tool("visible", {}, CallContext())
    assert off.is_error and "disabled" in off.content[0].text
    on = await gateway.call_tool("switched_off", {}, CallContext())
    assert not on.is_error
    assert (tmp_path / "executed").read_text() == "x"


async def test_unknown_tool_is_a_protocol_error(tmp_path: Path) -> None:
    gateway = make_gateway(tmp_path)
    with pytest.raises(UnknownToolError, match="Unknown tool: nope"):
        await gateway.call_tool("nope", {}, CallContext())
