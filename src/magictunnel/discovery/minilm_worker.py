"""The MiniLM helper process: encodes requests on PyTorch, one frame in, one frame out.

    python -m magictunnel.discovery.minilm_worker

Started by `MiniLmEmbedder` (see encoder_process.py for why and for the frames). It announces
itself with a ready frame once the weights are loaded and the kernels for request lengths up to
`WARM_LENGTHS` tokens are set up, and exits at the end of its input.
"""

from __future__ import annotations

import json
import os
import sys

from magictunnel.discovery.encoder_process import read_frame, write_frame

WARM_LENGTHS = 48  # request lengths (in tokens) whose kernels are set up before the ready frame


def main() -> int:
    # Frames go to the real stdout alone: anything a library prints goes to stderr instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inp = sys.stdin.buffer
    try:
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
    except Exception as exc:  # reported to the parent, which then encodes in-process
        write_frame(out, b"E", f"{type(exc).__name__}: {exc}".encode())
        return 1
    write_frame(out, b"R", json.dumps({"variant": encoder.variant}).encode())
    tokenizer = bert.tokenizer
    while (frame := read_frame(inp)) is not None:
        try:
            ids = tokenizer.encode(frame[1].decode("utf-8")).ids
            write_frame(out, b"V", encoder.encode_ids(ids).tobytes())
        except (BrokenPipeError, OSError):
            return 0
        except Exception as exc:  # one bad request must not end the helper
            write_frame(out, b"E", f"{type(exc).__name__}: {exc}".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
