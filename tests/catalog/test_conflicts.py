"""Duplicate tool names across sources and files: reject, first_wins and prefix, reported clearly."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from magictunnel.catalog.catalog import Catalog, CatalogEvent, SourceSnapshot
from magictunnel.catalog.file_registry import FileRegistry
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.models import ConflictStrategy


def tool(name: str, source: str, description: str = "") -> ToolDef:
    return ToolDef(
        name=name,
        description=description or source,
        source=source,
        routing=Routing(type="subprocess", config={"command": "echo"}),
    )


def two_sources(strategy: ConflictStrategy) -> Catalog:
    catalog = Catalog(strategy)
    catalog.set_source(
        SourceSnapshot(
            name="files",
            priority=10,
            tools=[tool("search", "file:/caps/web.yaml"), tool("only_local", "file:/caps/web.yaml")],
        )
    )
    catalog.set_source(
        SourceSnapshot(
            name="server:github",
            priority=20,
            tools=[tool("search", "server:github"), tool("issues", "server:github")],
        )
    )
    return catalog


def test_prefix_renames_the_later_definition(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "magictunnel.catalog")
    catalog = two_sources(ConflictStrategy.PREFIX)
    assert sorted(catalog.tools) == ["github_search", "issues", "only_local", "search"]
    assert catalog.tools["search"].source == "file:/caps/web.yaml"
    renamed = catalog.tools["github_search"]
    assert renamed.source == "server:github" and renamed.original_name == "search"
    assert renamed.upstream_name == "search"  # the original name is what goes upstream
    assert catalog.conflicts == [
        "tool 'search' from server:github collides with file:/caps/web.yaml: served as 'github_search'"
    ]
    assert "served as 'github_search'" in caplog.text


def test_first_wins_keeps_the_earlier_definition() -> None:
    catalog = two_sources(ConflictStrategy.FIRST_WINS)
    assert sorted(catalog.tools) == ["issues", "only_local", "search"]
    assert catalog.tools["search"].source == "file:/caps/web.yaml"
    assert catalog.conflicts == [
        "tool 'search' from server:github collides with file:/caps/web.yaml: first wins, later definition ignored"
    ]


def test_reject_serves_neither_duplicate_and_reports_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "magictunnel.catalog")
    catalog = two_sources(ConflictStrategy.REJECT)
    # an ambiguous name is withheld; the other tools of both sources are served
    assert sorted(catalog.tools) == ["issues", "only_local"]
    assert catalog.conflicts == [
        "tool 'search' from server:github collides with file:/caps/web.yaml: "
        "rejected, neither is served until the names differ"
    ]
    assert "rejected" in caplog.text
    # a third definition of the same name stays withheld
    catalog.set_source(SourceSnapshot(name="server:z", priority=30, tools=[tool("search", "server:z")]))
    assert "search" not in catalog.tools
    assert catalog.conflicts[-1] == "tool 'search' from server:z: rejected (name is ambiguous)"


def test_reject_never_withholds_the_gateways_own_tools() -> None:
    catalog = Catalog(ConflictStrategy.REJECT)
    catalog.set_source(SourceSnapshot(name="builtin", priority=0, tools=[tool("x", "builtin")]))
    catalog.set_source(SourceSnapshot(name="server:s", priority=20, tools=[tool("x", "server:s")]))
    assert catalog.tools["x"].source == "builtin"
    assert catalog.conflicts == ["tool 'x' from server:s collides with builtin: rejected"]


def test_priority_decides_who_is_first() -> None:
    catalog = Catalog(ConflictStrategy.FIRST_WINS)
    catalog.set_source(SourceSnapshot(name="server:late", priority=20, tools=[tool("x", "server:late")]))
    catalog.set_source(SourceSnapshot(name="builtin", priority=0, tools=[tool("x", "builtin")]))
    assert catalog.tools["x"].source == "builtin"


def test_prefixed_names_never_collide_and_stay_valid() -> None:
    catalog = Catalog(ConflictStrategy.PREFIX)
    catalog.set_source(
        SourceSnapshot(name="a", priority=1, tools=[tool("t", "builtin"), tool("b_t", "builtin")])
    )
    catalog.set_source(SourceSnapshot(name="server:b", priority=2, tools=[tool("t", "server:b")]))
    assert sorted(catalog.tools) == ["b2_t", "b_t", "t"]
    catalog.set_source(
        SourceSnapshot(name="server:x" * 3, priority=3, tools=[tool("n" * 60, "server:" + "x" * 20)])
    )
    catalog.set_source(SourceSnapshot(name="s0", priority=0, tools=[tool("n" * 60, "builtin")]))
    assert all(len(name) <= 64 for name in catalog.tools)


def test_duplicates_across_capability_files_are_prefixed_by_file(tmp_path: Path) -> None:
    for stem in ("alpha", "beta"):
        (tmp_path / f"{stem}.yaml").write_text(
            f"tools:\n  - name: status\n    description: {stem}\n    routing: {{type: subprocess, "
            "config: {command: echo}}\n"
        )
    catalog = Catalog(ConflictStrategy.PREFIX)
    FileRegistry(catalog, [str(tmp_path)], {"subprocess"}).reload()
    assert catalog.tools["status"].description == "alpha"
    assert catalog.tools["beta_status"].description == "beta"
    assert len(catalog.conflicts) == 1 and "beta.yaml" in catalog.conflicts[0]


def test_change_events_report_what_changed() -> None:
    events: list[CatalogEvent] = []
    catalog = Catalog()
    catalog.subscribe(events.append)
    catalog.set_source(SourceSnapshot(name="s", tools=[tool("a", "builtin")]))
    catalog.set_source(SourceSnapshot(name="s", tools=[tool("a", "builtin")]))  # identical: no event
    unsubscribe = catalog.subscribe(lambda e: None)
    catalog.remove_source("s")
    unsubscribe()
    assert [(e.version, e.tools_changed, e.prompts_changed, e.sources) for e in events] == [
        (1, True, False, ("s",)),
        (2, True, False, ("s",)),
    ]
    assert catalog.tools == {}
    assert catalog.remove_source("s") is None
