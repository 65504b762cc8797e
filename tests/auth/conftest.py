from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.storage import testing as pg
from magictunnel.web.app import create_app
from tests.auth.fake_idp import FakeIdP

ADMIN_PASSWORD = "Initial-Passw0rd-for-tests"


@asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on 127.0.0.1 and an ephemeral port; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("server stopped during start-up")
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    url = pg.run(pg.create_database("mt_auth"))
    yield url
    pg.run(pg.drop_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'magictunnel.db'}"
    url = request.getfixturevalue("pg_url")
    pg.run(pg.truncate_all(url))
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'magictunnel.db'}"


def make_gateway(tmp_path: Path, db_url: str, **sections: Any) -> Gateway:
    raw: dict[str, Any] = {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"database_url": db_url, "data_dir": str(tmp_path / "data")},
        "external_mcp": {"config_file": None},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    config = MagicTunnelConfig.model_validate(raw)
    return Gateway(LoadedConfig(config, None), base_dir=tmp_path)


@pytest.fixture(autouse=True)
def _admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGICTUNNEL_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("MAGICTUNNEL_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("MAGICTUNNEL_VAULT_KEY", raising=False)
    monkeypatch.delenv("MAGICTUNNEL_DATABASE_URL", raising=False)


@pytest.fixture
async def idp() -> AsyncIterator[FakeIdP]:
    fake = FakeIdP()
    async with serve(fake.app()) as url:
        fake.issuer = url
        yield fake


CAPS = """
tools:
  - name: echo
    description: Echo a message back
    inputSchema: {type: object, properties: {message: {type: string}}, required: [message]}
    routing: {type: subprocess, config: {command: echo, args: ["{message}"]}}
"""


@dataclass
class Remote:
    url: str
    idp: FakeIdP


@pytest.fixture
async def remote(tmp_path: Path, sqlite_url: str, idp: FakeIdP) -> AsyncIterator[Remote]:
    """A protected MCP server: tools only for bearer JWTs from `idp` with audience = its /mcp URL."""
    caps = tmp_path / "remote-caps"
    caps.mkdir()
    (caps / "basic.yaml").write_text(CAPS)
    gateway = make_gateway(
        tmp_path / "remote",
        sqlite_url,
        registry={"paths": [str(caps)]},
        auth={"enabled": True, "oauth": {"issuer": idp.issuer}},
    )
    async with serve(create_app(gateway)) as base:
        yield Remote(f"{base}/mcp", idp)
