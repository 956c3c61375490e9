"""Pixels of the photo testbed: its source images read from the cache, objects pasted onto
backgrounds with exact masks, concept swatches cut from one half of a source, colours named.

Every function takes a ``numpy.random.Generator`` and draws from it in a fixed order, so an
image is a function of its seed (and of the Pillow and libjpeg that decode and resize it).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sevec_helpers.sources.photo_testbed.fetch import PhotoTestbedUnavailable, default_dest, status
from sevec_helpers.sources.photo_testbed import tables as T
from sevec_helpers.sources.photo_testbed.pat import read_pat
from sevec_helpers.sources.world.vocabulary import COLORS

ALPHA_CUT = 128          # a pixel belongs to an object when its alpha is at least this (of 255)
MAX_UPSCALE = 4.0        # a stamp is never drawn at more than 4x its original size
BACKGROUND_SIDE = 800    # backgrounds are decoded at about this shorter side (JPEG draft mode)
STAMP_SIDE = 640         # stamps larger than this (longer side) are resampled to it once, when read


# ---------------------------------------------------------------------------------------
# the source images
# ---------------------------------------------------------------------------------------

class Sources:
    """The testbed's decoded source images, read from the verified cache once per process.

    Raises :class:`~sevec_helpers.sources.photo_testbed.fetch.PhotoTestbedUnavailable` (with
    the packages and the command that fetches them) when the files are not ready."""

    _lock = threading.Lock()
    _shared: dict[str, "Sources"] = {}

    def __init__(self, root: Path):
        self.root = Path(root)
        self._memo: dict = {}

    @classmethod
    def get(cls, root: str | Path | None = None) -> "Sources":
        root = Path(root) if root is not None else default_dest()
        why = status(root)
        if why is not None:
            raise PhotoTestbedUnavailable(f"the photo testbed is unavailable: {why}")
        with cls._lock:
            if str(root) not in cls._shared:
                cls._shared[str(root)] = cls(root)
            return cls._shared[str(root)]

    def path(self, package: str, rel: str) -> Path:
        return self.root / package / rel

    def _cached(self, key, load):
        if key not in self._memo:
            self._memo[key] = load()
        return self._memo[key]

    def stamp(self, stamp: T.Stamp) -> np.ndarray:
        """(h, w, 4) uint8 RGBA, cropped to the pixels with any opacity."""
        def load():
            with Image.open(self.path(T.TUXPAINT, stamp.package_path)) as im:
                rgba = np.asarray(im.convert("RGBA"))
            ys, xs = np.nonzero(rgba[..., 3] > 0)
            rgba = np.ascontiguousarray(rgba[ys.min():ys.max() + 1, xs.min():xs.max() + 1])
            h, w = rgba.shape[:2]
            if max(h, w) > STAMP_SIDE:   # a few stamps are up to 2348 px: resample them once
                s = STAMP_SIDE / max(h, w)
                im = Image.fromarray(rgba).resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
                rgba = np.asarray(im)
            return rgba
        return self._cached(("stamp", stamp.path), load)

    def background(self, rel: str) -> Image.Image:
        """A background photograph (RGB) decoded at a shorter side of at least
        ``BACKGROUND_SIDE`` (JPEG draft mode: 1/2, 1/4 or 1/8 of the original)."""
        def load():
            with Image.open(self.path(T.MATE, rel)) as im:
                w, h = im.size
                f = max(1, min(w, h) // BACKGROUND_SIDE)
                im.draft("RGB", (w // f, h // f))
                return im.convert("RGB")
        return self._cached(("background", rel), load)

    def source(self, src: T.Source) -> np.ndarray:
        """(H, W, 3) uint8 of a concept source (grey sources as three equal channels)."""
        def load():
            if src.package == T.SKIMAGE:
                try:
                    from skimage import data
                except ImportError as e:
                    raise ImportError("the photo testbed's brick, grass and gravel come from scikit-image: "
                                      "pip install scikit-image") from e
                img = np.asarray(getattr(data, src.path)())
            elif src.path.endswith(".pat"):
                img = read_pat(self.path(src.package, src.path)).rgb()
            else:
                with Image.open(self.path(src.package, src.path)) as im:
                    img = np.asarray(im.convert("RGB"))
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            return np.ascontiguousarray(img[..., :3])
        return self._cached(("source", src.id), load)


# ---------------------------------------------------------------------------------------
# colours
# ---------------------------------------------------------------------------------------

def _lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIELAB (D65), float."""
    c = rgb.astype(np.float64) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


