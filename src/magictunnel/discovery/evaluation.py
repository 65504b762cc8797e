"""Catalog / query / ranking files (formats in shared/discovery/README.md) and the quality metrics.

`rank_queries` goes through `DiscoveryEngine.search`, the very code the gateway serves with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from magictunnel.discovery.documents import ToolDoc, doc_from_catalog_entry
from magictunnel.discovery.engine import DiscoveryEngine


class DataFileError(ValueError):
    """A catalog or query file that cannot be used; the message says what and where."""


def load_catalog(path: Path) -> list[ToolDoc]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataFileError(f"{path}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(data, list):
        raise DataFileError(f"{path}: expected a JSON list of tools, got {type(data).__name__}")
    docs: list[ToolDoc] = []
    seen: set[str] = set()
    for i, entry in enumerate(data):
        try:
            doc = doc_from_catalog_entry(entry, f"{path}[{i}]")
        except ValueError as exc:
            raise DataFileError(str(exc)) from exc
        if doc.key in seen:
            continue
        seen.add(doc.key)
        docs.append(doc)
    return docs


@dataclass
class Query:
    id: str
    query: str
    expected: list[tuple[str, str]] | None  # None when the file carries no answers


def load_queries(path: Path) -> list[Query]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    out: list[Query] = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFileError(f"{where}: invalid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise DataFileError(f"{where}: expected an object")
        qid, text = obj.get("id"), obj.get("query")
        if not isinstance(qid, str | int):
            raise DataFileError(f"{where}: id: required, a string")
        if not isinstance(text, str):
            raise DataFileError(f"{where}: query: required, a string")
        expected = obj.get("expected")
        pairs: list[tuple[str, str]] | None = None
        if expected is not None:
            if not isinstance(expected, list) or not all(
                isinstance(e, dict) and isinstance(e.get("name"), str) for e in expected
            ):
                raise DataFileError(f"{where}: expected: must be a list of {{server, name}} objects")
            pairs = [(str(e.get("server", "")), e["name"]) for e in expected]
        out.append(Query(str(qid), text, pairs))
    return out


def rank_queries(
    engine: DiscoveryEngine, queries: Iterable[Query], top_k: int = 10, threshold: float | None = None
) -> Iterator[dict[str, Any]]:
    """One rankings row per query; with `threshold`, a query whose best confidence is below it gets []."""
    for query in queries:
        hits = engine.search(query.query, top_k=top_k)
        results = [
            {"server": h.doc.server, "name": h.doc.name, "score": round(h.confidence, 6)} for h in hits
        ]
        if threshold is not None and (not hits or hits[0].confidence < threshold):
            results = []
        yield {"id": query.id, "results": results}


@dataclass
class Metrics:
    queries: int
    positives: int
    negatives: int
    recall_at_1: float
    recall_at_5: float
    mrr: float
    no_match_rejected: float
    real_rejected: float
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def score_rankings(queries: list[Query], rankings: list[dict[str, Any]], threshold: float) -> Metrics:
    by_id = {r["id"]: r["results"] for r in rankings}
    r1 = r5 = mrr = 0.0
    pos = neg = neg_rejected = pos_rejected = 0
    for q in queries:
        results = by_id.get(q.id, [])
        rejected = not results or results[0]["score"] < threshold
        if not q.expected:
            neg += 1
            neg_rejected += rejected
            continue
        pos += 1
        pos_rejected += rejected
        expected = set(q.expected)
        rank = next((i for i, r in enumerate(results) if (r["server"], r["name"]) in expected), None)
        if rank is not None:
            r1 += rank == 0
            r5 += rank < 5
            mrr += 1.0 / (rank + 1)
    return Metrics(
        queries=len(queries),
        positives=pos,
        negatives=neg,
        recall_at_1=r1 / max(pos, 1),
        recall_at_5=r5 / max(pos, 1),
        mrr=mrr / max(pos, 1),
        no_match_rejected=neg_rejected / max(neg, 1),
        real_rejected=pos_rejected / max(pos, 1),
        threshold=threshold,
    )
