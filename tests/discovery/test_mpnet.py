"""The third dense model (all-mpnet-base-v2): its files, its encoder against the reference
implementation, its helper process, and stage three of the ranking."""

from __future__ import annotations

import io
import itertools
import json
import logging
import shutil
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from magictunnel.discovery import engine as engine_module
from magictunnel.discovery import index as index_module
from magictunnel.discovery import mpnet_files, mpnet_onnx
from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.encoder_process import EncoderProcess
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.features import DEEP_FEATURES
from magictunnel.discovery.mpnet import MpnetEmbedder
from magictunnel.discovery.mpnet_onnx import OnnxMpnet, Reference, relative_buckets
from magictunnel.discovery.ranker import Linear, ModelError, RankerModel, Stage, default_model

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}}
DOCS = [
    make_doc("geo", "geocode_address", "Convert a street address into latitude and longitude", TEXT),
    make_doc("git", "list_pull_requests", "List the open pull requests of a repository", TEXT),
    make_doc("mail", "send_email", "Send an email message to a recipient", TEXT),
]


def test_split_archive_slices_read_as_one_zip(tmp_path: Path) -> None:
    payload = np.random.default_rng(5).bytes(20_000)  # incompressible: the archive stays large
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/a.txt", "alpha " * 5000)
        archive.writestr("model/b.bin", payload)
    data = buffer.getvalue()
    cuts = [0, 7, 4000, len(data) - 30, len(data)]  # slices of very different sizes
    assert cuts == sorted(cuts)
    paths = []
    for i, (start, end) in enumerate(itertools.pairwise(cuts)):
        paths.append(tmp_path / f"m.zip.{i:03d}")
        paths[-1].write_bytes(data[start:end])
    with mpnet_files._Slices(paths) as stream, zipfile.ZipFile(stream) as archive:
        assert archive.read("model/a.txt") == b"alpha " * 5000
        assert archive.read("model/b.bin") == payload


def test_model_files_are_extracted_once_and_checked(tmp_path: Path) -> None:
    folder = mpnet_files.model_dir(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted(mpnet_files.FILES)
    assert mpnet_files._digest(folder / "config.json") == mpnet_files.FILES["config.json"]
    stamp = (folder / "model.safetensors").stat().st_mtime_ns
    assert mpnet_files.model_dir(tmp_path) == folder
    assert (folder / "model.safetensors").stat().st_mtime_ns == stamp  # not extracted again
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no work folder left
    shutil.rmtree(folder)  # 440 MB


@pytest.fixture(scope="module")
def encoder() -> OnnxMpnet:
    return OnnxMpnet(mpnet_files.model_dir())


def test_encoder_matches_the_reference_implementation(encoder: OnnxMpnet) -> None:
    import torch
    from transformers import AutoModel

    reference = AutoModel.from_pretrained(str(mpnet_files.model_dir())).eval()
    exact = Reference(encoder.weights)
    texts = ["find the latest stock price for apple", "帮我查一下明天北京到上海的高铁票", "ok"]
    for text in texts:
        ids = encoder.tokenizer.encode(text).ids
        with torch.inference_mode():
            pooled = reference(input_ids=torch.tensor([ids])).last_hidden_state[0].mean(dim=0)
        expected = (pooled / pooled.norm()).numpy()
        assert float(exact.encode_ids(ids) @ expected) > 0.99999, text  # the float32 pass in numpy
        assert float(encoder.encode(text) @ expected) > 0.985, text  # 8-bit products: 0.993 typical
    assert encoder.variant == "int8" and encoder.agreement > 0.99
    reset, recover, cake = (
        encoder.encode(t) for t in ("reset my password", "recover a lost password", "bake a cake")
    )
    assert float(reset @ recover) > float(reset @ cake) + 0.3


def test_float32_serves_when_the_8bit_graph_disagrees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mpnet_onnx, "INT8_AGREEMENT", 2.0)  # no 8-bit graph can reach it
    encoder = OnnxMpnet(mpnet_files.model_dir())
    assert encoder.variant == "float32" and 0.99 < encoder.agreement < 2.0
    ids = encoder.tokenizer.encode("红烧肉怎么做").ids
    assert float(encoder.encode_ids(ids) @ Reference(encoder.weights).encode_ids(ids)) >= 0.99999


def test_relative_position_buckets_match_the_reference() -> None:
    import torch
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    n = 200  # past MAX_DISTANCE's log-scaled buckets
    position = torch.arange(n)
    expected = MPNetEncoder.relative_position_bucket(position[None, :] - position[:, None])
    assert np.array_equal(relative_buckets(n), expected.numpy())


