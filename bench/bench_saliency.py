"""Saliency cost: semantic Guided Backprop against the library's vanilla gradient, against
Captum's GuidedBackprop, and the library's vanilla gradient against a bare torch.autograd.grad.

    python bench/bench_saliency.py [--device cuda] [--repeat 7]

Goals: semantic GBP / vanilla gradient <= 1.10; semantic GBP / Captum GBP <= 1.0 (vgg_mini
batch 64, VGG16 batch 4). Ratios of the minima and of the medians of interleaved repeats.
"""

import argparse
import sys
import warnings

import torch
import torchvision
from captum.attr import GuidedBackprop

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import report, timings  # noqa: E402

import sevec_helpers as sh  # noqa: E402

warnings.filterwarnings("ignore")


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def bare_gradient(model, x, target):
    xin = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(model(xin).gather(1, target[:, None]).sum(), xin)
    return g


def run(name, model, x, target, d_units, k, repeat):
    rates = torch.rand(k, d_units, generator=torch.Generator().manual_seed(0))
    sv = sh.SemanticVectors(vectors=rates / rates.norm(dim=1, keepdim=True), rates=rates,
                            counts=torch.ones(k, dtype=torch.long), dead=torch.zeros(k, dtype=torch.long),
                            names=[str(i) for i in range(k)], layer="pool5", diversity=torch.zeros(k))
    cap = GuidedBackprop(model)
    t = timings({"semantic": lambda: (sh.guided_backprop(model, x, target, sevecs=sv, check_provenance=False), sync()),
                 "guided": lambda: (sh.guided_backprop(model, x, target), sync()),
                 "vanilla": lambda: (sh.vanilla_gradient(model, x, target), sync()),
                 "bare": lambda: (bare_gradient(model, x, target), sync()),
                 "captum": lambda: (cap.attribute(x, target=target), sync())}, repeat=repeat)
    report(f"{name}: semantic GBP / library vanilla gradient", t["semantic"], t["vanilla"], "<= 1.10")
    report(f"{name}: semantic GBP / Captum GuidedBackprop", t["semantic"], t["captum"], "<= 1.0")
    report(f"{name}: Guided Backprop / Captum GuidedBackprop", t["guided"], t["captum"])
    report(f"{name}: library vanilla gradient / bare torch.autograd.grad", t["vanilla"], t["bare"])


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--vgg16-batch", type=int, default=4)
    p.add_argument("--repeat", type=int, default=7)
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model, spec = sh.load_model("vgg_mini")
    model.to(dev)
    x = torch.randn(64, 3, 64, 64, device=dev)
    d = sh.extract_features(model, x[:1], "pool5", progress=False).values.shape[1]
    run(f"{a.device}: vgg_mini, batch 64 of 64x64", model, x, torch.arange(64, device=dev) % 32, d, 32, a.repeat)
    vgg = torchvision.models.vgg16(weights=None).eval().to(dev)
    b = a.vgg16_batch
    x = torch.randn(b, 3, 224, 224, device=dev)
    run(f"{a.device}: vgg16 (random weights), batch {b} of 224x224", vgg, x, torch.arange(1, b + 1, device=dev),
        512 * 7 * 7, 1000, a.repeat)
