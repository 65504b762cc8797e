"""The USE request path with per-token rows (use_tokens.py) against the package's own forward pass."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from magictunnel.discovery import use_tokens
from magictunnel.discovery.embeddings import UseEmbedder
from magictunnel.discovery.use_tokens import TokenRows, request_path

TEXTS = [
    "find the weather in Paris tomorrow",
    "帮我查一下明天北京到上海的高铁票",
    "Zeig mir die letzten fünf Commits im Repo /home/jan/projekt",
    "ジンクスのおすすめビルドとルーンを教えて",
    "xyzzyquux frobnicate the zorblax 9f8e7d6c",  # pieces far down the vocabulary
    "",
    "a",
    " ".join(["replace lines 12 through 15 of config/settings.ini with this block"] * 12),
]


@pytest.fixture(scope="module")
def use() -> UseEmbedder:
    embedder = UseEmbedder()
    embedder.warm()
    return embedder


class _Opaque:
    """A backend that encodes as the package's does but keeps its weights to itself."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._inner.encode(texts)  # type: ignore[attr-defined,no-any-return]


def package_vectors(use: UseEmbedder, texts: list[str]) -> np.ndarray:
    return use.encode(texts)


@pytest.mark.parametrize("onnx", [True, False])
def test_rows_give_the_package_vector(use: UseEmbedder, onnx: bool) -> None:
    rows = TokenRows(use._load()._model, common=512, recent=64, onnx=onnx)
    assert (rows._tail is not None) is onnx
    want = package_vectors(use, TEXTS)
    got = np.stack([rows.encode(t) for t in TEXTS])
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert (got * want).sum(axis=1).min() > 0.99999


def test_recent_rows_are_kept_evicted_and_forgotten(use: UseEmbedder) -> None:
    rows = TokenRows(use._load()._model, common=64, recent=8)
    want = package_vectors(use, TEXTS)
    for _ in range(2):  # the second round reads rows kept (or evicted) by the first
        got = np.stack([rows.encode(t) for t in TEXTS])
        assert (got * want).sum(axis=1).min() > 0.99999
    assert 0 < len(rows._recent) <= 8
    rows.forget_recent()
    assert not rows._recent and (rows._slot >= 0).sum() == 64
    assert float(rows.encode(TEXTS[0]) @ want[0]) > 0.99999


def test_concurrent_requests_share_the_rows(use: UseEmbedder) -> None:
    rows = TokenRows(use._load()._model, common=64, recent=16)
    want = package_vectors(use, TEXTS)
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(rows.encode, TEXTS * 8))
    for i, vec in enumerate(got):
        assert float(vec @ want[i % len(TEXTS)]) > 0.99999


def test_the_embedder_uses_the_request_path(use: UseEmbedder) -> None:
    assert use.token_rows is not None
    use._query_cache.clear()
    vec = use.encode_query("convert 250 US dollars to euros")
    assert float(vec @ package_vectors(use, ["convert 250 US dollars to euros"])[0]) > 0.99999
    assert use.cached_query("convert 250 US dollars to euros") is vec


def test_a_package_laid_out_differently_falls_back(use: UseEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    model = copy.copy(use._load())
    model._backend = _Opaque(model._model)  # a later version that encodes, laid out differently
    assert request_path(model) is None
    assert request_path(use._load()) is not None
    # and a path whose vectors disagree with the package's is not used either
    monkeypatch.setattr(use_tokens, "AGREEMENT", 1.5)
    assert request_path(use._load()) is None


def test_the_tail_on_onnx_runtime_equals_numpys(use: UseEmbedder) -> None:
    rows = TokenRows(use._load()._model, common=512, recent=64)
    assert rows._tail is not None  # the default install has ONNX Runtime
    b = rows.b
    for text in TEXTS:
        ids = b.sp.encode(text, out_type=int, add_bos=True, add_eos=True)
        table, emb = rows.rows(ids), use_tokens._embeddings(b, np.asarray(ids, dtype=np.int64))
        want, got = rows.tail(table, emb), rows._tail.run(table, emb)
        assert got.shape == want.shape == (1, 512)
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_without_the_onnx_tail_numpy_runs_it(use: UseEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    from magictunnel.discovery import use_onnx

    def broken(backend: object) -> None:
        raise RuntimeError("no kernels")

    monkeypatch.setattr(use_onnx, "Tail", broken)
    rows = TokenRows(use._load()._model, common=64, recent=8)
    assert rows._tail is None
    assert float(rows.encode(TEXTS[0]) @ package_vectors(use, TEXTS[:1])[0]) > 0.99999
