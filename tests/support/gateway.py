"""Run a real gateway process for end-to-end tests: `magictunnel serve` on an ephemeral port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[2]
MAGICTUNNEL = [sys.executable, "-m", "magictunnel"]


@dataclass
class RunningGateway:
    base_url: str
    workdir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/mcp/ws"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def write_config(workdir: Path, config: dict | None) -> Path | None:
    if config is None:
        return None
    path = workdir / "magictunnel-config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def run_gateway(
    workdir: Path,
    config: dict | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> Iterator[RunningGateway]:
    write_config(workdir, config)
    port_file = workdir / ".port"
    port_file.unlink(missing_ok=True)
    log_path = workdir / "gateway.log"
    full_env = {**os.environ, "MAGICTUNNEL_PORT_FILE": str(port_file), **(env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*MAGICTUNNEL, "serve", "--port", "0", *(args or [])],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text().strip():
            if proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gateway did not start in {timeout}s:\n{log_path.read_text()}")
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port_file.read_text().strip()}"
        httpx.get(f"{base}/health", timeout=5).raise_for_status()
        yield RunningGateway(base, workdir, proc, log_path)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


BASIC_CAPABILITIES = """
tools:
  - name: echo
    description: Echo a message back
    inputSchema:
      type: object
      properties:
        message: {type: string, description: what to echo}
      required: [message]
    routing: {type: subprocess, config: {command: echo, args: ["{message}"]}}
  - name: secret_tool
    description: A hidden tool that is still callable
    hidden: true
    inputSchema: {type: object, properties: {}}
    routing: {type: subprocess, config: {command: echo, args: ["hidden ok"]}}
  - name: disabled_tool
    description: Never runs
    enabled: false
    inputSchema: {type: object, properties: {}}
    routing: {type: subprocess, config: {command: echo, args: ["should not run"]}}
prompts:
  - name: greet
    description: Greeting prompt
    arguments: [{name: who, required: true}]
    messages: [{role: user, content: "Say hello to {who}"}]
resources:
  - uri: "note://readme"
    name: readme
    mime_type: text/plain
    text: "hello resource"
"""


def basic_workdir(tmp_path: Path) -> Path:
    caps = tmp_path / "capabilities"
    caps.mkdir(parents=True, exist_ok=True)
    (caps / "basic.yaml").write_text(BASIC_CAPABILITIES)
    return tmp_path
