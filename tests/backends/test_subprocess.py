"""The `subprocess` backend with real processes: argv substitution, env, cwd, exit codes, timeouts."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from magictunnel.backends.base import BackendError
from magictunnel.backends.subprocess import SubprocessBackend
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext

pytestmark = pytest.mark.anyio

PY = sys.executable
# prints its argv (after the script name) as JSON: shows exactly what the process received
ARGV_PRINTER = "import json, sys; print(json.dumps(sys.argv[1:]))"


def tool(config: dict[str, Any], name: str = "t") -> ToolDef:
    return ToolDef(name=name, routing=Routing(type="subprocess", config=config))


async def run(config: dict[str, Any], args: dict[str, Any] | None = None, base_dir: str | None = None):
    return await SubprocessBackend(base_dir).execute(tool(config), args or {}, CallContext())


async def argv_of(args_template: list[Any], arguments: dict[str, Any]) -> list[str]:
    result = await run({"command": PY, "args": ["-c", ARGV_PRINTER, *args_template]}, arguments)
    assert not result.is_error, result.content[0].text
    return json.loads(result.structured_content["stdout"])


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def wait_gone(pids: list[int], limit: float = 5.0) -> list[int]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        remaining = [p for p in pids if alive(p)]
        if not remaining:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


# ---- argv substitution, never through a shell ----------------------------------------------------
async def test_placeholder_styles() -> None:
    argv = await argv_of(
        ["{name}", "{{ name }}", "--first={items[0]}", "{cfg.mode}", "x{n}y", "{flag}"],
        {"name": "Ada", "items": ["a", "b"], "cfg": {"mode": "fast"}, "n": 3, "flag": False},
    )
    assert argv == ["Ada", "Ada", "--first=a", "fast", "x3y", "false"]


async def test_shell_metacharacters_stay_one_literal_argument(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = f"; touch {marker} && echo $(id) `id` | cat > {marker} *"
    argv = await argv_of(["{text}"], {"text": evil})
    assert argv == [evil]
    assert not marker.exists()


async def test_list_values_expand_and_missing_optionals_drop() -> None:
    argv = await argv_of(
        ["-v", "{files}", "{optional}", "--opt={optional}", "{none}"], {"files": ["a b", "c"], "none": None}
    )
    assert argv == ["-v", "a b", "c", "--opt="]


async def test_non_string_args_and_objects() -> None:
    argv = await argv_of([7, True, "{obj}"], {"obj": {"k": [1, 2]}})
    assert argv == ["7", "true", '{"k": [1, 2]}']


# ---- results ------------------------------------------------------------------------------------------
async def test_stdout_stderr_and_exit_code() -> None:
    ok = await run({"command": PY, "args": ["-c", "import sys; print('out'); print('err', file=sys.stderr)"]})
    assert not ok.is_error
    assert ok.structured_content == {"stdout": "out\n", "stderr": "err\n", "exit_code": 0}
    assert ok.content[0].text == "out\n"
    failed = await run(
        {"command": PY, "args": ["-c", "import sys; print('bad', file=sys.stderr); sys.exit(3)"]}
    )
    assert failed.is_error
    assert failed.structured_content["exit_code"] == 3
    assert failed.content[0].text == "exit code 3\nbad"


async def test_stdin_template() -> None:
    result = await run(
        {
            "command": PY,
            "args": ["-c", "import sys; print(sys.stdin.read().upper())"],
            "stdin": "hello {who}",
        },
        {"who": "world"},
    )
    assert result.structured_content["stdout"] == "HELLO WORLD\n"


async def test_env_is_templated_and_inherits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MT_INHERITED", "yes")
    script = "import os; print(os.environ['GREETING'], os.environ['MT_INHERITED'])"
    result = await run(
        {"command": PY, "args": ["-c", script], "env": {"GREETING": "hi {name}"}}, {"name": "Ada"}
    )
    assert result.structured_content["stdout"] == "hi Ada yes\n"


async def test_cwd_absolute_relative_and_default(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    script = "import os; print(os.getcwd())"
    absolute = await run({"command": PY, "args": ["-c", script], "cwd": str(tmp_path / "sub")})
    assert absolute.structured_content["stdout"].strip() == str(tmp_path / "sub")
    relative = await run({"command": PY, "args": ["-c", script], "cwd": "sub"}, base_dir=str(tmp_path))
    assert relative.structured_content["stdout"].strip() == str(tmp_path / "sub")
    default = await run({"command": PY, "args": ["-c", script]}, base_dir=str(tmp_path))
    assert default.structured_content["stdout"].strip() == str(tmp_path)


async def test_missing_command_and_missing_cwd_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="command not found: no-such-program-xyz"):
        await run({"command": "no-such-program-xyz"})
    with pytest.raises(BackendError, match="working directory does not exist"):
        await run({"command": PY, "args": ["-c", "pass"], "cwd": str(tmp_path / "nope")})
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(BackendError, match="command not executable"):
        await run({"command": str(script)})


async def test_large_output_is_capped() -> None:
    from magictunnel.backends import subprocess as sp

    result = await run(
        {"command": PY, "args": ["-c", f"import sys; sys.stdout.write('z' * {sp.MAX_OUTPUT * 3})"]}
    )
    assert not result.is_error
    assert len(result.structured_content["stdout"]) == sp.MAX_OUTPUT
    assert result.structured_content.get("truncated") is True


# ---- timeouts kill the whole process group -----------------------------------------------------------
FAMILY = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
time.sleep(120)
"""


