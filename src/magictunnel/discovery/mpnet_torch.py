"""all-mpnet-base-v2's forward pass on PyTorch's CPU kernels, one text at a time (the third model).

MPNet is a 12-layer, 768-wide BERT-like encoder with T5-style relative position buckets added to
every attention score; sentence-transformers mean-pools its last layer. This is that computation
written out (checked against the reference implementation in tests/discovery/test_mpnet.py), so
that its dense products can run as 8-bit integer products: a request is a handful of tokens, and
for those the time goes into reading the weights (340 MB in float32, 85 MB in 8 bits: about 55 ms
against 11 ms here). The 8-bit products smooth each product's activation range into its weights
first (SmoothQuant, as the MiniLM helper does: calibration.py), measured at load on the same
calibration texts; without it MPNet's 8-bit vectors agree with float32 at cosine 0.61, with it at
0.996. The variant is chosen at load: 8-bit when it agrees with float32 on a probe text at least
`INT8_AGREEMENT`, else float32. Every text (tool descriptions at index build and requests) is
encoded by the same variant, the one the ranking model was fitted on. PyTorch has two engines for
8-bit products (FBGEMM and oneDNN) and which is faster depends on the CPU (oneDNN: about 15 % less
per request on a CPU with AMX), so the helper takes oneDNN where the CPU has AMX's 8-bit tiles and
FBGEMM elsewhere (`int8_engine`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import mmap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from magictunnel.discovery.calibration import CALIBRATION, SMOOTHING

log = logging.getLogger("magictunnel.discovery")

MAX_TOKENS = 256
BUCKETS = 32
MAX_DISTANCE = 128
INT8_AGREEMENT = 0.99
DENSE = ("attention.attn.q", "attention.attn.k", "attention.attn.v", "attention.attn.o")
FFN = ("intermediate.dense", "output.dense")


Linear = Callable[[Any], Any]


def watching(torch: Any, products: dict[str, Linear], ranges: dict[str, Any]) -> dict[str, Linear]:
    """The products, each recording into `ranges` the largest |input| of each channel it sees."""

    def watch(name: str, product: Linear) -> Linear:
        def run(x: Any) -> Any:
            seen = x.abs().amax(dim=0)
            ranges[name] = torch.maximum(ranges[name], seen) if name in ranges else seen
            return product(x)

        return run

    return {name: watch(name, product) for name, product in products.items()}


def smoothed_int8(torch: Any, weight: Any, bias: Any, activation_range: Any) -> Linear:
    """x @ weight.T + bias with 8-bit weights (one scale per output row) and requests quantised per
    product, the activations' range first smoothed into the weights (calibration.py): per input
    channel j, s_j = max|x_j|^SMOOTHING / max|W_j|^(1 - SMOOTHING), and the product takes x / s
    against W * s. `activation_range`: max |x_j| per input channel over calibration texts."""
    smooth = (
        activation_range.clamp_min(1e-5) ** SMOOTHING
        / weight.abs().amax(dim=0).clamp_min(1e-5) ** (1.0 - SMOOTHING)
    ).clamp_min(1e-5)
    weight = weight * smooth  # (out, in) scaled per input channel
    inverse = 1.0 / smooth
    scales = (weight.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
    zeros = torch.zeros(len(scales), dtype=torch.long)
    ops = torch.ops.quantized
    with warnings.catch_warnings():  # deprecated in PyTorch; this variant drops out once it goes
        warnings.simplefilter("ignore")
        packed = ops.linear_prepack(torch.quantize_per_channel(weight, scales, zeros, 0, torch.qint8), bias)
    return lambda x: ops.linear_dynamic(x * inverse, packed, False)


def int8_engine(torch: Any) -> str:
    """Set PyTorch's engine for 8-bit products and return its name: oneDNN on a CPU with AMX's
    8-bit tiles (there its products take 8-25 % less time), FBGEMM elsewhere. Chosen by the CPU,
    not by timing the two at load: the gain is close to timing noise, and the engines round
    differently (vectors at cosine 0.998), so a timed choice ranked the same requests differently
    from one start to the next."""
    quantized = torch.backends.quantized
    supported = quantized.supported_engines
    wanted = "onednn" if "onednn" in supported and has_amx_int8() else "fbgemm"
    if wanted in supported:
        quantized.engine = wanted
    return str(quantized.engine)


def has_amx_int8(cpuinfo: str = "/proc/cpuinfo") -> bool:
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return "amx_int8" in line.split()
    except OSError:
        pass
    return False


def mapped_tensors(path: Path, torch: Any) -> tuple[np.memmap, dict[str, Any]]:
    """A safetensors file's float32 tensors as views of one copy-on-write memory map, so that
    weights the encoder replaces never take memory of their own (the model file is 440 MB)."""
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="c")
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in ("F32", "I64"):
            raise ValueError(f"{path.name}: {name} is {info['dtype']}, expected F32")
        start, end = (8 + size + int(o) for o in info["data_offsets"])
        dtype = np.float32 if info["dtype"] == "F32" else np.int64
        tensors[name] = torch.from_numpy(data[start:end].view(dtype).reshape(info["shape"]))
    return data, tensors


def relative_buckets(n: int, torch: Any) -> Any:
    """(n, n) bucket of each key position relative to each query position (bidirectional, as
    MPNet's `relative_position_bucket`)."""
    position = torch.arange(n)
    relative = position[None, :] - position[:, None]
    half = BUCKETS // 2
    ret = (relative > 0).long() * half
    distance = relative.abs()
    exact = half // 2
    large = (
        exact
        + (
            torch.log(distance.float().clamp_min(1) / exact) / math.log(MAX_DISTANCE / exact) * (half - exact)
        ).long()
    )
    return ret + torch.where(distance < exact, distance, large.clamp_max(half - 1))


class TorchMpnet:
    def __init__(self, path: Path) -> None:
        import torch
        from tokenizers import Tokenizer

        self.torch = torch
        config = json.loads((path / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-5))
        self._map, self.w = mapped_tensors(path / "model.safetensors", torch)
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        table = self.w["encoder.relative_attention_bias.weight"]  # (BUCKETS, heads)
        self.bias = table[relative_buckets(MAX_TOKENS, torch)].permute(2, 0, 1).contiguous()
        self.names = [f"encoder.layer.{i}.{n}" for i in range(self.layers) for n in (*DENSE, *FFN)]
        plain = {n: self._plain(n) for n in self.names}
        self.linears = plain
        probe = [self.tokenizer.encode(t).ids for t in CALIBRATION[:2]]
        reference = [self.encode_ids(ids) for ids in probe]
        self.variant, self.agreement, self.engine = "float32", 1.0, ""
        try:
            self.engine = int8_engine(torch)
            self.linears = self._int8(plain)
            self.agreement = min(
                float(self.encode_ids(ids) @ r) for ids, r in zip(probe, reference, strict=True)
            )
        except (RuntimeError, AttributeError, TypeError, ValueError) as exc:
            log.debug("MPNet 8-bit kernels unavailable: %s", exc)
            self.agreement = 0.0
        if self.agreement >= INT8_AGREEMENT:
            self.variant = "int8"
            for name in self.names:  # the 8-bit products hold their own copies
                del self.w[f"{name}.weight"]
            # drop the float32 weights' pages read so far: what is left (embeddings, norms) is
            # read back from the file as requests touch it (only the rows of their tokens)
            with contextlib.suppress(AttributeError, OSError, ValueError):
                self._map._mmap.madvise(mmap.MADV_DONTNEED)
        else:
            self.linears = plain
        log.debug("MPNet runs %s (8-bit agreement %.4f)", self.variant, self.agreement)

    def _plain(self, name: str) -> Linear:
        weight, bias = self.w[f"{name}.weight"], self.w[f"{name}.bias"]
        linear = self.torch.nn.functional.linear
        return lambda x: linear(x, weight, bias)

    def _int8(self, plain: dict[str, Linear]) -> dict[str, Linear]:
        ranges: dict[str, Any] = {}
        self.linears = watching(self.torch, plain, ranges)
        try:
            for text in CALIBRATION:
                self.encode_ids(self.tokenizer.encode(text).ids)
        finally:
            self.linears = plain
        return {
            n: smoothed_int8(self.torch, self.w[f"{n}.weight"], self.w[f"{n}.bias"], ranges[n])
            for n in self.names
        }

    def encode(self, text: str) -> np.ndarray:
        return self.encode_ids(self.tokenizer.encode(text).ids)

    def encode_ids(self, ids: list[int]) -> np.ndarray:
        """The unit, mean-pooled sentence vector of one token id list."""
        torch, w, dense = self.torch, self.w, self.linears
        n, h = len(ids), self.heads
        d = self.hidden // h
        shape = (self.hidden,)
        norm = torch.nn.functional.layer_norm
        gelu = torch.nn.functional.gelu
        attention = torch.nn.functional.scaled_dot_product_attention
        with torch.inference_mode():
            # positions count from the padding index + 1, as RoBERTa's do
            x = w["embeddings.word_embeddings.weight"][torch.tensor(ids, dtype=torch.long)]
            x = x + w["embeddings.position_embeddings.weight"][2 : n + 2]
            x = norm(x, shape, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
            bias = self.bias[:, :n, :n]
            for i in range(self.layers):
                p = f"encoder.layer.{i}."
                q, k, v = (dense[f"{p}attention.attn.{c}"](x).view(n, h, d).transpose(0, 1) for c in "qkv")
                context = attention(q, k, v, attn_mask=bias).transpose(0, 1).reshape(n, self.hidden)
                x = norm(
                    dense[f"{p}attention.attn.o"](context) + x,
                    shape,
                    w[f"{p}attention.LayerNorm.weight"],
                    w[f"{p}attention.LayerNorm.bias"],
                    self.eps,
                )
                inner = gelu(dense[f"{p}intermediate.dense"](x))
                x = norm(
                    dense[f"{p}output.dense"](inner) + x,
                    shape,
                    w[f"{p}output.LayerNorm.weight"],
                    w[f"{p}output.LayerNorm.bias"],
                    self.eps,
                )
            pooled = x.mean(dim=0)
            pooled = pooled / pooled.norm().clamp_min(1e-9)
        return pooled.numpy().astype(np.float32)
