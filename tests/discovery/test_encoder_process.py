"""The second model's helper process (encoder_process.py, minilm_worker.py): a real subprocess
running MiniLM on ONNX Runtime, checked against the in-process numpy encoder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from magictunnel.discovery import encoder_process, minilm_onnx
from magictunnel.discovery.calibration import CALIBRATION
from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.encoder_process import EncoderProcess
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.minilm import MiniLmEmbedder, _Bert, model_dir
from magictunnel.discovery.minilm_onnx import INT8_AGREEMENT, PROBE_IDS, OnnxBert, build_model, session

TEXTS = [
    "what's the weather in Paris tomorrow",
    "红烧肉怎么做",
    "commit what's staged with message 'fix typo in README'",
    "a " * 300,  # truncated at 256 tokens
    "",
]


@pytest.fixture(scope="module")
def minilm() -> MiniLmEmbedder:
    model = MiniLmEmbedder()
    model.warm()
    assert model.fast_requests, f"the MiniLM helper did not start: {model.helper and model.helper.detail}"
    return model


def test_helper_vectors_match_the_numpy_encoder(minilm: MiniLmEmbedder) -> None:
    reference = minilm.encode(TEXTS)
    assert minilm.helper is not None
    # the helper reports the graph it runs: float32 reproduces numpy's vectors, 8-bit weights round
    # (0.998 on the probe, 0.992 at worst over the development requests)
    bar = 0.985 if minilm.helper.detail == "int8" else 0.99999
    for text, ref in zip(TEXTS, reference, strict=True):
        minilm._query_cache.clear()
        pending = minilm.start_query(text)
        assert pending is not None
        vec = pending()
        assert vec.shape == (384,) and vec.dtype == np.float32
        assert float(vec @ ref) >= bar, (text, minilm.helper.detail)
        assert minilm.cached_query(text) is vec  # a reply is remembered like any query vector


@pytest.fixture(scope="module")
def bert() -> _Bert:
    return _Bert(model_dir())


def calibration_ids(bert: _Bert) -> list[list[int]]:
    return [bert.tokenizer.encode(t).ids for t in CALIBRATION]


@pytest.mark.parametrize("text", ["", "find me a shopping cart icon from hugeicons", "a " * 300])
def test_float32_graph_reproduces_the_numpy_encoder(bert: _Bert, text: str) -> None:
    graph = session(build_model(bert.w, bert.layers, bert.heads, bert.hidden, bert.eps))
    ids = bert.tokenizer.encode(text).ids  # 2, 12 and 256 tokens
    pooled = graph.run(None, {"ids": np.asarray([ids], dtype=np.int64)})[0][0]
    want = bert.encode_ids([ids])[0]
    assert float(pooled @ want / np.linalg.norm(pooled)) >= 0.99999


def test_8bit_graph_serves_when_it_agrees_with_float32(bert: _Bert) -> None:
    encoder = OnnxBert(bert, calibration_ids(bert))
    assert encoder.variant == "int8", encoder.agreements
    assert encoder.agreements["int8"] >= INT8_AGREEMENT
    assert "float32" not in encoder.agreements  # never built
    probe = encoder.encode_ids(PROBE_IDS)
    assert probe.shape == (384,) and probe.dtype == np.float32
    assert abs(float(np.linalg.norm(probe)) - 1.0) < 1e-5
    assert float(probe @ bert.encode_ids([PROBE_IDS])[0]) == pytest.approx(
        encoder.agreements["int8"], abs=1e-6
    )


def test_float32_serves_when_the_8bit_graph_disagrees(bert: _Bert, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(minilm_onnx, "INT8_AGREEMENT", 2.0)  # no 8-bit graph can reach it
    encoder = OnnxBert(bert, calibration_ids(bert))
    assert encoder.variant == "float32"
    assert encoder.agreements["int8"] < 2.0 and encoder.agreements["float32"] >= 0.99999
    ids = bert.tokenizer.encode("红烧肉怎么做").ids
    assert float(encoder.encode_ids(ids) @ bert.encode_ids([ids])[0]) >= 0.99999


def test_activation_ranges_cover_every_product_and_leave_the_encoder_as_it_was(bert: _Bert) -> None:
    before = bert.encode_ids([PROBE_IDS])[0]
    ranges = minilm_onnx.activation_ranges(bert, calibration_ids(bert)[:3])
    products = ("attention.self.qkv", "attention.output.dense", "intermediate.dense", "output.dense")
    assert set(ranges) == {f"encoder.layer.{i}.{n}" for i in range(bert.layers) for n in products}
    assert ranges["encoder.layer.0.intermediate.dense"].shape == (bert.hidden,)
    assert ranges["encoder.layer.0.output.dense"].shape == (4 * bert.hidden,)
    assert all((r > 0).all() for r in ranges.values())
    assert "_dense" not in vars(bert)  # the watcher is gone
    assert np.array_equal(bert.encode_ids([PROBE_IDS])[0], before)


# requests unlike the calibration texts (other topics, languages, values, lengths)
HELD_OUT = [
    "commit what's staged with message 'fix typo in README'",
    "show me the board",
    "how fast is song.mp3 in beats per minute",
    "Zeig mir die aktuellen Top-Storys auf Hacker News",
    "¿Qué dirección corresponde a -22.9519, -43.2105?",
    "salaries.docx にパスワードをかけて人事以外が開けないようにして",
    "红烧肉怎么做",
    "link Anna and Oslo University Hospital with a 'works_at' relation",
    "I only need pages 5-9 of this huge pdf as their own file, can you split it out and save it next to the original?",
    "whats nvda trading at",
]


def test_smoothed_8bit_graph_stays_close_to_float32(bert: _Bert) -> None:
    """The 8-bit graph moves activation outliers into its weights (SmoothQuant); without that,
    PyTorch's 8-bit products gave these requests cosine 0.993 of float32 on average, 0.985 at worst."""
    encoder = OnnxBert(bert, calibration_ids(bert))
    cosines = []
    for text in HELD_OUT:
        ids = bert.tokenizer.encode(text).ids
        cosines.append(float(encoder.encode_ids(ids) @ bert.encode_ids([ids])[0]))
    assert min(cosines) >= 0.99, cosines
    assert float(np.mean(cosines)) >= 0.996, cosines


