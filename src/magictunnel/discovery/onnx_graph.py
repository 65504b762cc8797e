"""Building blocks for an encoder graph on ONNX Runtime (the MiniLM helper's: minilm_onnx.py).

The helper builds its model's graph at start, node by node, from the weights the model's package
ships (no model file, no export step), and runs one request per call with ONNX Runtime's fused
operators for BERT-like encoders. A dense product runs either in float32 or in 8 bits: 8-bit
weights (one scale per output column) against the request's activations quantised per product
(`DynamicQuantizeMatMul`, VNNI where the CPU has it), each input channel's activation range first
partly moved into the weights (SmoothQuant, calibration.py).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from magictunnel.discovery.calibration import SMOOTHING

MS = "com.microsoft"  # ONNX Runtime's own operators (fused attention, GELU, 8-bit products)
F32 = np.float32
FLOAT, INT64 = 1, 7  # onnx.TensorProto's element types, without importing onnx here


class Graph:
    """An ONNX graph built node by node; weights become initializers."""

    def __init__(self) -> None:
        from onnx import numpy_helper

        self._tensor = numpy_helper.from_array
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.outputs: list[tuple[str, list[Any]]] = []

    def weight(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self._tensor(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], output: str, domain: str = "", **attributes: Any) -> str:
        return self.ops(kind, inputs, [output], domain, **attributes)[0]

    def ops(
        self, kind: str, inputs: list[str], outputs: list[str], domain: str = "", **attributes: Any
    ) -> list[str]:
        from onnx import helper

        self.nodes.append(helper.make_node(kind, inputs, outputs, domain=domain, **attributes))
        return outputs

    def output(self, name: str, shape: list[Any]) -> None:
        """Make the float tensor `name` an output of the graph."""
        self.outputs.append((name, shape))

    def model(self, name: str, inputs: list[tuple[str, int, list[Any]]]) -> bytes:
        """The serialized model; `inputs`: (name, ONNX element type, shape) each."""
        from onnx import TensorProto, helper

        graph = helper.make_graph(
            self.nodes,
            name,
            [helper.make_tensor_value_info(n, kind, shape) for n, kind, shape in inputs],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in self.outputs],
            self.initializers,
        )
        opsets = [helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)]
        return bytes(helper.make_model(graph, opset_imports=opsets).SerializeToString())


def product(
    g: Graph,
    x: str,
    weight: np.ndarray,
    bias: np.ndarray | None,
    activation_range: np.ndarray | None,
    tag: str,
) -> str:
    """x @ weight (+ bias): `weight` (in, out); with `activation_range` (max |x_j| per input
    channel over the calibration texts), in 8 bits with that range smoothed into the weights."""
    weight = weight.astype(F32)
    if activation_range is None:
        out = g.op("MatMul", [x, g.weight(f"{tag}.w", weight)], f"{tag}.mm")
        return g.op("Add", [out, g.weight(f"{tag}.b", bias.astype(F32))], tag) if bias is not None else out
    smooth = np.maximum(
        np.maximum(activation_range, 1e-5) ** SMOOTHING
        / np.maximum(np.abs(weight).max(axis=1), 1e-5) ** (1.0 - SMOOTHING),
        1e-5,
    ).astype(F32)
    weight = weight * smooth[:, None]  # scaled per input channel
    scales = np.maximum(np.abs(weight).max(axis=0) / 127.0, 1e-12).astype(F32)
    quantised = np.clip(np.round(weight / scales), -127, 127).astype(np.int8)
    x = g.op("Mul", [x, g.weight(f"{tag}.smooth", (1.0 / smooth).astype(F32))], f"{tag}.x")
    inputs = [x, g.weight(f"{tag}.q", quantised), g.weight(f"{tag}.scale", scales)]
    inputs.append(g.weight(f"{tag}.zero", np.zeros(len(scales), np.int8)))
    if bias is not None:
        inputs.append(g.weight(f"{tag}.b", bias.astype(F32)))
    return g.op("DynamicQuantizeMatMul", inputs, tag, domain=MS)


def session(model: bytes, disabled: tuple[str, ...] = ()) -> Any:
    """An ONNX Runtime session for one request at a time: one thread, all graph optimisations but
    the `disabled` ones (ONNX Runtime's names of its graph transformers)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # one short request: more threads only wait on each other
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only (it notes unused initializers as warnings)
    return ort.InferenceSession(
        model, options, providers=["CPUExecutionProvider"], disabled_optimizers=list(disabled) or None
    )


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """The encoders' layer norm over the last axis, in numpy (their float32 reference passes)."""
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def unit(pooled: np.ndarray) -> np.ndarray:
    """`pooled` scaled to unit length, as float32."""
    return (pooled / max(float(np.linalg.norm(pooled)), 1e-9)).astype(F32)
