"""Fit the discovery ranking and confidence model (src/magictunnel/discovery/ranker_model.json).

    .venv/bin/python bench/discovery/fit.py [--data ../shared/discovery] [--sets a.jsonl b.jsonl ...]
                                             [--no-write] [--real-rejected 0.08]

Inputs: the catalog and labelled query files in the shared format (README in ../shared/discovery):
by default our own training sets in bench/discovery/data plus the development set. Each request's
signals come from `DiscoveryIndex.signals`, the very code the gateway ranks with.

- Ranking: a linear scorer over the signals, fitted with a softmax (listwise) loss over the whole
  catalog, where every expected tool of a request is a correct answer; L2-regularised.
- Second stage: the same with the second dense model's signals added (minilm.py). The gateway
  ranks every request with it when the second model's fast request path (PyTorch) is there, as
  in the default install; without it, only requests where stage one's best tool leads by less
  than `escalate_below`, the `--escalate` quantile of stage one's leads on the training requests.
  Quality is printed for the first way, and R@1/R@5 for the second as `cascade`.
- Third stage: the same again with the third dense model's signals added (mpnet.py), for the
  requests whose stage-two best tool leads by less than `deep_below`, the `--deep` quantile of
  stage two's leads on the training requests (the share of requests that pay for the third model).
- Confidence: a logistic model on the best tool's evidence, real requests against no-match ones
  (classes balanced), then shifted so that the gateway's default threshold 0.7 turns away about
  `--real-rejected` of the real training requests.

Before the final fit it prints leave-one-set-out quality: fitted on all sets but one, measured on
that one, which is the honest estimate for requests the model has not seen.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from magictunnel.discovery.embeddings import EmbeddingCache, UseEmbedder
from magictunnel.discovery.evaluation import load_catalog, load_queries
from magictunnel.discovery.features import (
    DEEP_FEATURES,
    DENSE_Z,
    FEATURES,
    FULL_FEATURES,
    INTENT_COLUMNS,
    second_columns,
)
from magictunnel.discovery.index import DiscoveryIndex
from magictunnel.discovery.minilm import MiniLmEmbedder
from magictunnel.discovery.mpnet import MpnetEmbedder
from magictunnel.discovery.ranker import (
    CONFIDENCE_FEATURES,
    MODEL_FILE,
    Linear,
    RankerModel,
    Stage,
    evidence,
    lead,
    logit,
)
from magictunnel.discovery.reading import read_request

HERE = Path(__file__).resolve().parent
MODEL_PATH = HERE.parents[1] / "src" / "magictunnel" / "discovery" / MODEL_FILE
THRESHOLD = 0.7


@dataclass
class QuerySet:
    name: str
    features: (
        np.ndarray
    )  # (n_queries, n_tools, n_deep_features): stage one's, the second model's, the third's
    labels: np.ndarray  # (n_queries, n_tools) bool
    coverage: np.ndarray  # (n_queries, n_tools)
    dense: np.ndarray
    lexical: np.ndarray


def placeholder_model() -> RankerModel:
    zeros = np.zeros(len(FEATURES))
    czeros = np.zeros(len(CONFIDENCE_FEATURES))
    return RankerModel(Linear(zeros, zeros + 1, zeros), Linear(czeros, czeros + 1, czeros), {})


def signals_for(
    index: DiscoveryIndex, embedder: UseEmbedder, second: MiniLmEmbedder, third: MpnetEmbedder, path: Path
) -> QuerySet:
    keys = {(d.server, d.name): i for i, d in enumerate(index.docs)}
    feats, labels, cov, dense, lex = [], [], [], [], []
    for q in load_queries(path):
        sig = index.signals(q.query, embedder.encode_query(q.query))
        y = np.zeros(len(index.docs), dtype=bool)
        for pair in q.expected or []:
            if pair not in keys:
                sys.exit(f"{path}: query {q.id}: expected tool {pair[0]}/{pair[1]} is not in the catalog")
            y[keys[pair]] = True
        assert index.dense.second is not None and index.dense.third is not None
        english = read_request(q.query).english  # as the gateway's index.search gives them
        extra = second_columns(q.query, second.encode_query(english), index.dense.second)
        deep = second_columns(q.query, third.encode_query(english), index.dense.third)
        feats.append(np.concatenate([sig.features, extra, deep], axis=1))
        labels.append(y)
        cov.append(sig.coverage)
        dense.append(sig.dense)
        lex.append(sig.lexical)
    return QuerySet(path.stem, *(np.stack(a) for a in (feats, labels, cov, dense, lex)))


def merge(sets: list[QuerySet]) -> QuerySet:
    return QuerySet(
        "+".join(s.name for s in sets),
        *(
            np.concatenate([getattr(s, f) for s in sets])
            for f in ("features", "labels", "coverage", "dense", "lexical")
        ),
    )


def fit_rank(data: QuerySet, width: int, l2: float = 0.01, iters: int = 600, lr: float = 0.05) -> Linear:
    pos = data.labels.any(axis=1)
    x, y = data.features[pos][..., :width].astype(np.float64), data.labels[pos]
    flat = x.reshape(-1, x.shape[-1])
    mean, scale = flat.mean(axis=0), flat.std(axis=0) + 1e-6
    x = (x - mean) / scale
    target = y / y.sum(axis=1, keepdims=True)
    w = np.zeros(x.shape[-1])
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(1, iters + 1):  # Adam on the listwise softmax loss
        s = x @ w
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        grad = np.einsum("qn,qnf->f", p - target, x) / len(x) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return Linear(mean, scale, w)


def intent(data: QuerySet, i: int) -> np.ndarray:
    return data.features[i][:, INTENT_COLUMNS]


def evidence_for(scores: np.ndarray, data: QuerySet, i: int, width: int) -> np.ndarray:
    """The best tool's evidence, as the gateway computes it for a stage reading `width` features."""
    top = np.array([int(np.argmax(scores))])
    features = data.features[i]
    second = features[:, len(FEATURES) :] if width > len(FEATURES) else None
    return evidence(
        scores,
        top,
        data.coverage[i],
        data.dense[i],
        data.lexical[i],
        intent(data, i),
        features[:, DENSE_Z],
        second,
    )