def test_many_requests_in_flight_come_back_in_order(minilm: MiniLmEmbedder) -> None:
    minilm._query_cache.clear()
    topics = ["weather", "stock prices", "git commits", "pdf files", "chess", "recipes", "flights"]
    actions = ["find", "delete", "summarise"]
    texts = [f"{a} {t}" for t in topics for a in actions][:20]
    pending = [minilm.start_query(t) for t in texts]
    vectors = np.stack([p() for p in pending if p is not None])
    assert vectors.shape == (20, 384)
    similarity = vectors @ minilm.encode(texts).T
    # each reply is its own request's vector (the nearest of all twenty), not a neighbour's
    assert (similarity.argmax(axis=1) == np.arange(20)).all()
    assert (np.diag(similarity) >= 0.95).all()


def test_engine_ranks_with_stage_two_through_the_helper(minilm: MiniLmEmbedder, tmp_path: Path) -> None:
    docs = [
        make_doc("weather", "get_forecast", "Weather forecast for a city", {"type": "object"}),
        make_doc("git", "git_commit", "Record staged changes in the git repository", {"type": "object"}),
    ]
    engine = DiscoveryEngine(cache_dir=tmp_path, second_embedder=minilm)
    engine.build(docs)
    minilm._query_cache.clear()
    hits = engine.search("will it rain in Oslo this weekend", top_k=2)
    assert hits[0].doc.name == "get_forecast"
    assert minilm.cached_query("will it rain in Oslo this weekend") is not None


