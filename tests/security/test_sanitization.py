from __future__ import annotations

import json
from typing import Any

import pytest
from tests.security.conftest import text_of

from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext
from magictunnel.security import detectors
from magictunnel.security.common import InvalidInput

PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"


@pytest.mark.parametrize(
    "text, detector",
    [
        ("AKIAIOSFODNN7EXAMPLE", "aws_access_key"),
        ("token ghp_" + "a1" * 18, "github_token"),
        ("sk-proj-" + "Ab3" * 10, "api_key"),
        ("xoxb-123456789012-abcdefghij", "slack_token"),
        ("Authorization: Bearer abcdefghijklmnop1234", "bearer_token"),
        ("postgres://app:hunter2@db:5432/x", "url_password"),
        (PRIVATE_KEY, "private_key"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "jwt",
        ),
        ("password: CorrectHorse", "password_assignment"),
        ("mail jane.doe@example.org now", "email"),
        ("call +44 20 7946 0958", "phone"),
        ("card 4111-1111-1111-1111", "credit_card"),
    ],
)
def test_detectors_find(text: str, detector: str) -> None:
    redacted, found = detectors.scan_text(text, detectors.DETECTORS, "$", redact=True)
    assert detector in {f.detector for f in found}
    assert f"[REDACTED:{detector}]" in redacted


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112 shipped",
        "version 1.2.3 build 20240101",
        "see https://example.org/a/b",
        "count=1000000",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert detectors.scan_text(text, detectors.DETECTORS, "$", redact=True) == (text, [])


def test_url_password_keeps_the_rest_of_the_url() -> None:
    out, _ = detectors.scan_text("postgres://app:hunter2@db/x", detectors.DETECTORS, "$", redact=True)
    assert out == "postgres://app:[REDACTED:url_password]@db/x"


@pytest.mark.anyio
async def test_policies_per_tool_and_direction(gateway: Gateway) -> None:
    sec = gateway.extensions["security"]
    secret = "AKIAIOSFODNN7EXAMPLE"
    # default: input allowed, output secrets redacted
    out = await gateway.call_tool("echo", {"reply": f"key={secret}"}, CallContext())
    assert text_of(out) == "key=[REDACTED:aws_access_key]"
    backend = gateway.backends.get("echo")
    assert backend.calls[-1]["arguments"]["reply"] == f"key={secret}"

    await sec.sanitization.create(
        {
            "name": "fs-in",
            "tool_pattern": "fs_*",
            "direction": "input",
            "action": "redact",
            "categories": ["secret", "pii"],
        }
    )
    await gateway.call_tool("fs_write", {"path": "/x", "body": "mail bob@example.com"}, CallContext())
    assert backend.calls[-1]["arguments"]["body"] == "mail [REDACTED:email]"

    await sec.sanitization.create(
        {
            "name": "db-block",
            "tool_pattern": "db_*",
            "direction": "both",
            "action": "block",
            "categories": ["secret"],
        }
    )
    blocked = await gateway.call_tool("db_query", {"sql": f"select '{secret}'"}, CallContext())
    assert blocked.is_error and "Denied by sanitization (rule 'db-block')" in text_of(blocked)
    assert "aws_access_key" in text_of(blocked) and secret not in text_of(blocked)
    calls_before = len(backend.calls)
    blocked = await gateway.call_tool("db_query", {"reply": "ok"}, CallContext())
    assert not blocked.is_error and len(backend.calls) == calls_before + 1
    await sec.sanitization.create(
        {
            "name": "gh-out",
            "tool_pattern": "gh_*",
            "direction": "output",
            "action": "block",
            "categories": ["secret"],
        }
    )
    withheld = await gateway.call_tool("gh_issue", {"reply": "row: ghp_" + "b" * 36}, CallContext())
    assert withheld.is_error and "withheld" in text_of(withheld) and "ghp_" not in text_of(withheld)

    await sec.sanitization.create(
        {"name": "echo-raw", "tool_pattern": "echo", "direction": "output", "action": "allow", "priority": 5}
    )
    out = await gateway.call_tool("echo", {"reply": f"key={secret}"}, CallContext())
    assert text_of(out) == f"key={secret}"

    entries = (await sec.audit.query(sec.audit.build_query({"limit": 50})))["entries"]
    dumped = json.dumps(entries)
    assert secret not in dumped and "bob@example.com" not in dumped  # audit always redacts
    assert {e["outcome"] for e in entries if e["tool"] == "db_query"} == {"blocked", "success"}
    assert [e["rule"] for e in entries if e["tool"] == "gh_issue"] == ["gh-out"]
    stats = sec.sanitization.get_statistics()
    assert stats["blocked"] == 2 and stats["redacted"] >= 2 and stats["by_detector"]["aws_access_key"] >= 2


@pytest.mark.anyio
async def test_structured_content_is_sanitized(gateway: Gateway) -> None:
    from mcp_types import CallToolResult, TextContent

    class Structured:
        type = "structured"

        async def execute(self, tool, arguments, ctx):
            return CallToolResult(
                content=[TextContent(text="see structured")],
                structured_content={"user": {"email": "eve@example.com", "key": "AKIAIOSFODNN7EXAMPLE"}},
            )

        def check_config(self, config):
            return []

    from magictunnel.catalog.catalog import SourceSnapshot
    from magictunnel.catalog.models import Routing, ToolDef

    gateway.backends.register(Structured())
    gateway.catalog.set_source(
        SourceSnapshot(name="s", tools=[ToolDef(name="who", routing=Routing(type="structured"))])
    )
    out = await gateway.call_tool("who", {}, CallContext())
    assert out.structured_content == {
        "user": {"email": "eve@example.com", "key": "[REDACTED:aws_access_key]"}
    }


@pytest.mark.anyio
async def test_tester_and_validation(suite: Any) -> None:
    s = suite.sanitization
    out = s.test({"note": "card 4111 1111 1111 1111"}, categories=["pii"])
    assert out["result"] == {"note": "card [REDACTED:credit_card]"} and out["findings"][0]["path"] == "$.note"
    out = s.test("AKIAIOSFODNN7EXAMPLE", tool="x", direction="output")
    assert out["policy"] == "default-output" and out["result"] == "[REDACTED:aws_access_key]"
    with pytest.raises(InvalidInput, match="unknown nonsense"):
        s.test("x", categories=["nonsense"])
    with pytest.raises(InvalidInput, match="categories"):
        await s.create({"name": "p", "action": "redact", "categories": ["galaxy"]})
    with pytest.raises(InvalidInput, match="direction"):
        await s.create({"name": "p", "action": "redact", "direction": "sideways"})
