"""Shared HTTP plumbing for the `http` and `graphql` backends.

One pooled `httpx.AsyncClient` (closed on gateway stop), credential injection from the
vault, sending with retries and exponential backoff, and reading responses within a size
limit (`http_result.py` turns them into tool results). See `backends/http.py` for the
`routing.config` keys these implement (`timeout`, `retries`, `retry_backoff`,
`retry_backoff_max`, `retry_on_status`, `max_response_bytes`, `auth`).
"""

from __future__ import annotations

import asyncio
import base64
import codecs
import inspect
import logging
import re
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from magictunnel.backends.base import BackendError

log = logging.getLogger("magictunnel.backends.http")

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_RETRY_STATUS = (502, 503, 504)
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
EXCERPT = 500
AUTH_TYPES = ("bearer", "api_key", "basic")


class _HideQueryStrings(logging.Filter):
    """httpx logs every request URL at INFO; a query string may carry an injected API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, httpx.URL) for a in record.args):
            record.args = tuple(
                a.copy_with(query=b"[redacted]") if isinstance(a, httpx.URL) and a.query else a
                for a in record.args
            )
        return True


if not any(isinstance(f, _HideQueryStrings) for f in logging.getLogger("httpx").filters):
    logging.getLogger("httpx").addFilter(_HideQueryStrings())


def _no_cookies() -> CookieJar:
    """The shared client serves every tool and every caller: it must not remember cookies one
    API set for one caller and send them on another caller's request."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class SharedHttpClient:
    """One pooled `httpx.AsyncClient` for every HTTP-based backend, closed on gateway stop.

    The client is created on first use in the running event loop; a different loop (tests
    run one loop each) gets a fresh client.
    """

    def __init__(self) -> None:
        self._client: httpx.AsyncClient | None = None
        self._insecure: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self, verify: bool = True) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client = self._insecure = None
            self._loop = loop
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        if verify:
            if self._client is None or self._client.is_closed:
                self._client = httpx.AsyncClient(limits=limits, cookies=_no_cookies())
            return self._client
        if self._insecure is None or self._insecure.is_closed:
            self._insecure = httpx.AsyncClient(limits=limits, verify=False, cookies=_no_cookies())
        return self._insecure

    async def aclose(self) -> None:
        clients = [c for c in (self._client, self._insecure) if c is not None]
        self._client = self._insecure = None
        for client in clients:
            if self._loop is asyncio.get_running_loop():
                await client.aclose()


@dataclass
class Outcome:
    """A completed HTTP exchange, body already read within the size limit."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytes
    secrets: list[str] = field(default_factory=list)
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self) -> str:
        return redact(self.body.decode(_charset(self.headers), "replace"), self.secrets)

    def is_json(self) -> bool:
        ctype = self.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return ctype == "application/json" or ctype.endswith("+json")


def _charset(headers: httpx.Headers) -> str:
    match = re.search(r"charset=\"?([\w-]+)", headers.get("content-type", ""), re.I)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "[REDACTED]")
    return text


# ---- config checks ------------------------------------------------------------------------
def check_auth(auth: Any) -> list[str]:
    if auth is None:
        return []
    if not isinstance(auth, dict):
        return ["auth: expected a mapping {type, credential, in, name}"]
    problems = []
    if auth.get("type") not in AUTH_TYPES:
        problems.append(f"auth.type: expected one of {', '.join(AUTH_TYPES)}, got {auth.get('type')!r}")
    if not isinstance(auth.get("credential"), str) or not auth.get("credential"):
        problems.append("auth.credential: required, the name of a credential in the vault")
    if auth.get("type") == "api_key" and auth.get("in", "header") not in ("header", "query", "cookie"):
        problems.append(f"auth.in: expected header, query or cookie, got {auth.get('in')!r}")
    return problems


def check_common(config: dict[str, Any]) -> list[str]:
    problems = []
    if "headers" in config and not isinstance(config["headers"], dict):
        problems.append("headers: expected a mapping of header name to value")
    for key in ("timeout", "retry_backoff", "retry_backoff_max"):
        value = config.get(key)
        if key in config and (not isinstance(value, int | float) or isinstance(value, bool) or value < 0):
            problems.append(f"{key}: expected a non-negative number of seconds")
    for key in ("retries", "max_response_bytes"):
        value = config.get(key)
        if key in config and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            problems.append(f"{key}: expected a non-negative integer")
    statuses = config.get("retry_on_status")
    if statuses is not None and (
        not isinstance(statuses, list) or not all(isinstance(s, int) and 100 <= s <= 599 for s in statuses)
    ):
        problems.append("retry_on_status: expected a list of HTTP status codes")
    return problems + check_auth(config.get("auth"))


# ---- credentials ----------------------------------------------------------------------------
async def resolve_secret(vault_provider: Any, name: str) -> str:
    vault = vault_provider() if callable(vault_provider) else vault_provider
    if vault is None:
        raise BackendError(f"credential {name!r} is not available: no credential vault is configured")
    value = vault.get_secret(name)
    if inspect.isawaitable(value):
        value = await value
    if not value:
        raise BackendError(f"credential {name!r} is not available in the vault")
    return str(value)


async def apply_auth(
    auth: dict[str, Any] | None,
    vault_provider: Any,
    headers: dict[str, str],
    params: list[tuple[str, str]],
    cookies: dict[str, str],
) -> list[str]:
    """Inject the tool's credential; returns the secrets to redact from any output."""
    if not auth:
        return []
    secret = await resolve_secret(vault_provider, str(auth.get("credential")))
    extra: list[str] = []
    oauth = auth.get("oauth2")
    if isinstance(oauth, dict) and oauth.get("flow") == "client_credentials":  # see backends/oauth2_client.py
        from magictunnel.backends.oauth2_client import client_credentials_token

        extra = [secret]
        secret = await client_credentials_token(oauth, secret)
    kind = auth.get("type")
    if kind == "bearer":
        headers["Authorization"] = f"Bearer {secret}"
    elif kind == "api_key":
        where = auth.get("in", "header")
        if where == "query":
            params.append((str(auth.get("name") or "api_key"), secret))
        elif where == "cookie":
            cookies[str(auth.get("name") or "api_key")] = secret
        else:
            headers[str(auth.get("name") or "X-API-Key")] = secret
    elif kind == "basic":
        username = auth.get("username")
        pair = f"{username}:{secret}" if username else secret
        if ":" not in pair:
            raise BackendError(f'credential {auth.get("credential")!r}: basic auth needs "user:password"')
        token = base64.b64encode(pair.encode()).decode()
        headers["Authorization"] = f"Basic {token}"
        return [secret, token, *extra]
    else:
        raise BackendError(f"auth.type {kind!r} is not supported")
    return [secret, *extra]