COLOR_NAMES = tuple(COLORS)
_ACHROMATIC = ("black", "grey", "white")
_NAMED_LAB = _lab(np.array([COLORS[n] for n in COLOR_NAMES], dtype=np.uint8))
CHROMA_MIN = 15.0
"""Pixels of CIELAB chroma below this (or lightness below :data:`DARK`) are named by lightness alone."""
DARK = 20.0
MIN_COLOR_SHARE = 0.2
"""A colour is reported for an object when at least this share of its pixels is named by it."""


def name_pixels(pixels: np.ndarray) -> np.ndarray:
    """The index in :data:`COLOR_NAMES` (ConceptWorld's colour names) of each pixel ((N, 3)
    uint8): the nearest name in CIELAB by lightness and hue. A pixel of chroma below
    :data:`CHROMA_MIN` or lightness below :data:`DARK` gets the nearest of black, grey and white in
    lightness; any other the nearest chromatic name, by the distance between the two in
    lightness and in hue (the hue difference as an arc at the smaller of the two chromas), so a
    dark or faded green is green and a pale red pink, as a person would say, not the grey that
    plain nearest-in-CIELAB gives for photographs' muted colours."""
    lab = _lab(np.asarray(pixels, np.uint8).reshape(-1, 3))
    L, chroma, hue = lab[:, 0], np.hypot(lab[:, 1], lab[:, 2]), np.arctan2(lab[:, 2], lab[:, 1])
    ref = _NAMED_LAB
    ref_c, ref_h = np.hypot(ref[:, 1], ref[:, 2]), np.arctan2(ref[:, 2], ref[:, 1])
    achromatic = np.array([n in _ACHROMATIC for n in COLOR_NAMES])
    d_hue = np.abs((hue[:, None] - ref_h[None] + np.pi) % (2 * np.pi) - np.pi) * np.minimum(chroma[:, None], ref_c[None])
    d = np.hypot(L[:, None] - ref[None, :, 0], d_hue)
    d_light = np.abs(L[:, None] - ref[None, :, 0])
    grey = (chroma < CHROMA_MIN) | (L < DARK)
    out = np.where(grey, np.where(achromatic[None], d_light, np.inf).argmin(1),
                   np.where(achromatic[None], np.inf, d).argmin(1))
    return out


def color_shares(pixels: np.ndarray) -> dict[str, float]:
    """Share of ``pixels`` ((N, 3) uint8) named by each of ConceptWorld's colour names
    (:func:`name_pixels`), largest first; empty for no pixels."""
    px = np.asarray(pixels).reshape(-1, 3)
    if len(px) == 0:
        return {}
    counts = np.bincount(name_pixels(px), minlength=len(COLOR_NAMES)) / len(px)
    order = np.argsort(-counts, kind="stable")
    return {COLOR_NAMES[i]: float(counts[i]) for i in order if counts[i] > 0}


def measured_colors(image: np.ndarray, mask: np.ndarray, min_share: float = MIN_COLOR_SHARE) -> list[str]:
    """The colour names covering at least ``min_share`` of the masked pixels of ``image``
    ((H, W, 3) uint8), largest share first."""
    return [n for n, s in color_shares(image[np.asarray(mask, bool)]).items() if s >= min_share]


# ---------------------------------------------------------------------------------------
# composites
# ---------------------------------------------------------------------------------------

@dataclass
class Composite:
    """An image with its objects: exact masks (after occlusion) and tight boxes."""

    image: np.ndarray         # (S, S, 3) uint8
    masks: np.ndarray         # (k, S, S) bool: the pixels each object owns (alpha >= ALPHA_CUT, not covered)
    boxes: np.ndarray         # (k, 4) int64: x0, y0, x1, y1, half-open, tight around each mask
    labels: np.ndarray        # (k,) int64: class index in the testbed
    stamps: list              # (k,) the Stamp of each object
    background: str           # the background photograph's path
    placements: list          # (k,) (x, y, width, height, mirrored) of each stamp as pasted


