"""The event-loop stdin/stdout of `magictunnel stdio` (server/transports/stdio.py), in a real
child process: lines in, lines out, stray output kept off the wire, descriptors restored."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.test_bad_input import INIT

SCRIPT = """
import asyncio, os, sys
from magictunnel.server.transports.stdio import pipe_stdio

async def main():
    async with pipe_stdio() as pipes:
        if pipes is None:
            print("fallback", flush=True)
            return
        lines, out = pipes
        async for line in lines:
            print("stray print", flush=True)  # fd 1 is stderr while serving
            os.system("echo stray child")  # so is a child's
            await out.write("echo:" + line.rstrip("\\n") + "\\n")
            await out.flush()
    print("after", os.get_blocking(1), flush=True)  # the wire is fd 1 again, and blocking

asyncio.run(main())
"""


def run(stdin: object, data: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], input=data, stdin=stdin, capture_output=True, timeout=60
    )


def test_lines_round_trip_and_stray_output_misses_the_wire() -> None:
    big = "x" * 300_000  # several reads of the pipe
    done = run(None, f"one\ntwo {big}\nlast without newline".encode())
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        "echo:one",
        f"echo:two {big}",
        "echo:last without newline",
        "after True",
    ]
    assert done.stderr.decode().count("stray print") == 3
    assert done.stderr.decode().count("stray child") == 3


def test_a_file_on_stdin_falls_back_to_the_sdk_transport(tmp_path: Path) -> None:
    request = tmp_path / "in.jsonl"
    request.write_text("{}\n")
    with request.open("rb") as handle:
        done = run(handle)
    assert done.stdout.decode().splitlines() == ["fallback"]


def test_a_client_that_stops_reading_ends_the_gateway_quietly(tmp_path: Path) -> None:
    """The client closes its end of stdout, then stdin: the gateway's answer cannot be written,
    and it stops with exit code 0 and no traceback (before: a broken-pipe traceback, exit 1)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "magictunnel", "stdio"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdout.close()
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    time.sleep(1.0)
    proc.stdin.close()
    assert proc.stderr is not None
    proc.wait(60)
    stderr = proc.stderr.read()
    assert proc.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr
