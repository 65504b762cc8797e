"""Literal values inside a request: URLs, emails, paths, file names, quoted strings, dates, numbers, key=value.

The parameter mapper turns them into arguments; the ranker replaces them by what they are
("a URL", "a file") so that a file called `git.log` or a quoted word does not steer the ranking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from magictunnel.discovery.money import CURRENCY, currency_code

URL = re.compile(r"\b(?:https?|ftp|wss?)://[^\s<>\"'`)\]]+", re.IGNORECASE)
EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
KEY_VALUE = re.compile(r"(?<![\w/])([A-Za-z_][\w.-]*)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)")
QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|`([^`]+)`|「([^」]+)」|(?<![\w])'([^']+)'(?![\w])")
PATH = re.compile(r"(?<![\w:/])(?:~|\.{1,2})?(?:/[\w.@%+-]+)+/?|(?<![\w])[A-Za-z]:\\[^\s\"']+")
FILENAME = re.compile(r"(?<![\w/.-])[\w-]+(?:\.[\w-]+)*\.([A-Za-z][A-Za-z0-9]{0,5})\b")
ISO_DATE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
CJK_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]")
SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b")
# a bare host name ("openai.com", "docs.python.org"): its last label must be a common TLD, so
# that file names ("notes.txt", "README.md") and dotted identifiers stay what they are
_TLDS = (
    "com|org|net|io|dev|ai|co|gov|edu|info|biz|app|me|tv|xyz|cloud|tech|site|online|"
    "uk|de|fr|cn|jp|kr|ru|in|au|ca|es|it|nl|br|ch|se|eu|us"
)
_HOST = rf"(?<![\w@./:-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})"
DOMAIN = re.compile(_HOST + r"(?![\w/@-]|\.\w)", re.IGNORECASE)
BARE_URL = re.compile(_HOST + r"/[^\s<>\"'`)\]]*", re.IGNORECASE)  # "github.com/login": a URL without scheme
IPV4 = re.compile(r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.]\w)")
# times of day: "9am", "3:30 pm", "14:05", "早上8点", "下午3点半" (value: 24-hour HH:MM)
CLOCK_12 = re.compile(r"(?<![\w:])(1[0-2]|0?[1-9])(?::([0-5]\d))?\s*([ap])\.?m\b\.?", re.IGNORECASE)
CLOCK_24 = re.compile(r"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?![\w:])")
CJK_CLOCK = re.compile(r"(凌晨|早上|上午|中午|下午|傍晚|晚上)?(\d{1,2})[点點时時](?:(\d{1,2})分|(半))?")
_CJK_AFTERNOON = {"下午", "傍晚", "晚上"}
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:,\d{3})*(?:\.\d+)?%?(?![\w])")

# endings that make "name.com" a host rather than a file name
_DOMAIN_LIKE = set(_TLDS.split("|"))


@dataclass(frozen=True)
class Span:
    kind: str  # url, email, path, filename, domain, ip, quoted, date, time, currency, number, kv
    text: str  # the literal as written
    value: str  # the value to use as an argument
    start: int
    end: int
    key: str | None = None  # for key=value


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in taken)


@lru_cache(maxsize=256)
def find_spans(text: str) -> tuple[Span, ...]:
    """Non-overlapping literal spans, in order of appearance (cached: ranking and parameter
    mapping ask for the same request's spans several times)."""
    return tuple(_find_spans(text))


def _find_spans(text: str) -> list[Span]:
    spans: list[Span] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, match: re.Match[str], value: str, key: str | None = None) -> None:
        where = (match.start(), match.end())
        if _overlaps(where, taken):
            return
        taken.append(where)
        spans.append(Span(kind, match.group(0), value, where[0], where[1], key))

    for m in URL.finditer(text):
        add("url", m, m.group(0).rstrip(".,;:!?"))
    for m in BARE_URL.finditer(text):
        add("url", m, "https://" + m.group(0).rstrip(".,;:!?"))
    for m in EMAIL.finditer(text):
        add("email", m, m.group(0))
    for m in KEY_VALUE.finditer(text):
        add("kv", m, m.group(2).strip("\"'"), key=m.group(1))
    for m in QUOTED.finditer(text):
        value = next(g for g in m.groups() if g is not None)
        add("quoted", m, value)
    for m in ISO_DATE.finditer(text):
        add("date", m, f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}")
    for m in CJK_DATE.finditer(text):
        add("date", m, f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}")
    for m in SLASH_DATE.finditer(text):
        add("date", m, f"{int(m.group(3)):04d}-{int(m.group(1)):02d}-{int(m.group(2)):02d}")
    for m in CLOCK_12.finditer(text):
        hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
        add("time", m, f"{hour:02d}:{int(m.group(2) or 0):02d}")
    for m in CLOCK_24.finditer(text):
        add("time", m, f"{int(m.group(1)):02d}:{int(m.group(2)):02d}")
    for m in CJK_CLOCK.finditer(text):
        hour = int(m.group(2))
        if hour > 24:
            continue
        if m.group(1) in _CJK_AFTERNOON and hour < 12:
            hour += 12
        minute = 30 if m.group(4) else int(m.group(3) or 0)
        if minute < 60:
            add("time", m, f"{hour % 24:02d}:{minute:02d}")
    for m in PATH.finditer(text):
        if len(m.group(0)) > 1:
            add("path", m, m.group(0))
    for m in IPV4.finditer(text):
        add("ip", m, m.group(0))
    for m in DOMAIN.finditer(text):
        add("domain", m, m.group(0).lower())
    for m in FILENAME.finditer(text):
        if m.group(1).lower() not in _DOMAIN_LIKE and not m.group(0)[0].isdigit():
            add("filename", m, m.group(0))
    for m in CURRENCY.finditer(text):
        code = currency_code(m.group(0))
        if code is not None:
            add("currency", m, code)
    for m in NUMBER.finditer(text):
        add("number", m, m.group(0))
    spans.sort(key=lambda s: s.start)
    return spans


# What a literal says about the request's intent, as hint words (weighted below the request's own words).
_HINTS = {
    "url": ("url",),
    "email": ("email",),
    "date": ("date",),
    "time": ("time",),
    "currency": ("currency",),
    "domain": ("domain",),
    "ip": ("ip", "address"),
}


def mask_values(text: str, spans: Sequence[Span] | None = None) -> tuple[str, list[str]]:
    """The request with literal values cut out, and hint words for what they were.

    A path or file name hints "file" and its extension (`report.docx` -> file, docx); a
    key=value pair keeps its key; quoted strings and numbers are pure values and leave nothing.
    """
    spans = find_spans(text) if spans is None else spans
    if not spans:
        return text, []
    out: list[str] = []
    hints: list[str] = []
    pos = 0
    for span in spans:
        out.append(text[pos : span.start])
        out.append(" ")
        pos = span.end
        if span.kind in ("path", "filename"):
            hints.append("file")
            last = span.text.rstrip("/").rsplit("/", 1)[-1]
            ext = last.rsplit(".", 1)[-1] if "." in last else ""
            if ext and ext.isalnum() and len(ext) <= 5:
                hints.append(ext.lower())
        elif span.kind == "kv" and span.key:
            hints.append(span.key)
        else:
            hints.extend(_HINTS.get(span.kind, ()))
    out.append(text[pos:])
    return "".join(out), hints