def top_evidence(rank: Linear, data: QuerySet) -> np.ndarray:
    """Evidence for each request's best tool."""
    rows = []
    width = len(rank.weights)
    for i in range(len(data.features)):
        scores = rank.apply(data.features[i][:, :width].astype(np.float64))
        rows.append(evidence_for(scores, data, i, width)[0])
    return np.array(rows)


def fit_confidence(ev: np.ndarray, real: np.ndarray, real_rejected: float, l2: float = 0.01) -> Linear:
    """Logistic on the best tool's evidence: is the request one the catalog serves? Classes
    balanced, then shifted so that THRESHOLD turns away `real_rejected` of the real requests."""
    mean, scale = ev.mean(axis=0), ev.std(axis=0) + 1e-6
    x = (ev - mean) / scale
    y = real.astype(np.float64)
    weight = np.where(real, 0.5 / max(real.mean(), 1e-9), 0.5 / max(1 - real.mean(), 1e-9))
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(4000):  # gradient descent on the balanced logistic loss
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weight / len(y)
        w -= 0.05 * (x.T @ g + l2 * w)
        b -= 0.05 * g.sum()
    z_real = x[real] @ w + b
    shift = logit(THRESHOLD) - float(np.quantile(z_real, real_rejected)) if len(z_real) else 0.0
    return Linear(mean, scale, w, b + shift)


def fit_stage(data: QuerySet, width: int, real_rejected: float) -> Stage:
    rank = fit_rank(data, width)
    confidence = fit_confidence(top_evidence(rank, data), data.labels.any(axis=1), real_rejected)
    return Stage(rank, confidence)


def fit(data: QuerySet, real_rejected: float, escalate: float, deep_share: float) -> RankerModel:
    fast = fit_stage(data, len(FEATURES), real_rejected)
    full_width = len(FULL_FEATURES)
    full = fit_stage(data, full_width, real_rejected)
    # Stage three is fitted on every request, like the others (fitting its ranking, or each
    # stage's confidence, only on the requests it will rank scored worse held out).
    deep = fit_stage(data, len(DEEP_FEATURES), real_rejected)
    full_leads = [lead(full.rank.apply(f[:, :full_width].astype(np.float64))) for f in data.features]
    deep_below = float(np.quantile(full_leads, deep_share))
    leads = [lead(fast.rank.apply(f[:, : len(FEATURES)].astype(np.float64))) for f in data.features]
    return RankerModel(
        fast.rank, fast.confidence, {}, full, float(np.quantile(leads, escalate)), deep, deep_below
    )


def cascade(model: RankerModel, features: np.ndarray, always: bool = True) -> tuple[Stage, np.ndarray]:
    """The stage the gateway would use for one request, and its scores."""
    fast = model.fast
    scores = fast.rank.apply(features[:, : len(FEATURES)].astype(np.float64))
    if model.full is None or not (always or lead(scores) < model.escalate_below):
        return fast, scores
    stage, scores = model.full, model.full.rank.apply(features[:, : len(FULL_FEATURES)].astype(np.float64))
    if model.deep is not None and lead(scores) < model.deep_below:
        return model.deep, model.deep.rank.apply(features.astype(np.float64))
    return stage, scores