def build_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    params: list[tuple[str, str]],
    cookies: dict[str, str],
    timeout: float,
    secrets: list[str],
    **kwargs: Any,
) -> httpx.Request:
    """Build the request; query parameters are appended to any already in the URL."""
    if cookies:
        jar = "; ".join(f"{name}={value}" for name, value in cookies.items())
        headers["Cookie"] = f"{headers['Cookie']}; {jar}" if headers.get("Cookie") else jar
    try:
        target = httpx.URL(url)
        if params:
            target = target.copy_with(params=httpx.QueryParams([*target.params.multi_items(), *params]))
        return client.build_request(method, target, headers=headers, timeout=timeout, **kwargs)
    except (httpx.InvalidURL, httpx.UnsupportedProtocol, ValueError, TypeError) as exc:
        raise BackendError(redact(f"cannot build the request for {url}: {exc}", secrets)) from None


# ---- sending with retries -------------------------------------------------------------------
@dataclass
class RetryPolicy:
    retries: int = 2
    backoff: float = 0.2
    backoff_max: float = 5.0
    statuses: tuple[int, ...] = DEFAULT_RETRY_STATUS
    status_retry: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any], method: str) -> RetryPolicy:
        explicit = config.get("retry_on_status")
        return cls(
            retries=int(config.get("retries", 2)),
            backoff=float(config.get("retry_backoff", 0.2)),
            backoff_max=float(config.get("retry_backoff_max", 5.0)),
            statuses=tuple(explicit) if explicit is not None else DEFAULT_RETRY_STATUS,
            status_retry=explicit is not None or method in IDEMPOTENT,
        )

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        base = min(self.backoff * (2**attempt), self.backoff_max)
        if retry_after and retry_after.strip().isdigit():
            return min(max(base, float(retry_after)), self.backoff_max)
        return base


MAX_REDIRECTS = 10


def _redirect_request(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    url = request.url.join(response.headers["location"])
    method = request.method
    status = response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = request.headers.copy()
    headers.pop("host", None)
    content: bytes | None = request.content
    if method != request.method:
        content = None
        for name in ("content-length", "content-type", "transfer-encoding"):
            headers.pop(name, None)
    return httpx.Request(method, url, headers=headers, content=content, extensions=request.extensions)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    policy: RetryPolicy,
    max_bytes: int,
    secrets: list[str],
    follow_redirects: bool = True,
) -> Outcome:
    """Send with retries; redirects are followed here, and never to another origin while a
    credential is attached (its header would go along)."""
    attempt = 0
    redirects = 0
    while True:
        try:
            response = await client.send(request, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if attempt < policy.retries:
                await asyncio.sleep(policy.delay(attempt))
                attempt += 1
                continue
            where = redact(f"{request.method} {request.url}", secrets)
            tries = f" after {attempt + 1} attempts" if attempt else ""
            raise BackendError(f"cannot connect to {where}{tries}: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise BackendError(
                f"{request.method} {redact(str(request.url), secrets)} timed out ({type(exc).__name__})"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(redact(f"{request.method} {request.url} failed: {exc}", secrets)) from None
        try:
            if policy.status_retry and response.status_code in policy.statuses and attempt < policy.retries:
                retry_after = response.headers.get("retry-after")
                await response.aclose()
                await asyncio.sleep(policy.delay(attempt, retry_after))
                attempt += 1
                continue
            if follow_redirects and response.has_redirect_location:
                if redirects >= MAX_REDIRECTS:
                    raise BackendError(f"more than {MAX_REDIRECTS} redirects")
                following = _redirect_request(request, response)
                if secrets and _origin(following.url) != _origin(request.url):
                    target = redact(str(following.url.copy_with(query=None)), secrets)
                    raise BackendError(
                        f"redirect to another origin ({target}) not followed: the request carries a credential"
                    )
                request = following
                redirects += 1
                continue
            body = await _read_limited(response, max_bytes)
        finally:
            await response.aclose()
        url = redact(str(request.url.copy_with(query=None)), secrets)
        return Outcome(response.status_code, response.reason_phrase, response.headers, body, secrets, url)


async def _read_limited(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BackendError(f"response too large: {declared} bytes (limit {max_bytes})")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise BackendError(f"response too large: more than {max_bytes} bytes")
            chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise BackendError(f"reading the response failed: {type(exc).__name__}") from None
    return b"".join(chunks)
