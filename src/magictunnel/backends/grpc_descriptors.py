"""Protobuf descriptors for gRPC tools: compile `.proto` files with grpcio-tools, or ask a
server through reflection; then build dynamic message classes. Shared by the `grpc`
backend and the gRPC generator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor


class DescriptorError(Exception):
    """A proto file that does not compile, a service that is not there, reflection failing."""


def well_known_include() -> str:
    import grpc_tools

    return str(Path(grpc_tools.__file__).parent / "_proto")


def compile_protos(
    files: list[str], import_paths: list[str] | None = None
) -> descriptor_pb2.FileDescriptorSet:
    """Run protoc (grpcio-tools, in a child process: its errors go to stderr) on the files."""
    if not files:
        raise DescriptorError("no .proto files given")
    includes = list(import_paths or [])
    for f in files:
        if not Path(f).is_file():
            raise DescriptorError(f"{f}: proto file not found")
        parent = str(Path(f).resolve().parent)
        if not any(Path(f).resolve().is_relative_to(Path(p).resolve()) for p in includes):
            includes.append(parent)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        args = [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--descriptor_set_out={out}",
            "--include_imports",
            *(f"-I{p}" for p in includes),
            f"-I{well_known_include()}",
            *[str(Path(f).resolve()) for f in files],
        ]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip() or f"protoc exited with {proc.returncode}"
            raise DescriptorError(f"protoc failed: {message}")
        data = Path(out).read_bytes()
    fds = descriptor_pb2.FileDescriptorSet()
    fds.ParseFromString(data)
    return fds


def pool_from_set(fds: descriptor_pb2.FileDescriptorSet) -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in fds.file:
        try:
            pool.Add(file_proto)
        except (TypeError, ValueError) as exc:
            raise DescriptorError(f"{file_proto.name}: {exc}") from None
    return pool


def reflection_pool(
    target: str, tls: bool = False, timeout: float = 10.0
) -> tuple[descriptor_pool.DescriptorPool, list[str]]:
    """A pool backed by the server's reflection service, and the services it lists."""
    import grpc
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    channel = (
        grpc.secure_channel(target, grpc.ssl_channel_credentials()) if tls else grpc.insecure_channel(target)
    )
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        channel.close()
        raise DescriptorError(f"{target}: cannot connect for reflection within {timeout:g}s") from None
    try:
        db = ProtoReflectionDescriptorDatabase(channel)
        services = [s for s in db.get_services() if not s.startswith("grpc.reflection.")]
        pool = descriptor_pool.DescriptorPool(db)
        for name in services:  # load now, while the channel is open
            pool.FindServiceByName(name)
    except grpc.RpcError as exc:
        raise DescriptorError(f"{target}: reflection failed: {exc.code().name} {exc.details()}") from None
    finally:
        channel.close()
    return pool, services


def services_in(fds: descriptor_pb2.FileDescriptorSet, files: list[str]) -> list[str]:
    """Full names of services declared in the given files (not in their imports)."""
    wanted = {Path(f).resolve().name for f in files}
    names = []
    for file_proto in fds.file:
        if Path(file_proto.name).name in wanted:
            prefix = f"{file_proto.package}." if file_proto.package else ""
            names.extend(prefix + s.name for s in file_proto.service)
    return names


@dataclass
class MethodInfo:
    path: str  # /pkg.Service/Method
    descriptor: MethodDescriptor
    request_class: type[Any]
    response_class: type[Any]

    @property
    def client_streaming(self) -> bool:
        return bool(self.descriptor.client_streaming)

    @property
    def server_streaming(self) -> bool:
        return bool(self.descriptor.server_streaming)


def find_method(pool: descriptor_pool.DescriptorPool, service: str, method: str) -> MethodInfo:
    try:
        svc: ServiceDescriptor = pool.FindServiceByName(service)
    except KeyError:
        raise DescriptorError(f"service {service!r} not found") from None
    md = svc.methods_by_name.get(method)
    if md is None:
        raise DescriptorError(
            f"method {method!r} not found in service {service} (has: {', '.join(svc.methods_by_name)})"
        )
    return MethodInfo(
        path=f"/{svc.full_name}/{md.name}",
        descriptor=md,
        request_class=message_factory.GetMessageClass(md.input_type),
        response_class=message_factory.GetMessageClass(md.output_type),
    )


class DescriptorCache:
    """Pools by source (proto files or reflection target), built once, thread-safe."""

    def __init__(self) -> None:
        self._pools: dict[tuple[Any, ...], descriptor_pool.DescriptorPool] = {}
        self._lock = threading.Lock()

    def pool_for(self, config: dict[str, Any], base_dir: Path | None) -> descriptor_pool.DescriptorPool:
        if config.get("reflection"):
            key: tuple[Any, ...] = ("reflection", config["target"], bool(config.get("tls")))
        else:
            files = [str(_resolve(p, base_dir)) for p in config.get("proto_files") or []]
            imports = [str(_resolve(p, base_dir)) for p in config.get("import_paths") or []]
            mtimes = tuple(os.stat(f).st_mtime_ns if os.path.exists(f) else 0 for f in files)
            key = ("files", tuple(files), tuple(imports), mtimes)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                if key[0] == "reflection":
                    pool, _ = reflection_pool(str(config["target"]), bool(config.get("tls")))
                else:
                    pool = pool_from_set(compile_protos(list(key[1]), list(key[2])))
                self._pools[key] = pool
            return pool


def _resolve(path: str, base_dir: Path | None) -> Path:
    p = Path(path)
    if not p.is_absolute() and base_dir is not None:
        p = base_dir / p
    return p