def _read_pids(path: Path) -> list[int]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return [int(p) for p in path.read_text().split()]
        time.sleep(0.02)
    raise AssertionError("the process family never wrote its PIDs")


async def test_timeout_kills_child_and_grandchild(tmp_path: Path) -> None:
    pid_file = tmp_path / "pids"
    started = time.monotonic()
    result = await run({"command": PY, "args": ["-c", FAMILY, str(pid_file)], "timeout": 1.5})
    assert time.monotonic() - started < 60  # returned long before the 120 s sleeps
    assert result.is_error
    assert "timed out after 1.5s and was killed" in result.content[0].text
    assert result.structured_content == {"exit_code": None, "timed_out": True}
    pids = _read_pids(pid_file)
    assert len(pids) == 2
    assert wait_gone(pids) == []


async def test_gateway_timeout_cancellation_also_kills_the_group(tmp_path: Path) -> None:
    """The router's per-call timeout (tools.<name>.timeout) cancels the backend: same cleanup."""
    caps = tmp_path / "caps"
    caps.mkdir()
    pid_file = tmp_path / "pids"
    (caps / "family.yaml").write_text(
        json.dumps(
            {
                "tools": [
                    {
                        "name": "family",
                        "routing": {
                            "type": "subprocess",
                            "config": {"command": PY, "args": ["-c", FAMILY, str(pid_file)], "timeout": 100},
                        },
                    }
                ]
            }
        )
    )
    config = MagicTunnelConfig.model_validate(
        {"registry": {"paths": [str(caps)], "hot_reload": False}, "tools": {"family": {"timeout": 1.5}}}
    )
    gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)
    gateway.files.reload()
    assert "family" in gateway.catalog.tools, gateway.files.problems
    result = await gateway.call_tool("family", {}, CallContext())
    assert result.is_error and "timed out after 1.5s" in result.content[0].text
    pids = _read_pids(pid_file)
    assert wait_gone(pids) == []


def test_check_config() -> None:
    b = SubprocessBackend()
    assert b.check_config({"command": "echo", "args": ["{x}"], "env": {}, "timeout": 2}) == []
    problems = b.check_config({"args": "x", "env": [], "timeout": "1", "cwd": 3})
    assert problems == [
        "command: required, a program name or path",
        "args: expected a list",
        "env: expected a mapping",
        "timeout: expected a number of seconds",
        "cwd: expected a directory path",
    ]


async def test_runs_without_inheriting_a_shell() -> None:
    # `echo $HOME` through a shell would expand; here `$HOME` reaches the program verbatim
    result = await run({"command": "echo", "args": ["$HOME", "*"]})
    assert result.structured_content["stdout"] == "$HOME *\n"
    assert os.environ.get("HOME") not in result.structured_content["stdout"]


LEAVES_A_CHILD = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
with open(sys.argv[1], "w") as f:
    f.write("%d" % child.pid)
print("parent done")
"""


async def test_processes_left_behind_are_killed_and_do_not_hang_the_call(tmp_path: Path) -> None:
    # the grandchild inherits stdout; without cleanup the call would wait for its 120 s sleep
    pid_file = tmp_path / "pid"
    result = await run({"command": PY, "args": ["-c", LEAVES_A_CHILD, str(pid_file)], "timeout": 60})
    assert not result.is_error, result.content[0].text
    assert result.structured_content["stdout"] == "parent done\n"
    assert wait_gone(_read_pids(pid_file)) == []


ESCAPES_THE_GROUP = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
with open(sys.argv[1], "w") as f:
    f.write("%d" % child.pid)
print("parent done")
"""


async def test_a_process_that_left_the_group_cannot_hold_the_call(tmp_path: Path) -> None:
    # setsid() puts the grandchild outside the command's group, still holding stdout
    pid_file = tmp_path / "pid"
    try:
        result = await run({"command": PY, "args": ["-c", ESCAPES_THE_GROUP, str(pid_file)], "timeout": 60})
        assert not result.is_error and result.structured_content["stdout"] == "parent done\n"
    finally:
        for pid in _read_pids(pid_file):
            os.kill(pid, 9)
