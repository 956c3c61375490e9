import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import sevec_helpers as sh
from sevec_helpers.evaluation import pointing

E = (0.0, 0.1, 0.5, 0.9, 1.0)


def reference_game(m: np.ndarray, boxes, energy: float, q: float = 1.0) -> bool:
    """Plain per-image rule, written independently: keep values >= the cut-off value."""
    total = m.sum()
    if total <= 0:
        return False
    vals = np.sort(m.ravel())[::-1]
    cum = np.cumsum(vals)
    k = int(np.argmax(cum >= energy * cum[-1]))
    cut = vals[k]
    kept = m >= cut
    inside = np.zeros_like(kept)
    for x0, y0, x1, y1 in boxes:
        inside[int(np.ceil(y0 - 0.5)) : int(np.floor(y1 - 0.5)) + 1, int(np.ceil(x0 - 0.5)) : int(np.floor(x1 - 0.5)) + 1] = True
    return (kept & inside).sum() >= np.ceil(q * kept.sum() - 1e-9)


def test_map_inside_box_hits_at_every_energy():
    m = torch.zeros(1, 10, 10)
    m[0, 2:5, 3:7] = torch.rand(3, 4) + 0.1
    r = sh.generalized_pointing_game(m, [[(3, 2, 7, 5)]], E)
    assert r.accuracy.tolist() == [1.0] * len(E)


def test_maximum_outside_misses_and_energy_grows_the_kept_set():
    m = torch.zeros(1, 10, 10)
    m[0, 1, 1] = 1.0         # inside the box
    m[0, 8, 8] = 5.0         # the maximum, outside
    r = sh.generalized_pointing_game(m, [[(0, 0, 3, 3)]], E)
    assert not r.per_image.any()
    m[0, 8, 8] = 0.5         # now the maximum is inside; 2/3 of the energy is inside
    r = sh.generalized_pointing_game(m, [[(0, 0, 3, 3)]], (0.0, 0.6, 0.7, 1.0))
    assert r.per_image[0].tolist() == [True, True, False, False]
    r = sh.generalized_pointing_game(m, [[(0, 0, 3, 3)]], (1.0,), q=0.5)
    assert r.per_image[0].tolist() == [True]


def test_ties_are_kept_together():
    m = torch.zeros(1, 4, 4)
    m[0, 0, 0] = 1.0
    m[0, 3, 3] = 1.0  # tied maximum outside
    r = sh.generalized_pointing_game(m, [[(0, 0, 2, 2)]], (0.0, 0.4))
    assert not r.per_image.any()


def test_zero_maps_are_misses_counted_apart():
    m = torch.zeros(2, 5, 5)
    m[1, 2, 2] = 1
    r = sh.generalized_pointing_game(m, [[(0, 0, 5, 5)], [(2, 2, 3, 3)]], E)
    assert r.zero_maps == 1 and r.hits.tolist() == [1] * len(E) and r.misses.tolist() == [1] * len(E)


def test_several_boxes_form_a_union():
    m = torch.zeros(1, 10, 10)
    m[0, 1, 1] = 1.0
    m[0, 8, 8] = 1.0
    assert sh.generalized_pointing_game(m, [[(0, 0, 2, 2), (7, 7, 10, 10)]], E).accuracy.tolist() == [1.0] * 5
    assert sh.generalized_pointing_game(m, [[(0, 0, 2, 2)]], E).accuracy.tolist() == [0.0] * 5


def test_zero_energy_equals_argmax_rule():
    g = torch.Generator().manual_seed(0)
    maps = torch.rand(50, 12, 12, generator=g)
    boxes = [[(2, 3, 8, 9)]] * 50
    r = sh.generalized_pointing_game(maps, boxes, (0.0,))
    inside = pointing.box_mask([(2, 3, 8, 9)], 12, 12).reshape(-1)
    arg = maps.reshape(50, -1).argmax(1)
    assert r.per_image[:, 0].tolist() == inside[arg].tolist()
    classic = sh.pointing_game(maps, boxes, tolerance=0)
    assert classic.per_image[:, 0].tolist() == inside[arg].tolist()


def test_classic_tolerance_and_centre_baseline():
    m = torch.zeros(1, 40, 40)
    m[0, 20, 30] = 1.0  # 10 px right of the box edge at x=20
    assert sh.pointing_game(m, [[(0, 0, 20, 40)]], tolerance=15).accuracy[0] == 1.0
    assert sh.pointing_game(m, [[(0, 0, 20, 40)]], tolerance=5).accuracy[0] == 0.0
    c = sh.centre_maps(3, 40, 40)
    assert c.shape == (3, 40, 40)
    r = sh.generalized_pointing_game(c, [[(10, 10, 30, 30)]] * 3, (0.0, 0.5))
    assert r.accuracy.tolist()[0] == 1.0


