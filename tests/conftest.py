import warnings

import pytest
import torch
import torch.nn as nn


class PlantedNet(nn.Module):
    """x (N, 1, 1, D) -> flatten -> identity Linear -> ReLU ('act') -> Linear head ('head').

    The post-ReLU activations equal max(x, 0), so binary patterns can be planted exactly.
    """

    def __init__(self, d: int, k: int = 3, seed: int = 0):
        super().__init__()
        self.lin = nn.Linear(d, d, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(torch.eye(d))
        self.act = nn.ReLU()
        g = torch.Generator().manual_seed(seed)
        self.head = nn.Linear(d, k)
        with torch.no_grad():
            self.head.weight.copy_(torch.randn(k, d, generator=g))
            self.head.bias.zero_()

    def forward(self, x):
        return self.head(self.act(self.lin(x.flatten(1))))


def planted_inputs(patterns: torch.Tensor, scale=None) -> torch.Tensor:
    """Binary patterns (N, D) -> inputs (N, 1, 1, D) whose activations have exactly that support."""
    p = patterns.float()
    if scale is not None:
        p = p * scale
    neg = -(1 - patterns.float())  # inactive units get a negative pre-activation
    return (p + neg).reshape(p.shape[0], 1, 1, -1)


def hook_state(model: nn.Module):
    return [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks),
             len(getattr(m, "_backward_pre_hooks", {})), m.training) for m in model.modules()] + \
           [p.requires_grad for p in model.parameters()]


@pytest.fixture(autouse=True)
def _quiet_captum():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*required_grads.*")
        warnings.filterwarnings("ignore", message=".*backward hooks on ReLU.*")
        yield


# the browser tests' site and Chromium (tests/test_browser.py, tests/test_atlas_browser.py)

@pytest.fixture(scope="module")
def site():
    """The small build served on 127.0.0.1 (built first if needed): the site's address."""
    import smallbook

    with smallbook.serve() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless."""
    import smallbook

    with smallbook.chromium() as b:
        yield b
