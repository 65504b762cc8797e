"""One immutable search index over a set of tools: lexical (BM25F) + dense vectors, combined by
the fitted ranking model (`ranker.py`) over the signals of `features.py`, with calibrated confidence.

An index is built once (off the request path) and never mutated; the index manager swaps in
a new one when the catalog changes, so a query always sees one consistent index.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.embeddings import EmbeddingCache, text_hash
from magictunnel.discovery.features import (
    DENSE_Z,
    INTENT_COLUMNS,
    NAME_FIELDS,
    NAME_WEIGHT,
    DenseTables,
    Segments,
    Signals,
    compute,
    second_columns,
)
from magictunnel.discovery.intents import IntentTable
from magictunnel.discovery.lexical import LexicalIndex
from magictunnel.discovery.ranker import RankerModel, default_model, evidence, lead
from magictunnel.discovery.reading import read_request
from magictunnel.discovery.slots import SlotTable

CANDIDATE_POOL = 50
# in catalogs of more than DEEP_POOL_FROM tools, stage three scores only stage two's best DEEP_POOL
# (the others drop out of the ranking): its model's vectors for all 10,000 tools of a large catalog
# are 30 MB to read per request, and the right tool is far up stage two's ranking anyway
DEEP_POOL = 300
DEEP_POOL_FROM = 2000


@dataclass
class Hit:
    doc: ToolDoc
    score: float
    confidence: float
    dense: float
    lexical: float
    coverage: float

    def reasoning(self) -> str:
        return (
            f"semantic similarity {self.dense:.2f}, keyword score {self.lexical:.2f} "
            f"covering {self.coverage:.0%} of the request's terms"
        )


@dataclass
class BuildStats:
    tools: int
    texts: int
    computed: int
    seconds: float


@dataclass
class DiscoveryIndex:
    docs: list[ToolDoc]
    lexical: LexicalIndex
    names: LexicalIndex  # BM25F over the name and server fields only
    dense: DenseTables
    slots: SlotTable
    intents: IntentTable
    model: RankerModel
    version: int = 0
    stats: BuildStats | None = None
    by_key: dict[str, int] = field(default_factory=dict)

    @property
    def vectors(self) -> np.ndarray:
        return self.dense.vectors

    @classmethod
    def build(
        cls,
        docs: list[ToolDoc],
        cache: EmbeddingCache,
        version: int = 0,
        model: RankerModel | None = None,
        second: EmbeddingCache | None = None,
        third: EmbeddingCache | None = None,
    ) -> DiscoveryIndex:
        """`second`, `third`: the caches of the second and third dense models (stages two and
        three), when they are available."""
        start = time.perf_counter()
        misses_before = cache.misses
        keys: list[str] = []
        texts: list[tuple[ToolDoc, str, int]] = []  # how to make each row's text, only if it is missing
        owners: list[int] = []
        sent_keys: list[str] = []
        sent_texts: list[str] = []
        sent_owners: list[int] = []
        for i, doc in enumerate(docs):
            digest = doc.digest or doc.content_hash()
            keys.append(description_key(doc))
            texts.append((doc, "d", 0))
            owners.append(i)
            for j in range(len(doc.example_texts())):
                keys.append(f"{digest}:e{j}")
                texts.append((doc, "e", j))
                owners.append(i)
            for j, sentence in enumerate(doc.sentence_texts()):
                sent_keys.append(f"{digest}:s{j}")
                sent_texts.append(sentence)
                sent_owners.append(i)

        def text_of(spec: tuple[ToolDoc, str, int]) -> str:
            doc, kind, j = spec
            if kind == "d":
                return doc.dense_text()
            return doc.example_texts()[j]

        vectors = cache.embed_keyed(keys, lambda row: text_of(texts[row]))
        sentence_vectors = cache.embed_keyed(sent_keys, sent_texts.__getitem__)
        names = [d.name_text() for d in docs]
        name_keys = [text_hash(cache.embedder.model_id, n) for n in names]
        name_vectors = cache.embed_keyed(name_keys, names.__getitem__)
        rows = Segments(owners, len(docs))
        # the tool's own name, embedded alone, sharpens its description vector
        vectors = vectors.copy()
        vectors[rows.starts] += NAME_WEIGHT * name_vectors
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        cache.save(keep={*keys, *sent_keys, *name_keys})
        extra_vectors: list[np.ndarray | None] = []
        second_misses = 0
        for later in (second, third):  # the later stages embed the tool's description alone
            if later is None:
                extra_vectors.append(None)
                continue
            before = later.misses
            desc_keys = [description_key(d) for d in docs]
            extra_vectors.append(later.embed_keyed(desc_keys, lambda i: docs[i].dense_text()))
            later.save(keep=set(desc_keys))
            second_misses += later.misses - before
        second_vectors, third_vectors = extra_vectors
        server_vectors, server_of = _server_centroids(docs, vectors[rows.starts] if len(docs) else vectors)
        lexical = LexicalIndex.cached(docs, cache.directory)
        stats = BuildStats(
            len(docs),
            len(keys) + len(sent_keys),
            cache.misses - misses_before + second_misses,
            time.perf_counter() - start,
        )
        return cls(
            docs=docs,
            lexical=lexical,
            names=LexicalIndex.build(docs, only=NAME_FIELDS),
            dense=DenseTables(
                vectors=vectors,
                rows=rows,
                sentence_vectors=sentence_vectors,
                sentences=Segments(sent_owners, len(docs)),
                server_vectors=server_vectors,
                server_of=server_of,
                priors=_priors(docs),
                second=second_vectors,
                third=third_vectors,
            ),
            slots=SlotTable([d.input_schema for d in docs]),
            intents=IntentTable(docs),
            model=model or default_model(),
            version=version,
            stats=stats,
            by_key={d.key: i for i, d in enumerate(docs)},
        )

    def __len__(self) -> int:
        return len(self.docs)

    def signals(self, query: str, query_vector: np.ndarray) -> Signals:
        """Stage one's signals. The lexical side (and the value slots and actions) also reads a
        French, German or Spanish request's English reading (reading.py)."""
        text = read_request(query).lexical
        return compute(text, query_vector, self.dense, self.lexical, self.names, self.slots, self.intents)

    def search(
        self,
        query: str,
        query_vector: np.ndarray,
        top_k: int = 10,
        allowed: set[str] | None = None,
        second_query: Callable[[str], np.ndarray] | None = None,
        second_always: bool = False,
        third_query: Callable[[str], np.ndarray | None] | None = None,
    ) -> list[Hit]:
        """Rank with stage one; when it is unsure and `second_query` (the second model's query
        encoder) is given, re-rank with stage two. `second_always`: the second model's vector is
        being computed anyway (see engine.py), so stage two ranks every request. The second and
        third models read English only: they are given the request's English reading when it has
        one (reading.py)."""
        if not self.docs:
            return []
        english = read_request(query).english
        sig = self.signals(query, query_vector)
        mask: np.ndarray | None = None
        if allowed is not None:
            mask = np.zeros(len(self.docs), dtype=bool)
            mask[[i for key in allowed if (i := self.by_key.get(key)) is not None]] = True
        stage = self.model.fast
        raw = stage.scores(sig.features)
        scores = np.where(mask, raw, -np.inf) if mask is not None else raw
        full = self.model.full
        extra: np.ndarray | None = None
        if (
            full is not None
            and second_query is not None
            and self.dense.second is not None
            and (second_always or lead(scores) < self.model.escalate_below)
        ):
            extra = second_columns(query, second_query(english), self.dense.second)
            stage = full
            raw = stage.scores(np.concatenate([sig.features, extra], axis=1))
            scores = np.where(mask, raw, -np.inf) if mask is not None else raw
            deep = self.model.deep
            if (
                deep is not None
                and third_query is not None
                and self.dense.third is not None
                and lead(scores) < self.model.deep_below
                and (q3 := third_query(english)) is not None
            ):
                stage = deep
                if len(self.docs) > DEEP_POOL_FROM:
                    # the best tools overall (the confidence weighs the best allowed one against
                    # them) and the best ones this client may call
                    pool_rows = _best_rows(raw, DEEP_POOL)
                    if mask is not None:
                        pool_rows = np.union1d(pool_rows, _best_rows(scores, DEEP_POOL))
                    third = second_columns(query, q3, self.dense.third, pool_rows)
                    raw = np.full(len(self.docs), -np.inf, dtype=np.float32)
                    raw[pool_rows] = stage.scores(
                        np.concatenate([sig.features[pool_rows], extra[pool_rows], third], axis=1)
                    )
                else:
                    third = second_columns(query, q3, self.dense.third)
                    raw = stage.scores(np.concatenate([sig.features, extra, third], axis=1))
                scores = np.where(mask, raw, -np.inf) if mask is not None else raw
        pool = min(max(top_k, CANDIDATE_POOL), len(self.docs))
        top = np.argpartition(-scores, pool - 1)[:pool]
        top = top[np.argsort(-scores[top])]
        top = top[np.isfinite(scores[top])][:top_k]
        # Confidence = P(the catalog serves this request), from the best tool's evidence, times
        # each tool's softmax odds against that best tool, exp(score - best score): the ranker is
        # a softmax model, so a tool far behind the best one (for example the best tool this
        # client may call, when tools it may not call fit far better) gets a low confidence.
        best = np.array([int(np.argmax(raw))])
        served = float(
            stage.confidences(
                evidence(
                    raw,
                    best,
                    sig.coverage,
                    sig.dense,
                    sig.lexical,
                    sig.features[:, INTENT_COLUMNS],
                    sig.features[:, DENSE_Z],
                    extra,
                )
            )[0]
        )
        confidences = served * np.exp(np.minimum(scores[top] - raw[best[0]], 0.0))
        hits: list[Hit] = []
        ceiling = 1.0
        for i, conf in zip(top, confidences, strict=True):
            # confidence never rises down the ranking, so "best first" holds for scores too
            ceiling = min(ceiling, float(conf))
            hits.append(
                Hit(
                    doc=self.docs[i],
                    score=float(scores[i]),
                    confidence=ceiling,
                    dense=float(sig.dense[i]),
                    lexical=float(sig.lexical[i]),
                    coverage=float(sig.coverage[i]),
                )
            )
        return hits


