"""BM25F over the tool fields, with precomputed per-term postings so a query is a few numpy adds.

Postings are stored compressed-sparse-row style (one array of doc ids and one of saturated term
weights, sliced per term) and persisted next to the embedding cache, keyed by the content hashes
of the tools, so a restart with an unchanged catalog loads the index instead of re-tokenising it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from magictunnel.discovery import lexicon
from magictunnel.discovery.documents import INDEX_TEXT_VERSION, ToolDoc
from magictunnel.discovery.text import query_terms, tokenize

# How much a term occurrence in each field counts, and how strongly the field's length normalises.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "summary": 1.0,
    "server": 1.5,
    "keywords": 2.0,
    "description": 1.0,
    "examples": 1.0,
    "params": 0.5,
}
FIELD_B: dict[str, float] = {
    "name": 0.3,
    "summary": 0.5,
    "server": 0.2,
    "keywords": 0.5,
    "description": 0.75,
    "examples": 0.75,
    "params": 0.75,
}
K1 = 1.2
HINT_WEIGHT = 0.5
FUZZY_WEIGHT = 0.7
FUZZY_MIN_LENGTH = 5
STORE_NAME = "lexical"

log = logging.getLogger("magictunnel.discovery.lexical")


@dataclass
class LexicalScores:
    scores: np.ndarray  # BM25F score per doc
    coverage: np.ndarray  # share of the query's IDF mass each doc matches, in [0, 1]


def signature(docs: list[ToolDoc]) -> str:
    """What a persisted index was built from: the scoring parameters and every tool's content, in order."""
    h = hashlib.sha256(
        json.dumps([INDEX_TEXT_VERSION, lexicon.digest(), FIELD_WEIGHTS, FIELD_B, K1]).encode()
    )
    for doc in docs:
        h.update((doc.digest or doc.content_hash()).encode())
    return h.hexdigest()


class LexicalIndex:
    def __init__(
        self, size: int, terms: list[str], indptr: np.ndarray, ids: np.ndarray, vals: np.ndarray
    ) -> None:
        self.size = size
        self._terms = {t: i for i, t in enumerate(terms)}
        self._indptr, self._ids, self._vals = indptr, ids, vals
        n = max(size, 1)
        df = np.diff(indptr).astype(np.float64)
        self._idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
        self.max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        self._deletes: dict[str, list[str]] | None = None
        self._build_deletes()

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def build(cls, docs: list[ToolDoc], only: tuple[str, ...] | None = None) -> LexicalIndex:
        """Index every field of `docs`, or only the fields named in `only`."""
        field_tokens: list[dict[str, tuple[str, ...]]] = []
        totals: dict[str, float] = dict.fromkeys(FIELD_WEIGHTS, 0.0)
        for doc in docs:
            per_field = {f: tokenize(text) for f, text in doc.fields(only).items()}
            field_tokens.append(per_field)
            for f, toks in per_field.items():
                totals[f] += len(toks)
        n = max(len(docs), 1)
        avg = {f: max(totals[f] / n, 1.0) for f in FIELD_WEIGHTS}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, per_field in enumerate(field_tokens):
            weighted: Counter[str] = Counter()
            for f, toks in per_field.items():
                if not toks:
                    continue
                scale = FIELD_WEIGHTS[f] / (1.0 - FIELD_B[f] + FIELD_B[f] * len(toks) / avg[f])
                for term, count in Counter(toks).items():
                    weighted[term] += count * scale
            for term, tf in weighted.items():
                ids, vals = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                vals.append(tf / (K1 + tf))
        terms = list(postings)
        lengths = np.fromiter((len(postings[t][0]) for t in terms), dtype=np.int64, count=len(terms))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        ids = np.fromiter((i for t in terms for i in postings[t][0]), dtype=np.int32, count=int(indptr[-1]))
        vals = np.fromiter(
            (v for t in terms for v in postings[t][1]), dtype=np.float32, count=int(indptr[-1])
        )
        return cls(len(docs), terms, indptr, ids, vals)

    @classmethod
    def cached(cls, docs: list[ToolDoc], directory: Path | None) -> LexicalIndex:
        """Load the persisted index when it was built from exactly these tools, else build and persist it."""
        if directory is None or not docs:
            return cls.build(docs)
        sig = signature(docs)
        arrays, meta = directory / f"{STORE_NAME}.npz", directory / f"{STORE_NAME}.json"
        try:
            info = json.loads(meta.read_text())
            if info.get("signature") == sig and info.get("size") == len(docs):
                with np.load(arrays) as data:
                    return cls(len(docs), info["terms"], data["indptr"], data["ids"], data["vals"])
        except (OSError, ValueError, KeyError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("lexical index at %s is unreadable (%s); rebuilding it", directory, exc)
        index = cls.build(docs)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            tmp_arrays, tmp_meta = arrays.with_suffix(".tmp.npz"), meta.with_suffix(".tmp")
            np.savez(tmp_arrays, indptr=index._indptr, ids=index._ids, vals=index._vals)
            tmp_meta.write_text(
                json.dumps({"signature": sig, "size": len(docs), "terms": list(index._terms)})
            )
            os.replace(tmp_arrays, arrays)
            os.replace(tmp_meta, meta)
        except OSError as exc:
            log.warning("could not persist the lexical index in %s: %s", directory, exc)
        return index

    def _build_deletes(self) -> None:
        deletes: dict[str, list[str]] = {}
        for term in self._terms:
            if len(term) >= FUZZY_MIN_LENGTH - 1 and term.isalpha():
                for variant in _deletes(term):
                    deletes.setdefault(variant, []).append(term)
        self._deletes = deletes

    # ---- querying ------------------------------------------------------------------------
    def _near(self, term: str) -> list[str]:
        """Vocabulary terms one edit (insert, delete, substitute, transpose) away from `term`."""
        deletes = self._deletes
        if deletes is None or len(term) < FUZZY_MIN_LENGTH or not term.isalpha():
            return []
        found: set[str] = set(deletes.get(term, ()))
        for variant in _deletes(term):
            if variant in self._terms:
                found.add(variant)
            found.update(deletes.get(variant, ()))
        found.discard(term)
        return sorted(found)[:5]

    def idf(self, term: str) -> float:
        i = self._terms.get(term)
        return float(self._idf[i]) if i is not None else self.max_idf

    def known(self, term: str) -> bool:
        return term in self._terms

    def search(self, query: str, hints: list[str] | None = None) -> LexicalScores:
        """Score every doc for `query`; `hints` are extra words at a reduced weight (what values were)."""
        terms = query_terms(query)
        for hint in hints or ():
            for term in tokenize(hint):
                terms.setdefault(term, HINT_WEIGHT)
        for term in [t for t, w in terms.items() if w >= 1.0 and t not in self._terms]:
            for near in self._near(term):
                terms.setdefault(near, FUZZY_WEIGHT)
        scores = np.zeros(self.size, dtype=np.float32)
        matched = np.zeros(self.size, dtype=np.float32)
        mass = 0.0
        for term, weight in terms.items():
            i = self._terms.get(term)
            idf = float(self._idf[i]) if i is not None else self.max_idf
            if weight >= 1.0:
                mass += idf
            if i is None:
                continue
            lo, hi = self._indptr[i], self._indptr[i + 1]
            ids = self._ids[lo:hi]
            scores[ids] += (weight * idf) * self._vals[lo:hi]
            matched[ids] += min(weight, 1.0) * idf
        coverage = np.minimum(matched / mass, 1.0) if mass > 0 else matched
        return LexicalScores(scores=scores, coverage=coverage)


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}
