"""Capability files: legacy and enhanced formats, prompts/resources, bad input reported and skipped."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from magictunnel.catalog.capability_file import expand_paths, load_capability_file
from magictunnel.catalog.catalog import Catalog
from magictunnel.catalog.file_registry import FileRegistry

KNOWN = {"subprocess", "http", "graphql"}

LEGACY = """
metadata:
  name: legacy_tools
  version: "1.0"
tools:
  - name: ping
    title: Ping
    description: Ping a host
    inputSchema:
      type: object
      properties: {host: {type: string}}
      required: [host]
    outputSchema: {type: object, properties: {stdout: {type: string}}}
    routing:
      type: subprocess
      config: {command: ping, args: ["-c", "1", "{host}"]}
    annotations: {readOnlyHint: true}
    hidden: true
    enabled: false
    keywords: [network]
"""

ENHANCED = """
enhanced_tools:
  - name: get_weather
    core:
      description: Current weather for a city
      input_schema:
        type: object
        properties: {city: {type: string}}
        required: [city]
      annotations: {openWorldHint: true}
    execution:
      routing: {type: http, config: {url: "https://weather.invalid/{city}"}}
    access: {hidden: true, enabled: true}
    discovery:
      keywords: [weather, forecast]
      examples: ["what's the weather in Paris"]
tools:
  - name: mixed_enhanced_in_tools
    core: {description: enhanced shape in the tools list}
    execution: {routing: {type: subprocess, config: {command: "true"}}}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_legacy_format(tmp_path: Path) -> None:
    result = load_capability_file(write(tmp_path / "legacy.yaml", LEGACY), KNOWN)
    assert result.problems == []
    assert result.metadata == {"name": "legacy_tools", "version": "1.0"}
    (tool,) = result.tools
    assert tool.name == "ping" and tool.title == "Ping" and tool.description == "Ping a host"
    assert tool.input_schema["required"] == ["host"]
    assert tool.output_schema == {"type": "object", "properties": {"stdout": {"type": "string"}}}
    assert tool.routing.type == "subprocess" and tool.routing.config["args"] == ["-c", "1", "{host}"]
    assert tool.annotations == {"readOnlyHint": True}
    assert tool.hidden is True and tool.enabled is False
    assert tool.keywords == ["network"]
    assert tool.source == f"file:{tmp_path / 'legacy.yaml'}"
    wire = tool.to_mcp()
    assert wire["inputSchema"]["properties"] == {"host": {"type": "string"}}
    assert wire["outputSchema"]["type"] == "object" and wire["annotations"] == {"readOnlyHint": True}


def test_enhanced_format(tmp_path: Path) -> None:
    result = load_capability_file(write(tmp_path / "enhanced.yaml", ENHANCED), KNOWN)
    assert result.problems == []
    tools = {t.name: t for t in result.tools}
    weather = tools["get_weather"]
    assert weather.description == "Current weather for a city"
    assert weather.input_schema["required"] == ["city"]
    assert weather.routing.type == "http"
    assert weather.hidden is True and weather.enabled is True
    assert weather.keywords == ["weather", "forecast"]
    assert weather.examples == ["what's the weather in Paris"]
    assert weather.annotations == {"openWorldHint": True}
    assert tools["mixed_enhanced_in_tools"].routing.config == {"command": "true"}


def test_defaults_for_minimal_tool(tmp_path: Path) -> None:
    result = load_capability_file(
        write(tmp_path / "min.yaml", "tools:\n  - name: t\n    routing: {type: subprocess}\n"), KNOWN
    )
    (tool,) = result.tools
    assert tool.input_schema == {"type": "object", "properties": {}}
    assert tool.hidden is False and tool.enabled is True and tool.routing.config == {}


def test_prompts_resources_and_templates(tmp_path: Path) -> None:
    text = """
prompts:
  - name: review
    description: Review code
    arguments: [{name: code, required: true}]
    messages: [{role: user, content: "Review {code}"}]
  - {description: no name}
resources:
  - {uri: "file:///notes.txt", name: notes, mimeType: text/plain, text: hello}
  - {uriTemplate: "notes://{id}", name: note, description: one note}
  - {name: no_uri}
"""
    result = load_capability_file(write(tmp_path / "p.yaml", text), KNOWN)
    assert [p.name for p in result.prompts] == ["review"]
    assert result.prompts[0].arguments[0].required is True
    assert [(r.uri, r.mime_type, r.text) for r in result.resources] == [
        ("file:///notes.txt", "text/plain", "hello")
    ]
    assert [t.uri_template for t in result.resource_templates] == ["notes://{id}"]
    joined = "\n".join(result.problems)
    assert "prompts[1]: name: Field required" in joined
    assert "resources[2] (no_uri): uri: Field required" in joined


