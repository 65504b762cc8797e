"""Turning an HTTP response into a tool result: JSON (an object becomes structuredContent), text,
image or audio content, or an embedded blob resource for other binary data; errors with an excerpt."""

from __future__ import annotations

import base64
import json

from mcp_types import AudioContent, BlobResourceContents, CallToolResult, EmbeddedResource, ImageContent

from magictunnel.backends.base import error_result, json_result, text_result
from magictunnel.backends.http_client import EXCERPT, Outcome


def status_error(outcome: Outcome, what: str = "HTTP") -> CallToolResult:
    excerpt = outcome.text()
    if len(excerpt) > EXCERPT:
        excerpt = excerpt[:EXCERPT] + "..."
    message = f"{what} {outcome.status} {outcome.reason}".rstrip()
    if excerpt.strip():
        message += f": {excerpt}"
    return error_result(message, status=outcome.status, body=excerpt)


_BINARY = (
    "video/",
    "font/",
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
)
_TEXTUAL = ("text/", "application/xml", "application/javascript", "application/x-www-form-urlencoded")


def to_result(outcome: Outcome, mode: str = "auto") -> CallToolResult:
    """JSON (an object becomes structuredContent), text, or for binary responses image/audio
    content or an embedded blob resource."""
    if outcome.body == b"":
        return text_result("", structured=None)
    if mode == "json" or (mode == "auto" and outcome.is_json()):
        try:
            value = json.loads(outcome.body)
        except ValueError:
            if mode == "json":
                return error_result(f"response is not valid JSON: {outcome.text()[:EXCERPT]}")
            return text_result(outcome.text())
        return json_result(value)
    if mode == "auto":
        binary = _binary_result(outcome)
        if binary is not None:
            return binary
    return text_result(outcome.text())


def _binary_result(outcome: Outcome) -> CallToolResult | None:
    """Image/audio content, or an embedded blob for other binary data; None for text."""
    ctype = outcome.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if ctype.startswith(_TEXTUAL) or ctype.endswith(("+xml", "+json")):
        return None
    data = base64.b64encode(outcome.body).decode()
    if ctype.startswith("image/"):
        return CallToolResult(content=[ImageContent(data=data, mime_type=ctype)])
    if ctype.startswith("audio/"):
        return CallToolResult(content=[AudioContent(data=data, mime_type=ctype)])
    if _is_utf8(outcome.body) and not ctype.startswith(_BINARY):
        return None  # untyped or e.g. application/yaml, but readable: text
    resource = BlobResourceContents(
        uri=outcome.url or "about:blank", mime_type=ctype or "application/octet-stream", blob=data
    )
    return CallToolResult(content=[EmbeddedResource(resource=resource)])


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
