"""The official MCP conformance suite against the gateway fronting the SDK "everything" fixture.

- `@modelcontextprotocol/conformance@0.1.16 server --suite all`: every one of the 32 server
  scenarios passes through the gateway (passthrough naming).
- `@modelcontextprotocol/conformance@0.2.0-alpha.12 server --spec-version 2026-07-28 --suite all`:
  every scenario that passes against the fixture directly passes through the gateway too (the
  fixture implements all 40, including the input_required multi-round-trip ones).

Node 22 and the suites come from `scripts/install-node-tools.sh` (.tools/).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.gateway import run_gateway
from tests.support.node_tools import node22_env, tool_bin
from tests.upstream.conftest import EVERYTHING, _wait_port, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SUMMARY_LINE = re.compile(r"^([✓✗])\s+([\w/.-]+):\s+(\d+) passed,\s+(\d+) failed", re.M)


def gateway_config(tmp_path: Path) -> dict:
    return {
        "registry": {"paths": [], "hot_reload": False},
        "storage": {"data_dir": str(tmp_path / "data")},
        "external_mcp": {
            "config_file": None,
            "naming": "passthrough",
            "startup_wait": 30,
            "servers": {"everything": {"command": sys.executable, "args": [EVERYTHING]}},
        },
    }


def run_suite(package_dir: str, url: str, *extra: str) -> dict[str, tuple[bool, int, int]]:
    proc = subprocess.run(
        [str(tool_bin(package_dir, "conformance")), "server", "--url", url, "--suite", "all", *extra],
        capture_output=True,
        text=True,
        env=node22_env(),
        timeout=540,
    )
    out = proc.stdout + proc.stderr
    results = {
        m.group(2): (m.group(1) == "✓", int(m.group(3)), int(m.group(4))) for m in SUMMARY_LINE.finditer(out)
    }
    assert results, f"no conformance summary in output:\n{out[-3000:]}"
    return results


def test_conformance_0_1_16_all_server_scenarios_through_gateway(tmp_path: Path) -> None:
    with run_gateway(tmp_path, gateway_config(tmp_path), timeout=60) as gw:
        results = run_suite("conformance-0.1.16", gw.mcp_url)
    failed = {name: r for name, r in results.items() if not r[0]}
    assert len(results) == 32, sorted(results)
    assert not failed, failed


def test_conformance_2026_07_28_through_gateway_matches_direct(tmp_path: Path) -> None:
    port = free_port()
    direct = subprocess.Popen(
        [sys.executable, EVERYTHING, "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, direct)
        baseline = run_suite(
            "conformance-0.2.0", f"http://127.0.0.1:{port}/mcp", "--spec-version", "2026-07-28"
        )
    finally:
        direct.terminate()
        direct.wait(10)
    with run_gateway(tmp_path, gateway_config(tmp_path), timeout=60) as gw:
        through = run_suite("conformance-0.2.0", gw.mcp_url, "--spec-version", "2026-07-28")
    passing_direct = {name for name, r in baseline.items() if r[0]}
    regressions = sorted(name for name in passing_direct if not through.get(name, (False,))[0])
    assert len(through) >= 40, sorted(through)
    assert not regressions, {name: (baseline[name], through.get(name)) for name in regressions}
    # the fixture implements every scenario, so every one passes through the gateway too
    failed = {name: r for name, r in through.items() if not r[0]}
    assert not failed, failed
