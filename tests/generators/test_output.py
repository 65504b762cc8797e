"""Capability file output: regeneration keeps manual edits and reports changes; merge."""

from __future__ import annotations

from pathlib import Path

import yaml

from magictunnel.catalog.capability_file import load_capability_file
from magictunnel.generators.common import GenerationResult
from magictunnel.generators.output import merge_files, write_result


def _tool(name: str, description: str = "generated", url: str = "http://127.0.0.1:1/x") -> dict:
    return {
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": {}},
        "routing": {"type": "http", "config": {"method": "GET", "url": url}},
    }


def _result(*tools: dict) -> GenerationResult:
    return GenerationResult(kind="openapi", source="spec.yaml", tools=list(tools), metadata={"title": "Demo"})


def test_regeneration_keeps_manual_edits_and_reports_changes(tmp_path: Path) -> None:
    out = tmp_path / "demo.yaml"
    report, _ = write_result(_result(_tool("a"), _tool("b"), _tool("c")), out)
    assert report.added == ["a", "b", "c"]
    data = yaml.safe_load(out.read_text())
    by_name = {t["name"]: t for t in data["tools"]}
    by_name["a"]["description"] = "My better description"
    by_name["b"]["hidden"] = True
    by_name["b"]["examples"] = ["list the b things"]
    data["tools"].append(_tool("handwritten", "written by a person"))
    out.write_text(yaml.safe_dump(data, sort_keys=False))

    report, _ = write_result(
        _result(_tool("a", "generated v2"), _tool("b", url="http://127.0.0.1:2/x"), _tool("d")), out
    )
    assert report.added == ["d"]
    assert sorted(report.changed) == ["a", "b"]
    assert report.removed == ["c"]
    assert "a: description" in report.kept_edits and "b: hidden" in report.kept_edits
    assert report.kept_manual_tools == ["handwritten"]
    loaded = {t.name: t for t in load_capability_file(out, {"http"}).tools}
    assert set(loaded) == {"a", "b", "d", "handwritten"}
    assert loaded["a"].description == "My better description"  # manual override kept
    assert loaded["b"].hidden is True and loaded["b"].examples == ["list the b things"]
    assert loaded["b"].routing.config["url"] == "http://127.0.0.1:2/x"  # generator-owned field updated

    report, _ = write_result(
        _result(_tool("a", "generated v2"), _tool("b", url="http://127.0.0.1:2/x"), _tool("d")), out
    )
    assert report.changed == [] and sorted(report.unchanged) == ["a", "b", "d"]


def test_unedited_description_follows_the_spec(tmp_path: Path) -> None:
    out = tmp_path / "demo.yaml"
    write_result(_result(_tool("a", "first")), out)
    write_result(_result(_tool("a", "second")), out)
    assert load_capability_file(out, {"http"}).tools[0].description == "second"


def test_keep_removed(tmp_path: Path) -> None:
    out = tmp_path / "demo.yaml"
    write_result(_result(_tool("a"), _tool("b")), out)
    report, _ = write_result(_result(_tool("a")), out, keep_removed=True)
    assert report.removed == []
    assert {t.name for t in load_capability_file(out, {"http"}).tools} == {"a", "b"}


def test_merge_conflict_strategies(tmp_path: Path) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    write_result(_result(_tool("a", "from one"), _tool("b")), one)
    write_result(_result(_tool("a", "from two"), _tool("c")), two)
    doc, problems = merge_files([one, two], "error")
    assert problems == [f"{two}: tools[0]: name 'a' already defined by an earlier file"]
    doc, problems = merge_files([one, two], "first")
    assert problems == [] and [t["name"] for t in doc["tools"]] == ["a", "b", "c"]
    assert doc["tools"][0]["description"] == "from one"
    doc, _ = merge_files([one, two], "last")
    assert doc["tools"][0]["description"] == "from two"
    doc, _ = merge_files([one, two], "prefix")
    assert [t["name"] for t in doc["tools"]] == ["a", "b", "two_a", "c"]
    doc, problems = merge_files([one, tmp_path / "missing.yaml"], "first")
    assert problems and "missing.yaml" in problems[0]
