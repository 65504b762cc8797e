"""Rule-based parameter mapping validated against the schema."""

from __future__ import annotations

from magictunnel.discovery.params import map_parameters

FETCH = {
    "type": "object",
    "properties": {
        "url": {"type": "string", "format": "uri"},
        "max_length": {"type": "integer", "minimum": 1},
        "raw": {"type": "boolean"},
    },
    "required": ["url"],
}
WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "units": {"type": "string", "enum": ["metric", "imperial"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city"],
}


def test_url_and_number() -> None:
    m = map_parameters("grab https://example.com/post-42 but only 500 characters", FETCH)
    assert m.arguments == {"url": "https://example.com/post-42", "max_length": 500}
    assert m.complete and "url" in m.sources["url"]


def test_key_value_beats_inference_and_is_coerced() -> None:
    m = map_parameters("fetch https://a.example max_length=80 raw=true", FETCH)
    assert m.arguments == {"url": "https://a.example", "max_length": 80, "raw": True}


def test_enum_values_and_missing_required() -> None:
    m = map_parameters("the forecast in imperial units for 3 days", WEATHER)
    assert m.arguments == {"units": "imperial", "days": 3}
    assert m.missing == ["city"]
    assert not m.complete


def test_values_breaking_the_schema_are_dropped() -> None:
    m = map_parameters("weather for 12 days in city=Oslo", WEATHER)
    assert m.arguments == {"city": "Oslo"}  # 12 > maximum 7: not used
    assert m.complete


def test_given_arguments_are_validated_and_reported() -> None:
    m = map_parameters("weather", WEATHER, given={"city": "Oslo", "days": 99})
    assert m.invalid and m.invalid[0].startswith("days:")


def test_paths_emails_dates_and_free_text() -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "recipient": {"type": "string", "format": "email"},
            "date": {"type": "string"},
        },
        "required": ["path", "recipient", "date"],
    }
    m = map_parameters("send /var/log/app.log to ops@example.com for 2025-01-31", schema)
    assert m.arguments == {"path": "/var/log/app.log", "recipient": "ops@example.com", "date": "2025-01-31"}
    search = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    m = map_parameters('search hacker news for "rust async"', search)
    assert m.arguments == {"query": "rust async"}
    m = map_parameters("latest rust async runtimes", search)
    assert m.arguments == {"query": "latest rust async runtimes"}


def test_host_names_fill_host_and_url_parameters() -> None:
    whois = {"type": "object", "properties": {"domain": {"type": "string"}}, "required": ["domain"]}
    assert map_parameters("who registered openai.com?", whois).arguments == {"domain": "openai.com"}
    assert map_parameters("whois for https://openai.com/blog", whois).arguments == {"domain": "openai.com"}
    assert map_parameters("open example.org in the browser", FETCH).arguments == {
        "url": "https://example.org"
    }
    assert map_parameters("fetch github.com/login", FETCH).arguments == {"url": "https://github.com/login"}
    lookup = {"type": "object", "properties": {"ip": {"type": "string"}}, "required": ["ip"]}
    assert map_parameters("where is 8.8.8.8", lookup).arguments == {"ip": "8.8.8.8"}
    topics = {"type": "object", "properties": {"domain": {"type": "string", "enum": ["article", "trial"]}}}
    assert map_parameters("trial results listed on openai.com", topics).arguments == {"domain": "trial"}


def test_times_fill_time_and_date_time_parameters() -> None:
    convert = {
        "type": "object",
        "properties": {
            "source_timezone": {"type": "string"},
            "time": {"type": "string", "description": "Time to convert in 24-hour format (HH:MM)"},
        },
    }
    assert map_parameters("it's 9am in New York", convert).arguments == {"time": "09:00"}
    born = {"type": "object", "properties": {"solarDatetime": {"type": "string"}}}
    assert map_parameters("1990年5月12日早上8点出生", born).arguments == {
        "solarDatetime": "1990-05-12T08:00:00"
    }
    day = {"type": "object", "properties": {"date": {"type": "string"}}}
    assert map_parameters("on 2024-03-05 at 14:05", day).arguments == {"date": "2024-03-05"}


def test_currencies_fill_currency_parameters_in_order() -> None:
    rate = {
        "type": "object",
        "properties": {
            "baseCurrency": {"type": "string", "description": "The base currency code (e.g., NOK, USD)"},
            "targetCurrency": {"type": "string", "description": "The target currency code (e.g., EUR, USD)"},
        },
        "required": ["baseCurrency", "targetCurrency"],
    }
    m = map_parameters("Convertis 100 dollars américains en euros au taux du jour", rate)
    assert m.arguments == {"baseCurrency": "USD", "targetCurrency": "EUR"} and m.complete


def test_names_and_tickers() -> None:
    assert map_parameters("weather in Paris tomorrow", WEATHER).arguments == {"city": "Paris"}
    m = map_parameters("will it rain in Rio de Janeiro? imperial please", WEATHER)
    assert m.arguments == {"city": "Rio de Janeiro", "units": "imperial"}
    assert map_parameters("what is the weather like", WEATHER).missing == ["city"]
    ticker = {"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}
    assert map_parameters("whats NVDA trading at", ticker).arguments == {"symbol": "NVDA"}
    assert map_parameters("price of $BRK.B today", ticker).arguments == {"symbol": "BRK.B"}
    assert map_parameters("how is the stock doing", ticker).missing == ["symbol"]
