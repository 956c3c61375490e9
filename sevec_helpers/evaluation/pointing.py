"""The generalized pointing game (paper Sec. 5.2), the classic one, and a centre baseline.

Boxes are (x0, y0, x1, y1) in the pixel coordinates of the map, half-open like numpy
slicing: pixel column i is inside when x0 <= i + 0.5 <= x1, so the integer box
(2, 0, 5, 3) covers columns 2, 3, 4 and rows 0, 1, 2. A map is scored against the union of
the target class's boxes.

Generalized game at kept energy m: sort the map's pixels by value, keep the smallest top
set whose values sum to at least m of the map's total (pixels tied with the last kept
value are all kept, so the result does not depend on sort order; m -> 0 keeps the
maximum). A hit when at least a fraction q (default 1: every pixel) of the kept pixels is
inside the boxes. A map that is zero everywhere is a miss, counted apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

DEFAULT_ENERGIES = tuple(np.round(np.linspace(0.05, 1.0, 20), 2))

Box = Sequence[float]


@dataclass
class PointingResult:
    """What a pointing game measured, one column per kept-energy level.

    Attributes
    ----------
    energies : numpy.ndarray or None
        The kept-energy levels m (E,) of the generalized game; None for the classic game,
        which has no energy level (one column).
    accuracy : numpy.ndarray
        Hits / images per level (E,), zero maps counted as misses.
    hits : numpy.ndarray
        Hits per level (E,).
    misses : numpy.ndarray
        Misses per level (E,), the ``zero_maps`` included.
    zero_maps : int
        Maps with no energy at all (a miss at every level).
    n : int
        Number of maps.
    per_image : numpy.ndarray
        (N, E) bool: which image hit at which level.
    tolerance : float or None
        The classic game's tolerance in pixels (as used); None for the generalized game.
    """

    energies: np.ndarray | None
    accuracy: np.ndarray
    hits: np.ndarray
    misses: np.ndarray
    zero_maps: int
    n: int
    per_image: np.ndarray = field(repr=False)  # (N, E) bool hits
    tolerance: float | None = None

    def as_dict(self) -> dict:
        return {"energies": None if self.energies is None else self.energies.tolist(),
                "accuracy": self.accuracy.tolist(), "hits": self.hits.tolist(), "misses": self.misses.tolist(),
                "zero_maps": self.zero_maps, "n": self.n, "tolerance": self.tolerance}


def _as_maps(maps) -> torch.Tensor:
    if isinstance(maps, np.ndarray) and maps.dtype.kind not in "biuf":
        raise TypeError(f"maps must be numeric (N, H, W), got a numpy array of {maps.dtype}")
    try:
        m = torch.as_tensor(maps).detach().cpu()  # maps may come straight from a GPU
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"maps must be a tensor or array (N, H, W), got {type(maps).__name__}") from None
    if m.dim() != 3:
        raise ValueError(f"maps must have shape (N, H, W); got {tuple(m.shape)} "
                         f"(reduce attributions with reduce_channels first)")
    if m.shape[0] == 0 or m.shape[1] == 0 or m.shape[2] == 0:
        raise ValueError(f"maps must not be empty, got shape {tuple(m.shape)}")
    if m.is_complex():
        raise TypeError("maps must be real-valued")
    if not m.is_floating_point():
        m = m.double()
    if not torch.isfinite(m).all():
        raise ValueError("maps contain NaN or Inf")
    if (m < 0).any():
        raise ValueError("maps must be non-negative energies; use reduce_channels(attr, 'abs_sum') or clip negatives")
    return m


def _box_rows(bs, i: int) -> np.ndarray:
    try:
        arr = np.asarray(bs.detach().cpu() if isinstance(bs, torch.Tensor) else bs, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"boxes of image {i} must be numbers (x0, y0, x1, y1); got {bs!r}") from None
    if arr.size == 0:
        raise ValueError(f"image {i} has no box; every map needs at least one target box")
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise ValueError(f"each box of image {i} must have 4 numbers (x0, y0, x1, y1); got shape {arr.shape} "
                         f"({arr.tolist()!r}). Pass a list of boxes per image: [[(x0, y0, x1, y1), ...], ...]")
    return arr


def _check_boxes(boxes, n: int, h: int, w: int) -> list[list[tuple[float, float, float, float]]]:
    if isinstance(boxes, (str, bytes)) or not hasattr(boxes, "__len__"):
        raise TypeError(f"boxes must be one list of (x0, y0, x1, y1) boxes per map, got {type(boxes).__name__}")
    if len(boxes) != n:
        raise ValueError(f"got {n} maps but boxes for {len(boxes)} images; pass one list of boxes per map")
    rows = [_box_rows(bs, i) for i, bs in enumerate(boxes)]
    if n and max(h, w) > 2 and all(np.all((r >= 0) & (r <= 1)) for r in rows) and \
            any(np.any(r != np.round(r)) for r in rows):
        raise ValueError(f"every box lies within [0, 1] but the maps are {h}x{w} pixels: the boxes look normalised. "
                         f"Boxes are in the map's pixel coordinates: multiply x by {w} and y by {h}")
    out = []
    for i, bs in enumerate(rows):
        for b in bs:
            x0, y0, x1, y1 = b
            if not np.all(np.isfinite(b)) or not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                raise ValueError(
                    f"box {tuple(float(v) for v in b)} of image {i} is not inside the {h}x{w} map or is empty: "
                    f"boxes are (x0, y0, x1, y1) with 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H in the map's pixel "
                    f"coordinates; rescale boxes when you resize images")
        out.append([tuple(map(float, b)) for b in bs])
    return out


def box_mask(boxes: Sequence[Box], h: int, w: int) -> torch.Tensor:
    """Bool (H, W): pixels inside the union of ``boxes`` (pixel centres, edges included).

    Computed with numpy: per-image work this small must not wait on torch's worker threads
    (on a busy 2-core machine that made the pointing game 50 times slower)."""
    return torch.from_numpy(_box_mask_np(boxes, h, w))


def _box_mask_np(boxes: Sequence[Box], h: int, w: int) -> np.ndarray:
    cx = np.arange(w, dtype=np.float64) + 0.5
    cy = np.arange(h, dtype=np.float64) + 0.5
    m = np.zeros((h, w), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        rows = (cy >= y0) & (cy <= y1)
        cols = (cx >= x0) & (cx <= x1)
        m |= rows[:, None] & cols[None, :]
    return m


def _box_distance(boxes: Sequence[Box], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """For the pixels (rows, cols), the distance of each pixel centre to the nearest of ``boxes``
    in pixels (0 inside one)."""
    cx, cy = cols.astype(np.float64) + 0.5, rows.astype(np.float64) + 0.5
    d = np.full(cx.shape, np.inf)
    for x0, y0, x1, y1 in boxes:
        dx = np.clip(np.maximum(x0 - cx, cx - x1), 0, None)
        dy = np.clip(np.maximum(y0 - cy, cy - y1), 0, None)
        d = np.minimum(d, np.hypot(dx, dy))
    return d


def _cutoff(asc: np.ndarray, cums: np.ndarray, energies: np.ndarray) -> np.ndarray:
    """The generalized game's cut-off value per kept energy, for one map: the value of the
    k-th largest pixel, k the fewest top pixels whose values sum to at least m of the total
    (every pixel >= the cut-off is kept, so ties with it are kept too; m = 0 gives the
    maximum). ``asc``: the map's values sorted ascending; ``cums``: the cumulative sum of
    the values sorted descending (``cums[-1]`` is the total, > 0). The one place the
    cut-off is computed."""
    p = len(asc)
    k = np.minimum(np.searchsorted(cums, np.asarray(energies, float) * cums[-1], side="left"), p - 1)
    return asc[p - 1 - k]


def kept_pixels(saliency_map, energy: float) -> torch.Tensor:
    """The pixels the generalized pointing game keeps of one map at kept energy ``energy``.

    Parameters
    ----------
    saliency_map : torch.Tensor or numpy.ndarray
        One non-negative map (H, W).
    energy : float
        The kept energy m in [0, 1].

    Returns
    -------
    torch.Tensor
        Bool (H, W): the smallest set of top pixels whose values sum to at least m of the
        map's total, with every pixel tied with the last one kept (m = 0: the maximum and
        its ties). All False for a zero map. The game hits (q = 1) when every kept pixel
        lies inside the target's boxes.

    Raises
    ------
    ValueError, TypeError
        As :func:`generalized_pointing_game` for a map that is not (H, W), negative or not
        finite, or an energy outside [0, 1].
    """
    m = torch.as_tensor(saliency_map) if not isinstance(saliency_map, torch.Tensor) else saliency_map
    if m.dim() != 2:
        raise ValueError(f"saliency_map must be one map (H, W), got shape {tuple(m.shape)}")
    m = _as_maps(m[None])[0]
    if isinstance(energy, bool) or not isinstance(energy, (int, float, np.number)) or not 0 <= float(energy) <= 1:
        raise ValueError(f"energy must be a fraction in [0, 1], got {energy!r}")
    flat = m.reshape(-1).numpy().astype(np.float64, copy=False)
    if flat.sum() <= 0:
        return torch.zeros(m.shape, dtype=torch.bool)
    asc = np.sort(flat)
    thr = _cutoff(asc, np.cumsum(asc[::-1]), np.array([float(energy)]))[0]
    return torch.from_numpy(flat >= thr).reshape(m.shape)


def generalized_pointing_game(maps, boxes, energies: Sequence[float] = DEFAULT_ENERGIES, *, q: float = 1.0,
                              chunk: int = 256) -> PointingResult:
    """The generalized pointing game (paper Sec. 5.2) at every kept-energy level.

    For each map, keep the smallest set of its largest pixels that holds at least a share
    m of the map's energy (m -> 0 keeps the maximum, ties included); a hit when every kept
    pixel (or a fraction ``q`` of them) lies inside the union of the image's target boxes.
    One sort per map serves every level. A map with no energy is a miss, counted apart.

    Parameters
    ----------
    maps : torch.Tensor or numpy.ndarray
        Non-negative saliency maps (N, H, W), e.g. from :func:`reduce_channels`.
    boxes : sequence
        Per image, its target boxes as (x0, y0, x1, y1) in pixels of the map.
    energies : sequence of float
        The kept-energy levels m, each in [0, 1].
    q : float
        The fraction of kept pixels that must lie inside the boxes (1: all of them).
    chunk : int
        Maps sorted at once (memory).

    Returns
    -------
    PointingResult
        Accuracy, hits and misses per level, and the per-image hits (N, E).

    Raises
    ------
    ValueError
        Negative or non-finite maps, energies outside [0, 1], q outside (0, 1], boxes in
        normalised coordinates or outside the map.
    """
    m_all = _as_maps(maps)
    n, h, w = m_all.shape
    e = np.asarray(energies, dtype=float).reshape(-1)
    if e.size == 0 or np.any(~np.isfinite(e)) or np.any(e < 0) or np.any(e > 1):
        raise ValueError(f"energies must be fractions in [0, 1], got {list(e)}")
    if isinstance(q, bool) or not isinstance(q, (int, float, np.number)) or not 0 < q <= 1:
        raise ValueError(f"q (the fraction of kept pixels that must lie inside) must be in (0, 1], got {q}")
    bx = _check_boxes(boxes, n, h, w)
    per_image = np.zeros((n, len(e)), dtype=bool)
    zero = 0
    p = h * w
    for s in range(0, n, chunk):
        m = m_all[s : s + chunk].reshape(-1, p).numpy().astype(np.float64, copy=False)
        inside = np.stack([_box_mask_np(b, h, w).reshape(-1) for b in bx[s : s + chunk]])
        asc = np.sort(m, axis=1)
        cums = np.cumsum(asc[:, ::-1], axis=1)           # energy of the top-k pixels, k = 1..P
        total = cums[:, -1]
        max_out = np.where(inside, -np.inf, m).max(axis=1)
        for i in range(len(m)):
            if total[i] <= 0:
                zero += 1
                continue
            thr = _cutoff(asc[i], cums[i], e)
            if q == 1.0:
                per_image[s + i] = max_out[i] < thr
            else:
                kept = p - np.searchsorted(asc[i], thr, side="left")
                ins = np.sort(m[i, inside[i]])
                kept_in = len(ins) - np.searchsorted(ins, thr, side="left")
                per_image[s + i] = kept_in >= np.ceil(q * kept - 1e-9)
    hits = per_image.sum(0)
    return PointingResult(energies=e, accuracy=hits / max(n, 1), hits=hits, misses=n - hits, zero_maps=zero,
                          n=n, per_image=per_image)


CLASSIC_TOLERANCE = 15.0
"""The classic game's tolerance: 15 pixels on 224-pixel images (Zhang et al. 2016)."""
CLASSIC_SIZE = 224


