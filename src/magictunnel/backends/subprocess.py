"""`subprocess` backend: run a command with templated argv, never through a shell.

routing.config:

- `command` (str, required): the program (looked up on PATH) or a path to it.
- `args` (list): argv entries; each entry may use `{param}`, `{{param}}`, `{list[0]}` or
  `{obj.key}` and always stays exactly one argument whatever the value contains. An entry
  that is only a placeholder for a missing argument is dropped; one whose value is a list
  expands to one argument per item. (Literal braces around a name, as in an inline
  script's `{x}`, are placeholders too.)
- `env` (mapping, values templated): added to the gateway's environment.
- `cwd` (str, templated): relative paths are relative to the directory of the gateway's
  config file (or the working directory without one); must exist.
- `timeout` (seconds): when it expires the whole process group is killed (SIGKILL).
- `stdin` (str template, optional): written to the program's standard input.

The result carries stdout, stderr and the exit code (structuredContent
`{stdout, stderr, exit_code}`, plus `truncated` when either stream exceeded
MAX_OUTPUT bytes); a non-zero exit is an `isError` result. When the command exits,
processes it left running in its process group are killed, so nothing leaks; one that
left the group (setsid) gets 2 seconds to release the output pipes, then they are closed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
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
        timeout = config.get("timeout")
        if "timeout" in config and (not isinstance(timeout, int | float) or isinstance(timeout, bool)):
            problems.append("timeout: expected a number of seconds")
        if "cwd" in config and not isinstance(config["cwd"], str):
            problems.append("cwd: expected a directory path")
        if "stdin" in config and not isinstance(config["stdin"], str):
            problems.append("stdin: expected a string")
        return problems

    def _cwd(self, config: dict[str, Any], arguments: dict[str, Any]) -> str | None:
        cwd = config.get("cwd")
        if not cwd:
            return self.base_dir
        path = Path(render(str(cwd), arguments)).expanduser()
        if not path.is_absolute() and self.base_dir:
            path = Path(self.base_dir) / path
        if not path.is_dir():
            raise BackendError(f"working directory does not exist: {path}")
        return str(path)

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        command = render(str(config["command"]), arguments)
        argv = [command, *render_argv(list(config.get("args") or []), arguments)]
        env = dict(os.environ)
        for key, value in (config.get("env") or {}).items():
            env[str(key)] = render(str(value), arguments)
        cwd = self._cwd(config, arguments)
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
        except OSError as exc:
            raise BackendError(f"cannot start {command}: {exc.strerror or exc}") from exc
        payload = render(str(stdin_data), arguments).encode() if stdin_data is not None else None
        try:
            (stdout, out_cut), (stderr, err_cut) = await asyncio.wait_for(
                _communicate(proc, payload), timeout
            )
        except (TimeoutError, asyncio.CancelledError) as exc:
            _kill_group(proc)
            try:
                await _until_exit(proc, limit=5.0)
            except asyncio.CancelledError:
                pass  # cancelled again while reaping: the kill is sent, asyncio reaps the child
            _close_pipes(proc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return error_result(
                f"{tool.name}: command timed out after {timeout:g}s and was killed",
                exit_code=None,
                timed_out=True,
            )
        out = stdout.decode("utf-8", "replace")
        err = stderr.decode("utf-8", "replace")
        code = proc.returncode
        text = out if out else err
        if code != 0:
            text = f"exit code {code}\n{err or out}".rstrip()
        structured: dict[str, Any] = {"stdout": out, "stderr": err, "exit_code": code}
        if out_cut or err_cut:
            structured["truncated"] = True
            text += f"\n[output truncated to {MAX_OUTPUT} bytes]"
        return CallToolResult(
            content=[TextContent(text=text)],
            structured_content=structured,
            is_error=code != 0,
        )


class _Capture:
    """One output stream, read to its end, keeping at most MAX_OUTPUT bytes (the rest is
    drained). What was read stays available if reading is abandoned."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.truncated = False

    async def read(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while chunk := await stream.read(65536):
            room = MAX_OUTPUT - len(self.data)
            if len(chunk) > room:
                self.truncated = True
            if room > 0:
                self.data.extend(chunk[:room])

    def result(self) -> tuple[bytes, bool]:
        return bytes(self.data), self.truncated


async def _feed(proc: asyncio.subprocess.Process, payload: bytes | None) -> None:
    if proc.stdin is None:
        return
    try:
        if payload:
            proc.stdin.write(payload)
            await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the program exited without reading its input
    finally:
        proc.stdin.close()


async def _until_exit(proc: asyncio.subprocess.Process, limit: float | None = None) -> None:
    """Wait for the process itself to exit. (Process.wait() also waits for its pipes to close,
    which a process that left the group may hold open for ever.)"""
    exited = asyncio.ensure_future(proc.wait())
    loop = asyncio.get_running_loop()
    deadline = None if limit is None else loop.time() + limit
    try:
        while not exited.done() and proc.returncode is None:
            if deadline is not None and loop.time() > deadline:
                return
            await asyncio.wait({exited}, timeout=0.1)
    finally:
        exited.cancel()


def _close_pipes(proc: asyncio.subprocess.Process) -> None:
    transport = getattr(proc, "_transport", None)
    if transport is not None:
        transport.close()


async def _communicate(
    proc: asyncio.subprocess.Process, payload: bytes | None
) -> tuple[tuple[bytes, bool], tuple[bytes, bool]]:
    out, err = _Capture(), _Capture()
    readers = [asyncio.ensure_future(out.read(proc.stdout)), asyncio.ensure_future(err.read(proc.stderr))]
    try:
        await _feed(proc, payload)
        await _until_exit(proc)
        _kill_group(proc)  # whatever the command left running in its group ends with it
        # a process that escaped the group (setsid) may still hold the pipes: don't wait for it
        _, pending = await asyncio.wait(readers, timeout=2.0)
        if pending:
            _close_pipes(proc)
    finally:
        for reader in readers:
            reader.cancel()
    return out.result(), err.result()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        try:
            proc.kill()
        except ProcessLookupError:
            pass
