"""Index building, ranking, persistence of embeddings, background rebuilds."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.embeddings import EmbeddingCache, UseEmbedder
from magictunnel.discovery.engine import DiscoveryEngine

EMBEDDER = UseEmbedder()

DOCS = [
    make_doc(
        "weather/get_forecast",
        "get_forecast",
        "Weather forecast for a city: temperature, rain and wind.",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "weather",
    ),
    make_doc(
        "fs/read_file",
        "read_file",
        "Read the complete contents of a file from the file system.",
        {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        "filesystem",
    ),
    make_doc(
        "fin/get_stock_price",
        "get_stock_price",
        "Get the current stock price for a ticker symbol.",
        {"type": "object", "properties": {"symbol": {"type": "string"}}},
        "finance",
    ),
    make_doc(
        "git/git_commit",
        "git_commit",
        "Record staged changes to the repository with a message.",
        {"type": "object", "properties": {"message": {"type": "string"}}},
        "git",
    ),
    make_doc(
        "zh/search",
        "bing_search",
        "使用必应搜索指定的关键词，并返回搜索结果列表",
        {"type": "object", "properties": {"query": {"type": "string"}}},
        "bing-cn",
    ),
]


def test_ranks_the_right_tool_with_confidence_in_unit_range(tmp_path: Path) -> None:
    engine = DiscoveryEngine(EMBEDDER, cache_dir=tmp_path)
    engine.build(DOCS)
    cases = {
        "will it rain in Oslo tomorrow": "weather/get_forecast",
        "print the contents of the file /etc/hosts": "fs/read_file",
        "how much is AAPL trading at": "fin/get_stock_price",
        "commit my staged work with message 'fix'": "git/git_commit",
        "search the web for MCP gateways": "zh/search",
        "天气预报": "weather/get_forecast",
    }
    for query, expected in cases.items():
        hits = engine.search(query, top_k=3)
        assert hits[0].doc.key == expected, (query, [h.doc.key for h in hits])
        confidences = [h.confidence for h in hits]
        assert all(0.0 <= c <= 1.0 for c in confidences)
        assert confidences == sorted(confidences, reverse=True)
        assert hits[0].reasoning().startswith("semantic similarity")


def test_allowed_filter_never_returns_other_tools(tmp_path: Path) -> None:
    engine = DiscoveryEngine(EMBEDDER, cache_dir=None)
    engine.build(DOCS)
    hits = engine.search(
        "read a file", top_k=5, allowed=frozenset({"weather/get_forecast", "git/git_commit"})
    )
    assert {h.doc.key for h in hits} <= {"weather/get_forecast", "git/git_commit"}
    assert len(hits) == 2


def test_embeddings_persist_and_only_changes_are_embedded(tmp_path: Path) -> None:
    first = DiscoveryEngine(EMBEDDER, cache_dir=tmp_path)
    index = first.build(DOCS)
    texts_per_build = sum(2 + len(d.sentence_texts()) for d in DOCS)  # description, name, sentences
    assert index.stats is not None and index.stats.computed == texts_per_build
    assert (tmp_path / "use-multilingual-v3.npy").exists()

    restarted = DiscoveryEngine(EMBEDDER, cache_dir=tmp_path)  # a restart: cache read from disk
    index = restarted.build(DOCS)
    assert index.stats is not None and index.stats.computed == 0
    assert np.allclose(index.vectors, first.index.vectors, atol=1e-6)

    changed = [*DOCS[:-1], make_doc("zh/search", "bing_search", "Search the web with Bing.", {}, "bing-cn")]
    index = restarted.build(changed)
    # only the new description and its one sentence: the name's vector is reused
    assert index.stats is not None and index.stats.computed == 2
    assert index.version == 2


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    (tmp_path / "use-multilingual-v3.npy").write_bytes(b"not numpy")
    (tmp_path / "use-multilingual-v3.keys.json").write_text("[")
    cache = EmbeddingCache(EMBEDDER, tmp_path)
    assert len(cache) == 0
    engine = DiscoveryEngine(EMBEDDER, cache_dir=tmp_path)
    assert engine.build(DOCS).stats.computed == sum(2 + len(d.sentence_texts()) for d in DOCS)  # type: ignore[union-attr]


class RebuiltEmbedder:
    """The real embedder under a new model id that supersedes an earlier one."""

    model_id = "use-rebuilt"
    dim = EMBEDDER.dim
    replaces = (EMBEDDER.model_id,)

    def encode(self, texts: list[str]) -> np.ndarray:
        return EMBEDDER.encode(texts)


def test_a_superseded_models_cache_files_go_once_the_new_cache_is_written(tmp_path: Path) -> None:
    old = EmbeddingCache(EMBEDDER, tmp_path)
    old.embed(["weather forecast"])
    old.save()
    old_files = sorted(p.name for p in tmp_path.iterdir())
    assert old_files == ["use-multilingual-v3.keys.json", "use-multilingual-v3.npy"]
    new = EmbeddingCache(RebuiltEmbedder(), tmp_path)
    assert len(new) == 0  # the old vectors are not read as the new model's
    assert sorted(p.name for p in tmp_path.iterdir()) == old_files  # nothing goes before a save
    new.embed(["weather forecast"])
    new.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["use-rebuilt.keys.json", "use-rebuilt.npy"]
    assert len(EmbeddingCache(RebuiltEmbedder(), tmp_path)) == 1
    # an old cache that reappears beside a saved new one goes at the next save, new vectors or not
    old.embed(["rain tomorrow"])
    old.save()
    unchanged = EmbeddingCache(RebuiltEmbedder(), tmp_path)
    unchanged.embed(["weather forecast"])  # cached already: nothing to write
    unchanged.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["use-rebuilt.keys.json", "use-rebuilt.npy"]


class GatedEmbedder:
    """The real embedder, except that document batches wait for a gate (to hold a rebuild open)."""

    model_id = EMBEDDER.model_id
    dim = EMBEDDER.dim

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()

    def encode(self, texts: list[str]) -> np.ndarray:
        self.gate.wait(30)
        return EMBEDDER.encode(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return EMBEDDER.encode([text])[0]


@pytest.mark.anyio
async def test_queries_during_a_rebuild_use_the_previous_index() -> None:
    embedder = GatedEmbedder()
    engine = DiscoveryEngine(embedder, cache_dir=None)
    engine.build(DOCS[:2])
    embedder.gate.clear()
    bigger = [*DOCS, make_doc("x/new_tool", "translate_text", "Translate text between languages.", {}, "x")]
    task = engine.rebuild_soon(lambda: bigger, delay=0)
    await asyncio.sleep(0.2)
    assert not task.done()
    hits = engine.search("translate this sentence to French", top_k=10)  # served by the old index
    assert {h.doc.key for h in hits} == {d.key for d in DOCS[:2]}
    embedder.gate.set()
    await engine.wait_idle()
    hits = engine.search("translate this sentence to French", top_k=1)
    assert hits[0].doc.key == "x/new_tool"
    assert engine.index.version == 2
