"""The book's one rule for drawing saliency maps (issue 22): each map divided by its own 99th
percentile and clipped at 1, on a dark-to-bright colour map, with a colour bar; maps drawn this
way are marked for the browser tests and render visibly even when they are peaky."""

import matplotlib.pyplot as plt
import numpy as np

from sevec_helpers.book import figures as viz


def test_each_map_is_divided_by_its_own_99th_percentile():
    m = np.arange(10000, dtype=float).reshape(100, 100)
    m[0, 0] = 1e6                                        # one hot pixel must not darken the rest
    hi = np.percentile(m, 99)
    assert np.array_equal(viz.saliency_scaled(m), np.clip(m / hi, 0, 1))
    sparse = np.zeros((40, 25))
    sparse[3, 4] = 2.0                                   # under 1% non-zero: the percentile is 0 -> by the max
    assert np.percentile(sparse, 99) == 0
    assert np.array_equal(viz.saliency_scaled(sparse), sparse / 2.0)
    assert not viz.saliency_scaled(np.zeros((4, 4))).any()   # a zero map stays black


def test_a_peaky_map_renders_visibly_and_the_grid_has_a_colour_bar():
    rng = np.random.default_rng(0)
    peaky = rng.random((32, 32)) ** 8
    peaky[5, 5] = 50.0
    fig = viz.saliency_grid(np.zeros((32, 32, 3)), {"a": {"GuidedBP": peaky}, "b": {"GuidedBP": peaky.T}})
    try:
        assert viz.saliency_grey_p99(fig) >= 64          # the browser test's bar
        marked = [im for ax in fig.axes for im in ax.images if im.get_gid() == viz.SALIENCY_GID]
        assert len(marked) == 2 and all(im.get_clim() == (0.0, 1.0) for im in marked)
        assert any(ax.get_ylabel() == viz.SALIENCY_BAR_LABEL for ax in fig.axes)   # the colour bar
    finally:
        plt.close(fig)
    # the old rule (divide by the maximum) leaves the same map almost black
    fig, ax = plt.subplots()
    try:
        ax.imshow(peaky / peaky.max(), cmap="inferno", gid=viz.SALIENCY_GID)
        assert viz.saliency_grey_p99(fig) < 64
    finally:
        plt.close(fig)
