"""A real gRPC server for the tests: the `demo.inventory.Inventory` service from
data/inventory.proto, implemented with dynamic messages (no generated code), with server
reflection, on 127.0.0.1 and an ephemeral port. Requires `authorization: Bearer s3cret`
metadata when started with `token=`.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import message_factory
from grpc_reflection.v1alpha import reflection

from magictunnel.backends.grpc_descriptors import compile_protos, pool_from_set

PROTO = Path(__file__).parent / "data" / "inventory.proto"
SERVICE = "demo.inventory.Inventory"


def _items(cls: Any) -> dict[str, Any]:
    items = {}
    for sku, name, cat, qty in (("A1", "hammer", 1, 3), ("A2", "saw", 1, 0), ("F1", "apple", 2, 120)):
        item = cls(sku=sku, name=name, category=cat, quantity=qty, tags=[name[0]])
        item.attributes["origin"] = "test"
        item.amount = 9.5
        items[sku] = item
    return items


@contextmanager
def run_inventory_server(token: str | None = None) -> Iterator[str]:
    pool = pool_from_set(compile_protos([str(PROTO)]))
    svc = pool.FindServiceByName(SERVICE)
    cls = {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"demo.inventory.{name}"))
        for name in ("Item", "GetItemRequest", "ListItemsRequest", "AddItemsReply")
    }
    empty = message_factory.GetMessageClass(pool.FindMessageTypeByName("google.protobuf.Empty"))
    items = _items(cls["Item"])

    def check(context: grpc.ServicerContext) -> None:
        if token is None:
            return
        md = dict(context.invocation_metadata())
        if md.get("authorization") != f"Bearer {token}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    def get_item(request: Any, context: grpc.ServicerContext) -> Any:
        check(context)
        if request.sku not in items:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no item {request.sku}")
        return items[request.sku]

    def list_items(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        check(context)
        for _ in range(max(1, request.page_size)):
            for item in items.values():
                if request.category in (0, item.category):
                    yield item

    def add_items(request_iterator: Any, context: grpc.ServicerContext) -> Any:
        check(context)
        skus = [item.sku for item in request_iterator]
        return cls["AddItemsReply"](added=len(skus), skus=skus)

    def echo(request_iterator: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        check(context)
        yield from request_iterator

    def ping(request: Any, context: grpc.ServicerContext) -> Any:
        return empty()

    def ser(m: Any) -> bytes:
        return m.SerializeToString()

    handlers = {
        "GetItem": grpc.unary_unary_rpc_method_handler(get_item, cls["GetItemRequest"].FromString, ser),
        "ListItems": grpc.unary_stream_rpc_method_handler(
            list_items, cls["ListItemsRequest"].FromString, ser
        ),
        "AddItems": grpc.stream_unary_rpc_method_handler(add_items, cls["Item"].FromString, ser),
        "Echo": grpc.stream_stream_rpc_method_handler(echo, cls["Item"].FromString, ser),
        "Ping": grpc.unary_unary_rpc_method_handler(ping, empty.FromString, ser),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(svc.full_name, handlers),))
    reflection.enable_server_reflection((svc.full_name, reflection.SERVICE_NAME), server, pool=pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(grace=None)
