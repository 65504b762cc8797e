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

from magictunnel.discovery.features import FEATURES

MODEL_FILE = "ranker_model.json"
# per-hit evidence the confidence model reads (see `evidence`)
CONFIDENCE_FEATURES = (
    "score",
    "gap",
    "score_z",
    "coverage",
    "dense",
    "best_dense",
    "best_lexical",
    "best_coverage",
)


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
class RankerModel:
    rank: Linear
    confidence: Linear
    info: dict[str, Any]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RankerModel:
        if not isinstance(data, dict):
            raise ModelError("ranker model: expected a JSON object")
        if tuple(data.get("features") or ()) != FEATURES:
            raise ModelError("ranker model: its feature list does not match this version; re-run fit.py")
        if tuple(data.get("confidence_features") or ()) != CONFIDENCE_FEATURES:
            raise ModelError("ranker model: its confidence features do not match this version")
        return cls(
            rank=Linear.from_json(data.get("rank") or {}, len(FEATURES), "ranker model: rank"),
            confidence=Linear.from_json(
                data.get("confidence") or {}, len(CONFIDENCE_FEATURES), "ranker model: confidence"
            ),
            info=dict(data.get("info") or {}),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURES),
            "confidence_features": list(CONFIDENCE_FEATURES),
            "rank": self.rank.as_json(),
            "confidence": self.confidence.as_json(),
            "info": self.info,
        }

    def scores(self, features: np.ndarray) -> np.ndarray:
        return self.rank.apply(features.astype(np.float64)).astype(np.float32)

    def confidences(self, evidence_rows: np.ndarray) -> np.ndarray:
        z = self.confidence.apply(evidence_rows.astype(np.float64))
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def evidence(
    scores: np.ndarray, picks: np.ndarray, coverage: np.ndarray, dense: np.ndarray, lexical: np.ndarray
) -> np.ndarray:
    """Per picked tool: its score, its lead over the best other tool (negative below the top),
    its score standardised over the catalog, its coverage and dense score, and the request's best
    dense, lexical and coverage values over the whole catalog."""
    finite = scores[np.isfinite(scores)]
    if not len(picks) or not len(finite):
        return np.zeros((0, len(CONFIDENCE_FEATURES)))
    order = np.sort(finite)[::-1]
    top, second = float(order[0]), float(order[1]) if len(order) > 1 else float(order[0]) - 1.0
    mean, sd = float(finite.mean()), float(finite.std()) + 1e-6
    picked = scores[picks].astype(np.float64)
    gap = np.where(picked >= top, picked - second, picked - top)
    return np.column_stack(
        [
            picked,
            gap,
            (picked - mean) / sd,
            coverage[picks],
            dense[picks],
            np.full(len(picks), float(dense.max())),
            np.full(len(picks), float(lexical.max())),
            np.full(len(picks), float(coverage.max())),
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