def test_helper_process_gives_the_same_vectors(encoder: OnnxMpnet) -> None:
    embedder = MpnetEmbedder()
    embedder.warm()
    assert embedder.helper.ready and embedder.helper.detail == encoder.variant
    vector = embedder.query_vector("open pull requests")
    assert vector is not None and float(vector @ encoder.encode("open pull requests")) > 0.9999
    batch = embedder.encode(["a", "open pull requests", "b"])
    assert batch.shape == (3, 768) and np.allclose(batch[1], vector, atol=1e-5)


def _deep_on_third_model(model: RankerModel) -> RankerModel:
    """A stage three that ranks by the third model's standardised similarity alone, for every request."""
    weights = np.zeros(len(DEEP_FEATURES))
    weights[DEEP_FEATURES.index("d_third_z")] = 1.0
    ones = np.ones(len(DEEP_FEATURES))
    assert model.full is not None
    return replace(
        model, deep=Stage(Linear(ones * 0, ones, weights), model.full.confidence), deep_below=float("inf")
    )


def test_stage_three_ranks_the_requests_stage_two_is_unsure_about(tmp_path: Path) -> None:
    engine = DiscoveryEngine(cache_dir=tmp_path)
    third = engine.third_embedder
    assert third is not None
    index = engine.build(DOCS)
    assert index.dense.third is not None and index.dense.third.shape == (3, 768)
    asked: list[str] = []

    def spy(text: str) -> np.ndarray | None:
        asked.append(text)
        return third.query_vector(text)

    query = "who is waiting for my review on github"
    vector = engine.embedder.encode([query])[0]
    second = engine.second_embedder
    assert second is not None
    index.model = _deep_on_third_model(index.model)
    hits = index.search(
        query, vector, top_k=3, second_query=second.encode_query, second_always=True, third_query=spy
    )
    assert asked == [query]
    q3 = third.query_vector(query)
    assert q3 is not None
    assert [h.doc.key for h in hits] == [DOCS[i].key for i in np.argsort(-(index.dense.third @ q3))]
    asked.clear()
    index.model = replace(index.model, deep_below=float("-inf"))  # stage two is always sure
    index.search(
        query, vector, top_k=3, second_query=second.encode_query, second_always=True, third_query=spy
    )
    assert asked == []
    # a restart reuses the third model's vectors too
    again = DiscoveryEngine(cache_dir=tmp_path).build(DOCS)
    assert again.stats is not None and again.stats.computed == 0
    assert again.dense.third is not None and np.allclose(again.dense.third, index.dense.third)


def test_without_its_helper_stage_three_stays_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = MpnetEmbedder()
    broken.helper = EncoderProcess([sys.executable, "-c", "import sys; sys.exit(3)"], 768, "MPNet-broken")
    engine = DiscoveryEngine(cache_dir=tmp_path, third_embedder=broken)
    with caplog.at_level(logging.WARNING, "magictunnel.discovery"):
        index = engine.build(DOCS)
    assert "ranking without stage 3" in caplog.text
    assert index.dense.second is not None and index.dense.third is None
    hits = engine.search("send a message to bob@example.com", top_k=1)
    assert hits and hits[0].doc.name == "send_email"
    assert broken.query_vector("anything") is None  # no vector, no wait: stage two's order stands
    broken.remember_query("cached", np.ones(768, dtype=np.float32))
    assert broken.query_vector("cached") is None  # ranked as without the helper, cached or not


def test_the_shipped_model_has_stage_three_and_round_trips() -> None:
    model = default_model()
    assert model.deep is not None and len(model.deep.rank.weights) == len(DEEP_FEATURES)
    assert np.isfinite(model.deep_below)
    data = json.loads(json.dumps(model.as_json()))
    again = RankerModel.from_json(data)
    assert again.deep is not None and np.allclose(again.deep.rank.weights, model.deep.rank.weights)
    data["deep_features"] = ["x"]
    with pytest.raises(ModelError, match="third-stage features"):
        RankerModel.from_json(data)
    data = model.as_json()
    data["deep_below"] = "later"
    with pytest.raises(ModelError, match="deep_below"):
        RankerModel.from_json(data)


def test_searches_on_worker_threads_agree_with_one_at_a_time(tmp_path: Path) -> None:
    """service.search_async ranks on worker threads, several at once, sharing the helpers."""
    engine = DiscoveryEngine(cache_dir=tmp_path)
    engine.build(DOCS)
    assert engine.third_embedder is not None
    engine.third_embedder.warm()
    engine.index.model = replace(engine.index.model, deep_below=float("inf"))  # all three stages
    queries = [
        f"{verb} {thing}"
        for verb in ("find", "send", "list", "convert")
        for thing in ("mail", "repo", "place")
    ]
    alone = {q: engine.search(q, top_k=3) for q in queries}
    engine.invalidate_results()
    for embedder in (engine.embedder, engine.second_embedder, engine.third_embedder):
        embedder._query_cache.clear()  # type: ignore[union-attr]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda q: engine.search(q, top_k=3), queries * 2))
    for query, hits in zip(queries * 2, together, strict=True):
        assert [h.doc.key for h in hits] == [h.doc.key for h in alone[query]], query
        assert [h.score for h in hits] == pytest.approx([h.score for h in alone[query]], rel=1e-4, abs=1e-5)


