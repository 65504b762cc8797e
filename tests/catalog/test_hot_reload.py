"""Hot reload: editing, adding, breaking and removing capability files updates the catalog and
emits the catalog change event (which drives list_changed notifications)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from magictunnel.catalog.catalog import Catalog, CatalogEvent
from magictunnel.catalog.file_registry import FileRegistry

pytestmark = pytest.mark.anyio
WAIT = 15.0  # an upper bound for a filesystem event to arrive on a loaded machine, not a target


def tool_yaml(name: str, description: str) -> str:
    return f"tools:\n  - name: {name}\n    description: {description}\n    routing: {{type: subprocess}}\n"


async def next_event(
    queue: asyncio.Queue[CatalogEvent], action: Callable[[], None] | None = None
) -> CatalogEvent:
    """Perform `action` and wait for the catalog event it causes (re-trying the action while the
    watcher is still arming, so the first change is not lost)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while True:
        if action is not None:
            action()
        try:
            return await asyncio.wait_for(queue.get(), timeout=1.0)
        except TimeoutError:
            if loop.time() > deadline:
                raise AssertionError("no catalog event after the capability files changed") from None


@pytest.fixture
async def watched(tmp_path: Path):
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "a.yaml").write_text(tool_yaml("alpha", "first version"))
    catalog = Catalog()
    queue: asyncio.Queue[CatalogEvent] = asyncio.Queue()
    catalog.subscribe(queue.put_nowait)
    registry = FileRegistry(catalog, [str(caps)], {"subprocess"})
    registry.reload()
    queue.get_nowait()  # the initial load's event
    await registry.start_watching()
    try:
        yield caps, catalog, registry, queue
    finally:
        await registry.stop_watching()


async def test_edit_add_break_remove(watched) -> None:
    caps, catalog, registry, queue = watched

    first = await next_event(
        queue, lambda: (caps / "a.yaml").write_text(tool_yaml("alpha", "second version"))
    )
    assert first.tools_changed and first.sources == ("files",)
    assert catalog.tools["alpha"].description == "second version"

    await next_event(queue, lambda: (caps / "b.yaml").write_text(tool_yaml("beta", "new file")))
    assert sorted(catalog.tools) == ["alpha", "beta"]

    # a file broken mid-edit is reported and skipped; the other files keep serving
    await next_event(queue, lambda: (caps / "b.yaml").write_text("tools: [\n"))
    assert sorted(catalog.tools) == ["alpha"]
    assert len(registry.problems) == 1 and "b.yaml" in registry.problems[0]

    await next_event(queue, lambda: (caps / "b.yaml").write_text(tool_yaml("beta", "fixed")))
    assert catalog.tools["beta"].description == "fixed" and registry.problems == []

    await next_event(queue, lambda: (caps / "a.yaml").unlink())
    assert sorted(catalog.tools) == ["beta"]


async def test_non_yaml_changes_and_stopped_watcher_do_nothing(watched) -> None:
    caps, catalog, registry, queue = watched
    await next_event(queue, lambda: (caps / "a.yaml").write_text(tool_yaml("alpha", "armed")))
    version = catalog.version
    (caps / "README.md").write_text("not a capability file")
    await asyncio.sleep(1.0)
    assert queue.empty() and catalog.version == version
    await registry.stop_watching()
    (caps / "a.yaml").write_text(tool_yaml("alpha", "after stop"))
    await asyncio.sleep(1.0)
    assert queue.empty() and catalog.tools["alpha"].description == "armed"


def test_reload_parses_only_the_files_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from magictunnel.catalog import file_registry

    parsed: list[str] = []
    real = file_registry.load_capability_file

    def counting(path: Path, known: set[str] | None = None):
        parsed.append(path.name)
        return real(path, known)

    monkeypatch.setattr(file_registry, "load_capability_file", counting)
    (tmp_path / "a.yaml").write_text(tool_yaml("alpha", "one"))
    (tmp_path / "b.yaml").write_text(tool_yaml("beta", "one"))
    catalog = Catalog()
    registry = FileRegistry(catalog, [str(tmp_path)], {"subprocess"})
    registry.reload()
    assert sorted(parsed) == ["a.yaml", "b.yaml"]
    parsed.clear()
    registry.reload()
    assert parsed == []
    (tmp_path / "b.yaml").write_text(tool_yaml("beta", "two"))
    registry.reload()
    assert parsed == ["b.yaml"] and catalog.tools["beta"].description == "two"
    # an editor's atomic save (write elsewhere, rename over), same size: still seen as a change
    (tmp_path / "new.tmp").write_text(tool_yaml("alpha", "six"))
    os.replace(tmp_path / "new.tmp", tmp_path / "a.yaml")
    registry.reload()
    assert catalog.tools["alpha"].description == "six"
    (tmp_path / "a.yaml").unlink()
    registry.reload()
    assert sorted(catalog.tools) == ["beta"]
