"""Currencies named in a request, as ISO 4217 codes: "$", "€", "USD", "euros", "dollars américains",
"日元" -> USD, EUR, USD, EUR, USD, JPY. A value kind like URLs or dates: it tells the ranker that a
tool taking currency codes fits, and fills those parameters.

Deliberately conservative: words that are also ordinary English ("pound" of flour, who "won", the
"real" thing) count only with a qualifier ("pounds sterling", "korean won") or as a symbol or code;
ISO codes only in capitals ("TRY", not "try").
"""

from __future__ import annotations

import re

_CODES = (
    "USD EUR GBP JPY CNY CHF CAD AUD NZD SEK NOK DKK KRW INR BRL MXN RUB HKD SGD TRY ZAR PLN "
    "CZK HUF ILS THB TWD IDR MYR PHP VND AED SAR"
).split()
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₩": "KRW", "₹": "INR", "₽": "RUB", "₺": "TRY"}
# qualified dollars, then plain names (lower case; several languages)
_QUALIFIED = {
    "canadian dollar": "CAD",
    "australian dollar": "AUD",
    "new zealand dollar": "NZD",
    "hong kong dollar": "HKD",
    "singapore dollar": "SGD",
    "dollars américains": "USD",
    "dollar américain": "USD",
    "us dollar": "USD",
    "pound sterling": "GBP",
    "pounds sterling": "GBP",
    "british pound": "GBP",
    "korean won": "KRW",
    "swiss franc": "CHF",
}
_NAMES = {
    "dollar": "USD",
    "dollars": "USD",
    "dólar": "USD",
    "dólares": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "yen": "JPY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "rmb": "CNY",
    "rupee": "INR",
    "rupees": "INR",
    "roupie": "INR",
    "ruble": "RUB",
    "rubles": "RUB",
    "rouble": "RUB",
    "franken": "CHF",
    "peso": "MXN",
    "pesos": "MXN",
}
_CJK = {
    "美元": "USD",
    "欧元": "EUR",
    "歐元": "EUR",
    "日元": "JPY",
    "人民币": "CNY",
    "英镑": "GBP",
    "韩元": "KRW",
    "港币": "HKD",
}

_WORDS = sorted([*_QUALIFIED, *_NAMES], key=len, reverse=True)
CURRENCY = re.compile(
    r"(?<![\w])(?:"
    + "|".join(re.escape(w) + ("s?" if w in _QUALIFIED and w[-1] != "s" else "") for w in _WORDS)
    + r"|(?-i:"
    + "|".join(_CODES)
    + r"))(?![\w])|["
    + re.escape("".join(_SYMBOLS))
    + "]|"
    + "|".join(map(re.escape, _CJK)),
    re.IGNORECASE,
)


def currency_code(text: str) -> str | None:
    """The ISO code for one match of CURRENCY."""
    if text in _CODES:
        return text
    lowered = text.lower()
    return (
        _SYMBOLS.get(text)
        or _CJK.get(text)
        or _QUALIFIED.get(lowered)
        or _QUALIFIED.get(lowered[:-1])  # "canadian dollars"
        or _NAMES.get(lowered)
    )
