"""The `http` backend against a real HTTP service on 127.0.0.1."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from local_http_app import FLAKY, SEEN, closed_port, serve

from magictunnel.backends.http import HttpBackend, render_url
from magictunnel.backends.http_client import RetryPolicy, SharedHttpClient
from magictunnel.catalog.models import Routing, ToolDef
from magictunnel.config.loader import LoadedConfig
from magictunnel.config.models import MagicTunnelConfig
from magictunnel.core.gateway import Gateway
from magictunnel.pipeline.context import CallContext

pytestmark = pytest.mark.anyio


class DictVault:
    """The vault interface the auth feature publishes as gateway.extensions["vault"]."""

    def __init__(self, secrets: dict[str, str]) -> None:
        self.secrets = secrets
        self.asked: list[str] = []

    def get_secret(self, name: str) -> str | None:
        self.asked.append(name)
        return self.secrets.get(name)


class AsyncVault(DictVault):
    async def get_secret(self, name: str) -> str | None:  # type: ignore[override]
        return super().get_secret(name)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve() as url:
        yield url


@pytest.fixture
async def backend() -> AsyncIterator[HttpBackend]:
    b = HttpBackend(
        SharedHttpClient(),
        DictVault({"api_key": "k-123456", "token": "tok-abcdef", "login": "alice:s3cret!", "pw": "hunter22"}),
    )
    yield b
    await b.aclose()


def tool(config: dict[str, Any], name: str = "t") -> ToolDef:
    return ToolDef(name=name, routing=Routing(type="http", config=config))


async def run(backend: HttpBackend, config: dict[str, Any], args: dict[str, Any] | None = None):
    return await backend.execute(tool(config), args or {}, CallContext())


def text_of(result: Any) -> str:
    return result.content[0].text


# ---- templating and request shape ---------------------------------------------------------------
async def test_get_with_templated_path_query_and_headers(backend: HttpBackend, base_url: str) -> None:
    config = {
        "url": base_url + "/echo/users/{user}/repos",
        "headers": {"X-Trace": "trace-{trace}", "X-Empty": "{absent}"},
        "query": {"page": "{page}", "tag": "{tags}", "missing": "{nope}", "flag": "{on}"},
    }
    result = await run(
        backend, config, {"user": "a/b c", "trace": 7, "page": 2, "tags": ["x", "y"], "on": True}
    )
    assert not result.is_error, text_of(result)
    echo = result.structured_content
    assert echo["method"] == "GET"
    # a slash in a path parameter stays inside one segment
    assert echo["raw_path"] == "/echo/users/a%2Fb%20c/repos"
    assert echo["query"] == [["page", "2"], ["tag", "x"], ["tag", "y"], ["flag", "true"]]
    assert echo["headers"]["x-trace"] == "trace-7"
    assert "x-empty" not in echo["headers"]


async def test_leading_placeholder_is_a_raw_base_url(backend: HttpBackend, base_url: str) -> None:
    result = await run(backend, {"url": "{base}/echo/{id}"}, {"base": base_url, "id": "42"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["path"] == "/echo/42"
    assert render_url("https://h/{a}?q={b}", {"a": "x y", "b": "1&2"}) == "https://h/x%20y?q=1%262"


async def test_post_json_body_template_keeps_types(backend: HttpBackend, base_url: str) -> None:
    config = {
        "method": "POST",
        "url": base_url + "/echo",
        "body": {"title": "Issue: {title}", "labels": "{labels}", "count": "{n}", "opt": "{missing}"},
    }
    result = await run(backend, config, {"title": "bug", "labels": ["a", "b"], "n": 3})
    echo = result.structured_content
    assert echo["method"] == "POST"
    assert echo["json"] == {"title": "Issue: bug", "labels": ["a", "b"], "count": 3}
    assert echo["headers"]["content-type"] == "application/json"


async def test_unused_arguments_go_to_body_or_query_automatically(
    backend: HttpBackend, base_url: str
) -> None:
    post = await run(
        backend, {"method": "POST", "url": base_url + "/echo/{id}"}, {"id": 5, "name": "n", "x": [1]}
    )
    assert post.structured_content["json"] == {"name": "n", "x": [1]}
    assert post.structured_content["path"] == "/echo/5"
    get = await run(backend, {"url": base_url + "/echo/{id}"}, {"id": 5, "q": "hello world", "n": 1})
    assert get.structured_content["query"] == [["q", "hello world"], ["n", "1"]]
    none = await run(backend, {"method": "POST", "url": base_url + "/echo", "arguments": "none"}, {"a": 1})
    assert none.structured_content["body"] == ""


async def test_text_body_and_form_body(backend: HttpBackend, base_url: str) -> None:
    text = await run(
        backend,
        {
            "method": "PUT",
            "url": base_url + "/echo",
            "body_text": "hello {who}",
            "content_type": "text/markdown",
        },
        {"who": "world"},
    )
    assert text.structured_content["body"] == "hello world"
    assert text.structured_content["headers"]["content-type"] == "text/markdown"
    form = await run(
        backend,
        {"method": "POST", "url": base_url + "/echo", "form": {"a": "{a}", "b": "x", "tag": "{tags}"}},
        {"a": "1 2", "tags": ["p", "q"]},
    )
    assert form.structured_content["body"] == "a=1+2&b=x&tag=p&tag=q"


async def test_header_injection_is_refused(backend: HttpBackend, base_url: str) -> None:
    from magictunnel.backends.base import BackendError

    with pytest.raises(BackendError, match="header X-Name: value contains a line break"):
        await run(backend, {"url": base_url + "/echo", "headers": {"X-Name": "{v}"}}, {"v": "a\r\nEvil: 1"})


# ---- responses ----------------------------------------------------------------------------------
async def test_text_list_empty_and_invalid_json_responses(backend: HttpBackend, base_url: str) -> None:
    text = await run(backend, {"url": base_url + "/text"})
    assert text_of(text) == "plain words, not JSON" and text.structured_content is None
    listing = await run(backend, {"url": base_url + "/list"})
    assert not listing.is_error and listing.structured_content is None
    assert [int(x) for x in text_of(listing).replace("[", "").replace("]", "").split(",")] == [1, 2, 3]
    empty = await run(backend, {"url": base_url + "/empty"})
    assert not empty.is_error and text_of(empty) == ""
    lenient = await run(backend, {"url": base_url + "/badjson"})
    assert not lenient.is_error and text_of(lenient) == "{not json"
    strict = await run(backend, {"url": base_url + "/badjson", "response": "json"})
    assert strict.is_error and "not valid JSON" in text_of(strict)
    forced_text = await run(backend, {"url": base_url + "/echo", "response": "text"})
    assert forced_text.structured_content is None and '"method"' in text_of(forced_text)


async def test_binary_responses(backend: HttpBackend, base_url: str) -> None:
    from local_http_app import PNG

    image = await run(backend, {"url": base_url + "/binary?type=image/png"})
    assert image.content[0].type == "image" and image.content[0].mime_type == "image/png"
    assert base64.b64decode(image.content[0].data) == PNG
    blob = await run(backend, {"url": base_url + "/binary", "query": {"type": "application/octet-stream"}})
    resource = blob.content[0].resource
    assert blob.content[0].type == "resource" and resource.mime_type == "application/octet-stream"
    assert base64.b64decode(resource.blob) == bytes(range(256))
    assert resource.uri == base_url + "/binary"  # the query is not echoed (it may carry a credential)
    untyped = await run(backend, {"url": base_url + "/binary"})
    assert untyped.content[0].type == "resource"
    as_text = await run(backend, {"url": base_url + "/binary?type=image/png", "response": "text"})
    assert as_text.content[0].type == "text"


async def test_non_2xx_is_an_error_with_status_and_excerpt(backend: HttpBackend, base_url: str) -> None:
    result = await run(backend, {"url": base_url + "/status/404?pad=2000"})
    assert result.is_error
    assert text_of(result).startswith("HTTP 404 Not Found: status 404 body xxx")
    assert text_of(result).endswith("...")
    assert len(text_of(result)) < 600
    assert result.structured_content["status"] == 404


async def test_redirects_are_followed_unless_disabled(backend: HttpBackend, base_url: str) -> None:
    followed = await run(backend, {"url": base_url + "/redirect"})
    assert followed.structured_content["path"] == "/echo/redirected"
    kept = await run(backend, {"url": base_url + "/redirect", "follow_redirects": False})
    assert kept.is_error and "HTTP 302" in text_of(kept)


async def test_redirect_method_rules(backend: HttpBackend, base_url: str) -> None:
    see_other = await run(
        backend,
        {"method": "POST", "url": base_url + "/redirect-to?code=303&url=/echo/after", "body": {"a": 1}},
    )
    assert see_other.structured_content["method"] == "GET" and see_other.structured_content["body"] == ""
    temporary = await run(
        backend,
        {"method": "POST", "url": base_url + "/redirect-to?code=307&url=/echo/after", "body": {"a": 1}},
    )
    assert temporary.structured_content["method"] == "POST" and temporary.structured_content["json"] == {
        "a": 1
    }


async def test_credentials_never_follow_a_redirect_to_another_origin(
    backend: HttpBackend, base_url: str
) -> None:
    from magictunnel.backends.base import BackendError

    port = base_url.rsplit(":", 1)[1]
    elsewhere = f"http://localhost:{port}/echo/elsewhere"  # same server, another origin
    auth = {"type": "api_key", "credential": "api_key", "name": "X-Key"}
    same = await run(backend, {"url": base_url + "/redirect-to?url=/echo/same", "auth": auth})
    assert same.structured_content["path"] == "/echo/same"
    assert same.structured_content["headers"]["x-key"] == "k-123456"
    with pytest.raises(
        BackendError, match=r"redirect to another origin .* not followed: the request carries"
    ):
        await run(backend, {"url": base_url + "/redirect-to?url=" + elsewhere, "auth": auth})
    anonymous = await run(backend, {"url": base_url + "/redirect-to", "query": {"url": elsewhere}})
    assert anonymous.structured_content["path"] == "/echo/elsewhere"


async def test_cookies_are_not_carried_between_calls(backend: HttpBackend, base_url: str) -> None:
    first = await run(backend, {"url": base_url + "/set-cookie"})
    assert first.structured_content == {"set": True}
    second = await run(backend, {"url": base_url + "/echo"})
    assert second.structured_content["cookies"] == {}


async def test_response_size_limit(backend: HttpBackend, base_url: str) -> None:
    from magictunnel.backends.base import BackendError

    ok = await run(backend, {"url": base_url + "/big/1000", "max_response_bytes": 1000})
    assert len(text_of(ok)) == 1000
    with pytest.raises(BackendError, match=r"response too large: 5000 bytes \(limit 1000\)"):
        await run(backend, {"url": base_url + "/big/5000", "max_response_bytes": 1000})
    with pytest.raises(BackendError, match="response too large: more than 3000 bytes"):
        await run(backend, {"url": base_url + "/big/10000?stream=1", "max_response_bytes": 3000})


async def test_timeout(backend: HttpBackend, base_url: str) -> None:
    from magictunnel.backends.base import BackendError

    with pytest.raises(BackendError, match="timed out"):
        await run(backend, {"url": base_url + "/slow/3", "timeout": 0.2})


# ---- retries ------------------------------------------------------------------------------------
async def test_retries_on_503_then_succeeds(backend: HttpBackend, base_url: str) -> None:
    result = await run(backend, {"url": base_url + "/flaky/get-ok/2", "retries": 2, "retry_backoff": 0.01})
    assert not result.is_error, text_of(result)
    assert result.structured_content == {"attempts": 3}


async def test_retries_exhausted_reports_last_status(backend: HttpBackend, base_url: str) -> None:
    result = await run(
        backend, {"url": base_url + "/flaky/get-fail/5?code=502", "retries": 1, "retry_backoff": 0.01}
    )
    assert result.is_error and text_of(result).startswith("HTTP 502")
    assert SEEN["get-fail"] == 2


async def test_post_not_retried_on_status_unless_configured(backend: HttpBackend, base_url: str) -> None:
    once = await run(
        backend, {"method": "POST", "url": base_url + "/flaky/post-default/1", "retry_backoff": 0}
    )
    assert once.is_error and SEEN["post-default"] == 1
    configured = await run(
        backend,
        {
            "method": "POST",
            "url": base_url + "/flaky/post-set/1",
            "retry_on_status": [503],
            "retry_backoff": 0,
        },
    )
    assert configured.structured_content == {"attempts": 2}


async def test_status_not_in_list_is_not_retried(backend: HttpBackend, base_url: str) -> None:
    FLAKY.pop("get-500", None)
    result = await run(backend, {"url": base_url + "/flaky/get-500/1?code=500", "retry_backoff": 0})
    assert result.is_error and SEEN["get-500"] == 1


async def test_connect_errors_are_retried_then_reported(backend: HttpBackend) -> None:
    from magictunnel.backends.base import BackendError

    with pytest.raises(
        BackendError, match=r"cannot connect to GET http://127\.0\.0\.1:\d+/x after 3 attempts"
    ):
        await run(
            backend, {"url": f"http://127.0.0.1:{closed_port()}/x", "retries": 2, "retry_backoff": 0.01}
        )


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(retries=5, backoff=0.5, backoff_max=3.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(0, retry_after="2") == 2.0
    assert policy.delay(0, retry_after="60") == 3.0
    assert policy.delay(1, retry_after="soon") == 1.0


# ---- credential injection -----------------------------------------------------------------------
async def test_bearer_api_key_and_basic_injection(backend: HttpBackend, base_url: str) -> None:
    bearer = await run(
        backend, {"url": base_url + "/echo", "auth": {"type": "bearer", "credential": "token"}}
    )
    assert bearer.structured_content["headers"]["authorization"] == "Bearer tok-abcdef"
    header = await run(
        backend,
        {"url": base_url + "/echo", "auth": {"type": "api_key", "credential": "api_key", "name": "X-Key"}},
    )
    assert header.structured_content["headers"]["x-key"] == "k-123456"
    default_header = await run(
        backend, {"url": base_url + "/echo", "auth": {"type": "api_key", "credential": "api_key"}}
    )
    assert default_header.structured_content["headers"]["x-api-key"] == "k-123456"
    query = await run(
        backend,
        {
            "url": base_url + "/echo?a=1",
            "auth": {"type": "api_key", "credential": "api_key", "in": "query", "name": "key"},
        },
    )
    assert query.structured_content["query"] == [["a", "1"], ["key", "k-123456"]]
    cookie = await run(
        backend,
        {
            "url": base_url + "/echo",
            "auth": {"type": "api_key", "credential": "api_key", "in": "cookie", "name": "sid"},
        },
    )
    assert cookie.structured_content["cookies"] == {"sid": "k-123456"}
    basic = await run(backend, {"url": base_url + "/echo", "auth": {"type": "basic", "credential": "login"}})
    expected = "Basic " + base64.b64encode(b"alice:s3cret!").decode()
    assert basic.structured_content["headers"]["authorization"] == expected
    user = await run(
        backend, {"url": base_url + "/echo", "auth": {"type": "basic", "credential": "pw", "username": "bot"}}
    )
    assert (
        user.structured_content["headers"]["authorization"]
        == "Basic " + base64.b64encode(b"bot:hunter22").decode()
    )


async def test_async_vault_is_supported(base_url: str) -> None:
    backend = HttpBackend(SharedHttpClient(), lambda: AsyncVault({"token": "async-tok"}))
    try:
        result = await run(
            backend, {"url": base_url + "/echo", "auth": {"type": "bearer", "credential": "token"}}
        )
        assert result.structured_content["headers"]["authorization"] == "Bearer async-tok"
    finally:
        await backend.aclose()


async def test_missing_credential_or_vault_names_the_credential(backend: HttpBackend, base_url: str) -> None:
    from magictunnel.backends.base import BackendError

    with pytest.raises(BackendError, match="credential 'nope' is not available in the vault"):
        await run(backend, {"url": base_url + "/echo", "auth": {"type": "bearer", "credential": "nope"}})
    no_vault = HttpBackend(SharedHttpClient(), lambda: None)
    with pytest.raises(BackendError, match="credential 'token' is not available: no credential vault"):
        await run(no_vault, {"url": base_url + "/echo", "auth": {"type": "bearer", "credential": "token"}})


async def test_secrets_are_redacted_and_never_logged(
    backend: HttpBackend, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = await run(
        backend, {"url": base_url + "/secret-echo", "auth": {"type": "api_key", "credential": "api_key"}}
    )
    assert result.is_error
    assert "k-123456" not in text_of(result) and "[REDACTED]" in text_of(result)
    from magictunnel.backends.base import BackendError

    with pytest.raises(BackendError) as info:
        await run(
            backend,
            {
                "url": f"http://127.0.0.1:{closed_port()}/x",
                "retries": 0,
                "auth": {"type": "api_key", "credential": "api_key", "in": "query"},
            },
        )
    assert "k-123456" not in str(info.value)
    await run(
        backend,
        {"url": base_url + "/echo", "auth": {"type": "api_key", "credential": "api_key", "in": "query"}},
    )
    assert "k-123456" not in caplog.text


# ---- config checks ------------------------------------------------------------------------------
def test_check_config_names_each_bad_field() -> None:
    b = HttpBackend()
    assert b.check_config({"url": "http://x/{id}", "method": "post"}) == []
    problems = b.check_config(
        {
            "url": "ftp://x",
            "method": "FETCH",
            "headers": [],
            "retries": -1,
            "timeout": "soon",
            "body": {},
            "form": {},
            "response": "xml",
            "auth": {"type": "oauth", "in": "body"},
        }
    )
    joined = "\n".join(problems)
    for expected in (
        "url: expected an http:// or https:// URL",
        "method: expected one of",
        "headers: expected a mapping",
        "retries: expected a non-negative integer",
        "timeout: expected a non-negative number",
        "body: use only one of",
        "response: expected auto, json or text",
        "auth.type: expected one of bearer, api_key, basic",
        "auth.credential: required",
    ):
        assert expected in joined
    assert b.check_config({})[0].startswith("url: required")


# ---- through the gateway: registration, the one execution path, pooled client closed on stop ----
async def test_http_tool_through_gateway_and_client_closed_on_stop(tmp_path: Path, base_url: str) -> None:
    caps = tmp_path / "caps"
    caps.mkdir()
    (caps / "api.yaml").write_text(
        yaml.safe_dump(
            {
                "tools": [
                    {
                        "name": "get_user",
                        "description": "Fetch a user",
                        "inputSchema": {
                            "type": "object",
                            "properties": {"id": {"type": "integer"}},
                            "required": ["id"],
                        },
                        "routing": {
                            "type": "http",
                            "config": {
                                "url": base_url + "/echo/users/{id}",
                                "auth": {"type": "bearer", "credential": "token"},
                            },
                        },
                    }
                ]
            }
        )
    )
    config = MagicTunnelConfig.model_validate(
        {
            "registry": {"paths": [str(caps)], "hot_reload": False},
            "external_mcp": {"enabled": False, "config_file": None},
        }
    )
    gateway = Gateway(LoadedConfig(config=config, path=None), base_dir=tmp_path)
    gateway.extensions["vault"] = DictVault({"token": "gw-token-1"})
    await gateway.start()
    try:
        assert gateway.files.problems == []
        result = await gateway.call_tool("get_user", {"id": 9}, CallContext())
        assert not result.is_error, text_of(result)
        assert result.structured_content["path"] == "/echo/users/9"
        assert result.structured_content["headers"]["authorization"] == "Bearer gw-token-1"
        invalid = await gateway.call_tool("get_user", {"id": "nine"}, CallContext())
        assert invalid.is_error and "id" in text_of(invalid)
        pooled = gateway.backends.get("http").client.get()
        assert gateway.backends.get("graphql").client is gateway.backends.get("http").client
    finally:
        await gateway.stop()
    assert pooled.is_closed
