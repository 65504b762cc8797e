"""`magictunnel validate PATH...` run as the real command: output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = "from magictunnel.cli.main import main; main()"

BAD = """
tools:
  - name: fine
    routing: {type: subprocess, config: {command: echo}}
  - name: "bad name!"
    routing: {type: subprocess, config: {command: echo}}
  - name: no_routing
    description: forgot how to run it
  - name: bad_schema
    inputSchema: {type: object, properties: {a: {type: strin}}}
    routing: {type: subprocess, config: {command: echo}}
  - name: unknown_backend
    routing: {type: telepathy, config: {}}
  - name: bad_http
    routing: {type: http, config: {url: "ftp://x", method: FETCH}}
  - name: bad_graphql
    routing: {type: graphql, config: {endpoint: "http://x/graphql"}}
  - name: bad_sub
    routing: {type: subprocess, config: {args: "x"}}
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "validate", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_valid_files_exit_0(tmp_path: Path) -> None:
    result = run(str(REPO / "capabilities"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "system_tools.yaml (6 tools)" in result.stdout
    assert "0 problems" in result.stdout


def test_each_problem_names_file_tool_and_field(tmp_path: Path) -> None:
    (tmp_path / "caps").mkdir()
    (tmp_path / "caps" / "bad.yaml").write_text(BAD)
    (tmp_path / "caps" / "broken.yml").write_text("tools: [\n")
    (tmp_path / "caps" / "good.yaml").write_text(
        "tools:\n  - name: fine\n    routing: {type: subprocess, config: {command: echo}}\n"
    )
    result = run("caps", cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    expected = [
        "caps/bad.yaml: tools[1] (bad name!): name: must match",
        "caps/bad.yaml: tools[2] (no_routing): routing: missing",
        "caps/bad.yaml: tools[3] (bad_schema): inputSchema.properties.a.type: invalid JSON Schema",
        "caps/bad.yaml: tools[4] (unknown_backend): routing.type: unknown backend 'telepathy'",
        "caps/bad.yaml: tool bad_http: routing.config.url: expected an http:// or https:// URL",
        "caps/bad.yaml: tool bad_http: routing.config.method: expected one of GET",
        "caps/bad.yaml: tool bad_graphql: routing.config.query: required",
        "caps/bad.yaml: tool bad_sub: routing.config.command: required",
        "caps/bad.yaml: tool bad_sub: routing.config.args: expected a list",
        "caps/broken.yml: line 2, column 1: invalid YAML",
    ]
    for line in expected:
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "ok caps/good.yaml (1 tool)" in out
    assert "warning: caps/good.yaml: tool fine: name also defined in caps/bad.yaml" in out
    assert "3 files, 2 valid tools, 10 problems in 2 files" in out
    assert "Traceback" not in result.stdout + result.stderr


def test_json_report(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    result = run("--json", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["problems"] == 9
    assert report["files"][0]["tools"] == ["fine"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = run("does-not-exist.yaml", cwd=tmp_path)
    assert missing.returncode == 2
    assert "does-not-exist.yaml: no such file or directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = run("empty", cwd=tmp_path)
    assert empty.returncode == 2 and "no capability files" in empty.stderr
    no_args = run(cwd=tmp_path)
    assert no_args.returncode == 2 and "Missing argument" in no_args.stderr


def test_optional_examples_are_valid_when_enabled(tmp_path: Path) -> None:
    for example in (REPO / "capabilities" / "optional").glob("*.yaml.example"):
        shutil.copy(example, tmp_path / example.name.removesuffix(".example"))
    result = run(str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "http_examples.yaml (4 tools)" in result.stdout
