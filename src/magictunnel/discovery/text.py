"""Unicode-aware tokenisation for the lexical index.

- NFKC normalisation and case folding;
- identifiers are split: `get_stock_price`, `getStockPrice`, `fetch-url`, `HTMLToMarkdown`;
- Latin-script words are stemmed (Snowball English) and English stop words dropped;
- runs of CJK ideographs / kana / hangul become character unigrams and bigrams, so Chinese text
  needs no dictionary segmenter;
- known Chinese words also yield their English concept tokens (see `lexicon.py`), so an English
  query can match a Chinese description and the other way round.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from functools import lru_cache

import snowballstemmer

from magictunnel.discovery.lexicon import STOP_WORDS, ZH_TO_EN, expand_concepts

_CAMEL_1 = re.compile(r"([a-z0-9])([A-Z])")
_CAMEL_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STEMMER = snowballstemmer.stemmer("english")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
COMPOUND_WEIGHT = 0.8
_ZH_KEYS = sorted(ZH_TO_EN, key=len, reverse=True)
_ZH_PATTERN = re.compile("|".join(re.escape(k) for k in _ZH_KEYS)) if _ZH_KEYS else None


def is_cjk(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x2FA1F  # extensions B+
    )


def split_identifiers(text: str) -> str:
    """Put spaces at snake_case, kebab-case, dotted and camelCase boundaries."""
    # names (tools, servers, parameters) recur across a catalog and its rebuilds: remember those
    return _split_name(text) if len(text) <= SHORT_TEXT else _split(text)


SHORT_TEXT = 64


@lru_cache(maxsize=65_536)
def _split_name(text: str) -> str:
    return _split(text)


def _split(text: str) -> str:
    return _CAMEL_1.sub(r"\1 \2", _CAMEL_2.sub(r"\1 \2", text))


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    if word.isascii() and word.isalpha() and len(word) > 2:
        return _STEMMER.stemWord(word)
    return word


def _cjk_tokens(run: str) -> list[str]:
    tokens = list(run)
    tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


_CJK_CLASS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f"
_SEGMENT = re.compile(f"([{_CJK_CLASS}]+)|([^{_CJK_CLASS}]+)")


def _split_cjk(word: str) -> list[tuple[str, bool]]:
    """Split a word into alternating (segment, is_cjk) runs."""
    if word.isascii():
        return [(word, False)]
    return [(m.group(0), m.group(1) is not None) for m in _SEGMENT.finditer(word)]


@lru_cache(maxsize=200_000)
def tokenize(text: str) -> tuple[str, ...]:
    """Index terms for `text` (order kept, duplicates kept: term frequency matters)."""
    if not text:
        return ()
    text = split_identifiers(normalise(text))
    out: list[str] = []
    for raw in _WORD.findall(text):
        word = raw.casefold()
        for segment, cjk in _split_cjk(word):
            if cjk:
                out.extend(_cjk_tokens(segment))
                if _ZH_PATTERN is not None:
                    for match in _ZH_PATTERN.findall(segment):
                        out.extend(stem(w) for w in ZH_TO_EN[match].split())
            elif segment not in STOP_WORDS and not (len(segment) == 1 and segment.isascii()):
                out.append(stem(segment))
    return tuple(out)


def query_terms(text: str) -> dict[str, float]:
    """Weighted query terms: the query's own terms at 1.0, concept expansions at a lower weight."""
    weights: dict[str, float] = {}
    for term in tokenize(text):
        weights[term] = weights.get(term, 0.0) + 1.0
    for term, weight in expand_concepts(list(weights)).items():
        if term not in weights:
            weights[term] = weight
    # compounds: "hacker news" also looks for "hackernews", "data gov" for "datagov"
    words = [w.casefold() for w in _LATIN_WORD.findall(split_identifiers(normalise(text)))]
    for first, second in itertools.pairwise(words):
        if first not in STOP_WORDS and second not in STOP_WORDS:
            weights.setdefault(stem(first + second), COMPOUND_WEIGHT)
    return weights