def quality(model: RankerModel, data: QuerySet, always: bool = True) -> dict[str, float]:
    ranks, rejected, real, escalated, deepened = [], [], data.labels.any(axis=1), 0, 0
    confidences = []
    for i in range(len(data.features)):
        stage, scores = cascade(model, data.features[i], always)
        escalated += stage.rank is not model.rank
        deepened += stage is model.deep
        conf = stage.confidences(evidence_for(scores, data, i, len(stage.rank.weights)))
        rejected.append(conf[0] < THRESHOLD)
        confidences.append(float(conf[0]))
        if real[i]:
            order = np.argsort(-scores)
            ranks.append(int(np.flatnonzero(data.labels[i][order])[0]))
    r, rej = np.array(ranks), np.array(rejected)
    return {
        "escalated": round(escalated / len(data.features), 3),
        "third_stage": round(deepened / len(data.features), 3),
        "recall_at_1": round(float((r == 0).mean()), 3),
        "recall_at_5": round(float((r < 5).mean()), 3),
        "mrr": round(float((1 / (r + 1)).mean()), 3),
        "no_match_rejected": round(float(rej[~real].mean()), 3) if (~real).any() else float("nan"),
        "real_rejected": round(float(rej[real].mean()), 3),
        # threshold-free: P(a real request is more confident than a no-match one)
        "confidence_auc": round(auc(np.array(confidences), real), 3) if (~real).any() else float("nan"),
        "real": int(real.sum()),
        "no_match": int((~real).sum()),
    }


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    pos, neg = scores[positive][:, None], scores[~positive][None, :]
    return float((pos > neg).mean() + 0.5 * (pos == neg).mean())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=HERE.parents[2] / "shared" / "discovery")
    parser.add_argument(
        "--sets", type=Path, nargs="*", help="labelled query files (default: data/*.jsonl + dev)"
    )
    parser.add_argument("--real-rejected", type=float, default=0.08)
    parser.add_argument("--escalate", type=float, default=0.4, help="share of requests for stage two")
    parser.add_argument("--deep", type=float, default=0.4, help="share of requests for stage three")
    parser.add_argument("--no-write", action="store_true", help="only print the held-out estimates")
    args = parser.parse_args()
    paths = args.sets or sorted((HERE / "data").glob("*.jsonl"))
    dev = args.data / "dev-queries.jsonl"
    if not args.sets and dev.exists():
        paths.append(dev)
    embedder, second, third = UseEmbedder(), MiniLmEmbedder(), MpnetEmbedder()
    docs = load_catalog(args.data / "catalog.json")
    index = DiscoveryIndex.build(
        docs,
        EmbeddingCache(embedder, HERE / ".cache"),
        model=placeholder_model(),
        second=EmbeddingCache(second, HERE / ".cache"),
        third=EmbeddingCache(third, HERE / ".cache"),
    )
    sets = [signals_for(index, embedder, second, third, p) for p in paths]
    print(f"# {len(docs)} tools; sets: " + ", ".join(f"{s.name} ({len(s.features)})" for s in sets))
    held_out: dict[str, dict[str, Any]] = {}
    if len(sets) > 1:
        for i, test in enumerate(sets):
            train = merge([s for j, s in enumerate(sets) if j != i])
            model = fit(train, args.real_rejected, args.escalate, args.deep)
            held_out[test.name] = quality(model, test)
            slow = quality(model, test, always=False)
            held_out[test.name]["cascade"] = {k: slow[k] for k in ("escalated", "recall_at_1", "recall_at_5")}
            print(f"held out {test.name}: {json.dumps(held_out[test.name])}")
    everything = merge(sets)
    model = fit(everything, args.real_rejected, args.escalate, args.deep)
    print(f"fitted on all ({len(everything.features)} requests): {json.dumps(quality(model, everything))}")
    assert model.full is not None and model.deep is not None
    print(
        f"stage two below a lead of {model.escalate_below:.3f}, stage three below {model.deep_below:.3f}; "
        "weights (stage one, two, three):"
    )
    for j, name in enumerate(DEEP_FEATURES):
        first = f"{model.rank.weights[j]:+.3f}" if j < len(FEATURES) else "      "
        two = f"{model.full.rank.weights[j]:+.3f}" if j < len(FULL_FEATURES) else "      "
        print(f"  {name:16s} {first} {two} {model.deep.rank.weights[j]:+.3f}")
    if args.no_write:
        return
    info = {
        "fitted_on": [f"{s.name} ({len(s.features)} requests)" for s in sets],
        "held_out": held_out,
        "threshold": THRESHOLD,
        "real_rejected_target": args.real_rejected,
        "escalate_share": args.escalate,
        "third_stage_share": args.deep,
    }
    final = RankerModel(
        model.rank, model.confidence, info, model.full, model.escalate_below, model.deep, model.deep_below
    )
    MODEL_PATH.write_text(json.dumps(final.as_json(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_PATH}")


if __name__ == "__main__":
    main()
