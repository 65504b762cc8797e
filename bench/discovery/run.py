"""Smart discovery benchmark: quality on the development set, latency, index build time, memory.

    .venv/bin/python bench/discovery/run.py [--data ../shared/discovery] [--scale 10000] [--skip-scale]

Quality goes through `rank_queries`, i.e. `DiscoveryEngine.search`, the gateway's ranking code.
Latency is measured per query with the results and query-vector caches emptied first, so every
sample embeds the query and ranks the whole index.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from magictunnel.discovery.documents import ToolDoc, make_doc
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.evaluation import load_catalog, load_queries, rank_queries, score_rankings
from magictunnel.discovery.spans import find_spans

HERE = Path(__file__).resolve()


def _default_data() -> Path:
    for parent in HERE.parents:
        candidate = parent.parent / "shared" / "discovery"
        if (candidate / "catalog.json").exists():
            return candidate
    return Path("../shared/discovery")


def rss_mb(pid: int | str = "self") -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    if pid != "self":
        return float("nan")  # another process we cannot read: unknown, not our own figure
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency(engine: DiscoveryEngine, texts: list[str], rounds: int = 1) -> tuple[float, float]:
    samples: list[float] = []
    for _ in range(rounds):
        for text in texts:
            engine.invalidate_results()
            find_spans.cache_clear()  # every sample finds its request's values afresh
            for embedder in (engine.embedder, engine.second_embedder, engine.third_embedder):
                qcache = getattr(embedder, "_query_cache", None)
                if qcache is not None:
                    qcache.clear()
                rows = getattr(embedder, "token_rows", None)
                if rows is not None:  # keeps only the rows of the vocabulary's common pieces
                    rows.forget_recent()
            start = time.perf_counter()
            engine.search(text, top_k=10)
            samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def scaled_catalog(docs: list[ToolDoc], size: int, seed: int = 7) -> list[ToolDoc]:
    """A larger catalog: the real tools plus variants on made-up servers with reworded descriptions."""
    rng = random.Random(seed)
    vocab = sorted({w for d in docs for w in d.description.split() if w.isalpha() and len(w) > 3})
    out = list(docs)
    i = 0
    while len(out) < size:
        base = docs[i % len(docs)]
        i += 1
        words = base.description.split()
        if words:
            for _ in range(max(1, len(words) // 6)):
                words[rng.randrange(len(words))] = rng.choice(vocab)
        server = f"{base.server or 'srv'}-{rng.randrange(10_000):04d}"
        out.append(
            make_doc(
                f"{server}/{base.name}-{i}", f"{base.name}_{i}", " ".join(words), base.input_schema, server
            )
        )
    return out


def warm_start(size: int, cache_dir: Path, data: Path) -> dict[str, object]:
    """Time a restart in a fresh process (no in-process caches), reading `cache_dir`."""
    script = HERE.parent / "warm_start.py"
    cmd = [
        sys.executable,
        str(script),
        "--size",
        str(size),
        "--cache-dir",
        str(cache_dir),
        "--data",
        str(data),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=_default_data())
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--skip-scale", action="store_true", help="skip the generated large catalog")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="embedding cache for the large catalog (default: a fresh temp dir, i.e. cold)",
    )
    args = parser.parse_args()

    catalog_path, queries_path = args.data / "catalog.json", args.data / "dev-queries.jsonl"
    docs = load_catalog(catalog_path)
    queries = load_queries(queries_path)
    report: dict[str, object] = {"catalog": str(catalog_path), "tools": len(docs), "queries": len(queries)}
    print(f"# smart discovery benchmark: {len(docs)} tools, {len(queries)} queries", flush=True)

    small_cache = tempfile.TemporaryDirectory()
    t0 = time.perf_counter()
    engine = DiscoveryEngine(cache_dir=Path(small_cache.name))
    # as the gateway does at start-up (its third model's helper starts with its first build)
    for embedder in (engine.embedder, engine.second_embedder, engine.third_embedder):
        warm = getattr(embedder, "warm", None)
        if warm is not None:
            warm()
    model_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.build(docs)
    cold = time.perf_counter() - t0
    warm_report = warm_start(len(docs), Path(small_cache.name), args.data)
    warm = float(warm_report["warm_start_s"])
    small_cache.cleanup()
    rankings = list(rank_queries(engine, queries, top_k=10))
    metrics = score_rankings(queries, rankings, args.threshold)
    p50, p99 = latency(engine, [q.query for q in queries], rounds=3)
    report.update(
        {
            "recall_at_1": round(metrics.recall_at_1, 3),
            "recall_at_5": round(metrics.recall_at_5, 3),
            "mrr": round(metrics.mrr, 3),
            "threshold": args.threshold,
            "no_match_rejected": round(metrics.no_match_rejected, 3),
            "real_rejected": round(metrics.real_rejected, 3),
            "model_load_s": round(model_load, 2),
            "cold_build_s": round(cold, 2),
            "warm_start_s": round(warm, 2),
            "p50_ms": round(p50, 2),
            "p99_ms": round(p99, 2),
        }
    )
    print(
        f"Recall@1 {metrics.recall_at_1:.3f}  Recall@5 {metrics.recall_at_5:.3f}  MRR {metrics.mrr:.3f}  "
        f"({metrics.positives} real, {metrics.negatives} no-match)"
    )
    print(
        f"threshold {args.threshold}: no-match rejected {metrics.no_match_rejected:.1%}, "
        f"real requests rejected {metrics.real_rejected:.1%}"
    )
    for th in (0.5, 0.6, 0.8):
        m = score_rankings(queries, rankings, th)
        print(f"  at {th}: no-match rejected {m.no_match_rejected:.1%}, real rejected {m.real_rejected:.1%}")
    print(
        f"{len(docs)} tools: model load {model_load:.2f}s, cold build {cold:.2f}s, warm start {warm:.2f}s (fresh process), "
        f"latency p50 {p50:.2f} ms p99 {p99:.2f} ms",
        flush=True,
    )

    if not args.skip_scale:
        big = scaled_catalog(docs, args.scale)
        own_tmp = None
        cache_dir = args.cache_dir
        if cache_dir is None:
            own_tmp = tempfile.TemporaryDirectory()
            cache_dir = Path(own_tmp.name)
        t0 = time.perf_counter()
        big_engine = DiscoveryEngine(
            embedder=engine.embedder,
            cache_dir=cache_dir,
            second_embedder=engine.second_embedder,
            third_embedder=engine.third_embedder,
        )
        big_engine.build(big)
        big_cold = time.perf_counter() - t0
        big_warm_report = warm_start(len(big), cache_dir, args.data)
        big_warm = float(big_warm_report["warm_start_s"])
        bp50, bp99 = latency(big_engine, [q.query for q in queries])
        report.update(
            {
                "scale_tools": len(big),
                "scale_cold_build_s": round(big_cold, 2),
                "scale_warm_start_s": round(big_warm, 2),
                "scale_p50_ms": round(bp50, 2),
                "scale_p99_ms": round(bp99, 2),
            }
        )
        print(
            f"{len(big)} tools: cold build {big_cold:.2f}s (cache {'given' if args.cache_dir else 'empty'}), "
            f"warm start {big_warm:.2f}s in a fresh process (first query {big_warm_report['first_query_s']}s "
            f"incl. model load), latency p50 {bp50:.2f} ms p99 {bp99:.2f} ms"
        )
        if own_tmp is not None:
            own_tmp.cleanup()
    report["rss_mb"] = round(rss_mb(), 1)
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    helper_note = ""
    for key, which, embedder in (
        ("helper_rss_mb", "second", engine.second_embedder),
        ("third_helper_rss_mb", "third", engine.third_embedder),
    ):
        helper = getattr(getattr(embedder, "helper", None), "pid", None)
        if helper is not None:
            report[key] = round(rss_mb(helper), 1)
            helper_note += f", plus {report[key]} MB in the {which} model's helper process"
    print(f"resident memory {report['rss_mb']} MB (peak {report['peak_rss_mb']} MB){helper_note}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