def background_crop(bg: Image.Image, size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop (35-100% of the shorter side), mirrored at random, resized to
    ``size``: (size, size, 3) float32 in [0, 1]."""
    w, h = bg.size
    side = int(round(rng.uniform(0.35, 1.0) * min(h, w)))
    y0 = int(rng.integers(0, h - side + 1))
    x0 = int(rng.integers(0, w - side + 1))
    flip = rng.uniform() < 0.5
    im = bg.resize((size, size), Image.BILINEAR, box=(x0, y0, x0 + side, y0 + side), reducing_gap=2.0)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return np.ascontiguousarray(arr[:, ::-1]) if flip else arr


def resized_stamp(rgba: np.ndarray, width: int, height: int, mirror: bool) -> np.ndarray:
    """The stamp at (height, width), mirrored if asked: (h, w, 4) float32 in [0, 1]
    (Pillow resamples RGBA with premultiplied alpha)."""
    im = Image.fromarray(rgba).resize((max(1, width), max(1, height)), Image.BICUBIC)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return np.ascontiguousarray(arr[:, ::-1]) if mirror else arr


def stamp_size(rgba: np.ndarray, longest: float, size: int) -> tuple[int, int]:
    """(width, height) of a stamp drawn with its longer side ``longest`` pixels, at most
    ``MAX_UPSCALE`` times its own size and at most the image side."""
    h, w = rgba.shape[:2]
    scale = min(longest / max(h, w), MAX_UPSCALE, size / max(h, w))
    return max(1, int(round(w * scale))), max(1, int(round(h * scale)))


def paste(canvas: np.ndarray, obj: np.ndarray, x: int, y: int) -> np.ndarray:
    """Alpha-composite ``obj`` ((h, w, 4) float) onto ``canvas`` ((S, S, 3) float, in place)
    with its top-left corner at (x, y) (inside the canvas); returns the object's alpha
    over the whole canvas ((S, S) float)."""
    h, w = obj.shape[:2]
    a = obj[..., 3:]
    region = canvas[y:y + h, x:x + w]
    region *= 1 - a
    region += obj[..., :3] * a
    full = np.zeros(canvas.shape[:2], np.float32)
    full[y:y + h, x:x + w] = a[..., 0]
    return full


def tight_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), half-open, of a non-empty mask."""
    ys = np.nonzero(mask.any(1))[0]
    xs = np.nonzero(mask.any(0))[0]
    return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1


def jitter(img: np.ndarray, rng: np.random.Generator, amount: float = 0.1) -> np.ndarray:
    """Small colour jitter of a whole (S, S, 3) float image: brightness, contrast and
    saturation each by a factor in [1 - amount, 1 + amount]."""
    b, c, s = rng.uniform(1 - amount, 1 + amount, size=3)
    gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
    img = gray[..., None] + (img - gray[..., None]) * s
    mean = float(gray.mean())
    return np.clip(((img - mean) * c + mean) * b, 0.0, 1.0)


def to_uint8(img: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)


def single_object(src: Sources, stamp: T.Stamp, label: int, bg_path: str, size: int,
                  rng: np.random.Generator, longest=(0.5, 0.95)) -> Composite:
    """One stamp on a random crop of a background photograph: its longer side a uniform
    fraction ``longest`` of the image side (capped at ``MAX_UPSCALE`` times its own size), at a
    uniform position inside the image, mirrored at random where allowed, then a small colour
    jitter of the whole image."""
    canvas = background_crop(src.background(bg_path), size, rng)
    rgba = src.stamp(stamp)
    w, h = stamp_size(rgba, rng.uniform(*longest) * size, size)
    mirror = stamp.mirror and rng.uniform() < 0.5
    x = int(rng.integers(0, size - w + 1))
    y = int(rng.integers(0, size - h + 1))
    alpha = paste(canvas, resized_stamp(rgba, w, h, mirror), x, y)
    mask = alpha >= ALPHA_CUT / 255.0
    image = to_uint8(jitter(canvas, rng))
    return Composite(image, mask[None], np.array([tight_box(mask)], np.int64), np.array([label], np.int64),
                     [stamp], bg_path, [(x, y, w, h, mirror)])


SCENE_COUNTS = {1: 0.25, 2: 0.35, 3: 0.25, 4: 0.15}
"""Objects per scene and their probabilities (as ConceptWorld's scenes)."""
SCENE_AREA = (1.5, 1.2)
"""Beta(a, b) from which each object's box area (a fraction of the image) is drawn, clipped to
[0.02, 0.9]; a scene's areas are scaled down together when they add up to more than
:data:`SCENE_TOTAL`. The boxes that come out (tight around what each object shows, after the 4x
cap on enlarging a photograph and after occlusion) are smaller than drawn; these parameters make
their mean about 0.35 (0.352 over 300 scenes at 224 px, a fifth of the boxes over half the image;
:meth:`Scenes.size_distribution` measures it), as ILSVRC 2012's average object scale, box area /
image area per class, 0.358 (image-net.org's analysis of the 2012 challenge), where many objects
fill most of the image."""
SCENE_TOTAL = 1.2
"""The drawn box areas of one scene add up to at most this fraction of the image (objects may
overlap; see :data:`MIN_VISIBLE`)."""
MIN_VISIBLE = 0.6
"""A later object may hide at most 40% of an earlier object's pixels."""


def scene(src: Sources, objects: list[tuple[T.Stamp, int]], bg_path: str, size: int,
          rng: np.random.Generator, tries: int = 30) -> Composite:
    """Several stamps on one background crop, pasted in order (later ones in front), with exact
    masks after occlusion and tight boxes. Each object's box area is drawn from
    :data:`SCENE_AREA`; its position is tried up to ``tries`` times until every object already
    there keeps at least :data:`MIN_VISIBLE` of its pixels; an object with no such place is left
    out (never pasted)."""
    canvas = background_crop(src.background(bg_path), size, rng)
    areas = np.clip(rng.beta(*SCENE_AREA, size=len(objects)), 0.02, 0.9)
    if areas.sum() > SCENE_TOTAL:
        areas *= SCENE_TOTAL / areas.sum()
    owner = np.full((size, size), -1, np.int64)
    own_px: list[int] = []     # each placed object's pixels, and how many of them still show
    visible: list[int] = []
    placed: list[tuple[T.Stamp, int]] = []
    where: list[tuple[int, int, int, int, bool]] = []
    for (stamp, label), area in zip(objects, areas):
        rgba = src.stamp(stamp)
        h0, w0 = rgba.shape[:2]
        # (w, h) with w * h = area * size^2 at the stamp's aspect ratio, inside the image
        ar = w0 / h0
        w = math.sqrt(area * ar) * size
        w, h = stamp_size(rgba, max(w, w / ar), size)
        mirror = stamp.mirror and rng.uniform() < 0.5
        obj = resized_stamp(rgba, w, h, mirror)
        solid = obj[..., 3] >= ALPHA_CUT / 255.0
        best = None
        for _ in range(tries):
            x = int(rng.integers(0, size - w + 1))
            y = int(rng.integers(0, size - h + 1))
            covered = owner[y:y + h, x:x + w][solid]
            hidden = np.bincount(covered[covered >= 0], minlength=len(placed))
            left = min(((visible[j] - hidden[j]) / own_px[j] for j in range(len(placed))), default=1.0)
            if best is None or left > best[0]:
                best = (left, x, y, hidden)
            if left >= MIN_VISIBLE:
                break
        if best is None or best[0] < MIN_VISIBLE or not solid.any():
            continue
        _, x, y, hidden = best
        paste(canvas, obj, x, y)
        owner[y:y + h, x:x + w][solid] = len(placed)
        for j in range(len(placed)):
            visible[j] -= int(hidden[j])
        own_px.append(int(solid.sum()))
        visible.append(int(solid.sum()))
        placed.append((stamp, label))
        where.append((x, y, w, h, mirror))
    masks = np.stack([owner == j for j in range(len(placed))]) if placed else np.zeros((0, size, size), bool)
    boxes = np.array([tight_box(m) for m in masks], np.int64).reshape(-1, 4)
    image = to_uint8(jitter(canvas, rng))
    return Composite(image, masks, boxes, np.array([lab for _, lab in placed], np.int64),
                     [s for s, _ in placed], bg_path, where)


def on_white(src: Sources, stamp: T.Stamp, size: int) -> np.ndarray:
    """The stamp alone, its longer side 80% of the image, centred on white: (S, S, 3) uint8
    (how ``stamps.csv``'s p_lite columns were measured)."""
    canvas = np.ones((size, size, 3), np.float32)
    rgba = src.stamp(stamp)
    h0, w0 = rgba.shape[:2]
    s = 0.8 * size / max(h0, w0)       # on white, the stamp is not capped at MAX_UPSCALE
    w, h = max(1, int(round(w0 * s))), max(1, int(round(h0 * s)))
    paste(canvas, resized_stamp(rgba, w, h, False), (size - w) // 2, (size - h) // 2)
    return to_uint8(canvas)


# ---------------------------------------------------------------------------------------
# concept swatches
# ---------------------------------------------------------------------------------------

def halves(shape: tuple[int, ...]) -> dict[str, tuple[int, int, int, int]]:
    """The fit and hold-out regions (y0, y1, x0, x1) of a source image: its two halves across
    the longer side (rows when taller, else columns); they share no pixel."""
    h, w = shape[:2]
    if h > w:
        return {"fit": (0, h // 2, 0, w), "holdout": (h // 2, h, 0, w)}
    return {"fit": (0, h, 0, w // 2), "holdout": (0, h, w // 2, w)}


MIN_HALF = 32
"""A source is used only when each half is at least 32 pixels on each side."""
ZOOM = (0.6, 2.0)
"""Output pixels per source pixel of a swatch, log-uniform in this range, but at least so much
that the swatch needs at most twice the region's shorter side (the window is mirrored at most
once each way): small sources are blown up rather than tiled into kaleidoscopes."""


@dataclass
class Swatch:
    image: np.ndarray                     # (S, S, 3) uint8
    source: str                           # the source's id
    window: tuple[int, int, int, int]     # (y0, y1, x0, x1) in the source image: the pixels used


def swatch(img: np.ndarray, region: tuple[int, int, int, int], size: int, rng: np.random.Generator,
           source_id: str = "", jitter_amount: float = 0.1) -> Swatch:
    """A (size, size) swatch from the pixels of ``region`` of ``img`` only: a zoom (see
    :data:`ZOOM`); a random window of the region (the region's full extent along a side shorter
    than the swatch needs); a random rotation by a multiple of 90 degrees and mirroring; where
    the window is smaller than the swatch needs, it is tiled by mirror images of itself (no
    seams, no pixel from outside the window); resized to ``size``; a small colour jitter."""
    y0, y1, x0, x1 = region
    rh, rw = y1 - y0, x1 - x0
    lo = max(ZOOM[0], size / (2 * min(rh, rw)))
    z = math.exp(rng.uniform(math.log(lo), math.log(max(ZOOM[1], lo))))
    need = int(math.ceil(size / z))
    wh, ww = min(need, rh), min(need, rw)
    wy = y0 + int(rng.integers(0, rh - wh + 1))
    wx = x0 + int(rng.integers(0, rw - ww + 1))
    win = img[wy:wy + wh, wx:wx + ww]
    win = np.rot90(win, int(rng.integers(4)))
    if rng.uniform() < 0.5:
        win = win[:, ::-1]
    ph, pw = need - win.shape[0], need - win.shape[1]
    if ph > 0 or pw > 0:
        win = np.pad(win, ((0, max(ph, 0)), (0, max(pw, 0)), (0, 0)), mode="symmetric")
    win = np.ascontiguousarray(win[:need, :need])
    out = np.asarray(Image.fromarray(win).resize((size, size), Image.BICUBIC), np.float32) / 255.0
    return Swatch(to_uint8(jitter(out, rng, jitter_amount)), source_id, (wy, wy + wh, wx, wx + ww))


def tint(gray_swatch: np.ndarray, color: tuple[int, int, int], amplitude: float = 20.0) -> np.ndarray:
    """A grey photographic swatch given a colour: each pixel is the colour's RGB plus the
    swatch's standardised luminance times ``amplitude`` (in 0-255 units), so the texture
    stays and the colour is the named one."""
    lum = gray_swatch.astype(np.float32).mean(-1)
    z = (lum - lum.mean()) / (lum.std() + 1e-6)
    out = np.asarray(color, np.float32)[None, None, :] + amplitude * np.clip(z, -2.5, 2.5)[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
