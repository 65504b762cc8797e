"""`magictunnel discovery rank` and `magictunnel discover` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "discovery"
CLI = [sys.executable, "-m", "magictunnel"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(
    not (SHARED / "catalog.json").exists(), reason="shared discovery data not beside the repo"
)
@pytest.mark.timeout(900)
def test_rank_on_shared_data(tmp_path: Path) -> None:
    queries = [json.loads(line) for line in (SHARED / "dev-queries.jsonl").read_text().splitlines() if line]
    proc = run(
        [
            "discovery",
            "rank",
            "--catalog",
            str(SHARED / "catalog.json"),
            "--queries",
            str(SHARED / "dev-queries.jsonl"),
            "--top-k",
            "5",
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in queries]
    catalog = {(t["server"], t["name"]) for t in json.loads((SHARED / "catalog.json").read_text())}
    hits_at_5 = 0
    for row, query in zip(rows, queries, strict=True):
        results = row["results"]
        assert 1 <= len(results) <= 5
        scores = [r["score"] for r in results]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert all((r["server"], r["name"]) in catalog for r in results)
        expected = {(e["server"], e["name"]) for e in query["expected"]}
        hits_at_5 += bool(expected & {(r["server"], r["name"]) for r in results})
    positives = sum(1 for q in queries if q["expected"])
    assert hits_at_5 / positives > 0.75  # far above chance; the benchmark reports the exact figure
    assert (tmp_path / "cache" / "use-multilingual-v3.npy").exists()


@pytest.mark.timeout(600)
def test_threshold_prints_empty_lists_and_discover_shows_candidates(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            [
                {
                    "server": "weather",
                    "name": "get_forecast",
                    "description": "Weather forecast for a city",
                    "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
                },
                {
                    "server": "fs",
                    "name": "read_file",
                    "description": "Read a file from disk",
                    "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}},
                },
            ]
        )
    )
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"id": "a", "query": "weather forecast for Paris"}\n'
        '{"id": "b", "query": "order a pepperoni pizza"}\n'
    )
    proc = run(
        [
            "discovery",
            "rank",
            "--catalog",
            str(catalog),
            "--queries",
            str(queries),
            "--threshold",
            "0.7",
            "--no-cache",
        ],
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r["results"] for r in map(json.loads, proc.stdout.splitlines())}
    assert rows["a"][0]["name"] == "get_forecast"
    assert rows["b"] == []

    proc = run(["discover", "read the file /etc/hosts", "--catalog", str(catalog), "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown[0]["name"] == "read_file" and 0 < shown[0]["confidence"] <= 1


@pytest.mark.timeout(600)
def test_bad_files_are_reported_with_location(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.json"
    bad.write_text('[{"server": "s", "name": ""}]')
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "x"}\n')
    proc = run(
        ["discovery", "rank", "--catalog", str(bad), "--queries", str(queries), "--no-cache"], tmp_path
    )
    assert proc.returncode == 2
    assert "catalog.json[0].name" in proc.stderr and "Traceback" not in proc.stderr

    queries.write_text('{"id": "a", "query": "x"}\n{"id": "b"\n')
    proc = run(
        ["discovery", "rank", "--catalog", str(bad), "--queries", str(queries), "--no-cache"], tmp_path
    )
    assert proc.returncode == 2
    assert "q.jsonl:2" in proc.stderr and "Traceback" not in proc.stderr

    proc = run(
        ["discovery", "rank", "--catalog", str(tmp_path / "missing.json"), "--queries", str(queries)],
        tmp_path,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
