"""`grpc` backend: call a gRPC method with dynamic messages built from descriptors.

routing.config:

- `target` (str, required): `host:port`.
- `service` (str, required): the full service name (`helloworld.Greeter`); `method` (str, required).
- descriptors: `proto_files` (list of paths; relative paths resolve against the capability
  file's directory) with optional `import_paths`, compiled once by grpcio-tools; or
  `reflection: true` to ask the server (gRPC server reflection).
- `tls` (bool, default false): a TLS channel with the system roots.
- `metadata` (mapping name -> template): request metadata (keys are lower-cased).
- `auth`: credential injection from the vault as for `http` (`bearer`/`basic` go to the
  `authorization` metadata, `api_key` to the metadata key `name`); never a literal secret.
- `timeout` (seconds, default 30).
- `max_messages` (int, default 100): for server-streaming and bidirectional methods, responses
  are collected until the stream ends or this many arrived (then the call is cancelled and
  the result says `truncated: true`).

Arguments are the request message in protobuf's JSON mapping (proto field names or JSON
names); arguments used by `metadata` placeholders are not part of the message. Client-streaming and bidirectional methods take `{messages: [request, ...]}`.
The result is the response message as JSON (fields with default values included), or
`{messages: [...], truncated}` for streaming responses. A gRPC status other than OK is an
`isError` result naming the status code and details.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import grpc.aio
from google.protobuf import json_format
from mcp_types import CallToolResult

from magictunnel.backends.base import BackendError, error_result, json_result
from magictunnel.backends.grpc_descriptors import DescriptorCache, DescriptorError, MethodInfo, find_method
from magictunnel.backends.http import render_headers, used_parameters
from magictunnel.backends.http_client import apply_auth, check_auth, redact
from magictunnel.catalog.models import ToolDef
from magictunnel.pipeline.context import CallContext

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_MESSAGES = 100


class GrpcBackend:
    type = "grpc"

    def __init__(self, vault: Any = None, base_dir: Path | None = None) -> None:
        self.vault = vault
        self.base_dir = base_dir
        self.descriptors = DescriptorCache()
        self._channels: dict[tuple[Any, ...], grpc.aio.Channel] = {}

    def check_config(self, config: dict[str, Any]) -> list[str]:
        problems = []
        for key in ("target", "service", "method"):
            if not isinstance(config.get(key), str) or not config.get(key):
                problems.append(f"{key}: required, a string")
        if not config.get("reflection"):
            files = config.get("proto_files")
            if not isinstance(files, list) or not files or not all(isinstance(f, str) for f in files):
                problems.append("proto_files: required (a list of .proto paths) unless reflection: true")
        if "import_paths" in config and not isinstance(config["import_paths"], list):
            problems.append("import_paths: expected a list of directories")
        if "metadata" in config and not isinstance(config["metadata"], dict):
            problems.append("metadata: expected a mapping of key to value")
        value = config.get("max_messages", DEFAULT_MAX_MESSAGES)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append("max_messages: expected a positive integer")
        if "timeout" in config and (not isinstance(config["timeout"], int | float) or config["timeout"] <= 0):
            problems.append("timeout: expected a positive number of seconds")
        return problems + check_auth(config.get("auth"))

    def _channel(self, target: str, tls: bool) -> grpc.aio.Channel:
        key = (id(asyncio.get_running_loop()), target, tls)
        channel = self._channels.get(key)
        if channel is None:
            channel = (
                grpc.aio.secure_channel(target, grpc.ssl_channel_credentials())
                if tls
                else grpc.aio.insecure_channel(target)
            )
            self._channels[key] = channel
        return channel

    async def aclose(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            try:
                await channel.close()
            except RuntimeError:  # a channel of a loop that is gone
                pass

    def _base_dir(self, tool: ToolDef) -> Path | None:
        if tool.source.startswith("file:"):
            return Path(tool.source.removeprefix("file:")).parent
        return self.base_dir

    async def _method(self, tool: ToolDef) -> MethodInfo:
        config = tool.routing.config
        try:
            pool = await asyncio.to_thread(self.descriptors.pool_for, config, self._base_dir(tool))
            return find_method(pool, str(config["service"]), str(config["method"]))
        except DescriptorError as exc:
            raise BackendError(str(exc)) from None

    async def execute(self, tool: ToolDef, arguments: dict[str, Any], ctx: CallContext) -> CallToolResult:
        config = tool.routing.config
        info = await self._method(tool)
        metadata = {k.lower(): v for k, v in render_headers(config.get("metadata") or {}, arguments).items()}
        extra: list[tuple[str, str]] = []
        cookies: dict[str, str] = {}
        secrets = await apply_auth(config.get("auth"), self.vault, metadata, extra, cookies)
        for key, value in [*extra, *cookies.items()]:  # gRPC has no query or cookies: an api_key is metadata
            metadata[key] = value
        md = tuple((k.lower(), v) for k, v in metadata.items())
        timeout = float(config.get("timeout") or DEFAULT_TIMEOUT)
        limit = int(config.get("max_messages", DEFAULT_MAX_MESSAGES))
        if info.client_streaming:
            raw = arguments.get("messages")
            if not isinstance(raw, list):
                raise BackendError(
                    "messages: required, a list of request messages for a client-streaming method"
                )
            requests = [self._parse(info, m, f"messages[{i}]") for i, m in enumerate(raw)]
        else:
            used = used_parameters(config.get("metadata"))  # arguments that went into metadata
            message = {k: v for k, v in arguments.items() if v is not None and k not in used}
            request = self._parse(info, message, "arguments")
        channel = self._channel(str(config["target"]), bool(config.get("tls")))
        ser = _serialize
        de = info.response_class.FromString
        try:
            if not info.client_streaming and not info.server_streaming:
                reply = await channel.unary_unary(
                    info.path, request_serializer=ser, response_deserializer=de
                )(request, metadata=md, timeout=timeout)
                return json_result(_to_json(reply))
            if info.client_streaming and not info.server_streaming:
                reply = await channel.stream_unary(
                    info.path, request_serializer=ser, response_deserializer=de
                )(iter(requests), metadata=md, timeout=timeout)
                return json_result(_to_json(reply))
            if info.client_streaming:
                call = channel.stream_stream(info.path, request_serializer=ser, response_deserializer=de)(
                    iter(requests), metadata=md, timeout=timeout
                )
            else:
                call = channel.unary_stream(info.path, request_serializer=ser, response_deserializer=de)(
                    request, metadata=md, timeout=timeout
                )
            messages: list[Any] = []
            truncated = False
            async for reply in call:
                messages.append(_to_json(reply))
                if len(messages) >= limit:
                    truncated = True
                    call.cancel()
                    break
            return json_result({"messages": messages, "truncated": truncated})
        except grpc.aio.AioRpcError as exc:
            details = redact(exc.details() or "", secrets)
            return error_result(
                f"gRPC {exc.code().name}: {details}".rstrip(": "), code=exc.code().name, details=details
            )

    @staticmethod
    def _parse(info: MethodInfo, value: Any, where: str) -> Any:
        if not isinstance(value, dict):
            raise BackendError(
                f"{where}: expected an object for message {info.descriptor.input_type.full_name}"
            )
        try:
            return json_format.ParseDict(value, info.request_class())
        except json_format.ParseError as exc:
            raise BackendError(
                f"{where}: not a valid {info.descriptor.input_type.full_name}: {exc}"
            ) from None


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()


def _to_json(message: Any) -> Any:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
