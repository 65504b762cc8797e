"""Ranking signals for one request against every tool of an index, as a (n_tools, n_features) matrix.

Each column is a generic signal (no tool or server is named anywhere): dense similarities of the
request to the tool's description, name and description sentences; BM25F over all fields and over
the name alone; how much of the request the tool covers; how much of the match comes only from
literal values; whether the tool takes the kinds of values the request carries; and whether it does
what the request asks (create, read, delete, send, buy, ...). `ranker.py`
combines them with weights fitted on labelled requests (bench/discovery/fit.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from magictunnel.discovery.intents import FEATURES as INTENT_FEATURES
from magictunnel.discovery.intents import IntentTable
from magictunnel.discovery.lexical import LexicalIndex
from magictunnel.discovery.slots import FEATURES as SLOT_FEATURES
from magictunnel.discovery.slots import SlotTable
from magictunnel.discovery.spans import mask_values
from magictunnel.discovery.text import is_cjk

FEATURES: tuple[str, ...] = (
    "d_sent",  # cosine to the best description sentence
    "d_comb",  # the blended dense score
    "d_z",  # d_comb standardised over the catalog for this request
    "d_gap",  # d_comb minus the catalog's best d_comb
    "lex",  # BM25F over all fields, squashed into [0, 1)
    "lex_rel",  # BM25F relative to the best tool for this request
    "coverage",  # share of the request's IDF mass the tool matches
    "name_coverage",  # the same, on the name and server fields only
    "value_lex",  # the part of the BM25F score that comes only from literal values (URL, file, ...)
    "name_lex",  # BM25F on the name and server fields, squashed
    "coverage_x_dz",  # coverage where the dense side agrees
    *SLOT_FEATURES,
    *INTENT_FEATURES,
    "d_server",  # cosine to the mean vector of the tool's server (what the server is about)
    "d_server_z",  # the same, standardised over the catalog
    "desc_length",  # log length of the description (short ones say less, and match less)
    "n_required",  # required parameters (scaled)
    "n_params",  # parameters (scaled)
)
INTENT_COLUMNS = [FEATURES.index(name) for name in INTENT_FEATURES]
DENSE_Z = FEATURES.index("d_z")
# the second stage adds the second dense model (minilm.py) to the same signals
SECOND_FEATURES: tuple[str, ...] = ("d_second", "d_second_z", "d_second_z_cjk")
FULL_FEATURES: tuple[str, ...] = (*FEATURES, *SECOND_FEATURES)
# the third stage adds the third dense model (mpnet.py), for requests stage two is unsure about
THIRD_FEATURES: tuple[str, ...] = ("d_third", "d_third_z", "d_third_z_cjk")
DEEP_FEATURES: tuple[str, ...] = (*FULL_FEATURES, *THIRD_FEATURES)
STANDARDISE_SAMPLE = 2048  # tools whose similarities standardise a few rows' (second_columns)
LEXICAL_SCALE = 8.0
NAME_LEXICAL_SCALE = 4.0
NAME_FIELDS = ("name", "server")
# d_comb: the description vector is sharpened by the name vector, then blended with the best sentence
NAME_WEIGHT = 0.3
SENTENCE_WEIGHT = 0.6


class Segments:
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
class DenseTables:
    vectors: np.ndarray  # (n_rows, dim): per tool its description vector sharpened by its name
    rows: Segments  # vector, then its example vectors
    sentence_vectors: np.ndarray  # (n_sentences, dim), grouped by tool
    sentences: Segments
    server_vectors: np.ndarray  # (n_servers, dim): mean description vector per server, normalised
    server_of: np.ndarray  # (n_tools,): row of the tool's server in server_vectors
    priors: np.ndarray  # (n_tools, 3): desc_length, n_required, n_params
    second: np.ndarray | None = None  # (n_tools, dim2): the second model's description vectors
    third: np.ndarray | None = None  # (n_tools, dim3): the third model's description vectors


@dataclass
class Signals:
    features: np.ndarray  # (n_tools, len(FEATURES))
    dense: np.ndarray  # d_comb, for reporting
    lexical: np.ndarray  # squashed BM25F, for reporting
    coverage: np.ndarray


def dense_scores(t: DenseTables, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d_sent, d_comb) per tool for the unit query vector `q`."""
    base = t.rows.best(t.vectors @ q, -1.0)
    if not len(t.sentence_vectors):
        return base, base
    best_sentence = t.sentences.best(t.sentence_vectors @ q, base)
    return best_sentence, (1.0 - SENTENCE_WEIGHT) * base + SENTENCE_WEIGHT * best_sentence


def compute(
    query: str,
    q: np.ndarray,
    dense: DenseTables,
    lexical: LexicalIndex,
    names: LexicalIndex,
    slots: SlotTable,
    intents: IntentTable,
) -> Signals:
    d_sent, d_comb = dense_scores(dense, q)
    masked, hints = mask_values(query)
    full = lexical.search(masked, hints)
    words_only = lexical.search(masked, []) if hints else full
    name = names.search(masked, [])
    d_z = (d_comb - d_comb.mean()) / (float(d_comb.std()) + 1e-6)
    lex = full.scores / (full.scores + LEXICAL_SCALE)
    columns = [
        d_sent,
        d_comb,
        d_z,
        d_comb - d_comb.max(),
        lex,
        full.scores / (float(full.scores.max()) + 1e-6),
        full.coverage,
        name.coverage,
        (full.scores - words_only.scores) / (full.scores + LEXICAL_SCALE),
        name.scores / (name.scores + NAME_LEXICAL_SCALE),
        full.coverage * np.clip(d_z, 0.0, None),
    ]
    d_server = (dense.server_vectors @ q)[dense.server_of] if len(dense.server_of) else d_comb
    d_server_z = (d_server - d_server.mean()) / (float(d_server.std()) + 1e-6)
    matrix = np.column_stack(
        [
            *columns,
            slots.features(query),
            intents.features(query),
            d_server,
            d_server_z,
            dense.priors,
        ]
    ).astype(np.float32)
    return Signals(features=matrix, dense=d_comb, lexical=lex, coverage=full.coverage)


def second_columns(
    query: str, q2: np.ndarray, second: np.ndarray, rows: np.ndarray | None = None
) -> np.ndarray:
    """(n_tools, 3): cosine to the second (or third) model's description vector, its standardised
    form, and that form again scaled by the request's share of CJK characters (both read English
    only, so the ranker can trust them less for Chinese or Japanese requests).

    `rows`: only these tools (len(rows), 3), standardised by the mean and spread of an even
    sample of `STANDARDISE_SAMPLE` tools of the catalog (a large one: reading every vector is what
    takes the time there)."""
    if rows is None:
        sims = second @ q2
        sample = sims
    else:
        sims = second[rows] @ q2
        sample = second[:: max(1, len(second) // STANDARDISE_SAMPLE)] @ q2
    z = (sims - sample.mean()) / (float(sample.std()) + 1e-6)
    return np.column_stack([sims, z, z * cjk_share(query)]).astype(np.float32)


def cjk_share(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(is_cjk(ch) for ch in letters) / len(letters) if letters else 0.0
