"""Capability files as a catalog source, with hot reload.

All configured paths are loaded into one source (`files`). A watcher reloads on any
change to a YAML file under the watched directories; one bad file is reported and
skipped, the rest load. The catalog's change event drives list_changed notifications.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from magictunnel.catalog.capability_file import LoadResult, expand_paths, load_capability_file
from magictunnel.catalog.catalog import Catalog, SourceSnapshot

log = logging.getLogger("magictunnel.registry")

SOURCE_NAME = "files"


class FileRegistry:
    def __init__(
        self,
        catalog: Catalog,
        paths: list[str],
        known_routing: set[str],
        base: Path | None = None,
        check_routing: object = None,
    ) -> None:
        self.catalog = catalog
        self.paths = paths
        self.known_routing = known_routing
        self.base = base or Path.cwd()
        self.results: dict[Path, LoadResult] = {}
        self._watch_task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self.check_routing = check_routing
        # path -> (file stamp, parse result): a reload re-parses only the files that changed
        self._parsed: dict[Path, tuple[tuple[object, ...], LoadResult]] = {}

    @property
    def problems(self) -> list[str]:
        return [p for r in self.results.values() for p in r.problems]

    def load(self) -> SourceSnapshot:
        results: dict[Path, LoadResult] = {}
        snapshot = SourceSnapshot(name=SOURCE_NAME, priority=10)
        seen: dict[str, Path] = {}
        paths = expand_paths(self.paths, self.base)
        for stale in set(self._parsed) - set(paths):
            del self._parsed[stale]
        for path in paths:
            raw = self._parse(path)
            result = replace(raw, tools=list(raw.tools), problems=list(raw.problems))
            checker = self.check_routing
            kept = []
            for tool in result.tools:
                if callable(checker):
                    extra = checker(tool)
                    if extra:
                        result.problems.extend(extra)
                        continue
                kept.append(tool)
            result.tools = kept
            for problem in result.problems:
                log.error("capability file problem: %s", problem)
            results[path] = result
            for tool in result.tools:
                if tool.name in seen:
                    log.warning("tool %r in %s also defined in %s", tool.name, path, seen[tool.name])
                seen.setdefault(tool.name, path)
            snapshot.tools.extend(result.tools)
            snapshot.prompts.extend(result.prompts)
            snapshot.resources.extend(result.resources)
            snapshot.resource_templates.extend(result.resource_templates)
        self.results = results
        return snapshot

    def _parse(self, path: Path) -> LoadResult:
        """Parse a file, or reuse the last parse when the file has not changed since."""
        try:
            st = path.stat()
            stamp: tuple[object, ...] | None = (
                st.st_mtime_ns,
                st.st_ctime_ns,
                st.st_size,
                st.st_ino,
                frozenset(self.known_routing),
            )
        except OSError:
            stamp = None
        cached = self._parsed.get(path)
        if stamp is not None and cached is not None and cached[0] == stamp:
            return cached[1]
        result = load_capability_file(path, self.known_routing)
        if stamp is not None:
            self._parsed[path] = (stamp, result)
        return result

    def reload(self) -> None:
        self.catalog.set_source(self.load())

    def watch_roots(self) -> list[Path]:
        roots: list[Path] = []
        for pattern in self.paths:
            p = Path(pattern)
            if not p.is_absolute():
                p = self.base / p
            while any(ch in str(p) for ch in "*?[") and p != p.parent:
                p = p.parent
            if p.is_file():
                p = p.parent
            if p.exists():
                roots.append(p)
        return roots

    async def start_watching(self) -> None:
        roots = self.watch_roots()
        if not roots:
            return
        self._stop.clear()
        self._watch_task = asyncio.create_task(self._watch(roots), name="capability-watcher")

    async def stop_watching(self) -> None:
        self._stop.set()
        if self._watch_task is not None:
            self._watch_task.cancel()
            try:
                await self._watch_task
            except (asyncio.CancelledError, Exception):
                pass
            self._watch_task = None

    async def _watch(self, roots: list[Path]) -> None:
        from watchfiles import awatch

        async for changes in awatch(
            *roots, stop_event=self._stop, debounce=150, step=50, recursive=True, force_polling=False
        ):
            if any(Path(path).suffix in (".yaml", ".yml") for _, path in changes):
                try:
                    self.reload()
                    log.info("capability files reloaded (%d tools)", len(self.catalog.tools))
                except Exception:
                    log.exception("capability reload failed; keeping the previous catalog")
