"""Does a tool take the kinds of values the request carries? ("slot fit", a ranking signal)

A request that holds a URL is more likely served by a tool with a URL parameter; one that gives
coordinates, by a tool taking latitude/longitude; a tool that requires a path is a poor fit for a
request that names no file. This reads only the input schemas and the request's literal values
(the same spans the parameter mapper uses), so it holds for any catalog.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from magictunnel.discovery.params import _json_type, _kind_of, _words
from magictunnel.discovery.spans import find_spans

KINDS = ("url", "email", "path", "date", "number", "coord", "host", "currency")
# kinds a request must carry for a tool that requires them (dates and numbers have defaults or words)
_DISTINCTIVE = np.array([1, 1, 1, 0, 0, 1, 1, 1], dtype=np.float32)
_URL, _HOST = KINDS.index("url"), KINDS.index("host")
_COORD_WORDS = {"lat", "latitude", "lon", "lng", "longitude", "coordinates", "coords"}
_COORD = re.compile(r"[-+]?\d{1,3}\.\d+\s*[,/ ]\s*[-+]?\d{1,3}\.\d+")
FEATURES = ("slot_match", "slot_none", "slot_lack")


def tool_kinds(schema: dict[str, Any]) -> tuple[set[str], set[str]]:
    """The value kinds a tool's parameters take: (all parameters, required parameters)."""
    props = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(props, dict):
        return set(), set()
    required = schema.get("required")
    required_set = {r for r in required if isinstance(r, str)} if isinstance(required, list) else set()
    every: set[str] = set()
    needed: set[str] = set()
    for name, pschema in props.items():
        if not isinstance(pschema, dict):
            continue
        kinds: set[str] = set()
        kind = _kind_of(str(name), pschema)
        if kind != "text":
            kinds.add(kind)
        if _json_type(pschema) in ("number", "integer"):
            kinds.add("number")
        if _words(str(name)) & _COORD_WORDS:
            kinds.add("coord")
        every |= kinds
        if name in required_set:
            needed |= kinds
    return every, needed


def request_kinds(text: str) -> set[str]:
    kinds: set[str] = set()
    for span in find_spans(text):
        if span.kind in ("url", "email", "path", "date"):
            kinds.add(span.kind)
        elif span.kind in ("domain", "ip"):
            kinds.add("host")
        elif span.kind == "currency":
            kinds.add("currency")
        elif span.kind == "time":
            kinds.add("date")  # date and time parameters are one kind ("when")
        elif span.kind == "filename":
            kinds.add("path")
        elif span.kind == "number":
            kinds.add("number")
    if _COORD.search(text):
        kinds.add("coord")
    return kinds


class SlotTable:
    """Per tool: which value kinds its parameters take (any / required), as 0/1 matrices."""

    def __init__(self, schemas: list[dict[str, Any]]) -> None:
        self.takes = np.zeros((len(schemas), len(KINDS)), dtype=np.float32)
        self.requires = np.zeros_like(self.takes)
        for i, schema in enumerate(schemas):
            every, needed = tool_kinds(schema)
            for j, kind in enumerate(KINDS):
                self.takes[i, j] = kind in every
                self.requires[i, j] = kind in needed
        # a URL names a host and a host makes a URL: each kind of tool can use the other value
        either = np.maximum(self.takes[:, _URL], self.takes[:, _HOST])
        self.takes[:, _URL] = self.takes[:, _HOST] = either

    def features(self, text: str) -> np.ndarray:
        """(n_tools, 3): share of the request's value kinds the tool takes; 1 when it takes none of
        them; 1 when it requires a distinctive kind (URL, email, path, coordinates) the request lacks."""
        kinds = request_kinds(text)
        present = np.array([k in kinds for k in KINDS], dtype=np.float32)
        n = float(present.sum())
        n_tools = len(self.takes)
        if n:
            match = (self.takes @ present) / n
            none = (match == 0).astype(np.float32)
        else:
            match = np.zeros(n_tools, dtype=np.float32)
            none = np.zeros(n_tools, dtype=np.float32)
        given = present.copy()
        given[_URL] = given[_HOST] = max(present[_URL], present[_HOST])
        lack = np.minimum((self.requires * (1.0 - given) * _DISTINCTIVE).sum(axis=1), 1.0)
        return np.stack([match, none, lack], axis=1).astype(np.float32)
