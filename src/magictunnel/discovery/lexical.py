"""BM25F over the tool fields, with precomputed per-term postings so a query is a few numpy adds."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from magictunnel.discovery.documents import ToolDoc
from magictunnel.discovery.text import query_terms, tokenize

# How much a term occurrence in each field counts, and how strongly the field's length normalises.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 3.0,
    "server": 1.5,
    "keywords": 2.0,
    "description": 1.0,
    "examples": 1.0,
    "params": 0.5,
}
FIELD_B: dict[str, float] = {
    "name": 0.3,
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


@dataclass
class LexicalScores:
    scores: np.ndarray  # BM25F score per doc
    coverage: np.ndarray  # share of the query's IDF mass each doc matches, in [0, 1]


class LexicalIndex:
    def __init__(self, docs: list[ToolDoc]) -> None:
        self.size = len(docs)
        field_tokens: list[dict[str, tuple[str, ...]]] = []
        totals: dict[str, float] = dict.fromkeys(FIELD_WEIGHTS, 0.0)
        for doc in docs:
            per_field = {f: tokenize(text) for f, text in doc.fields().items()}
            field_tokens.append(per_field)
            for f, toks in per_field.items():
                totals[f] += len(toks)
        n = max(self.size, 1)
        avg = {f: max(totals[f] / n, 1.0) for f in FIELD_WEIGHTS}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for doc_id, per_field in enumerate(field_tokens):
            weighted: Counter[str] = Counter()
            for f, toks in per_field.items():
                if not toks:
                    continue
                norm = 1.0 - FIELD_B[f] + FIELD_B[f] * len(toks) / avg[f]
                scale = FIELD_WEIGHTS[f] / norm
                for term, count in Counter(toks).items():
                    weighted[term] += count * scale
            for term, tf in weighted.items():
                ids, vals = postings.setdefault(term, ([], []))
                ids.append(doc_id)
                vals.append(tf / (K1 + tf))
        self._postings = {
            term: (np.asarray(ids, dtype=np.int32), np.asarray(vals, dtype=np.float32))
            for term, (ids, vals) in postings.items()
        }
        self._idf = {
            term: math.log(1.0 + (n - len(ids) + 0.5) / (len(ids) + 0.5))
            for term, (ids, _) in self._postings.items()
        }
        self.max_idf = math.log(1.0 + (n + 0.5) / 0.5)
        # one-edit neighbourhoods (symmetric deletes) of the vocabulary, for misspelt query words
        self._deletes: dict[str, list[str]] = {}
        for term in self._postings:
            if len(term) >= FUZZY_MIN_LENGTH - 1 and term.isalpha():
                for variant in _deletes(term):
                    self._deletes.setdefault(variant, []).append(term)

    def _near(self, term: str) -> list[str]:
        """Vocabulary terms one edit (insert, delete, substitute, transpose) away from `term`."""
        if len(term) < FUZZY_MIN_LENGTH or not term.isalpha():
            return []
        found: set[str] = set(self._deletes.get(term, ()))
        for variant in _deletes(term):
            if variant in self._postings:
                found.add(variant)
            found.update(self._deletes.get(variant, ()))
        found.discard(term)
        return sorted(found)[:5]

    def idf(self, term: str) -> float:
        return self._idf.get(term, self.max_idf)

    def known(self, term: str) -> bool:
        return term in self._postings

    def search(self, query: str, hints: list[str] | None = None) -> LexicalScores:
        """Score every doc for `query`; `hints` are extra words at a reduced weight (what values were)."""
        terms = query_terms(query)
        for hint in hints or ():
            for term in tokenize(hint):
                terms.setdefault(term, HINT_WEIGHT)
        for term in [t for t, w in terms.items() if w >= 1.0 and t not in self._postings]:
            for near in self._near(term):
                terms.setdefault(near, FUZZY_WEIGHT)
        scores = np.zeros(self.size, dtype=np.float32)
        matched = np.zeros(self.size, dtype=np.float32)
        mass = 0.0
        for term, weight in terms.items():
            idf = self.idf(term)
            if weight >= 1.0:
                mass += idf
            posting = self._postings.get(term)
            if posting is None:
                continue
            ids, vals = posting
            scores[ids] += (weight * idf) * vals
            matched[ids] += min(weight, 1.0) * idf
        coverage = np.minimum(matched / mass, 1.0) if mass > 0 else matched
        return LexicalScores(scores=scores, coverage=coverage)


def _deletes(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}
