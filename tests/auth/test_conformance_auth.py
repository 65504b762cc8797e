"""The official conformance suite's client auth scenarios against MagicTunnel's upstream
OAuth client (driver: tests/auth/conformance_client.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.node_tools import node22_env, tool_bin

DRIVER = Path(__file__).with_name("conformance_client.py")
ROOT = Path(__file__).resolve().parents[2]

PASSING = [
    "auth/metadata-default",
    "auth/metadata-var1",
    "auth/metadata-var2",
    "auth/metadata-var3",
    "auth/basic-cimd",
    "auth/scope-from-www-authenticate",
    "auth/scope-from-scopes-supported",
    "auth/scope-omitted-when-undefined",
    "auth/scope-step-up",
    "auth/scope-retry-limit",
    "auth/token-endpoint-auth-basic",
    "auth/token-endpoint-auth-post",
    "auth/token-endpoint-auth-none",
    "auth/pre-registration",
    "auth/2025-03-26-oauth-endpoint-fallback",
    "auth/resource-mismatch",
    "auth/offline-access-scope",
    "auth/offline-access-not-supported",
    "auth/client-credentials-basic",
    "auth/client-credentials-jwt",
    "auth/cross-app-access-complete-flow",
]
# Known failures, kept visible (strict xfail: a pass means this list is out of date):
# - 2025-03-26 metadata back-compat: the scenario's legacy authorization server publishes an
#   issuer (`<origin>/oauth`) that differs from the origin the metadata was fetched for; the
#   SDK client refuses the mismatch (RFC 8414 §3.3 / SEP-2468) and so do we.
KNOWN_FAILING = {
    "auth/2025-03-26-oauth-metadata-backcompat": "issuer mismatch is refused (RFC 8414 §3.3)",
}


def _run(scenario: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    command = f"{sys.executable} {DRIVER}"
    return subprocess.run(
        [
            str(tool_bin("conformance-0.1.16", "conformance")),
            "client",
            "--command",
            command,
            "--scenario",
            scenario,
            "--timeout",
            "120000",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env=node22_env({"PYTHONPATH": str(ROOT)}),
    )


@pytest.mark.timeout(400)
@pytest.mark.parametrize("scenario", PASSING)
def test_conformance_client_auth(scenario: str, tmp_path: Path) -> None:
    result = _run(scenario, tmp_path)
    out = result.stdout + result.stderr
    assert "OVERALL: PASSED" in out, out[-4000:]


@pytest.mark.timeout(400)
@pytest.mark.parametrize("scenario", sorted(KNOWN_FAILING))
def test_conformance_known_failures(scenario: str, tmp_path: Path) -> None:
    out = (lambda r: r.stdout + r.stderr)(_run(scenario, tmp_path))
    if "OVERALL: PASSED" in out:
        pytest.fail(f"{scenario} passes now: move it to PASSING")
    pytest.xfail(KNOWN_FAILING[scenario])