def _best_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """The rows of the `k` highest finite scores."""
    rows = np.argpartition(-scores, min(k, len(scores)) - 1)[:k]
    return rows[np.isfinite(scores[rows])]


def description_key(doc: ToolDoc) -> str:
    """The cache key of a tool's description vector (in the second and third models' caches)."""
    return f"{doc.digest or doc.content_hash()}:d"


def _server_centroids(docs: list[ToolDoc], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The normalised mean description vector of each server's tools, and each tool's server row."""
    servers: dict[str, int] = {}
    server_of = np.array([servers.setdefault(d.server, len(servers)) for d in docs], dtype=np.int64)
    sums = np.zeros((len(servers), vectors.shape[1]), dtype=np.float32)
    np.add.at(sums, server_of, vectors)
    sums /= np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    return sums, server_of


def _priors(docs: list[ToolDoc]) -> np.ndarray:
    rows = []
    for d in docs:
        required = d.input_schema.get("required") if isinstance(d.input_schema, dict) else None
        rows.append(
            (
                np.log1p(len(d.description)) / 7.0,
                min(len(required) if isinstance(required, list) else 0, 10) / 5.0,
                min(len(d.params), 20) / 10.0,
            )
        )
    return np.asarray(rows, dtype=np.float32).reshape(len(docs), 3)
