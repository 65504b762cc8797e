"""The MiniLM helper process: encodes requests on PyTorch, one frame in, one frame out.

    python -m magictunnel.discovery.minilm_worker

Started by `MiniLmEmbedder` (see encoder_process.py for why and for the frames). It announces
itself with a ready frame once the weights are loaded and the kernels for request lengths up to
`WARM_LENGTHS` tokens are set up, and exits at the end of its input.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from magictunnel.discovery.encoder_process import serve_helper

WARM_LENGTHS = 48  # request lengths (in tokens) whose kernels are set up before the ready frame


def load() -> tuple[Callable[[str], np.ndarray], dict[str, Any]]:
    import torch

    from magictunnel.discovery.minilm import _Bert, model_dir
    from magictunnel.discovery.minilm_torch import CALIBRATION, TorchBert

    torch.set_num_threads(1)  # one short request: more threads only wait on each other
    bert = _Bert(model_dir())
    calibration = [bert.tokenizer.encode(text).ids for text in CALIBRATION]
    encoder = TorchBert(bert.w, bert.layers, bert.heads, bert.hidden, bert.eps, calibration)
    del bert.w  # the helper needs only PyTorch's copies
    for n in range(1, WARM_LENGTHS + 1):  # kernels are set up per request length
        encoder.encode_ids([101] + [1996] * max(n - 2, 0) + [102])
    tokenizer = bert.tokenizer
    return (lambda text: encoder.encode_ids(tokenizer.encode(text).ids)), {"variant": encoder.variant}


if __name__ == "__main__":
    sys.exit(serve_helper(load))
