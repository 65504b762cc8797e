"""The fitted ranking and confidence model: a linear scorer over `features.FEATURES` and a
logistic confidence over per-hit evidence, both read from `ranker_model.json`.

The model file is written by `bench/discovery/fit.py` from labelled requests (the training sets in
bench/discovery/data plus the development set); it holds standardisation constants and weights,
the data it was fitted on, and its held-out quality. Nothing in it names a tool.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from magictunnel.discovery.features import DEEP_FEATURES, FEATURES, FULL_FEATURES

MODEL_FILE = "ranker_model.json"
# per-hit evidence the confidence model reads (see `evidence`)
CONFIDENCE_FEATURES = (
    "score",
    "gap",
    "coverage",
    "dense",
    "best_dense",
    "best_lexical",
    "act_match",
    "act_clash",
    "act_unserved",
    "dense_z",
    "second",
    "second_z",
    "act_lead",
)
UNSERVED_POOL = 5  # act_unserved: the request names an action no tool among this many best ones does
GAP_LIMIT = 4.0  # leads beyond this say nothing more (and keep small catalogs in range)


class ModelError(ValueError):
    pass


@dataclass(frozen=True)
class Linear:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any], width: int, where: str) -> Linear:
        try:
            parts = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "weights")]
            bias = float(data.get("bias", 0.0))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{where}: needs mean, scale and weights lists of numbers ({exc})") from exc
        if any(p.shape != (width,) for p in parts):
            raise ModelError(f"{where}: mean, scale and weights must each have {width} numbers")
        return cls(parts[0], np.where(parts[1] > 0, parts[1], 1.0), parts[2], bias)

    def apply(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.scale) @ self.weights + self.bias

    def as_json(self) -> dict[str, Any]:
        return {
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) for v in self.weights],
            "bias": round(float(self.bias), 6),
        }


@dataclass(frozen=True)
class Stage:
    """A scorer and the confidence model that reads its scores."""

    rank: Linear
    confidence: Linear

    def scores(self, features: np.ndarray) -> np.ndarray:
        return self.rank.apply(features.astype(np.float64)).astype(np.float32)

    def confidences(self, evidence_rows: np.ndarray) -> np.ndarray:
        z = self.confidence.apply(evidence_rows.astype(np.float64))
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


@dataclass(frozen=True)
class RankerModel:
    """Stage one reads `FEATURES`; when its best tool leads the runner-up by less than
    `escalate_below` (an unsure ranking) and the second dense model is available, stage two
    re-scores with `FULL_FEATURES`."""

    rank: Linear
    confidence: Linear
    info: dict[str, Any]
    full: Stage | None = None
    escalate_below: float = float("-inf")
    # stage three (`DEEP_FEATURES`: the third dense model too), for requests whose stage-two best
    # tool leads by less than `deep_below`
    deep: Stage | None = None
    deep_below: float = float("-inf")

    @property
    def fast(self) -> Stage:
        return Stage(self.rank, self.confidence)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RankerModel:
        if not isinstance(data, dict):
            raise ModelError("ranker model: expected a JSON object")
        if tuple(data.get("features") or ()) != FEATURES:
            raise ModelError("ranker model: its feature list does not match this version; re-run fit.py")
        if tuple(data.get("confidence_features") or ()) != CONFIDENCE_FEATURES:
            raise ModelError("ranker model: its confidence features do not match this version")
        full = _stage(data, "full", FULL_FEATURES, "second")
        deep = _stage(data, "deep", DEEP_FEATURES, "third")
        try:
            escalate = float(data.get("escalate_below", float("-inf")))
            deep_below = float(data.get("deep_below", float("-inf")))
        except (TypeError, ValueError) as exc:
            raise ModelError("ranker model: escalate_below and deep_below must be numbers") from exc
        return cls(
            rank=Linear.from_json(data.get("rank") or {}, len(FEATURES), "ranker model: rank"),
            confidence=Linear.from_json(
                data.get("confidence") or {}, len(CONFIDENCE_FEATURES), "ranker model: confidence"
            ),
            info=dict(data.get("info") or {}),
            full=full,
            escalate_below=escalate,
            deep=deep,
            deep_below=deep_below,
        )

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "features": list(FEATURES),
            "confidence_features": list(CONFIDENCE_FEATURES),
            "rank": self.rank.as_json(),
            "confidence": self.confidence.as_json(),
        }
        if self.full is not None:
            out["full_features"] = list(FULL_FEATURES)
            out["full"] = {"rank": self.full.rank.as_json(), "confidence": self.full.confidence.as_json()}
            out["escalate_below"] = round(self.escalate_below, 6)
        if self.deep is not None:
            out["deep_features"] = list(DEEP_FEATURES)
            out["deep"] = {"rank": self.deep.rank.as_json(), "confidence": self.deep.confidence.as_json()}
            out["deep_below"] = round(self.deep_below, 6)
        out["info"] = self.info
        return out


def _stage(data: dict[str, Any], key: str, features: tuple[str, ...], which: str) -> Stage | None:
    """The `full` (stage two) or `deep` (stage three) block of a model file, when it has one."""
    if data.get(key) is None:
        return None
    if tuple(data.get(f"{key}_features") or ()) != features:
        raise ModelError(f"ranker model: its {which}-stage features do not match this version")
    block = data[key] if isinstance(data[key], dict) else {}
    return Stage(
        Linear.from_json(block.get("rank") or {}, len(features), f"ranker model: {key}.rank"),
        Linear.from_json(
            block.get("confidence") or {}, len(CONFIDENCE_FEATURES), f"ranker model: {key}.confidence"
        ),
    )


def lead(scores: np.ndarray) -> float:
    """How far the best finite score is ahead of the runner-up."""
    finite = scores[np.isfinite(scores)]
    if len(finite) < 2:
        return float("inf")
    two = np.partition(finite, len(finite) - 2)[-2:]
    return float(two[1] - two[0])


def evidence(
    scores: np.ndarray,
    picks: np.ndarray,
    coverage: np.ndarray,
    dense: np.ndarray,
    lexical: np.ndarray,
    intent: np.ndarray,
    dense_z: np.ndarray,
    second_model: np.ndarray | None = None,
) -> np.ndarray:
    """Per picked tool: its score, its lead over the best other tool of the whole catalog (negative
    below the top, clipped to +-GAP_LIMIT), its coverage of the request and its dense score, the
    request's best dense and lexical scores over the catalog (how well anything fits), and whether
    the tool does what the request asks (`intent`: the act_match, act_near and act_clash columns),
    whether the request asks for an action none of the best few tools performs, and how far the
    tool stands out of the catalog for each dense model (`dense_z`, and `second_model`: the second
    model's similarity and its standardised form, zeros when stage two did not run)."""
    finite = scores[np.isfinite(scores)]
    if not len(picks) or not len(finite):
        return np.zeros((0, len(CONFIDENCE_FEATURES)))
    order = np.sort(finite)[::-1]
    top = float(order[0])
    second = float(order[1]) if len(order) > 1 else top - GAP_LIMIT
    picked = scores[picks].astype(np.float64)
    gap = np.clip(np.where(picked >= top, picked - second, picked - top), -GAP_LIMIT, GAP_LIMIT)
    n = len(picks)
    finite_scores = np.where(np.isfinite(scores), scores, -np.inf)
    pool = min(UNSERVED_POOL, len(scores))
    leaders = np.argpartition(-finite_scores, pool - 1)[:pool]
    unserved = bool(intent.any()) and not intent[leaders, 0].any()
    return np.column_stack(
        [
            picked,
            gap,
            coverage[picks],
            dense[picks],
            np.full(n, float(dense.max())),
            np.full(n, float(lexical.max())),
            intent[picks, 0],
            intent[picks, 2],
            np.full(n, float(unserved)),
            dense_z[picks],
            second_model[picks, 0] if second_model is not None else np.zeros(n),
            second_model[picks, 1] if second_model is not None else np.zeros(n),
            intent[picks, 3],
        ]
    )


@lru_cache(maxsize=1)
def default_model() -> RankerModel:
    text = resources.files("magictunnel.discovery").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    try:
        return RankerModel.from_json(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ModelError(f"{MODEL_FILE}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))
