"""Secret and PII detectors: what to find in text, and how to redact it without keeping it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_ok(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


@dataclass(frozen=True)
class Detector:
    name: str
    category: str  # "secret" | "pii"
    regex: re.Pattern[str]
    # the group to redact (0 = whole match); e.g. only the password of a URL
    group: int = 0
    check: Callable[[re.Match[str]], bool] | None = None


DETECTORS: tuple[Detector, ...] = (
    Detector(
        "private_key",
        "secret",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        ),
    ),
    Detector("aws_access_key", "secret", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    Detector(
        "github_token",
        "secret",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    ),
    Detector("slack_token", "secret", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    Detector("stripe_key", "secret", re.compile(r"\b[rsp]k_(?:live|test)_[0-9A-Za-z]{16,}\b")),
    Detector("google_api_key", "secret", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    Detector("api_key", "secret", re.compile(r"\bsk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_-]{20,}\b")),
    Detector("jwt", "secret", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    Detector("bearer_token", "secret", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/=-]{16,})"), group=1),
    Detector(
        "url_password", "secret", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@"), group=1
    ),
    Detector(
        "password_assignment",
        "secret",
        re.compile(
            r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|auth[_-]?token)\b\s*[:=]\s*[\"']?([^\s\"',;&]{4,})"
        ),
        group=1,
    ),
    Detector("email", "pii", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")),
    Detector("credit_card", "pii", re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), check=_card_ok),
    Detector(
        "phone",
        "pii",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){1,3}"
            r"|\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4})(?![\w])"
        ),
    ),
)
BY_NAME = {d.name: d for d in DETECTORS}
CATEGORIES = ("secret", "pii")


def select(categories: list[str] | tuple[str, ...]) -> tuple[Detector, ...]:
    """Detectors named by category ("secret", "pii", "all") or by detector name."""
    wanted = set(categories)
    if "all" in wanted:
        return DETECTORS
    return tuple(d for d in DETECTORS if d.category in wanted or d.name in wanted)


def known(name: str) -> bool:
    return name in CATEGORIES or name in BY_NAME or name == "all"


@dataclass(frozen=True)
class Finding:
    detector: str
    category: str
    path: str

    def to_dict(self) -> dict[str, str]:
        return {"detector": self.detector, "category": self.category, "path": self.path}


def scan_text(
    text: str, detectors: tuple[Detector, ...], path: str, redact: bool
) -> tuple[str, list[Finding]]:
    findings: list[Finding] = []
    for det in detectors:
        if det.regex.search(text) is None:
            continue

        def replace(m: re.Match[str], det: Detector = det) -> str:
            if det.check is not None and not det.check(m):
                return m.group(0)
            findings.append(Finding(det.name, det.category, path))
            if not redact:
                return m.group(0)
            if det.group == 0:
                return f"[REDACTED:{det.name}]"
            start, end = m.span(det.group)
            base = m.start(0)
            whole = m.group(0)
            return whole[: start - base] + f"[REDACTED:{det.name}]" + whole[end - base :]

        text = det.regex.sub(replace, text)
    return text, findings


def scan_value(
    value: Any, detectors: tuple[Detector, ...], redact: bool, path: str = "$"
) -> tuple[Any, list[Finding]]:
    """Walk JSON-like data; strings (and dict keys' values) are scanned. Returns (new value, findings)."""
    if isinstance(value, str):
        if len(value) < 4:
            return value, []
        return scan_text(value, detectors, path, redact)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        found: list[Finding] = []
        for k, v in value.items():
            out[k], f = scan_value(v, detectors, redact, f"{path}.{k}")
            found.extend(f)
        return (out if found else value), found
    if isinstance(value, list | tuple):
        items = []
        found = []
        for i, v in enumerate(value):
            nv, f = scan_value(v, detectors, redact, f"{path}[{i}]")
            items.append(nv)
            found.extend(f)
        return (items if found else value), found
    return value, []
