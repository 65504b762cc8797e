"""Load spec documents (JSON or YAML, file or URL) and resolve `$ref`s across a document set."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import yaml

from magictunnel.generators.common import SpecError

try:  # libyaml makes multi-megabyte specs load in a fraction of the time
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

MAX_SPEC_BYTES = 200 * 1024 * 1024


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def parse_text(text: str | bytes, where: str) -> Any:
    """JSON first (fast, and most large specs are JSON), then YAML."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            pass
    try:
        return _json_safe(yaml.load(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(
            where, f"{pos}not valid JSON or YAML: {getattr(exc, 'problem', None) or exc}"
        ) from None


def _json_safe(node: Any) -> Any:
    """YAML 1.1 turns bare dates into date objects; specs mean JSON values (strings)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: _json_safe(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_safe(v) for v in node]
    if isinstance(node, datetime.date | datetime.datetime):
        return node.isoformat()
    if isinstance(node, bytes):
        return node.decode("utf-8", "replace")
    return node


def fetch(location: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> bytes:
    if is_url(location):
        import httpx

        try:
            response = httpx.get(location, timeout=timeout, follow_redirects=True, headers=headers)
        except httpx.HTTPError as exc:
            raise SpecError(location, f"cannot fetch: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise SpecError(location, f"cannot fetch: HTTP {response.status_code}")
        if len(response.content) > MAX_SPEC_BYTES:
            raise SpecError(location, f"larger than {MAX_SPEC_BYTES} bytes")
        return response.content
    path = Path(location.removeprefix("file://"))
    try:
        if path.stat().st_size > MAX_SPEC_BYTES:
            raise SpecError(location, f"larger than {MAX_SPEC_BYTES} bytes")
        return path.read_bytes()
    except FileNotFoundError:
        raise SpecError(location, "file not found") from None
    except IsADirectoryError:
        raise SpecError(location, "is a directory, expected a spec file") from None
    except OSError as exc:
        raise SpecError(location, f"cannot read: {exc.strerror}") from None


def _canonical(location: str) -> str:
    if is_url(location):
        return location
    return str(Path(location.removeprefix("file://")).resolve())


def _join(base: str, ref_doc: str) -> str:
    if is_url(ref_doc):
        return ref_doc
    if is_url(base):
        return urljoin(base, ref_doc)
    return str((Path(base).parent / unquote(ref_doc)).resolve())


class DocumentSet:
    """The root document and every document its `$ref`s reach, loaded on demand."""

    def __init__(
        self,
        root: Any,
        location: str = "<spec>",
        allow_remote: bool = True,
        fetch_headers: dict[str, str] | None = None,
    ) -> None:
        self.root_uri = _canonical(location) if location != "<spec>" else location
        self.docs: dict[str, Any] = {self.root_uri: root}
        self.allow_remote = allow_remote
        self.fetch_headers = fetch_headers

    @classmethod
    def load(cls, location: str, **kwargs: Any) -> DocumentSet:
        data = parse_text(fetch(location, headers=kwargs.get("fetch_headers")), location)
        return cls(data, location, **kwargs)

    @property
    def root(self) -> Any:
        return self.docs[self.root_uri]

    def document(self, uri: str) -> Any:
        if uri not in self.docs:
            if not self.allow_remote:
                raise SpecError("", f"external document {uri!r} is not allowed")
            self.docs[uri] = parse_text(fetch(uri, headers=self.fetch_headers), uri)
        return self.docs[uri]

    def split_ref(self, ref: str, base_uri: str) -> tuple[str, str]:
        """(document uri, JSON pointer) for a `$ref` seen in the document at base_uri."""
        doc_part, _, pointer = ref.partition("#")
        uri = _join(base_uri, doc_part) if doc_part else base_uri
        return uri, pointer

    def resolve(self, ref: str, base_uri: str) -> tuple[Any, str]:
        """The target of a `$ref` and the uri of the document it lives in."""
        uri, pointer = self.split_ref(ref, base_uri)
        try:
            doc = self.document(uri)
        except SpecError as exc:
            raise SpecError("", f"unresolvable $ref {ref!r}: {exc.message}") from None
        return resolve_pointer(doc, pointer, ref), uri


def resolve_pointer(doc: Any, pointer: str, ref: str) -> Any:
    if pointer in ("", "/"):
        return doc
    if not pointer.startswith("/"):
        raise SpecError("", f"unresolvable $ref {ref!r}: only JSON pointers (#/...) are supported")
    node = doc
    for raw in pointer[1:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SpecError("", f"unresolvable $ref {ref!r}")
    return node