def test_a_dead_helper_falls_back_and_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = MiniLmEmbedder()
    model.warm()
    helper = model.helper
    assert helper is not None and helper.ready and helper.pid is not None
    engine = DiscoveryEngine(cache_dir=tmp_path, second_embedder=model)
    engine.build([make_doc("fetch", "fetch_url", "Fetch a web page by URL", {"type": "object"})])
    os.kill(helper.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while helper.ready and time.monotonic() < deadline:
        time.sleep(0.02)
    assert helper.state == "failed" and helper.failures == 1 and helper.backoff() == 30.0
    assert model.start_query("download https://example.com") is None  # encoded in-process instead
    model.remember_query("cached request", np.ones(384, dtype=np.float32))
    assert model.start_query("cached request") is None  # ranked as without the helper, cached or not
    assert engine.search("download https://example.com", top_k=1)[0].doc.name == "fetch_url"
    assert helper.state == "failed"  # not restarted within its back-off
    monkeypatch.setattr(encoder_process, "RESTART_AFTER", 0.0)
    model.start_query("download https://example.com")  # after the back-off a request restarts it
    helper.start(wait=True)
    assert helper.ready and helper.failures == 0
    pending = model.start_query("fetch https://example.org/page")
    assert pending is not None and pending().shape == (384,)
    model.close()  # a stopped helper may be started again
    model.warm()
    assert model.fast_requests and helper.pid is not None


def test_a_helper_that_cannot_start_is_reported_not_raised() -> None:
    broken = EncoderProcess([sys.executable, "-c", "import sys; sys.exit(3)"], 384, "broken")
    broken.start(wait=True)
    assert broken.state == "failed" and "exited" in broken.detail
    assert broken.submit("anything") is None
    missing = EncoderProcess(["/nonexistent/python"], 384, "missing")
    missing.start(wait=True)
    assert missing.state == "failed" and "cannot start" in missing.detail


@pytest.mark.parametrize(
    ("section", "helper"),
    [({}, True), ({"second_stage_helper": False}, False), ({"second_stage": False}, None)],
)
def test_config_chooses_how_stage_two_runs(
    tmp_path: Path, section: dict[str, bool], helper: bool | None
) -> None:
    from magictunnel.discovery.service import DiscoveryService
    from tests.discovery.test_feature import make_gateway

    gw = make_gateway(tmp_path, smart_discovery=section)
    service: DiscoveryService = gw.extensions["discovery"]
    second = service.engine.second_embedder
    if helper is None:
        assert second is None
    else:
        assert isinstance(second, MiniLmEmbedder) and (second.helper is not None) is helper


# a helper whose loading takes far longer than any test: it only ends if something ends it
SLOW_HELPER = [
    sys.executable,
    "-c",
    "import time; from magictunnel.discovery.encoder_process import serve_helper; "
    "serve_helper(lambda: (time.sleep(600), None))",
]


def _gone(pid: int, within: float = 20.0) -> bool:
    """Whether process `pid` has ended (or is a zombie nobody waits for) within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_a_loading_helper_ends_with_its_parent(tmp_path: Path) -> None:
    """A helper reads no input while it loads, so it cannot see its parent's end of stdin close;
    it must still end when the parent goes (a short-lived CLI run, a killed gateway), instead of
    loading on for seconds on a core the next process needs."""
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, time; from magictunnel.discovery.encoder_process import EncoderProcess; "
            f"e = EncoderProcess({SLOW_HELPER!r}, 4, 'slow'); e.start(); "
            "exec('while e.pid is None: time.sleep(0.01)'); "
            "print(e.pid, flush=True); os._exit(0)",  # no clean-up: as if killed
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    helper = int(parent.stdout.split()[0])
    try:
        assert _gone(helper), "the helper went on loading after its parent ended"
    finally:
        if not _gone(helper, within=0):
            os.kill(helper, signal.SIGKILL)


def test_closing_a_helper_that_is_still_loading_ends_it() -> None:
    slow = EncoderProcess(SLOW_HELPER, 4, "slow")
    slow.start()
    deadline = time.monotonic() + 30
    while slow.pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    pid = slow.pid
    assert pid is not None and slow.state == "starting"
    slow.close()
    assert slow.state == "idle" and slow.pid is None
    assert _gone(pid)
