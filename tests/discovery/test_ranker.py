"""The fitted ranker: its model file, value-kind signals, the second dense model and the cascade."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from magictunnel.discovery import engine as engine_module
from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.features import FEATURES, FULL_FEATURES, second_columns
from magictunnel.discovery.minilm import MiniLmEmbedder
from magictunnel.discovery.ranker import (
    CONFIDENCE_FEATURES,
    ModelError,
    RankerModel,
    default_model,
    evidence,
    lead,
)
from magictunnel.discovery.slots import SlotTable, request_kinds, tool_kinds

GEOCODE = {
    "type": "object",
    "properties": {"address": {"type": "string"}},
    "required": ["address"],
}
REVERSE = {
    "type": "object",
    "properties": {"latitude": {"type": "number"}, "longitude": {"type": "number"}},
    "required": ["latitude", "longitude"],
}
FETCH = {
    "type": "object",
    "properties": {"url": {"type": "string", "format": "uri"}},
    "required": ["url"],
}


def test_request_and_tool_value_kinds() -> None:
    assert request_kinds("what's the street address at 51.5007, -0.1246?") >= {"coord", "number"}
    assert request_kinds("fetch https://example.com/a and save it to /tmp/a.html") >= {"url", "path"}
    assert request_kinds("mail bob@example.com on 2024-05-01") >= {"email", "date"}
    assert request_kinds("hello there") == set()
    assert tool_kinds(REVERSE) == ({"number", "coord"}, {"number", "coord"})
    assert tool_kinds(FETCH) == ({"url"}, {"url"})
    assert tool_kinds({"properties": "not an object"}) == (set(), set())
    rate = {"properties": {"baseCurrency": {"type": "string"}}, "required": ["baseCurrency"]}
    assert tool_kinds(rate) == ({"currency"}, {"currency"})
    assert request_kinds("100 dollars en euros") >= {"currency", "number"}


def test_a_host_name_fits_tools_taking_a_host_or_a_url() -> None:
    whois = {"type": "object", "properties": {"domain": {"type": "string"}}, "required": ["domain"]}
    topics = {"type": "object", "properties": {"domain": {"type": "string", "enum": ["article", "trial"]}}}
    assert tool_kinds(whois) == ({"host"}, {"host"})
    assert tool_kinds(topics) == (set(), set())  # a "domain" picked from a list is no host name
    assert request_kinds("who registered openai.com") == {"host"}
    assert request_kinds("where is 10.0.0.1") == {"host"}
    table = SlotTable([whois, FETCH, topics])
    match, none, lack = table.features("who registered openai.com").T
    assert list(match) == [1.0, 1.0, 0.0] and list(none) == [0.0, 0.0, 1.0] and list(lack) == [0.0, 0.0, 0.0]
    assert list(table.features("what does the weather look like")[:, 2]) == [1.0, 1.0, 0.0]


def test_slot_features_prefer_the_tool_that_takes_the_values_given() -> None:
    table = SlotTable([GEOCODE, REVERSE, FETCH])
    match, none, lack = table.features("what's the street address at 51.5007, -0.1246?").T
    assert match[1] > match[0] and none[0] == 1.0 and none[1] == 0.0
    assert lack[2] == 1.0  # fetch requires a URL the request does not carry
    match, none, lack = table.features("what is on https://example.com").T
    assert match[2] == 1.0 and lack[2] == 0.0


def test_the_shipped_model_loads_and_matches_the_features() -> None:
    model = default_model()
    assert len(model.rank.weights) == len(FEATURES)
    assert model.full is not None and len(model.full.rank.weights) == len(FULL_FEATURES)
    assert np.isfinite(model.escalate_below)
    info = model.info
    assert info["held_out"] and info["fitted_on"]  # fit.py records how it was fitted and measured
    again = RankerModel.from_json(json.loads(json.dumps(model.as_json())))
    assert np.allclose(again.rank.weights, model.rank.weights)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m: m.update(features=["x"]), "feature list"),
        (lambda m: m["rank"].update(weights=[1.0]), "rank"),
        (lambda m: m["confidence"].pop("mean"), "confidence"),
        (lambda m: m.update(escalate_below="soon"), "escalate_below"),
        (lambda m: m.update(full_features=["x"]), "second-stage"),
    ],
)
def test_a_broken_model_file_is_refused_with_a_clear_message(mutate, message: str) -> None:
    data = default_model().as_json()
    mutate(data)
    with pytest.raises(ModelError, match=message):
        RankerModel.from_json(data)


def test_lead_and_evidence() -> None:
    scores = np.array([1.0, 3.0, -np.inf, 2.5])
    assert lead(scores) == pytest.approx(0.5)
    assert lead(np.array([1.0])) == float("inf")
    intent = np.zeros((4, 4))
    intent[0, 0] = 1.0  # tool 0 does what the request asks, tool 1 clashes with it
    intent[1, 2] = 1.0
    intent[1, 3] = 1.0  # and the request's leading verb is in tool 1's name
    dense_z = np.array([0.5, 2.0, 0.0, 1.0])
    second_model = np.column_stack([np.full(4, 0.25), np.arange(4.0), np.zeros(4)])
    ev = evidence(
        scores, np.array([1, 0]), np.ones(4), np.zeros(4), np.zeros(4), intent, dense_z, second_model
    )
    assert ev.shape == (2, len(CONFIDENCE_FEATURES))
    assert ev[0, 1] == pytest.approx(0.5)  # the best tool leads the runner-up by 0.5
    assert ev[1, 1] == pytest.approx(-2.0)  # the third is 2.0 behind the best
    column = {name: j for j, name in enumerate(CONFIDENCE_FEATURES)}
    assert ev[0, column["act_clash"]] == 1.0 and ev[1, column["act_match"]] == 1.0
    assert ev[0, column["act_unserved"]] == 0.0  # tool 0 is among the best five and does it
    assert ev[0, column["dense_z"]] == 2.0 and ev[1, column["dense_z"]] == 0.5
    assert ev[0, column["second"]] == 0.25 and ev[0, column["second_z"]] == 1.0
    assert ev[0, column["act_lead"]] == 1.0 and ev[1, column["act_lead"]] == 0.0
    intent[0, 0] = 0.0
    ev = evidence(scores, np.array([1]), np.ones(4), np.zeros(4), np.zeros(4), intent, dense_z)
    assert ev[0, column["act_unserved"]] == 1.0  # the request names an action no tool does
    assert ev[0, column["second"]] == 0.0 and ev[0, column["second_z"]] == 0.0  # stage one only


@pytest.fixture(scope="module")
def minilm() -> MiniLmEmbedder:
    if not MiniLmEmbedder.available():
        pytest.fail("the all-MiniLM-L6-v2 package is a dependency and must be installed")
    return MiniLmEmbedder()


def test_minilm_matches_sentence_similarity_and_batching(minilm: MiniLmEmbedder) -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]
    batch = minilm.encode(texts)
    assert batch.shape == (3, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-5)
    sims = batch @ batch.T
    assert sims[0, 1] > 0.7 and sims[0, 2] < 0.1  # the reference values are 0.755 and -0.105
    one_by_one = np.stack([minilm.encode([t])[0] for t in texts])
    assert np.allclose(batch, one_by_one, atol=1e-5)  # padding inside a batch changes nothing


def test_engine_builds_both_stages_and_escalates_unsure_requests(tmp_path: Path) -> None:
    docs = [
        make_doc("geocode", "geocode_address", "Convert an address into coordinates", GEOCODE),
        make_doc("reverse", "reverse_geocode", "Convert coordinates into an address", REVERSE),
        make_doc("fetch", "fetch_url", "Fetch a web page by URL", FETCH),
    ]
    engine = DiscoveryEngine(cache_dir=tmp_path)
    assert engine.second_embedder is not None
    index = engine.build(docs)
    assert index.dense.second is not None and index.dense.second.shape == (3, 384)
    calls: list[str] = []
    second = engine.second_embedder

    def spy(text: str) -> np.ndarray:
        calls.append(text)
        return second.encode([text])[0]

    query = "where is this"
    vector = engine.embedder.encode([query])[0]
    sig = index.signals(query, vector)
    unsure = lead(index.model.fast.scores(sig.features)) < index.model.escalate_below
    hits = index.search(query, vector, top_k=3, second_query=spy)
    assert calls == ([query] if unsure else [])
    assert [h.confidence for h in hits] == sorted((h.confidence for h in hits), reverse=True)
    # always unsure: stage two ranks, with the second model's scores
    calls.clear()
    index.model = replace(index.model, escalate_below=float("inf"))
    escalated = index.search(query, vector, top_k=3, second_query=spy)
    assert calls == [query]
    assert index.model.full is not None
    extra = second_columns(query, second.encode([query])[0], index.dense.second)
    expected = index.model.full.scores(np.concatenate([sig.features, extra], axis=1))
    assert [h.score for h in escalated] == pytest.approx(sorted(expected.tolist(), reverse=True))
    # never unsure: the second model is not asked
    calls.clear()
    index.model = replace(index.model, escalate_below=float("-inf"))
    fast = index.search(query, vector, top_k=3, second_query=spy)
    assert calls == []
    expected = index.model.fast.scores(sig.features)
    assert [h.score for h in fast] == pytest.approx(sorted(expected.tolist(), reverse=True))
    # a restart reuses every vector of both models
    again = DiscoveryEngine(cache_dir=tmp_path).build(docs)
    assert again.stats is not None and again.stats.computed == 0
    assert np.allclose(again.dense.second, index.dense.second)


def same_ranking(a: list[Any], b: list[Any]) -> bool:
    """Same tools in the same order with the same scores, up to float32 rounding (a matrix product
    on another thread may round its last bits differently)."""
    return [h.doc.key for h in a] == [h.doc.key for h in b] and [h.score for h in a] == pytest.approx(
        [h.score for h in b], rel=1e-5, abs=1e-6
    )


def test_large_catalogs_encode_for_stage_two_ahead_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        make_doc("geocode", "geocode_address", "Find the coordinates of a street address", GEOCODE),
        make_doc("reverse", "reverse_geocode", "Convert coordinates into an address", REVERSE),
        make_doc("fetch", "fetch_url", "Fetch a web page by URL", FETCH),
    ]
    # without the helper process (no PyTorch): the thread path
    engine = DiscoveryEngine(cache_dir=tmp_path, second_embedder=MiniLmEmbedder(helper_process=False))
    index = engine.build(docs)
    index.model = replace(index.model, escalate_below=float("inf"))  # stage two for every request
    second = engine.second_embedder
    assert second is not None
    threads: list[str] = []
    encode = second.encode

    def spy(texts: list[str]) -> np.ndarray:
        threads.append(threading.current_thread().name)
        return encode(texts)

    monkeypatch.setattr(second, "encode", spy)
    inline = engine.search("where is 51.5007, -0.1246", top_k=3)
    assert threads and not threads[-1].startswith("discovery-second")
    monkeypatch.setattr(engine_module, "SPECULATE_FROM", 1)
    engine.invalidate_results()
    second._query_cache.clear()  # type: ignore[attr-defined]
    ahead = engine.search("where is 51.5007, -0.1246", top_k=3)
    assert threads[-1].startswith("discovery-second")  # encoded on the helper thread
    assert same_ranking(ahead, inline)
    # with the second vector computed anyway, stage two ranks even when stage one is sure
    index.model = replace(index.model, escalate_below=float("-inf"))
    engine.invalidate_results()
    second._query_cache.clear()  # type: ignore[attr-defined]
    sure = engine.search("where is 51.5007, -0.1246", top_k=3)
    assert same_ranking(sure, inline)


def test_without_the_second_stage_the_first_one_serves(tmp_path: Path) -> None:
    engine = DiscoveryEngine(cache_dir=tmp_path, second_embedder=None)
    index = engine.build([make_doc("fetch", "fetch_url", "Fetch a web page by URL", FETCH)])
    assert index.dense.second is None
    hits = engine.search("download https://example.com")
    assert hits and hits[0].doc.key == "fetch"
