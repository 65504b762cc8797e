from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from tests.security.conftest import make_config

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext, Identity
from magictunnel.security.audit_journal import Journal
from magictunnel.security.common import InvalidInput
from magictunnel.security.suite import SecuritySuite
from magictunnel.storage import Storage

ROOT = Path(__file__).resolve().parents[2]


def run_child_and_kill(db_url: str, data_dir: Path, calls: int) -> int:
    """Start the child, wait until `calls` results came back, SIGKILL it at once; returns its exit code."""
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("durability_child.py")),
            db_url,
            str(data_dir),
            str(calls),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout is not None
        seen = 0
        deadline = time.monotonic() + 60
        while seen < calls and time.monotonic() < deadline:
            line = child.stdout.readline().decode()
            if not line:
                break
            if line.startswith("returned"):
                seen += 1
        if seen == calls:
            os.kill(child.pid, signal.SIGKILL)  # immediately after the last result came back
        assert seen == calls, child.stderr.read().decode() if child.stderr else ""
        return child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.anyio
async def test_audit_survives_kill_9_right_after_a_call(tmp_path: Path, db_url: str) -> None:
    calls = 25
    data_dir = tmp_path / "data"
    returncode = await anyio.to_thread.run_sync(run_child_and_kill, db_url, data_dir, calls)
    assert returncode == -signal.SIGKILL

    store = Storage(db_url, data_dir)
    sec = SecuritySuite(store, make_config(tmp_path, db_url).security)
    await sec.load()
    await sec.audit.start()  # replays the journal the killed process left
    try:
        result = await sec.audit.query(sec.audit.build_query({"client_id": "durable", "limit": 1000}))
        assert result["total"] == calls
        assert sorted(e["arguments"]["i"] for e in result["entries"]) == list(range(calls))
        assert all(e["outcome"] == "success" for e in result["entries"])
        assert list((data_dir / "audit-journal").glob("seg-*")) == []
    finally:
        await sec.audit.stop()
        await store.close()


@pytest.mark.anyio
async def test_replay_is_idempotent_and_tolerates_a_torn_line(suite: Any, tmp_path: Path) -> None:
    journal_dir = suite.audit.journal.directory
    journal_dir.mkdir(parents=True, exist_ok=True)
    entry = {
        "id": "fixed-id-1",
        "ts": time.time(),
        "event_type": "tool_call",
        "action": "call",
        "outcome": "success",
        "message": "",
        "tool": "echo",
    }
    (journal_dir / "seg-1-00000001.jsonl").write_text(json.dumps(entry) + "\n" + '{"id": "torn", "ts"')
    (journal_dir / "seg-2-00000001.jsonl").write_text(json.dumps(entry) + "\n")  # same entry twice
    assert await suite.audit.flush() == 1
    assert (await suite.audit.repo.get("fixed-id-1"))["tool"] == "echo"
    assert await suite.audit.repo.get("torn") is None
    assert list(journal_dir.glob("seg-*")) == []


def test_a_live_process_segment_is_not_taken(tmp_path: Path) -> None:
    owner = Journal(tmp_path)
    owner.append({"id": "a"})
    other = Journal(tmp_path)
    assert other.orphans() == []  # locked by its writer
    other.append({"id": "b"})  # a second journal in the same process and directory: its own segment
    assert other.orphans() == [] and owner.orphans() == []
    closed = owner.rotate()
    assert other.orphans() == [closed]
    assert [e["id"] for e in Journal.read(closed)] == ["a"]


def test_no_entry_is_lost_while_other_processes_sweep_the_journal(tmp_path: Path) -> None:
    """Writers in two processes keep opening segments while this process takes every orphan it
    sees (as a gateway's flusher does): a live segment must never be seen unlocked and unlinked."""
    entries = 3000
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/security/journal_writer_child.py"),
                str(tmp_path),
                str(entries),
                w,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"},
        )
        for w in ("w0", "w1")
    ]
    sweeper = Journal(tmp_path)
    seen: list[str] = []

    def sweep() -> None:
        for path in sweeper.orphans():
            seen.extend(e["id"] for e in Journal.read(path))
            path.unlink()

    while any(w.poll() is None for w in writers):
        sweep()
    sweep()
    assert [w.returncode for w in writers] == [0, 0]
    expected = {f"{w}-{i}" for w in ("w0", "w1") for i in range(entries)}
    assert len(seen) == len(expected) and set(seen) == expected
    assert list(tmp_path.iterdir()) == []


def test_staging_files_of_a_dead_process_are_swept_only_when_old(tmp_path: Path) -> None:
    fresh, stale = tmp_path / "new-1-a-00000001.jsonl", tmp_path / "new-2-b-00000001.jsonl"
    fresh.touch()
    stale.touch()
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert Journal(tmp_path).orphans() == []
    assert fresh.exists() and not stale.exists()