def classic_tolerance(h: int, w: int) -> float:
    """The classic game's 15 px at 224 px, scaled to an H x W map: 15 * sqrt(H * W) / 224 pixels
    (4.3 px at 64 px, 15 at 224 px)."""
    return CLASSIC_TOLERANCE * math.sqrt(h * w) / CLASSIC_SIZE


def pointing_game(maps, boxes, tolerance: float | None = None) -> PointingResult:
    """The classic pointing game (Zhang et al. 2016): a hit when the map's maximum lies
    within ``tolerance`` pixels of a target box; tied maxima must all lie within it.

    Parameters
    ----------
    maps : torch.Tensor or numpy.ndarray
        Non-negative saliency maps (N, H, W).
    boxes : sequence
        Per image, its target boxes as (x0, y0, x1, y1) in pixels.
    tolerance : float, optional
        Pixels of the map around the boxes that still count. Default: the original game's
        15 px at 224 px scaled to the map
        (:func:`sevec_helpers.evaluation.pointing.classic_tolerance`: 15 * sqrt(H * W) / 224,
        4.3 px on a 64-px map); a number is taken as pixels of the map, as given.

    Returns
    -------
    PointingResult
        One column: ``accuracy[0]``, ``per_image[:, 0]``; ``energies`` is None and
        ``tolerance`` is the tolerance used, in pixels.

    Raises
    ------
    ValueError
        As :func:`generalized_pointing_game` for the maps and boxes; a tolerance that is not a
        finite number of pixels >= 0.
    """
    if tolerance is not None and (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.number))
                                  or not math.isfinite(tolerance) or tolerance < 0):
        raise ValueError(f"tolerance must be a finite number of pixels >= 0, or None for the classic game's 15 px at "
                         f"224 px scaled to the map, got {tolerance!r}")
    m_all = _as_maps(maps)
    n, h, w = m_all.shape
    tol = classic_tolerance(h, w) if tolerance is None else float(tolerance)
    bx = _check_boxes(boxes, n, h, w)
    hit = np.zeros((n, 1), dtype=bool)
    zero = 0
    arr = m_all.numpy()                     # per-image work in numpy (see box_mask)
    for i in range(n):
        mi = arr[i]
        mx = mi.max()
        if mx <= 0:
            zero += 1
            continue
        r, c = np.nonzero(mi == mx)                      # the maximum and its ties: only they are judged
        hit[i, 0] = bool((_box_distance(bx[i], r, c) <= tol).all())
    hits = hit.sum(0)
    return PointingResult(energies=None, accuracy=hits / max(n, 1), hits=hits, misses=n - hits,
                          zero_maps=zero, n=n, per_image=hit, tolerance=tol)


def centre_maps(n: int, h: int, w: int, sigma: float = 0.25) -> torch.Tensor:
    """Gaussian maps centred on the image: the baseline the paper finds strong.

    Parameters
    ----------
    n, h, w : int
        Number of maps and their size.
    sigma : float
        The Gaussian's width as a fraction of the image side.

    Returns
    -------
    torch.Tensor
        (n, H, W) float64 maps, largest at the centre.

    Raises
    ------
    ValueError
        A size that is not a positive integer, or a width that is not a positive number.
    """
    for what, v in (("n", n), ("h", h), ("w", w)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{what} must be a positive integer (the number of maps and their size), got {v!r}")
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.number)) or not math.isfinite(sigma) \
            or sigma <= 0:
        raise ValueError(f"sigma (the Gaussian's width as a fraction of the image side) must be > 0, got {sigma!r}")
    yy = (torch.arange(h, dtype=torch.float64) + 0.5 - h / 2) / (sigma * h)
    xx = (torch.arange(w, dtype=torch.float64) + 0.5 - w / 2) / (sigma * w)
    g = torch.exp(-0.5 * (yy[:, None] ** 2 + xx[None, :] ** 2))
    return g.expand(n, h, w).clone()