def test_large_catalogs_start_stage_three_with_the_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = DiscoveryEngine(cache_dir=tmp_path)
    engine.build(DOCS)
    third = engine.third_embedder
    assert third is not None
    third.warm()
    engine.index.model = _deep_on_third_model(engine.index.model)
    query = "who is waiting for my review on github"
    after = engine.search(query, top_k=3)  # small catalog: asked once stage two is unsure
    started: list[str] = []
    start = third.start_query

    def spy(text: str):
        started.append(text)
        return start(text)

    monkeypatch.setattr(third, "start_query", spy)
    # small catalog: the request goes to the helper only once stage two asks for it
    assert engine._third_query(engine.index, query) == third.query_vector and started == []
    monkeypatch.setattr(engine_module, "SPECULATE_FROM", 1)
    third._query_cache.clear()  # type: ignore[attr-defined]
    assert engine._third_query(engine.index, query) is not None
    assert started == [query]  # sent to the helper before stages one and two run
    engine.invalidate_results()
    third._query_cache.clear()  # type: ignore[attr-defined]
    ahead = engine.search(query, top_k=3)
    assert [h.doc.key for h in ahead] == [h.doc.key for h in after]
    assert [h.score for h in ahead] == pytest.approx([h.score for h in after], rel=1e-4, abs=1e-5)


def test_in_large_catalogs_stage_three_scores_stage_twos_best_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [
        *DOCS,
        make_doc("git", "merge_pull_request", "Merge an open pull request", TEXT),
        make_doc("git", "review_pull_request", "Review the changes of a pull request", TEXT),
        make_doc("weather", "get_forecast", "The weather forecast for a city", TEXT),
    ]
    engine = DiscoveryEngine(cache_dir=tmp_path)
    index = engine.build(docs)
    index.model = _deep_on_third_model(index.model)
    third, second = engine.third_embedder, engine.second_embedder
    assert third is not None and second is not None
    query = "who is waiting for my review on github"
    vector = engine.embedder.encode([query])[0]

    def search(allowed: set[str] | None = None) -> tuple[list[str], list[float]]:
        """The ranked tools' names, and their scores and confidences."""
        hits = index.search(
            query,
            vector,
            top_k=6,
            allowed=allowed,
            second_query=second.encode_query,
            second_always=True,
            third_query=third.query_vector,
        )
        return [h.doc.name for h in hits], [v for h in hits for v in (h.score, h.confidence)]

    whole, whole_values = search()
    monkeypatch.setattr(index_module, "DEEP_POOL_FROM", 1)  # as if this were a large catalog
    names, values = search()  # a pool as large as the catalog: the same ranking
    assert names == whole and values == pytest.approx(whole_values)
    monkeypatch.setattr(index_module, "DEEP_POOL", 2)
    names, values = search()  # stage two's best two, ranked by stage three as before
    assert names == whole[:2] and values == pytest.approx(whole_values[:4], rel=0.02)
    # a client that may call only some tools still gets its best ones, scored as before, with a
    # low confidence: they are weighed against the best tools overall, which stay in the pool
    allowed = {d.key for d in docs if d.name in ("send_email", "get_forecast")}
    pooled, pooled_values = search(allowed)
    monkeypatch.setattr(index_module, "DEEP_POOL_FROM", 10_000)
    names, values = search(allowed)
    assert pooled == names and set(pooled) == {"send_email", "get_forecast"}
    assert pooled_values[::2] == pytest.approx(values[::2])
    assert max(pooled_values[1::2]) < 0.2 and max(values[1::2]) < 0.2


@pytest.mark.parametrize(
    ("section", "on"), [({}, True), ({"third_stage": False}, False), ({"second_stage": False}, False)]
)
def test_config_turns_stage_three_on_and_off(tmp_path: Path, section: dict[str, bool], on: bool) -> None:
    from magictunnel.discovery.service import DiscoveryService
    from tests.discovery.test_feature import make_gateway

    service: DiscoveryService = make_gateway(tmp_path, smart_discovery=section).extensions["discovery"]
    assert isinstance(service.engine.third_embedder, MpnetEmbedder) is on
    status = service.status()
    assert status["third_stage"] in (("building", "ready") if on else ("off",))
    assert ("third_helper" in status) is on
