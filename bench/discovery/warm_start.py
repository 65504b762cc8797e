"""One warm start, in a fresh process: build the index for a catalog from a populated cache directory.

    python bench/discovery/warm_start.py --size N --cache-dir DIR [--data DIR]

Prints JSON: seconds to construct the engine and build the index (embeddings and lexical index
read from DIR), then the first query's latency (which loads the model) and a second one.
Used by run.py; the catalog is generated before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import _default_data, scaled_catalog

from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.evaluation import load_catalog


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=_default_data())
    args = parser.parse_args()
    docs = load_catalog(args.data / "catalog.json")
    docs = scaled_catalog(docs, args.size) if args.size > len(docs) else docs
    start = time.perf_counter()
    engine = DiscoveryEngine(cache_dir=args.cache_dir)
    index = engine.build(docs)
    build = time.perf_counter() - start
    start = time.perf_counter()
    engine.search("what is the weather in Paris", top_k=10)
    first = time.perf_counter() - start
    start = time.perf_counter()
    engine.search("read the file /etc/hosts", top_k=10)
    second = time.perf_counter() - start
    stats = index.stats
    print(
        json.dumps(
            {
                "tools": len(docs),
                "warm_start_s": round(build, 3),
                "embedded_now": stats.computed if stats else None,
                "first_query_s": round(first, 3),
                "second_query_ms": round(second * 1000, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
