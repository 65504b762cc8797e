"""English readings of French, German and Spanish requests (reading.py), and their use in ranking."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.engine import DiscoveryEngine
from magictunnel.discovery.eu_glossary import GLOSSES
from magictunnel.discovery.reading import english_reading, language, read_request


@pytest.mark.parametrize(
    ("text", "lang", "reading"),
    [
        (
            "Zeig mir die aktuellen Top-Storys auf Hacker News",
            "de",
            "show me the current Top Storys on Hacker News",
        ),
        # a compound of two known words, with a linking s
        (
            "Erstelle ein Balkendiagramm mit den Verkaufszahlen",
            "de",
            "create a bar chart with the sale numbers",
        ),
        # elisions and a hyphenated pronoun
        ("Résume-moi l'article sur la Révolution", "fr", "summarize me the article on the Révolution"),
        # accents typed or not, the same reading
        ("Resume-moi l'article sur la Revolution", "fr", "summarize me the article on the Revolution"),
        (
            "¿Qué tiempo hará en Madrid este fin de semana?",
            "es",
            "¿what weather hará in Madrid este end of week?",
        ),
        # values and names are kept as they are
        ("Busca el archivo /home/ana/informe.xlsx", "es", "search the file /home/ana/informe.xlsx"),
    ],
)
def test_a_request_is_read_word_by_word_in_english(text: str, lang: str, reading: str) -> None:
    assert language(text) == lang
    assert english_reading(text) == reading
    read = read_request(text)
    assert read.original == text and read.english == reading
    assert read.lexical == f"{text} {reading}"  # the lexical index reads both


@pytest.mark.parametrize(
    "text",
    [
        "show me the actual line changes in /srv/app",  # "actual" is Spanish for current
        "what does the screenshot at /home/me/Desktop/error.png say",
        "la la land soundtrack on spotify",  # one marker word, nothing else known
        "红烧肉怎么做",
        "Hacker Newsのトップ記事を10件見せて",
        "",
        "   ",
        "1234 5678",
    ],
)
def test_english_and_other_requests_are_left_alone(text: str) -> None:
    assert english_reading(text) is None
    read = read_request(text)
    assert read.original == read.english == read.lexical == text


def test_where_and_or_are_told_apart_by_their_accent() -> None:
    assert english_reading("Où est la gare ?") == "where is the station ?"
    assert english_reading("le train ou le vol pour Lyon") == "the train or the flight for Lyon"


def test_the_glossary_is_well_formed() -> None:
    for lang, table in GLOSSES.items():
        assert len(table) > 250, lang
        for word, gloss in table.items():
            assert word == word.casefold() and word.strip() and " " not in word, (lang, word)
            assert gloss and gloss.isascii() and "=" not in gloss, (lang, word, gloss)


def test_the_english_only_models_get_the_english_reading(tmp_path: Path) -> None:
    docs = [
        make_doc("weather", "get_forecast", "Get the weather forecast for a city", {}),
        make_doc("news", "top_stories", "Show the current top stories on Hacker News", {}),
        make_doc("chart", "bar_chart", "Create a bar chart from numbers", {}),
    ]
    engine = DiscoveryEngine(cache_dir=tmp_path)
    index = engine.build(docs)
    assert engine.second_embedder is not None and index.model.full is not None
    index.model = replace(index.model, escalate_below=float("inf"))  # stage two for every request
    second = engine.second_embedder
    asked: list[str] = []

    def spy(text: str) -> np.ndarray:
        asked.append(text)
        return second.encode([text])[0]

    query = "Zeig mir die aktuellen Top-Storys auf Hacker News"
    hits = index.search(query, engine.embedder.encode([query])[0], top_k=3, second_query=spy)
    assert asked == ["show me the current Top Storys on Hacker News"]
    assert hits[0].doc.name == "top_stories"
    # the gateway's own path: the engine starts the second model on the English reading too
    for query, tool in (
        ("Erstelle ein Balkendiagramm mit den Zahlen 3, 5, 8", "bar_chart"),
        ("¿Qué tiempo hará mañana en Madrid?", "get_forecast"),
    ):
        assert engine.search(query, top_k=1)[0].doc.name == tool
