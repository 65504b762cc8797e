"""Hot reload latency: time from writing a capability file to the catalog change event.

    .venv/bin/python bench/hot_reload/run.py [--rounds N] [--tools N]

Edits one file of a watched directory N times (with `--tools` tools in it) and prints the
p50 / p90 / max delay until the catalog has the new content. The issue's target is
"within a second".
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from magictunnel.catalog.catalog import Catalog, CatalogEvent
from magictunnel.catalog.file_registry import FileRegistry


def render(version: int, tools: int) -> str:
    lines = ["tools:"]
    for idx in range(tools):
        lines += [
            f"  - name: tool_{idx}",
            f"    description: version {version} of tool {idx}",
            "    routing: {type: subprocess, config: {command: echo}}",
        ]
    return "\n".join(lines) + "\n"


async def main(rounds: int, tools: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(render(0, tools))
        catalog = Catalog()
        events: asyncio.Queue[CatalogEvent] = asyncio.Queue()
        catalog.subscribe(events.put_nowait)
        registry = FileRegistry(catalog, [tmp], {"subprocess"})
        registry.reload()
        events.get_nowait()
        await registry.start_watching()
        await asyncio.sleep(0.5)  # let the watcher arm
        delays = []
        try:
            for version in range(1, rounds + 1):
                started = time.perf_counter()
                path.write_text(render(version, tools))
                await asyncio.wait_for(events.get(), timeout=10)
                delays.append(time.perf_counter() - started)
                assert catalog.tools["tool_0"].description.startswith(f"version {version} ")
                await asyncio.sleep(0.3)
        finally:
            await registry.stop_watching()
    delays.sort()
    p90 = delays[max(0, int(len(delays) * 0.9) - 1)]
    print(f"hot reload, {tools} tools in the file, {rounds} edits")
    print(
        f"  p50 {statistics.median(delays) * 1000:.0f} ms  p90 {p90 * 1000:.0f} ms  max {delays[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--tools", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.tools))
