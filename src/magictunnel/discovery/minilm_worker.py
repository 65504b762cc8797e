"""The MiniLM helper process: encodes requests on ONNX Runtime, one frame in, one frame out.

    python -m magictunnel.discovery.minilm_worker

Started by `MiniLmEmbedder` (see encoder_process.py for why and for the frames). It announces
itself with a ready frame once the weights are loaded and the graph is built and run once, and
exits at the end of its input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from magictunnel.discovery.encoder_process import serve_helper


def load() -> tuple[Callable[[str], np.ndarray], dict[str, Any]]:
    from magictunnel.discovery.calibration import CALIBRATION
    from magictunnel.discovery.minilm import _Bert, model_dir
    from magictunnel.discovery.minilm_onnx import OnnxBert

    bert = _Bert(model_dir())
    encoder = OnnxBert(bert, [bert.tokenizer.encode(text).ids for text in CALIBRATION])
    del bert.w  # the helper needs only ONNX Runtime's copies
    tokenizer = bert.tokenizer
    ready = {"variant": encoder.variant, "agreement": round(encoder.agreements[encoder.variant], 4)}
    return (lambda text: encoder.encode_ids(tokenizer.encode(text).ids)), ready


if __name__ == "__main__":
    sys.exit(serve_helper(load))
