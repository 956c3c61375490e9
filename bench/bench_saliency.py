"""Semantic Guided Backprop vs vanilla gradient vs Captum's GuidedBackprop on the same batch.

    python bench/bench_saliency.py [--device cuda]

Goals: semantic GBP / vanilla gradient <= 1.10; semantic GBP / Captum GBP <= 1.0.
"""

import argparse
import sys
import warnings

import torch
import torchvision
from captum.attr import GuidedBackprop

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from common import best_of, report  # noqa: E402

import sevec_helpers as sh  # noqa: E402

warnings.filterwarnings("ignore")


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def run(name, model, x, target, d_units, k):
    rates = torch.rand(k, d_units, generator=torch.Generator().manual_seed(0))
    sv = sh.SemanticVectors(rates / rates.norm(dim=1, keepdim=True), rates, torch.ones(k, dtype=torch.long),
                            torch.zeros(k, dtype=torch.long), [str(i) for i in range(k)], "pool5", torch.zeros(k))
    sem = best_of(lambda: (sh.guided_backprop(model, x, target, sevecs=sv), sync()))
    van = best_of(lambda: (sh.vanilla_gradient(model, x, target), sync()))
    cap = best_of(lambda: (GuidedBackprop(model).attribute(x, target=target), sync()))
    report(f"{name}: semantic GBP / vanilla gradient", sem, van, "<= 1.10")
    report(f"{name}: semantic GBP / Captum GuidedBackprop", sem, cap, "<= 1.0")


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--device", default="cpu")
    p.add_argument("--vgg16-batch", type=int, default=4)
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.manual_seed(0)
    model, spec = sh.load_model("vgg_mini")
    model.to(dev)
    x = torch.randn(64, 3, 64, 64, device=dev)
    d = sh.extract_features(model, x[:1], "pool5", progress=False, device=dev).shape[1]
    run(f"{a.device}: vgg_mini, batch 64 of 64x64", model, x, torch.arange(64, device=dev) % 24, d, 24)
    vgg = torchvision.models.vgg16(weights=None).eval().to(dev)
    b = a.vgg16_batch
    x = torch.randn(b, 3, 224, 224, device=dev)
    run(f"{a.device}: vgg16 (random weights), batch {b} of 224x224", vgg, x, torch.arange(1, b + 1, device=dev),
        512 * 7 * 7, 1000)