@pytest.mark.anyio
async def test_query_search_violations_export_retention(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    await sec.allowlist.create({"name": "no-db", "match_type": "glob", "pattern": "db_*", "action": "deny"})
    for client, tool in [("alice", "echo"), ("bob", "db_query"), ("alice", "fs_read")]:
        await gateway.call_tool(
            tool, {"q": f"{client}-query"}, CallContext(identity=Identity(client_id=client))
        )
    await sec.audit.record_event("auth", "login", "failure", actor="mallory", message="bad password")

    q = sec.audit.build_query({"client_id": "alice"})
    assert {e["tool"] for e in (await sec.audit.query(q))["entries"]} == {"echo", "fs_read"}
    found = await sec.audit.search("bob-query")
    assert [e["tool"] for e in found] == ["db_query"]
    violations = await sec.audit.violations()
    assert [(v["tool"], v["rule"]) for v in violations] == [("db_query", "no-db")]
    auth = (await sec.audit.query(sec.audit.build_query({"event_type": "auth"})))["entries"]
    assert auth[0]["outcome"] == "failure" and auth[0]["client_id"] == "mallory"

    lines = [json.loads(chunk) async for chunk in sec.audit.export(sec.audit.build_query({}), "jsonl")]
    mine = [line for line in lines if line["client_id"] in ("alice", "bob", "mallory")]
    assert len(mine) == 4 and lines[0]["ts"] <= lines[-1]["ts"]
    text = "".join(
        [chunk async for chunk in sec.audit.export(sec.audit.build_query({"tool": "echo"}), "csv")]
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert (
        len(rows) == 1
        and rows[0]["client_id"] == "alice"
        and json.loads(rows[0]["arguments"]) == {"q": "alice-query"}
    )

    stats = await sec.audit.get_statistics()
    assert stats["by_outcome"]["denied"] == 1 and stats["by_event_type"]["auth"] >= 1
    assert (await sec.audit.apply_retention(max_entries=2))["deleted_by_count"] == len(lines) - 2
    assert (await sec.audit.get_statistics())["total"] == 2
    assert (await sec.audit.apply_retention(days=0.00001))["deleted_by_age"] >= 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"event_type": "party"}, "event_type"),
        ({"outcome": "meh"}, "outcome"),
        ({"since": "yesterday-ish"}, "since"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_bad_queries(suite: Any, params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        suite.audit.build_query(params)


@pytest.mark.anyio
async def test_large_values_are_clipped(suite: Any) -> None:
    entry_id = suite.audit.record(
        {"event_type": "tool_call", "outcome": "success", "arguments": {"blob": "x" * 50_000}}
    )
    await suite.audit.flush()
    row = await suite.audit.repo.get(entry_id)
    assert row["arguments"]["truncated"] is True and row["arguments"]["chars"] > 50_000


@pytest.mark.anyio
async def test_listeners_see_every_entry_redacted(suite: Any) -> None:
    seen: list[dict[str, Any]] = []
    unsubscribe = suite.audit.subscribe(seen.append)
    suite.audit.subscribe(lambda entry: 1 / 0)  # a broken listener does not stop auditing
    suite.audit.record(
        {"event_type": "tool_call", "outcome": "denied", "arguments": {"k": "AKIAIOSFODNN7EXAMPLE"}}
    )
    unsubscribe()
    suite.audit.record({"event_type": "tool_call", "outcome": "success"})
    assert len(seen) == 1 and seen[0]["arguments"] == {"k": "[REDACTED:aws_access_key]"}
    await suite.audit.flush()
    assert (await suite.audit.get_statistics())["total"] == 2


@pytest.mark.anyio
async def test_nul_characters_do_not_jam_the_log(suite: Any) -> None:
    entry_id = suite.audit.record(
        {
            "event_type": "tool_call",
            "outcome": "error",
            "client_id": "a\x00b",
            "message": "bad\x00input",
            "arguments": {"k": "v\x00w"},
        }
    )
    await suite.audit.flush()
    row = await suite.audit.repo.get(entry_id)
    assert row["client_id"] == "a\\u0000b" and row["arguments"] == {"k": "v\x00w"}


@pytest.mark.anyio
async def test_an_entry_the_database_refuses_does_not_block_the_others(suite: Any, db_url: str) -> None:
    journal_dir = suite.audit.journal.directory
    journal_dir.mkdir(parents=True, exist_ok=True)
    good = [
        {
            "id": f"good-{i}",
            "ts": time.time(),
            "event_type": "tool_call",
            "action": "call",
            "outcome": "success",
            "message": "",
        }
        for i in range(3)
    ]
    bad = {**good[0], "id": "bad-1", "client_id": "nul\x00inside"}  # PostgreSQL refuses NUL in text
    segment = journal_dir / "seg-9-x-00000001.jsonl"
    segment.write_text("".join(json.dumps(e) + "\n" for e in [good[0], bad, good[1], good[2]]))
    await suite.audit.flush()
    assert all([await suite.audit.repo.get(f"good-{i}") for i in range(3)])
    assert not segment.exists()
    if db_url.startswith("postgresql"):
        rejected = journal_dir / f"rejected-{segment.name}"
        assert [json.loads(line)["id"] for line in rejected.read_text().splitlines()] == ["bad-1"]
        assert suite.audit.stats["rejected"] == 1
    else:
        assert await suite.audit.repo.get("bad-1") is not None
