"""Tokenisation: identifiers, stemming, stop words, CJK bigrams, Chinese glosses, spans and masking."""

from __future__ import annotations

import pytest

from magictunnel.discovery import lexicon
from magictunnel.discovery.documents import make_doc
from magictunnel.discovery.lexical import signature
from magictunnel.discovery.spans import find_spans, mask_values
from magictunnel.discovery.text import query_terms, split_identifiers, tokenize


def test_identifiers_are_split_and_stemmed() -> None:
    assert split_identifiers("getStockPrice") == "get Stock Price"
    assert split_identifiers("HTMLToMarkdown") == "HTML To Markdown"
    assert tokenize("get_stock_prices") == ("get", "stock", "price")
    assert tokenize("fetch-url searching") == ("fetch", "url", "search")
    assert tokenize("npmDeprecated") == ("npm", "deprec")


def test_stop_words_and_single_letters_are_dropped() -> None:
    assert tokenize("show me the weather in a city") == ("show", "weather", "citi")


def test_chinese_gets_unigrams_bigrams_and_english_gloss() -> None:
    tokens = tokenize("查询天气")
    for expected in ("查", "询", "天", "气", "查询", "询天", "天气"):
        assert expected in tokens
    assert "weather" in tokens and "search" in tokens


def test_chinese_and_japanese_everyday_words_are_glossed() -> None:
    assert "note" in tokenize("我之前有没有记过关于 pgbouncer 的笔记？")
    assert "repositori" in tokenize("リポジトリの構成を説明して")  # katakana loanword
    assert {"mind", "map"} <= set(tokenize("做成思维导图"))


def test_persisted_lexical_indexes_follow_the_word_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [make_doc("t", "t", "Search the web", {})]
    before = signature(docs)
    lexicon.digest.cache_clear()
    monkeypatch.setitem(lexicon.ZH_TO_EN, "测试词", "test")
    try:
        assert signature(docs) != before  # a changed glossary rebuilds a persisted index
    finally:
        monkeypatch.undo()
        lexicon.digest.cache_clear()


def test_query_terms_expand_synonyms_at_lower_weight() -> None:
    terms = query_terms("find files")
    assert terms["find"] == 1.0 and terms["file"] == 1.0
    assert 0 < terms["search"] < 1.0


def test_spans_find_typed_literals() -> None:
    text = (
        "fetch https://example.com/a?b=1 and mail bob@example.org, save to ~/notes/x.md "
        'on 2024-03-05 with limit=20 and "exact phrase", about 1,250.5 items; report.docx'
    )
    kinds = {(s.kind, s.value) for s in find_spans(text)}
    assert ("url", "https://example.com/a?b=1") in kinds
    assert ("email", "bob@example.org") in kinds
    assert ("path", "~/notes/x.md") in kinds
    assert ("date", "2024-03-05") in kinds
    assert ("kv", "20") in kinds
    assert ("quoted", "exact phrase") in kinds
    assert ("number", "1,250.5") in kinds
    assert ("filename", "report.docx") in kinds


def test_host_names_addresses_and_urls_without_a_scheme() -> None:
    def kinds(text: str) -> list[tuple[str, str]]:
        return [(s.kind, s.value) for s in find_spans(text)]

    assert kinds("who registered OpenAI.com and when does it expire?") == [("domain", "openai.com")]
    assert kinds("is docs.python.org or www.example.co.uk down.") == [
        ("domain", "docs.python.org"),
        ("domain", "www.example.co.uk"),
    ]
    assert kinds("open github.com/login in the browser") == [("url", "https://github.com/login")]
    assert kinds("where is 8.8.8.8 located") == [("ip", "8.8.8.8")]
    # file names, versions, emails and URLs stay what they are
    assert kinds("diff README.md against notes.txt") == [("filename", "README.md"), ("filename", "notes.txt")]
    assert kinds("mail bob@corp.com the page https://x.com/a") == [
        ("email", "bob@corp.com"),
        ("url", "https://x.com/a"),
    ]
    assert kinds("upgrade to 1.2 now") == [("number", "1.2")]
    masked, hints = mask_values("whois openai.com")
    assert "openai" not in masked and hints == ["domain"]


def test_times_of_day() -> None:
    def times(text: str) -> list[str]:
        return [s.value for s in find_spans(text) if s.kind == "time"]

    assert times("If it's 9am in New York, what time is that in Berlin?") == ["09:00"]
    assert times("meet at 3:30 pm, or 7 p.m. at the latest") == ["15:30", "19:00"]
    assert times("at 14:05 on 2024-03-05") == ["14:05"]
    assert times("1990年5月12日早上8点出生") == ["08:00"] and times("下午3点半开会") == ["15:30"]
    assert times("a 3:2 ratio, version 1.2, port 10.0.0.1:8080, pm me at 5") == []


def test_currencies_become_iso_codes() -> None:
    def codes(text: str) -> list[str]:
        return [s.value for s in find_spans(text) if s.kind == "currency"]

    assert codes("Convertis 100 dollars américains en euros au taux du jour") == ["USD", "EUR"]
    assert codes("how much is 5000 JPY in USD, or $20 in £") == ["JPY", "USD", "USD", "GBP"]
    assert codes("100美元换多少人民币") == ["USD", "CNY"]
    assert codes("20 pounds sterling to canadian dollars") == ["GBP", "CAD"]
    # ordinary words stay words
    assert codes("who won the game? try a pound of flour, the real thing") == []


def test_chinese_dates_and_masking() -> None:
    spans = find_spans("1990年5月12日出生")
    assert [(s.kind, s.value) for s in spans] == [("date", "1990-05-12")]
    masked, hints = mask_values("show me what's inside /etc/nginx/nginx.conf")
    assert "nginx" not in masked
    assert hints == ["file", "conf"]
    masked, hints = mask_values("is the 'request' package still supported?")
    assert "request" not in masked and hints == []
