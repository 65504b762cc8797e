"""A French, German or Spanish request read word by word in English, for the English-only models.

The second and third embedding models (minilm.py, mpnet.py) read English only, and tool
descriptions are mostly English, so "Zeig mir die aktuellen Top-Storys auf Hacker News" reaches
them as noise. `read_request` spots a French, German or Spanish request by its little words
(der, und, mit; le, avec, pour; el, con, para) and replaces each word it knows (eu_glossary.py)
with its English gloss: "show me the current Top Storys on Hacker News". Words it does not know
(names, values, rarer words) stay as they are. German compounds are split when both halves are
known ("Balkendiagramm" -> "bar chart"), French elisions are undone ("l'article" -> "the article").

Measured leave-one-set-out (bench/discovery/fit.py) on our labelled requests: Recall@1 on the
French, German and Spanish ones 0.577 -> 0.615, the others unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from magictunnel.discovery.eu_glossary import GLOSSES
from magictunnel.discovery.lexicon import STOP_WORDS

# words that mark a language (English stop words, such as "me" or "a", never count)
_MARKERS = {
    "de": "der die das und mit für von ist mir mich ich nicht ein eine einen auf zu wie was welche "
    "den dem des im zum zur bitte alle meine mein",
    "fr": "le la les des du et avec pour dans sur moi mon ma mes je est une un que quel quelle où qui "
    "pas ce cette au aux",
    "es": "el la los las del y con para en por mi mis es una un qué que cuál dónde está al lo hay este esta",
}
MARKERS: dict[str, frozenset[str]] = {
    lang: frozenset(w for w in words.split() if w not in STOP_WORDS) for lang, words in _MARKERS.items()
}
MIN_KNOWN = 2  # different words of the language's glossary a request must hold (markers count)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*", re.UNICODE)
_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")
_SPACES = re.compile(r"\s+")
_VALUE_JOINERS = frozenset("/\\.@:=#~_")
_QUOTES = frozenset("'\"“‘`")


@dataclass(frozen=True)
class RequestText:
    original: str
    english: str  # the word-by-word English reading, or the original when there is none
    lexical: str  # what the lexical index reads: the original, plus the English reading if any


def _fold(word: str) -> str:
    """Without accents: 'résumé' -> 'resume' (people type them or not)."""
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@lru_cache(maxsize=1)
def _tables() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for lang, table in GLOSSES.items():
        full = dict(table)
        for word, gloss in table.items():
            full.setdefault(_fold(word), gloss)
        out[lang] = full
    return out


def _lookup(table: dict[str, str], word: str) -> str | None:
    word = word.casefold()
    return table.get(word) or table.get(_fold(word))


def language(text: str) -> str | None:
    """'de', 'fr' or 'es' when the request reads as one of them, else None."""
    text = text.replace("’", "'")
    words = [w for w in (m.casefold() for m in _WORD.findall(text.replace("'", "' "))) if w not in STOP_WORDS]
    if not words:
        return None
    tables = _tables()
    marks = {lang: sum(w in m or _fold(w) in m for w in words) for lang, m in MARKERS.items()}
    distinct = set(words)
    known = {lang: sum(_lookup(tables[lang], w) is not None for w in distinct) for lang in tables}
    best = max(marks, key=lambda lang: (marks[lang], known[lang]))
    return best if marks[best] >= 1 and known[best] >= MIN_KNOWN else None


def _split_compound(word: str, table: dict[str, str]) -> str | None:
    """A German compound of two known words, the longest first half first (with a linking s/n)."""
    word = word.casefold()
    for cut in range(len(word) - 4, 3, -1):
        tail = _lookup(table, word[cut:])
        if tail is None:
            continue
        head = word[:cut]
        for first in (head, head[:-1] if head[-1] in "sn" else ""):
            if first and (gloss := _lookup(table, first)):
                return f"{gloss} {tail}"
    return None


def _in_value(match: re.Match[str]) -> bool:
    """Part of a path, file name, address or quoted value ('/home/ana/informe.xlsx', 'rechnung'):
    kept as it is."""
    text, start, end = match.string, match.start(), match.end()
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    beyond = text[end + 1] if end + 1 < len(text) else " "
    return (
        before in _VALUE_JOINERS
        or before in _QUOTES
        or after in _VALUE_JOINERS
        or (after == "." and beyond.isalnum())
    )


def english_reading(text: str) -> str | None:
    """The request with every word the glossary knows in English, or None when it is not French,
    German or Spanish."""
    lang = language(text)
    if lang is None:
        return None
    table = _tables()[lang]

    def gloss(word: str) -> str | None:
        found = _lookup(table, word)
        if found is None and lang == "de" and len(word) >= 8:
            found = _split_compound(word, table)
        return found

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        if _in_value(match):
            return word
        if (found := gloss(word)) is not None:
            return found
        if "'" in word:  # French elision: l'article, qu'il
            first, _, rest = word.partition("'")
            first += "'"
            return f"{gloss(first) or first} {gloss(rest) or rest}"
        return word

    text = _HYPHEN.sub(" ", text.replace("’", "'"))  # Donne-moi, SAP-Aktie
    return _SPACES.sub(" ", _WORD.sub(replace, text)).strip()


@lru_cache(maxsize=4096)
def read_request(text: str) -> RequestText:
    english = english_reading(text)
    if english is None or english == text:
        return RequestText(text, text, text)
    return RequestText(text, english, f"{text} {english}")
