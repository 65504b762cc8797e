"""A real Petstore HTTP service (the operations of the public Petstore spec, in memory) for
end-to-end tests of generated tools. `getPetById` requires the `api_key` header to be `PETSTORE_KEY`
and `addPet` an OAuth2 bearer token `PETSTORE_TOKEN`, as the spec's security says. Served by uvicorn on 127.0.0.1 with an ephemeral port in a background thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PETSTORE_KEY = "pk-e2e-secret"
PETSTORE_TOKEN = "oauth-access-token"


def _pets() -> dict[int, dict[str, Any]]:
    return {
        7: {
            "id": 7,
            "name": "Rex",
            "photoUrls": [],
            "status": "available",
            "category": {"id": 1, "name": "dogs"},
        },
        8: {"id": 8, "name": "Tom", "photoUrls": [], "status": "sold"},
    }


def create_app() -> Starlette:
    pets = _pets()
    calls: list[dict[str, Any]] = []

    def authorized(request: Request) -> bool:
        return request.headers.get("api_key") == PETSTORE_KEY

    async def get_pet(request: Request) -> Response:
        calls.append(
            {"op": "getPetById", "path": request.url.path, "api_key": request.headers.get("api_key")}
        )
        if not authorized(request):
            return JSONResponse({"code": 401, "message": "api_key required"}, status_code=401)
        try:
            pet_id = int(request.path_params["petId"])
        except ValueError:
            return JSONResponse({"code": 400, "message": "Invalid ID supplied"}, status_code=400)
        if pet_id not in pets:
            return JSONResponse({"code": 404, "message": "Pet not found"}, status_code=404)
        if request.method == "DELETE":
            del pets[pet_id]
            return Response(status_code=200)
        return JSONResponse(pets[pet_id])

    async def find_by_status(request: Request) -> Response:
        wanted = request.query_params.getlist("status")
        return JSONResponse([p for p in pets.values() if p["status"] in wanted])

    async def add_pet(request: Request) -> Response:  # secured by petstore_auth (OAuth2) in the spec
        if request.headers.get("authorization") != f"Bearer {PETSTORE_TOKEN}":
            return JSONResponse({"code": 401, "message": "api_key required"}, status_code=401)
        body = await request.json()
        pet_id = max(pets, default=0) + 1
        pets[pet_id] = {**body, "id": pet_id}
        return JSONResponse(pets[pet_id])

    async def inventory(request: Request) -> Response:
        counts: dict[str, int] = {}
        for pet in pets.values():
            counts[pet["status"]] = counts.get(pet["status"], 0) + 1
        return JSONResponse(counts)

    app = Starlette(
        routes=[
            Route("/v2/pet/findByStatus", find_by_status, methods=["GET"]),
            Route("/v2/pet/{petId}", get_pet, methods=["GET", "DELETE"]),
            Route("/v2/pet", add_pet, methods=["POST"]),
            Route("/v2/store/inventory", inventory, methods=["GET"]),
        ]
    )
    app.state.calls = calls
    return app


@contextmanager
def run_petstore() -> Iterator[tuple[str, Starlette]]:
    """Yields (base URL ending in /v2, the app, whose state.calls records pet calls)."""
    app = create_app()
    with serve_app(app) as base:
        yield f"{base}/v2", app


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1:<ephemeral> in a thread; yields the base URL."""
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
        raise RuntimeError("petstore service did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
