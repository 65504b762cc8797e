"""`subprocess` backend: run a command with templated argv, never through a shell.

routing.config: `command` (str), `args` (list), `env` (mapping, values templated),
`cwd`, `timeout` (seconds), `stdin` (template, optional). The result carries stdout,
stderr and the exit code; a non-zero exit is an `isError` result. A timeout kills the
whole process group.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from mcp_types import CallToolResult, TextContent

from magictunnel.backends.base import BackendError, error_result
from magictunnel.backends.templating import render, render_argv
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

MAX_OUTPUT = 1024 * 1024


class SubprocessBackend:
    type = "subprocess"

    def __init__(self, base_dir: str | None = None) -> None:
        self.base_dir = base_dir

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        if not isinstance(config.get("command"), str) or not config.get("command"):
            problems.append("command: required, a program name or path")
        if "args" in config and not isinstance(config["args"], list):
            problems.append("args: expected a list")
        if "env" in config and not isinstance(config["env"], dict):
            problems.append("env: expected a mapping")
        if "timeout" in config and not isinstance(config["timeout"], int | float):
            problems.append("timeout: expected a number of seconds")
        return problems

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        command = render(str(config["command"]), arguments)
        argv = [command, *render_argv(list(config.get("args") or []), arguments)]
        env = dict(os.environ)
        for key, value in (config.get("env") or {}).items():
            env[str(key)] = render(str(value), arguments)
        cwd = config.get("cwd") or self.base_dir
        stdin_data = config.get("stdin")
        timeout = float(config.get("timeout") or 0) or None
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE if stdin_data is not None else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise BackendError(f"command not found: {command}") from exc
        except PermissionError as exc:
            raise BackendError(f"command not executable: {command}") from exc
        payload = render(str(stdin_data), arguments).encode() if stdin_data is not None else None
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(payload), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            _kill_group(proc)
            await proc.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            return error_result(
                f"{tool.name}: command timed out after {timeout:g}s and was killed",
                exit_code=None,
                timed_out=True,
            )
        out = stdout[:MAX_OUTPUT].decode("utf-8", "replace")
        err = stderr[:MAX_OUTPUT].decode("utf-8", "replace")
        code = proc.returncode
        text = out if out else err
        if code != 0:
            text = f"exit code {code}\n{err or out}".rstrip()
        return CallToolResult(
            content=[TextContent(text=text)],
            structured_content={"stdout": out, "stderr": err, "exit_code": code},
            is_error=code != 0,
        )


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
