"""The shipped networks' inference in channels-last (NHWC) against the NCHW layout.

    python bench/bench_channels_last.py [--batch N] [--repeat R]

``VGGMini.forward`` turns its input to channels-last, the layout the networks are trained
in. This times a forward pass of ``vgg_mini`` on one batch both ways (interleaved repeats,
the NCHW pass by running ``features`` on a contiguous input without the conversion) and
prints the ratio of the minima and of the medians measured in this one run (below 1:
channels-last is faster), and the largest difference of the outputs (float rounding).
"""

import argparse
import sys

import torch

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, timings  # noqa: E402

import sevec_helpers as sh  # noqa: E402


def nchw_forward(model, x):
    h = x
    for layer in model.features:   # conv-BN-ReLU and pools on NCHW tensors, as before the change
        h = layer(h.contiguous())
    return model.classifier(torch.flatten(model.avgpool(h), 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=9)
    a = ap.parse_args()
    model, _ = sh.load_model("vgg_mini")
    x = torch.randn(a.batch, 3, 64, 64)
    with torch.inference_mode():
        t = timings({"nhwc": lambda: model(x), "nchw": lambda: nchw_forward(model, x)}, repeat=a.repeat)
        diff = (model(x) - nchw_forward(model, x)).abs().max().item()
    print(f"vgg_mini forward, batch {a.batch}, {torch.get_num_threads()} threads, {a.repeat} interleaved repeats")
    report("channels-last / NCHW", t["nhwc"], t["nchw"], goal="below 1")
    print(f"largest output difference: {diff:.2e}")


if __name__ == "__main__":
    main()
