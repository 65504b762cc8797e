"""Middlewares run in stage order around the router; denials short-circuit."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp_types import CallToolResult

from magictunnel.backends.base import error_result
from magictunnel.config.loader import load_config
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, ToolCall

pytestmark = pytest.mark.anyio

CAP = """
tools:
  - name: say
    inputSchema: {type: object, properties: {text: {type: string}}, required: [text]}
    routing: {type: subprocess, config: {command: echo, args: ["{text}"]}}
"""


class Recorder:
    def __init__(self, name: str, trail: list[str], deny: bool = False) -> None:
        self.name = name
        self.trail = trail
        self.deny = deny

    async def __call__(self, ctx: CallContext, call: ToolCall, next) -> CallToolResult:
        self.trail.append(f"enter {self.name}")
        if self.deny:
            return error_result(f"denied by {self.name}")
        result = await next(ctx, call)
        self.trail.append(f"leave {self.name}")
        return result


@pytest.fixture
def gateway(tmp_path: Path) -> Gateway:
    (tmp_path / "capabilities").mkdir()
    (tmp_path / "capabilities" / "say.yaml").write_text(CAP)
    return Gateway(load_config(cwd=tmp_path, environ={}), base_dir=tmp_path)


async def test_stage_order(gateway: Gateway) -> None:
    trail: list[str] = []
    gateway.add_middleware(Recorder("rbac", trail), "rbac")
    gateway.add_middleware(Recorder("lockdown", trail), "lockdown")
    gateway.add_middleware(Recorder("audit", trail), "audit")
    await gateway.start()
    try:
        result = await gateway.call_tool("say", {"text": "hi"}, CallContext())
    finally:
        await gateway.stop()
    assert result.content[0].text.strip() == "hi"
    assert trail == [
        "enter audit",
        "enter lockdown",
        "enter rbac",
        "leave rbac",
        "leave lockdown",
        "leave audit",
    ]


async def test_denial_short_circuits(gateway: Gateway) -> None:
    trail: list[str] = []
    gateway.add_middleware(Recorder("allowlist", trail, deny=True), "allowlist")
    gateway.add_middleware(Recorder("policy", trail), "policy")
    await gateway.start()
    try:
        result = await gateway.call_tool("say", {"text": "hi"}, CallContext())
    finally:
        await gateway.stop()
    assert result.is_error and result.content[0].text == "denied by allowlist"
    assert trail == ["enter allowlist"]
