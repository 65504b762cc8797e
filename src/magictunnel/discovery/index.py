"""One immutable search index over a set of tools: lexical (BM25F) + dense vectors, fused and calibrated.

An index is built once (off the request path) and never mutated; the index manager swaps in
a new one when the catalog changes, so a query always sees one consistent index.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.embeddings import EmbeddingCache, text_hash
from magictunnel.discovery.lexical import LexicalIndex
from magictunnel.discovery.spans import mask_values

# Fusion: the ranking score is a weighted sum of the dense cosine (shifted and scaled so that
# "unrelated" sits near 0) and the lexical score squashed into [0, 1) by its own scale.
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.3
DENSE_FLOOR = 0.15  # cosine at which USE sentences are typically unrelated
DENSE_SCALE = 0.4
LEXICAL_SCALE = 8.0
CANDIDATE_POOL = 50
NAME_WEIGHT = 0.3
# share of the dense score taken by the best-matching description sentence (vs. the whole tool)
SENTENCE_WEIGHT = 0.6


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


class _Segments:
    """Rows grouped by tool (contiguous), reduced to one score per tool with a max."""

    def __init__(self, owners: list[int], n_docs: int) -> None:
        owner_arr = np.asarray(owners, dtype=np.int64)
        self.n_docs = n_docs
        self.starts = (
            np.flatnonzero(np.r_[True, owner_arr[1:] != owner_arr[:-1]]) if len(owners) else owner_arr
        )
        self.docs = owner_arr[self.starts] if len(owners) else owner_arr

    def best(self, sims: np.ndarray, fill: np.ndarray | float) -> np.ndarray:
        out = (
            np.array(fill, dtype=np.float32, copy=True)
            if isinstance(fill, np.ndarray)
            else np.full(self.n_docs, fill, dtype=np.float32)
        )
        if len(self.starts):
            out[self.docs] = np.maximum.reduceat(sims, self.starts)
        return out


@dataclass
class DiscoveryIndex:
    docs: list[ToolDoc]
    lexical: LexicalIndex
    vectors: np.ndarray  # (n_rows, dim): per tool its description(+name) vector, then its examples
    rows: _Segments
    sentence_vectors: np.ndarray  # (n_sentences, dim): description sentences, grouped by tool
    sentences: _Segments
    version: int = 0
    stats: BuildStats | None = None
    by_key: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, docs: list[ToolDoc], cache: EmbeddingCache, version: int = 0) -> DiscoveryIndex:
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
        # The tool's own name, embedded alone, sharpens the description vector (NAME_WEIGHT).
        names = [d.name_text() for d in docs]
        name_keys = [text_hash(cache.embedder.model_id, n) for n in names]
        name_vectors = cache.embed_keyed(name_keys, names.__getitem__)
        rows = _Segments(owners, len(docs))
        vectors = vectors.copy()
        vectors[rows.starts] += NAME_WEIGHT * name_vectors
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
        cache.save(keep={*keys, *sent_keys, *name_keys})
        lexical = LexicalIndex.cached(docs, cache.directory)
        stats = BuildStats(
            len(docs), len(keys) + len(sent_keys), cache.misses - misses_before, time.perf_counter() - start
        )
        return cls(
            docs=docs,
            lexical=lexical,
            vectors=vectors,
            rows=rows,
            sentence_vectors=sentence_vectors,
            sentences=_Segments(sent_owners, len(docs)),
            version=version,
            stats=stats,
            by_key={d.key: i for i, d in enumerate(docs)},
        )

    def __len__(self) -> int:
        return len(self.docs)

    def _dense(self, query_vector: np.ndarray) -> np.ndarray:
        """Cosine per tool: its description vector (or best example), blended with its best sentence."""
        base = self.rows.best(self.vectors @ query_vector, -1.0)
        if not len(self.sentence_vectors):
            return base
        best_sentence = self.sentences.best(self.sentence_vectors @ query_vector, base)
        return (1.0 - SENTENCE_WEIGHT) * base + SENTENCE_WEIGHT * best_sentence

    def search(
        self, query: str, query_vector: np.ndarray, top_k: int = 10, allowed: set[str] | None = None
    ) -> list[Hit]:
        if not self.docs:
            return []
        dense = self._dense(query_vector)
        masked, hints = mask_values(query)
        lex = self.lexical.search(masked, hints)
        dense_part = np.clip((dense - DENSE_FLOOR) / DENSE_SCALE, -1.0, 1.5)
        lexical_part = lex.scores / (lex.scores + LEXICAL_SCALE)
        fused = DENSE_WEIGHT * dense_part + LEXICAL_WEIGHT * lexical_part
        if allowed is not None:
            mask = np.zeros(len(self.docs), dtype=bool)
            mask[[i for key in allowed if (i := self.by_key.get(key)) is not None]] = True
            fused = np.where(mask, fused, -np.inf)
        pool = min(max(top_k, CANDIDATE_POOL), len(self.docs))
        top = np.argpartition(-fused, pool - 1)[:pool]
        top = top[np.argsort(-fused[top])]
        hits: list[Hit] = []
        ceiling = 1.0
        for i in top[:top_k]:
            if not np.isfinite(fused[i]):
                break
            # confidence never rises down the ranking, so "best first" holds for scores too
            ceiling = min(ceiling, calibrate(float(fused[i]), float(lex.coverage[i])))
            hits.append(
                Hit(
                    doc=self.docs[i],
                    score=float(fused[i]),
                    confidence=ceiling,
                    dense=float(dense[i]),
                    lexical=float(lexical_part[i]),
                    coverage=float(lex.coverage[i]),
                )
            )
        return hits


# Calibration: confidence that the request is one the catalog serves, from evidence that is
# comparable across queries: the fused score and the share of the request's terms the tool
# matches. A logistic model fitted with balanced classes on real vs. no-match requests, then
# shifted to a prior of ~85 % servable requests (log-odds +1.7), so that 0.7 is a useful default.
CAL_BIAS = -0.95
CAL_SCORE = 1.23
CAL_COVERAGE = 6.85


def calibrate(score: float, coverage: float) -> float:
    z = CAL_BIAS + CAL_SCORE * score + CAL_COVERAGE * coverage
    return 1.0 / (1.0 + math.exp(-z))
