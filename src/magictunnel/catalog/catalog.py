"""The live, merged view of everything callable, with change events.

Sources (capability files, each external server, built-ins) publish snapshots; the
catalog merges them in source order, resolves name conflicts by the configured strategy
and tells listeners what changed. Listeners are the discovery index, list_changed
notifications and the dashboard; they never get a copy to mutate.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from magictunnel.catalog.models import PromptDef, ResourceDef, ResourceTemplateDef, ToolDef
from magictunnel.config.models import ConflictStrategy

log = logging.getLogger("magictunnel.catalog")


@dataclass
class SourceSnapshot:
    name: str
    tools: list[ToolDef] = field(default_factory=list)
    prompts: list[PromptDef] = field(default_factory=list)
    resources: list[ResourceDef] = field(default_factory=list)
    resource_templates: list[ResourceTemplateDef] = field(default_factory=list)
    # lower runs first: built-ins 0, capability files 10, external servers 20
    priority: int = 10


@dataclass(frozen=True)
class CatalogEvent:
    version: int
    tools_changed: bool
    prompts_changed: bool
    resources_changed: bool
    sources: tuple[str, ...]


Listener = Callable[[CatalogEvent], Awaitable[None] | None]


class Catalog:
    def __init__(self, conflict_strategy: ConflictStrategy = ConflictStrategy.PREFIX) -> None:
        self.conflict_strategy = conflict_strategy
        self._sources: dict[str, SourceSnapshot] = {}
        self._listeners: list[Listener] = []
        self.version = 0
        self.tools: dict[str, ToolDef] = {}
        self.prompts: dict[str, PromptDef] = {}
        self.resources: dict[str, ResourceDef] = {}
        self.resource_templates: list[ResourceTemplateDef] = []
        self.conflicts: list[str] = []

    # ---- sources -------------------------------------------------------------------------
    def set_source(self, snapshot: SourceSnapshot) -> CatalogEvent | None:
        old = self._sources.get(snapshot.name)
        self._sources[snapshot.name] = snapshot
        return self._rebuild((snapshot.name,), old, snapshot)

    def remove_source(self, name: str) -> CatalogEvent | None:
        old = self._sources.pop(name, None)
        if old is None:
            return None
        return self._rebuild((name,), old, SourceSnapshot(name=name))

    def source_names(self) -> list[str]:
        return list(self._sources)

    def source(self, name: str) -> SourceSnapshot | None:
        return self._sources.get(name)

    # ---- listeners -----------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # ---- lookups -------------------------------------------------------------------------
    def get_tool(self, name: str) -> ToolDef | None:
        return self.tools.get(name)

    def list_tools(self, include_hidden: bool = False) -> list[ToolDef]:
        return [t for t in self.tools.values() if include_hidden or not t.hidden]

    # ---- merge ---------------------------------------------------------------------------
    def _rebuild(
        self, changed: tuple[str, ...], old: SourceSnapshot | None, new: SourceSnapshot
    ) -> CatalogEvent | None:
        ordered = sorted(self._sources.values(), key=lambda s: s.priority)
        tools: dict[str, ToolDef] = {}
        conflicts: list[str] = []
        rejected: set[str] = set()  # names withheld under "reject": no definition of them is served
        for snap in ordered:
            for tool in snap.tools:
                existing = tools.get(tool.name)
                if existing is None:
                    if tool.name in rejected:
                        conflicts.append(
                            f"tool {tool.name!r} from {tool.source}: rejected (name is ambiguous)"
                        )
                        continue
                    tools[tool.name] = tool
                    continue
                # name the tool's own origin (its file, its server), not just the source group
                origin = tool.source if tool.source != "builtin" else snap.name
                where = f"tool {tool.name!r} from {origin} collides with {existing.source}"
                if self.conflict_strategy is ConflictStrategy.PREFIX:
                    renamed = _prefixed(origin, tool.name, tools)
                    if renamed is None:
                        conflicts.append(f"{where}: no free prefixed name, skipped")
                        continue
                    tools[renamed] = tool.model_copy(
                        update={"name": renamed, "original_name": tool.original_name or tool.name}
                    )
                    conflicts.append(f"{where}: served as {renamed!r}")
                elif self.conflict_strategy is ConflictStrategy.FIRST_WINS:
                    conflicts.append(f"{where}: first wins, later definition ignored")
                elif existing.source == "builtin":  # the gateway's own tools are never withheld
                    conflicts.append(f"{where}: rejected")
                else:
                    # neither definition is served: a client can't know which one it would call
                    del tools[tool.name]
                    rejected.add(tool.name)
                    conflicts.append(f"{where}: rejected, neither is served until the names differ")
        prompts: dict[str, PromptDef] = {}
        resources: dict[str, ResourceDef] = {}
        templates: list[ResourceTemplateDef] = []
        for snap in ordered:
            for prompt in snap.prompts:
                if prompt.name in prompts:
                    conflicts.append(
                        f"prompt {prompt.name!r} from {snap.name} duplicates an earlier one, ignored"
                    )
                    continue
                prompts[prompt.name] = prompt
            for resource in snap.resources:
                resources.setdefault(resource.uri, resource)
            templates.extend(snap.resource_templates)
        for message in conflicts:
            if message not in self.conflicts:
                log.warning("name conflict: %s", message)
        tools_changed = tools != self.tools
        prompts_changed = prompts != self.prompts
        resources_changed = resources != self.resources or templates != self.resource_templates
        self.tools, self.prompts, self.resources = tools, prompts, resources
        self.resource_templates = templates
        self.conflicts = conflicts
        if not (tools_changed or prompts_changed or resources_changed):
            return None
        self.version += 1
        event = CatalogEvent(self.version, tools_changed, prompts_changed, resources_changed, changed)
        self._emit(event)
        return event

    def _emit(self, event: CatalogEvent) -> None:
        for listener in list(self._listeners):
            try:
                outcome = listener(event)
                if inspect.isawaitable(outcome):
                    task = asyncio.ensure_future(outcome)
                    task.add_done_callback(_log_failure)
            except Exception:
                log.exception("catalog listener failed")


def _log_failure(task: asyncio.Future[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("catalog listener failed: %s", task.exception())


def _prefixed(source: str, name: str, taken: dict[str, ToolDef]) -> str | None:
    stem = source.split(":", 1)[-1].rsplit("/", 1)[-1].split(".", 1)[0]
    stem = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in stem) or "dup"
    for idx in range(1, 100):
        candidate = f"{stem}_{name}" if idx == 1 else f"{stem}{idx}_{name}"
        candidate = candidate[:64]
        if candidate not in taken:
            return candidate
    return None
