"""A real HTTP + GraphQL service on 127.0.0.1 for the http/graphql backend tests.

Served by uvicorn in a background thread on an ephemeral port; the tests talk to it
over real sockets through the backends' shared httpx client.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import graphql
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

FLAKY: dict[str, int] = defaultdict(int)
SEEN: dict[str, int] = defaultdict(int)

SDL = """
type User { id: ID!, name: String!, tags: [String!]! }
type Query {
  user(id: ID!): User
  users(limit: Int = 10): [User!]!
  boom: String
}
input NewUser { name: String!, tags: [String!] }
type Mutation { createUser(input: NewUser!): User! }
"""

USERS = {"1": {"id": "1", "name": "Ada", "tags": ["math"]}, "2": {"id": "2", "name": "Linus", "tags": []}}


def _resolve_user(_obj: Any, _info: Any, id: str) -> Any:
    return USERS.get(id)


def _resolve_users(_obj: Any, _info: Any, limit: int = 10) -> Any:
    return list(USERS.values())[:limit]


def _resolve_boom(_obj: Any, _info: Any) -> Any:
    raise ValueError("boom field exploded")


def _create_user(_obj: Any, _info: Any, input: dict[str, Any]) -> Any:
    new = {"id": str(len(USERS) + 100), "name": input["name"], "tags": input.get("tags") or []}
    return new


SCHEMA = graphql.build_schema(SDL)
SCHEMA.query_type.fields["user"].resolve = _resolve_user
SCHEMA.query_type.fields["users"].resolve = _resolve_users
SCHEMA.query_type.fields["boom"].resolve = _resolve_boom
SCHEMA.mutation_type.fields["createUser"].resolve = _create_user


async def echo(request: Request) -> Response:
    body = await request.body()
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope.get("raw_path", b"").decode(),
            "query": [[k, v] for k, v in request.query_params.multi_items()],
            "headers": {k: v for k, v in request.headers.items()},
            "cookies": dict(request.cookies),
            "body": body.decode("utf-8", "replace"),
            "json": parsed,
            "form": dict(await request.form())
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
            else None,
        }
    )


async def status(request: Request) -> Response:
    code = int(request.path_params["code"])
    return PlainTextResponse(
        f"status {code} body " + "x" * int(request.query_params.get("pad", "0")), status_code=code
    )


async def flaky(request: Request) -> Response:
    key = request.path_params["key"]
    failures = int(request.path_params["failures"])
    SEEN[key] += 1
    if FLAKY[key] < failures:
        FLAKY[key] += 1
        code = int(request.query_params.get("code", "503"))
        return PlainTextResponse("try again", status_code=code)
    return JSONResponse({"attempts": SEEN[key]})


async def big(request: Request) -> Response:
    size = int(request.path_params["size"])
    if request.query_params.get("stream"):

        async def chunks() -> Any:
            sent = 0
            while sent < size:
                n = min(1024, size - sent)
                sent += n
                yield b"y" * n

        return StreamingResponse(chunks(), media_type="text/plain")
    return PlainTextResponse("y" * size)


async def slow(request: Request) -> Response:
    await asyncio.sleep(float(request.path_params["secs"]))
    return PlainTextResponse("finally")


async def text(_request: Request) -> Response:
    return PlainTextResponse("plain words, not JSON")


async def json_list(_request: Request) -> Response:
    return JSONResponse([1, 2, 3])


async def bad_json(_request: Request) -> Response:
    return Response(b"{not json", media_type="application/json")


async def empty(_request: Request) -> Response:
    return Response(status_code=204)


async def redirect(_request: Request) -> Response:
    return RedirectResponse("/echo/redirected", status_code=302)


async def redirect_to(request: Request) -> Response:
    return RedirectResponse(
        request.query_params["url"], status_code=int(request.query_params.get("code", "302"))
    )


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


async def binary(request: Request) -> Response:
    kind = request.query_params.get("type", "")
    body = bytes(range(256)) if kind != "image/png" else PNG
    return Response(body, headers={"content-type": kind} if kind else {})


async def set_cookie(_request: Request) -> Response:
    response = JSONResponse({"set": True})
    response.set_cookie("session", "caller-one-session")
    return response


async def secret_echo(request: Request) -> Response:
    # a careless API that echoes the credential back in its error body
    return PlainTextResponse(f"denied for key {request.headers.get('x-api-key')}", status_code=403)


async def graphql_endpoint(request: Request) -> Response:
    if request.method == "GET":
        query = request.query_params.get("query", "")
        variables = json.loads(request.query_params.get("variables") or "null")
        operation = request.query_params.get("operationName")
    else:
        payload = await request.json()
        query, variables = payload.get("query", ""), payload.get("variables")
        operation = payload.get("operationName")
    if request.url.path.endswith("/auth") and request.headers.get("authorization") != "Bearer gql-token":
        return JSONResponse({"errors": [{"message": "not authenticated"}]}, status_code=401)
    result = await graphql.graphql(SCHEMA, query, variable_values=variables, operation_name=operation)
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [e.formatted for e in result.errors]
    status_code = 200 if result.data is not None or not result.errors else 400
    return JSONResponse(body, status_code=status_code)


ROUTES = [
    Route("/echo", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route("/echo/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    Route("/status/{code:int}", status, methods=["GET", "POST"]),
    Route("/flaky/{key}/{failures:int}", flaky, methods=["GET", "POST"]),
    Route("/big/{size:int}", big),
    Route("/slow/{secs}", slow),
    Route("/text", text),
    Route("/list", json_list),
    Route("/badjson", bad_json),
    Route("/empty", empty),
    Route("/redirect", redirect),
    Route("/redirect-to", redirect_to, methods=["GET", "POST"]),
    Route("/set-cookie", set_cookie),
    Route("/binary", binary),
    Route("/secret-echo", secret_echo),
    Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
    Route("/graphql/auth", graphql_endpoint, methods=["POST"]),
]


@contextmanager
def serve(app: Any = None) -> Iterator[str]:
    """Run the app on 127.0.0.1:<ephemeral> in a thread; yields the base URL."""
    app = app or Starlette(routes=ROUTES)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    else:
        raise RuntimeError("test HTTP server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port