BAD_TOOLS = """
tools:
  - name: good
    routing: {type: subprocess, config: {command: echo}}
  - just a string
  - name: "has spaces"
    routing: {type: subprocess}
  - name: no_routing
  - name: unknown_type
    routing: {type: carrier_pigeon}
  - name: bad_schema
    inputSchema: {type: object, properties: {x: {minimum: "ten"}}}
    routing: {type: subprocess}
  - name: array_schema
    inputSchema: {type: array}
    routing: {type: subprocess}
  - name: extra_key
    routing: {type: subprocess, config: {}, surprise: 1}
"""


def test_bad_tools_are_reported_with_file_tool_and_field_and_skipped(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.yaml", BAD_TOOLS)
    result = load_capability_file(path, KNOWN)
    assert [t.name for t in result.tools] == ["good"]
    expected = [
        f"{path}: tools[1]: expected a mapping describing a tool, got str",
        f"{path}: tools[2] (has spaces): name: must match",
        f"{path}: tools[3] (no_routing): routing: missing",
        f"{path}: tools[4] (unknown_type): routing.type: unknown backend 'carrier_pigeon' (known: graphql, http, "
        "subprocess)",
        f"{path}: tools[5] (bad_schema): inputSchema.properties.x.minimum: invalid JSON Schema",
        f'{path}: tools[6] (array_schema): inputSchema.type: must be "object"',
        f"{path}: tools[7] (extra_key): routing.surprise: Extra inputs are not permitted",
    ]
    assert len(result.problems) == len(expected)
    for problem, prefix in zip(result.problems, expected, strict=True):
        assert problem.startswith(prefix), (problem, prefix)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tools: [\n", "line 2, column 1: invalid YAML"),
        ("- a\n- b\n", "expected a mapping with `tools:`, got list"),
        ("tools: {name: x}\n", "tools: expected a list of tools"),
        ("prompts: 3\n", "prompts: expected a list"),
    ],
)
def test_bad_files_are_reported(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "f.yaml", text)
    result = load_capability_file(path, KNOWN)
    assert result.tools == []
    assert any(p.startswith(f"{path}: ") and message in p for p in result.problems), result.problems


def test_empty_file_is_fine(tmp_path: Path) -> None:
    result = load_capability_file(write(tmp_path / "empty.yaml", ""), KNOWN)
    assert result.ok and result.tools == []


def test_registry_skips_bad_file_and_loads_the_rest(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write(
        tmp_path / "caps" / "a.yaml",
        "tools:\n  - name: a\n    routing: {type: subprocess, config: {command: x}}\n",
    )
    write(tmp_path / "caps" / "nested" / "b.yml", "tools:\n  - name: b\n    routing: {type: subprocess}\n")
    write(tmp_path / "caps" / "broken.yaml", "tools: [\n  - name: c\n")
    write(tmp_path / "caps" / "notes.txt", "tools: []")
    catalog = Catalog()
    caplog.set_level(logging.ERROR, "magictunnel.registry")
    registry = FileRegistry(catalog, ["caps"], KNOWN, base=tmp_path)
    registry.reload()
    assert sorted(catalog.tools) == ["a", "b"]
    assert len(registry.problems) == 1 and "broken.yaml" in registry.problems[0]
    assert "broken.yaml" in caplog.text


def test_registry_applies_backend_config_checks(tmp_path: Path) -> None:
    write(
        tmp_path / "c.yaml",
        "tools:\n  - name: a\n    routing: {type: subprocess, config: {}}\n"
        "  - name: b\n    routing: {type: subprocess, config: {command: echo}}\n",
    )

    def check(tool):  # the gateway passes its backends' check_config this way
        return (
            []
            if tool.routing.config.get("command")
            else [f"tool {tool.name}: routing.config.command: required"]
        )

    catalog = Catalog()
    registry = FileRegistry(catalog, [str(tmp_path)], KNOWN, check_routing=check)
    registry.reload()
    assert list(catalog.tools) == ["b"]
    assert registry.problems == ["tool a: routing.config.command: required"]


def test_expand_paths(tmp_path: Path) -> None:
    a = write(tmp_path / "d" / "a.yaml", "")
    b = write(tmp_path / "d" / "sub" / "b.yml", "")
    c = write(tmp_path / "other" / "c.yaml", "")
    write(tmp_path / "d" / "skip.json", "{}")
    found = expand_paths(["d", "other/*.yaml", str(c), "missing-dir"], base=tmp_path)
    assert found == sorted([a.resolve(), b.resolve(), c.resolve()])
