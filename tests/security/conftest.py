from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp_types import CallToolResult, TextContent

from magictunnel.catalog.catalog import SourceSnapshot
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.storage import Storage
from magictunnel.storage import testing as pg

ADMIN_TOKEN = "security-tests-admin-token-0123456789"


class EchoBackend:
    """An in-process backend: returns its arguments as JSON text (and `reply` verbatim if given)."""

    type = "echo"

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: Any) -> CallToolResult:
        self.calls.append({"tool": tool.name, "arguments": arguments, "source": ctx.source})
        text = arguments["reply"] if isinstance(arguments.get("reply"), str) else json.dumps(arguments)
        return CallToolResult(content=[TextContent(text=text)])

    def check_config(self, config: dict[str, Any]) -> list[str]:
        return []


TOOLS = [
    ToolDef(name="echo", routing=Routing(type="echo")),
    ToolDef(name="fs_read", routing=Routing(type="echo")),
    ToolDef(name="fs_write", routing=Routing(type="echo")),
    ToolDef(name="db_query", routing=Routing(type="echo")),
    ToolDef(name="gh_issue", routing=Routing(type="echo"), server="github", original_name="issue"),
]


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = pg.run(pg.create_database("mt_security"))
    yield url
    pg.run(pg.drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'magictunnel.db'}"
    url = request.getfixturevalue("pg_url")
    pg.run(pg.truncate_all(url))
    return url


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGICTUNNEL_ADMIN_PASSWORD", "Security-Tests-Passw0rd")
    monkeypatch.delenv("MAGICTUNNEL_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("MAGICTUNNEL_DATABASE_URL", raising=False)


def make_config(tmp_path: Path, db_url: str, mode: str = "advanced", **sections: Any) -> MagicTunnelConfig:
    raw: dict[str, Any] = {
        "deployment": {"runtime_mode": mode},
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"database_url": db_url, "data_dir": str(tmp_path / "data")},
        "external_mcp": {"config_file": None},
        "smart_discovery": {"enabled": False},  # keeps start-up fast; test_transports turns it on
        "security": {"admin_token": ADMIN_TOKEN, "poll_interval": 0.1, "audit": {"flush_interval": 0.05}},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return MagicTunnelConfig.model_validate(raw)


def make_gateway(tmp_path: Path, db_url: str, mode: str = "advanced", **sections: Any) -> Gateway:
    gateway = Gateway(LoadedConfig(make_config(tmp_path, db_url, mode, **sections), None), base_dir=tmp_path)
    gateway.backends.register(EchoBackend())
    gateway.catalog.set_source(SourceSnapshot(name="test", tools=list(TOOLS), priority=5))
    return gateway


@pytest.fixture
async def gateway(tmp_path: Path, db_url: str) -> AsyncIterator[Gateway]:
    gw = make_gateway(tmp_path, db_url)
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


@pytest.fixture
async def storage(db_url: str, tmp_path: Path) -> AsyncIterator[Storage]:
    store = Storage(db_url, tmp_path / "data")
    await store.start()
    yield store
    await store.close()


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


@pytest.fixture
async def suite(storage: Storage, tmp_path: Path) -> AsyncIterator[Any]:
    from magictunnel.security.suite import SecuritySuite

    sec = SecuritySuite(storage, make_config(tmp_path, "sqlite://").security)
    await sec.load()
    yield sec
    await sec.close()
