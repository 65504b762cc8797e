"""gRPC services (`.proto` files compiled by grpcio-tools, or server reflection) -> `grpc` tools.

One tool per method. Request and response messages map to JSON Schema with protobuf's JSON
mapping (proto field names; 64-bit integers accept numbers or strings; bytes are base64;
enums by name; `map<k, v>` is an object; `repeated` an array; oneof members are documented
as alternatives; well-known types such as Timestamp, Duration, Struct, wrappers and Empty as
their JSON forms; message cycles cut).

Streaming strategy (documented in each tool's description):
- unary: one request, one response.
- server streaming: one request; responses are collected until the stream ends, up to
  `max_messages` (default 100) — the result is `{messages: [...], truncated: bool}`.
- client streaming: the tool takes `{messages: [request, ...]}` and sends them in order.
- bidirectional: as client streaming, with the responses collected as for server streaming.

Routing targets the `grpc` backend (`backends/grpc.py`)::

    routing:
      type: grpc
      config:
        target: 127.0.0.1:50051
        service: helloworld.Greeter
        method: SayHello
        proto_files: [protos/helloworld.proto]   # or `reflection: true`; relative to the
        import_paths: [protos]                    # capability file when inside its directory
        auth: {type: bearer, credential: greeter.token}   # sent as metadata, a vault credential name
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from magictunnel.backends.grpc_descriptors import (
    DescriptorError,
    compile_protos,
    find_method,
    pool_from_set,
    reflection_pool,
    services_in,
)
from magictunnel.generators.common import GenerationResult, apply_naming, unique

_INT32 = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_FIXED32,
}
_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
}
_WRAPPERS = {
    "google.protobuf.DoubleValue": {"type": "number"},
    "google.protobuf.FloatValue": {"type": "number"},
    "google.protobuf.Int64Value": {"type": ["integer", "string"]},
    "google.protobuf.UInt64Value": {"type": ["integer", "string"]},
    "google.protobuf.Int32Value": {"type": "integer"},
    "google.protobuf.UInt32Value": {"type": "integer"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "contentEncoding": "base64"},
}
_WELL_KNOWN = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "description": 'A duration such as "1.5s"'},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.FieldMask": {"type": "string", "description": "Comma-separated field paths"},
    "google.protobuf.Empty": {"type": "object", "properties": {}},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
    },
}
DEFAULT_MAX_MESSAGES = 100


@dataclass
class GrpcOptions:
    target: str = ""
    proto_files: list[str] = field(default_factory=list)
    import_paths: list[str] = field(default_factory=list)
    reflection: bool = False
    tls: bool = False
    services: list[str] = field(default_factory=list)  # only these (full or short names)
    naming: str = "keep"
    prefix: str = ""
    qualify: bool = False  # names as Service_Method
    max_messages: int = DEFAULT_MAX_MESSAGES
    auth: dict[str, Any] | None = None
    timeout: float | None = None
    # the capability file's directory: proto paths inside it are written relative to it
    # (the grpc backend resolves them against the file), others stay absolute
    relative_to: str | None = None


def _path(path: str, relative_to: str | None) -> str:
    resolved = Path(path).resolve()
    if relative_to:
        base = Path(relative_to).resolve()
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(resolved)


def message_schema(desc: Descriptor, stack: tuple[str, ...] = ()) -> dict[str, Any]:
    if desc.full_name in _WELL_KNOWN:
        return dict(_WELL_KNOWN[desc.full_name])
    if desc.full_name in _WRAPPERS:
        return dict(_WRAPPERS[desc.full_name])
    if desc.full_name in stack:
        return {
            "type": "object",
            "description": f"Recursive reference to {desc.full_name} (not expanded further)",
        }
    inner = (*stack, desc.full_name)
    props: dict[str, Any] = {}
    for fd in desc.fields:
        props[fd.name] = field_schema(fd, inner)
    out: dict[str, Any] = {"type": "object", "properties": props}
    groups = [o for o in desc.oneofs if not (len(o.fields) == 1 and o.name.startswith("_"))]
    if groups:
        out["description"] = "; ".join(
            f"oneof {o.name}: set at most one of {', '.join(f.name for f in o.fields)}" for o in groups
        )
    return out


def field_schema(fd: FieldDescriptor, stack: tuple[str, ...]) -> dict[str, Any]:
    if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
        value_fd = fd.message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _single(value_fd, stack)}
    single = _single(fd, stack)
    if fd.is_repeated:
        return {"type": "array", "items": single}
    return single


def _single(fd: FieldDescriptor, stack: tuple[str, ...]) -> dict[str, Any]:
    t = fd.type
    if t in (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP):
        return message_schema(fd.message_type, stack)
    if t == FieldDescriptor.TYPE_ENUM:
        return {"type": "string", "enum": [v.name for v in fd.enum_type.values]}
    if t in _INT32:
        return {"type": "integer"}
    if t in _INT64:
        return {"type": ["integer", "string"], "description": "64-bit integer (number or decimal string)"}
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return {"type": "number"}
    if t == FieldDescriptor.TYPE_BOOL:
        return {"type": "boolean"}
    if t == FieldDescriptor.TYPE_BYTES:
        return {"type": "string", "contentEncoding": "base64"}
    return {"type": "string"}


def generate_grpc(options: GrpcOptions) -> GenerationResult:
    source = options.target if options.reflection else ", ".join(options.proto_files)
    result = GenerationResult(kind="grpc", source=source)
    if not options.target:
        result.problems.append("target: required, the host:port the generated tools call")
        return result
    try:
        if options.reflection:
            pool, services = reflection_pool(options.target, options.tls)
        else:
            files = [str(Path(f).resolve()) for f in options.proto_files]
            fds = compile_protos(files, [str(Path(p).resolve()) for p in options.import_paths])
            pool = pool_from_set(fds)
            services = services_in(fds, files)
    except DescriptorError as exc:
        result.problems.append(str(exc))
        return result
    if options.services:
        wanted = set(options.services)
        services = [s for s in services if s in wanted or s.rsplit(".", 1)[-1] in wanted]
    if not services:
        result.problems.append(
            "no gRPC services found" + (f" matching {options.services}" if options.services else "")
        )
        return result
    taken: set[str] = set()
    for service in services:
        svc = pool.FindServiceByName(service)
        for md in svc.methods:
            try:
                result.tools.append(_tool(svc.name, service, md.name, pool, options, taken))
            except DescriptorError as exc:
                result.problems.append(f"{service}.{md.name}: {exc}")
    result.metadata = {"services": services}
    return result


def _tool(
    short: str, service: str, method: str, pool: Any, options: GrpcOptions, taken: set[str]
) -> dict[str, Any]:
    info = find_method(pool, service, method)
    raw_name = f"{short}_{method}" if options.qualify else method
    name = unique(apply_naming(raw_name, options.naming, options.prefix), taken)
    request = message_schema(info.descriptor.input_type)
    response = message_schema(info.descriptor.output_type)
    kind = (
        "bidirectional streaming"
        if info.client_streaming and info.server_streaming
        else "client streaming"
        if info.client_streaming
        else "server streaming"
        if info.server_streaming
        else "unary"
    )
    description = f"gRPC {kind} method {service}/{method}."
    if info.client_streaming:
        input_schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "messages": {
                    "type": "array",
                    "items": request,
                    "description": "Request messages, sent in order",
                }
            },
            "required": ["messages"],
        }
        description += " Pass the request messages as `messages`."
    else:
        input_schema = request if request.get("type") == "object" else {"type": "object", "properties": {}}
    if info.server_streaming:
        output = {
            "type": "object",
            "properties": {
                "messages": {"type": "array", "items": response},
                "truncated": {"type": "boolean"},
            },
        }
        description += (
            f" Responses are collected until the stream ends, up to {options.max_messages} "
            "messages (`truncated` says when the limit cut it)."
        )
    else:
        output = response
    config: dict[str, Any] = {"target": options.target, "service": service, "method": method}
    if options.reflection:
        config["reflection"] = True
    else:
        config["proto_files"] = [_path(f, options.relative_to) for f in options.proto_files]
        if options.import_paths:
            config["import_paths"] = [_path(p, options.relative_to) for p in options.import_paths]
    if options.tls:
        config["tls"] = True
    if info.server_streaming:
        config["max_messages"] = options.max_messages
    if options.auth:
        config["auth"] = dict(options.auth)
    if options.timeout:
        config["timeout"] = options.timeout
    tool: dict[str, Any] = {"name": name, "description": description, "inputSchema": input_schema}
    if output.get("type") == "object":
        tool["outputSchema"] = output
    tool["routing"] = {"type": "grpc", "config": config}
    tool["annotations"] = {"openWorldHint": True}
    tool["keywords"] = [short, "grpc"]
    return tool
