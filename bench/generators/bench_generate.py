"""Generation time and tool count for the specs in the test data (largest: GitHub's REST API).

Run: .venv/bin/python bench/generators/bench_generate.py [--repeat N]
The specs are fetched from the npm registry into the test-spec cache on first use.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.generators.specs import ensure_specs  # noqa: E402

from magictunnel.catalog.capability_file import load_capability_file  # noqa: E402
from magictunnel.generators.openapi import generate_openapi  # noqa: E402
from magictunnel.generators.output import write_result  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modules = ensure_specs()
    specs = sorted(
        [
            *(modules / "@readme/oas-examples").glob("*/json/*.json"),
            *(modules / "@octokit/openapi/generated").glob("*.json"),
        ],
        key=lambda p: p.stat().st_size,
    )
    specs = [p for p in specs if not p.name.endswith(".deref.json")]
    largest = specs[-1]
    print(f"{'spec':58} {'MB':>6} {'tools':>6} {'generate s':>11} {'+write s':>9} {'yaml MB':>8}")
    for spec in [*specs[-4:]]:
        gen_times, write_times = [], []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = generate_openapi(str(spec))
            t1 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / "tools.yaml"
                write_result(result, out)
                size = out.stat().st_size
            t2 = time.perf_counter()
            gen_times.append(t1 - t0)
            write_times.append(t2 - t1)
        name = str(spec.relative_to(modules))
        print(
            f"{name:58} {spec.stat().st_size / 1e6:6.1f} {len(result.tools):6d} "
            f"{statistics.median(gen_times):11.2f} {statistics.median(write_times):9.2f} {size / 1e6:8.1f}"
        )
    # the file the gateway will load: how long the registry takes to validate it
    result = generate_openapi(str(largest))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tools.yaml"
        write_result(result, out)
        t0 = time.perf_counter()
        loaded = load_capability_file(out, {"http"})
        t1 = time.perf_counter()
    print(
        f"\nlargest spec: {largest.relative_to(modules)}: {len(result.tools)} tools, "
        f"generated in {statistics.median(gen_times):.2f}s; loading the capability file "
        f"(registry validation) took {t1 - t0:.2f}s for {len(loaded.tools)} tools, {len(loaded.problems)} problems"
    )


if __name__ == "__main__":
    main()