def test_box_validation_errors():
    m = torch.rand(2, 8, 8)
    with pytest.raises(ValueError, match="not inside the 8x8 map"):
        sh.generalized_pointing_game(m, [[(0, 0, 9, 4)], [(0, 0, 2, 2)]])
    with pytest.raises(ValueError, match="boxes for 1 images"):
        sh.generalized_pointing_game(m, [[(0, 0, 2, 2)]])
    with pytest.raises(ValueError, match="no box"):
        sh.generalized_pointing_game(m, [[], [(0, 0, 2, 2)]])
    with pytest.raises(ValueError, match="non-negative"):
        sh.generalized_pointing_game(-m, [[(0, 0, 2, 2)]] * 2)
    with pytest.raises(ValueError, match="energies"):
        sh.generalized_pointing_game(m, [[(0, 0, 2, 2)]] * 2, (1.5,))


maps_st = st.lists(st.integers(0, 4), min_size=36, max_size=36).map(
    lambda v: np.array(v, dtype=float).reshape(6, 6))
box_st = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(1, 3), st.integers(1, 3)).map(
    lambda t: (t[0], t[1], min(6, t[0] + t[2]), min(6, t[1] + t[3])))


@settings(max_examples=150, deadline=None)
@given(maps_st, box_st, st.sampled_from([0.5, 0.75, 1.0]))
def test_vectorised_equals_reference(m, box, q):
    r = sh.generalized_pointing_game(torch.tensor(m)[None], [[box]], E, q=q)
    assert r.per_image[0].tolist() == [reference_game(m, [box], e, q) for e in E]


@settings(max_examples=150, deadline=None)
@given(maps_st, box_st, st.integers(0, 35), st.floats(0.1, 10))
def test_adding_outside_energy_never_raises_accuracy(m, box, pos, amount):
    inside = pointing.box_mask([box], 6, 6).numpy()
    y, x = divmod(pos, 6)
    if inside[y, x]:
        return
    m2 = m.copy()
    m2[y, x] += amount
    a = sh.generalized_pointing_game(torch.tensor(m)[None], [[box]], E).per_image[0]
    b = sh.generalized_pointing_game(torch.tensor(m2)[None], [[box]], E).per_image[0]
    assert not np.any(b & ~a)


# the cut-off (issue 20: one copy, in pointing.py): kept_pixels is what the game keeps
MAP5 = torch.tensor([[0, 0, 0, 0, 0], [0, 4, 3, 0, 0], [0, 2, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 5]],
                    dtype=torch.float64)


def _cells(mask: torch.Tensor) -> set:
    return {(int(r), int(c)) for r, c in torch.nonzero(mask)}


def test_kept_pixels_pins_the_cut_off():
    from sevec_helpers.evaluation.pointing import kept_pixels

    # total 15: the fewest top pixels holding m * 15 (5; 5+4 = 9; 5+4+3 = 12; 5+4+3+2 = 14; all)
    assert _cells(kept_pixels(MAP5, 0.0)) == {(4, 4)}
    assert _cells(kept_pixels(MAP5, 1 / 3)) == {(4, 4)}              # 5 >= 5: exactly reached, not more
    assert _cells(kept_pixels(MAP5, 1 / 3 + 1e-6)) == {(4, 4), (1, 1)}
    assert _cells(kept_pixels(MAP5, 0.5)) == {(4, 4), (1, 1)}        # 9 >= 7.5
    assert _cells(kept_pixels(MAP5, 0.7)) == {(4, 4), (1, 1), (1, 2)}  # 12 >= 10.5
    assert _cells(kept_pixels(MAP5, 0.9)) == {(4, 4), (1, 1), (1, 2), (2, 1)}  # 14 >= 13.5
    assert _cells(kept_pixels(MAP5, 1.0)) == {(4, 4), (1, 1), (1, 2), (2, 1), (2, 2)}
    tied = torch.tensor([[3.0, 3.0], [3.0, 1.0]])
    assert kept_pixels(tied, 0.0).sum() == 3                          # ties with the last kept value are kept
    assert not kept_pixels(torch.zeros(3, 3), 0.5).any()
    assert kept_pixels(MAP5.numpy(), 0.5).dtype == torch.bool
    with pytest.raises(ValueError, match="energy"):
        kept_pixels(MAP5, 1.5)
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        kept_pixels(MAP5[None], 0.5)
    with pytest.raises(ValueError, match="non-negative"):
        kept_pixels(-MAP5, 0.5)


@settings(max_examples=150, deadline=None)
@given(maps_st, box_st, st.sampled_from(E))
def test_the_game_hits_exactly_when_the_kept_pixels_lie_in_the_box(m, box, e):
    from sevec_helpers.evaluation.pointing import kept_pixels

    kept = kept_pixels(torch.tensor(m), e)
    inside = pointing.box_mask([box], 6, 6)
    hit = bool(kept.any() and not (kept & ~inside).any())
    assert sh.generalized_pointing_game(torch.tensor(m)[None], [[box]], [e]).per_image[0, 0] == hit
