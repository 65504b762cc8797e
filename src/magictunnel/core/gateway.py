"""The gateway: configuration, catalog, backends, pipeline and services in one place.

Transports and REST routers hold a `Gateway` and call `call_tool`; they never execute a
tool any other way.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, CallToolResult

from magictunnel.backends import default_backends
from magictunnel.backends.router import Router
from magictunnel.catalog.catalog import Catalog
from magictunnel.catalog.file_registry import FileRegistry
from magictunnel.catalog.models import ToolDef
from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig, RuntimeMode
from magictunnel.core.features import load_features
from magictunnel.core.services import ServiceContainer, ServiceSpec
from magictunnel.pipeline.chain import Middleware, Pipeline
from magictunnel.pipeline.context import CallContext, ToolCall
from magictunnel.pipeline.validation import ArgumentValidation

log = logging.getLogger("magictunnel.gateway")

# Order of pipeline stages; services insert their middlewares at these positions.
STAGE_ORDER = {
    "auth": 10,
    "lockdown": 20,
    "allowlist": 30,
    "rbac": 40,
    "policy": 50,
    "sanitize_input": 60,
    "validation": 70,
    "sanitize_output": 80,
    "audit": 5,  # outermost of the execution stages: it sees every outcome, denials included
}


class UnknownToolError(MCPError):
    def __init__(self, name: str) -> None:
        super().__init__(INVALID_PARAMS, f"Unknown tool: {name}")


class Gateway:
    def __init__(self, loaded: LoadedConfig, base_dir: Path | None = None) -> None:
        self.loaded = loaded
        self.config: MagicTunnelConfig = loaded.config
        self.base_dir = base_dir or (loaded.path.parent if loaded.path else Path.cwd())
        self.catalog = Catalog(self.config.registry.conflict_strategy)
        self.backends = default_backends(self)
        self.router = Router(self.backends, self._timeout_for)
        self._middlewares: list[tuple[int, Middleware]] = [(STAGE_ORDER["validation"], ArgumentValidation())]
        self.pipeline = Pipeline(self.router, self._ordered())
        self.services = ServiceContainer(self.config.runtime_mode)
        self.files = FileRegistry(
            self.catalog,
            self.config.registry.paths,
            self.backends.types(),
            base=self.base_dir,
            check_routing=self._check_routing,
        )
        self.extensions: dict[str, Any] = {}
        self._started = False
        self._stopping: asyncio.Future[None] | None = None
        self._register_core_services()

    @property
    def mode(self) -> RuntimeMode:
        return self.config.runtime_mode

    # ---- pipeline ------------------------------------------------------------------------
    def _ordered(self) -> list[Middleware]:
        return [mw for _, mw in sorted(self._middlewares, key=lambda pair: pair[0])]

    def add_middleware(self, middleware: Middleware, stage: str | int) -> None:
        order = STAGE_ORDER[stage] if isinstance(stage, str) else stage
        self._middlewares.append((order, middleware))
        self.pipeline.set_middlewares(self._ordered())

    def remove_middleware(self, middleware: Middleware) -> None:
        self._middlewares = [(o, m) for o, m in self._middlewares if m is not middleware]
        self.pipeline.set_middlewares(self._ordered())

    def _timeout_for(self, call: ToolCall) -> float:
        tool = call.tool
        routing_timeout = tool.routing.config.get("timeout")
        server_timeout = float(routing_timeout) if isinstance(routing_timeout, int | float) else None
        return self.config.tool_timeout(tool.name, server_timeout)

    def _check_routing(self, tool: ToolDef) -> list[str]:
        backend = self.backends.get(tool.routing.type)
        if backend is None or not hasattr(backend, "check_config"):
            return []
        return [
            f"{tool.source.removeprefix('file:')}: tool {tool.name}: routing.config.{p}"
            for p in backend.check_config(tool.routing.config)
        ]

    # ---- tool execution: the one way -----------------------------------------------------
    def resolve_tool(self, name: str) -> ToolDef | None:
        tool = self.catalog.get_tool(name)
        if tool is None:
            return None
        override = self.config.tools.get(name)
        if override is not None:
            update = {
                k: v
                for k, v in override.model_dump(exclude_none=True).items()
                if k in ("enabled", "hidden", "description")
            }
            if update:
                tool = tool.model_copy(update=update)
        return tool

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None, ctx: CallContext
    ) -> CallToolResult:
        tool = self.resolve_tool(name)
        if tool is None:
            raise UnknownToolError(name)
        return await self.pipeline.execute(ctx, ToolCall(tool=tool, arguments=dict(arguments or {})))

    def visible_tools(self) -> list[ToolDef]:
        tools = []
        for tool in self.catalog.tools.values():
            resolved = self.resolve_tool(tool.name) or tool
            if not resolved.hidden:
                tools.append(resolved)
        return tools

    # ---- lifecycle -----------------------------------------------------------------------
    def _register_core_services(self) -> None:
        async def start_registry() -> FileRegistry:
            self.files.reload()
            if self.config.registry.hot_reload:
                await self.files.start_watching()
            return self.files

        self.services.add(
            ServiceSpec(
                "capability_registry",
                start_registry,
                self.files.stop_watching,
                description="capability files and hot reload",
            )
        )
        for install in load_features():
            install(self)

    async def start(self) -> None:
        if self._started:
            return
        try:
            await self.services.start_all()
        except Exception:
            await self.services.stop_all()
            raise
        self._started = True
        log.info("gateway started in %s mode with %d tools", self.mode.value, len(self.catalog.tools))

    async def stop(self) -> None:
        """Stop services and backends. Callers racing each other (end of input and SIGTERM) share
        one shutdown: each returns once it is complete."""
        if not self._started:
            return
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        try:
            await self.services.stop_all()
            await self.backends.aclose()
        finally:
            self._started = False
            self._stopping = None

    def status(self) -> dict[str, Any]:
        return {
            "mode": self.mode.value,
            "tools": len(self.catalog.tools),
            "visible_tools": len(self.visible_tools()),
            "prompts": len(self.catalog.prompts),
            "resources": len(self.catalog.resources),
            "catalog_version": self.catalog.version,
            "services": self.services.report(),
            "capability_problems": self.files.problems,
            "conflicts": self.catalog.conflicts,
            **({"discovery": discovery.status()} if (discovery := self.extensions.get("discovery")) else {}),
        }
