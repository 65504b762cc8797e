"""One immutable search index over a set of tools: lexical (BM25F) + dense vectors, combined by
the fitted ranking model (`ranker.py`) over the signals of `features.py`, with calibrated confidence.

An index is built once (off the request path) and never mutated; the index manager swaps in
a new one when the catalog changes, so a query always sees one consistent index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.embeddings import EmbeddingCache, text_hash
from magictunnel.discovery.features import NAME_FIELDS, NAME_WEIGHT, DenseTables, Segments, compute
from magictunnel.discovery.lexical import LexicalIndex
from magictunnel.discovery.ranker import RankerModel, default_model, evidence
from magictunnel.discovery.slots import SlotTable

CANDIDATE_POOL = 50


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
    model: RankerModel
    version: int = 0
    stats: BuildStats | None = None
    by_key: dict[str, int] = field(default_factory=dict)

    @property
    def vectors(self) -> np.ndarray:
        return self.dense.vectors

    @classmethod
    def build(
        cls, docs: list[ToolDoc], cache: EmbeddingCache, version: int = 0, model: RankerModel | None = None
    ) -> DiscoveryIndex:
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
            keys.append(f"{digest}:d")
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
        mix = vectors[rows.starts] + NAME_WEIGHT * name_vectors if len(docs) else name_vectors
        mix_norms = np.maximum(np.linalg.norm(mix, axis=1), 1e-9).astype(np.float32)
        cache.save(keep={*keys, *sent_keys, *name_keys})
        lexical = LexicalIndex.cached(docs, cache.directory)
        stats = BuildStats(
            len(docs), len(keys) + len(sent_keys), cache.misses - misses_before, time.perf_counter() - start
        )
        return cls(
            docs=docs,
            lexical=lexical,
            names=LexicalIndex.build(docs, only=NAME_FIELDS),
            dense=DenseTables(
                vectors=vectors,
                rows=rows,
                name_vectors=name_vectors,
                mix_norms=mix_norms,
                sentence_vectors=sentence_vectors,
                sentences=Segments(sent_owners, len(docs)),
            ),
            slots=SlotTable([d.input_schema for d in docs]),
            model=model or default_model(),
            version=version,
            stats=stats,
            by_key={d.key: i for i, d in enumerate(docs)},
        )

    def __len__(self) -> int:
        return len(self.docs)

    def signals(self, query: str, query_vector: np.ndarray):  # -> features.Signals
        return compute(query, query_vector, self.dense, self.lexical, self.names, self.slots)

    def search(
        self, query: str, query_vector: np.ndarray, top_k: int = 10, allowed: set[str] | None = None
    ) -> list[Hit]:
        if not self.docs:
            return []
        sig = self.signals(query, query_vector)
        scores = self.model.scores(sig.features)
        if allowed is not None:
            mask = np.zeros(len(self.docs), dtype=bool)
            mask[[i for key in allowed if (i := self.by_key.get(key)) is not None]] = True
            scores = np.where(mask, scores, -np.inf)
        pool = min(max(top_k, CANDIDATE_POOL), len(self.docs))
        top = np.argpartition(-scores, pool - 1)[:pool]
        top = top[np.argsort(-scores[top])]
        top = top[np.isfinite(scores[top])][:top_k]
        confidences = self.model.confidences(evidence(scores, top, sig.coverage, sig.dense, sig.lexical))
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
