"""Throughput of the library's hot paths on VGG16 (random weights, 224x224 inputs) on one
device, and what that predicts for the full ImageNet profile.

    python bench/bench_throughput.py [--device cuda] [--batch 128] [--steps 8]

Prints images per second for: a plain forward pass, fit_sevecs at fc1 and at pool5
(1000 concepts), extract_features, semantic Guided Backprop and the vanilla gradient,
plus the pointing game on 1000 maps. Inputs are random tensors already on the device, so
this measures the model and the library, not JPEG decoding (which, on a GPU, is usually
the real limit: plan data-loader workers accordingly).
"""

import argparse
import time

import torch
import torchvision

import sevec_helpers as sh
from sevec_helpers.core import inputs


def seconds(fn, device, repeat: int = 2) -> float:
    fn()  # warm-up (cuDNN autotune, allocator)
    best = float("inf")
    for _ in range(repeat):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def rate(fn, n_images: int, device, repeat: int = 2) -> float:
    return n_images / seconds(fn, device, repeat)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--device", default=None)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=8, help="batches per measurement")
    a = p.parse_args()
    dev = torch.device(a.device) if a.device else inputs.default_device()
    torch.backends.cudnn.benchmark = True
    model = torchvision.models.vgg16(weights=None).eval().to(dev)
    n = a.batch * a.steps
    x = torch.randn(n, 3, 224, 224, device=dev)
    y = torch.randint(0, 1000, (n,), device=dev)
    batches = [(x[i : i + a.batch], y[i : i + a.batch]) for i in range(0, n, a.batch)]
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"cpu x{torch.get_num_threads()}"
    print(f"device: {name}; torch {torch.__version__}; batch {a.batch}, {n} images per measurement")

    def plain():
        with torch.inference_mode():
            for xb, _ in batches:
                model(xb)

    def fit(layer, m):
        return lambda: sh.fit_sevecs(model, (x[:m], y[:m]), layer, num_concepts=1000, batch_size=a.batch,
                                     progress=False, allow_empty=True)

    r = {"forward": rate(plain, n, dev)}
    for layer in ("fc1", "pool5"):
        # streaming rate from two sizes (the fixed cost of finishing 1000 x D sums cancels out)
        half = n // 2
        t_half, t_full = seconds(fit(layer, half), dev), seconds(fit(layer, n), dev)
        r[f"fit_sevecs {layer}"] = (n - half) / max(t_full - t_half, 1e-9)
        print(f"fit_sevecs {layer}: {n} images end to end {t_full:.3f}s (includes finishing the sums, "
              f"{t_full - (t_full - t_half) * n / (n - half):.3f}s fixed)")
    sv = sh.fit_sevecs(model, (x, y), "pool5", num_concepts=1000, batch_size=a.batch, progress=False,
                       allow_empty=True)
    sb = max(1, a.batch // 2)
    xs, ts = x[:sb], y[:sb]
    r["semantic GuidedBP"] = rate(lambda: sh.guided_backprop(model, xs, ts, sevecs=sv, check_provenance=False), sb, dev)
    r["vanilla gradient"] = rate(lambda: sh.vanilla_gradient(model, xs, ts), sb, dev)
    maps = torch.rand(1000, 224, 224)
    boxes = [[(50, 50, 150, 150)]] * 1000
    t0 = time.perf_counter()
    sh.generalized_pointing_game(maps, boxes)
    r["pointing game (CPU, maps)"] = 1000 / (time.perf_counter() - t0)
    for k, v in r.items():
        print(f"{k:28s} {v:10.1f} images/s")
    # the full imagenet profile (params/imagenet.yaml): 100 train images x 1000 classes for the
    # class SeVecs at fc1 and pool5 (chapters 1-7 refit per chapter), 50K val images, 5000 scenes
    fit_s = 1e5 / r["fit_sevecs fc1"] * 5 + 1e5 / r["fit_sevecs pool5"] * 2
    val_s = 5e4 / r["forward"] * (1 + 5 + 2)          # features, Table 1's five passes, accuracy + gray
    sal_s = 5000 * 4 / r["semantic GuidedBP"] * 2      # four methods, chapters 6 and 7
    print(f"predicted model time for the full imagenet profile (all chapters): {(fit_s + val_s + sal_s) / 60:.1f} min "
          f"(fitting {fit_s / 60:.1f}, val passes {val_s / 60:.1f}, saliency {sal_s / 60:.1f}); data loading extra")


if __name__ == "__main__":
    main()
