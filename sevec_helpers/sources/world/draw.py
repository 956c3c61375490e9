"""Drawing primitives: shapes, texture fields, materials, backgrounds, objects, clutter (numpy, float64 in [0, 1])."""

from __future__ import annotations

import numpy as np

from sevec_helpers.sources.world.vocabulary import COLOR_NAMES, COLORS, TEXTURE_NAMES, Facet


def _grid(s: int):
    y, x = np.mgrid[0:s, 0:s].astype(np.float64) + 0.5
    return x, y


def _local(x, y, cx, cy, radius, theta):
    c, s = np.cos(theta), np.sin(theta)
    dx, dy = x - cx, y - cy
    return (c * dx + s * dy) / radius, (-s * dx + c * dy) / radius


def _shape_mask(shape: str, u, v, rng) -> np.ndarray:
    r = np.hypot(u, v)
    a = np.arctan2(v, u)
    if shape == "disc":
        return r <= 1.0
    if shape == "ellipse":
        return (u / 1.0) ** 2 + (v / 0.62) ** 2 <= 1.0
    if shape == "teardrop":
        w = 0.62 * np.sqrt(np.clip((1 - u) * (1 + u), 0, None)) * (0.55 + 0.45 * (1 - u) / 2) * 1.35
        return (np.abs(u) <= 1) & (np.abs(v) <= w)
    if shape == "crescent":
        return (r <= 1.0) & (np.hypot(u - 0.45, v + 0.15) > 0.78)
    if shape == "square":
        return (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    if shape == "rectangle":
        return (np.abs(u) <= 1.0) & (np.abs(v) <= 0.55)
    if shape == "triangle":
        return (v <= 0.6) & (v >= -1.0 + 1.6 * np.abs(u) / 0.95 * 1.0) & (np.abs(u) <= 0.95)
    if shape == "diamond":
        return np.abs(u) / 0.75 + np.abs(v) <= 1.0
    if shape == "hexagon":
        return (np.abs(v) <= 0.87) & (np.abs(v) * 0.577 + np.abs(u) <= 1.0)
    if shape == "cross":
        return ((np.abs(u) <= 0.33) & (np.abs(v) <= 1.0)) | ((np.abs(v) <= 0.33) & (np.abs(u) <= 1.0))
    if shape == "star":
        rad = 0.55 + 0.45 * (0.5 + 0.5 * np.cos(5 * a))
        return r <= rad
    if shape == "ring":
        return (r <= 1.0) & (r >= 0.5)
    if shape == "capsule":
        return (np.abs(v) <= 0.5) & ((np.abs(u) <= 0.5) | (np.hypot(np.abs(u) - 0.5, v) <= 0.5))
    if shape == "heart":
        uu, vv = u * 1.15, -v * 1.15 + 0.25
        return (uu ** 2 + vv ** 2 - 0.6) ** 3 - uu ** 2 * vv ** 3 * 1.0 <= 0
    if shape == "vehicle":  # a body on two wheels
        body = (np.abs(u) <= 1.0) & (v >= -0.5) & (v <= 0.3)
        wheels = (np.hypot(u - 0.55, v - 0.38) <= 0.27) | (np.hypot(u + 0.55, v - 0.38) <= 0.27)
        return body | wheels
    if shape == "arch":
        return ((np.abs(u) <= 0.85) & (v >= -0.2) & (v <= 0.9) & ~((np.abs(u) <= 0.35) & (v >= 0.25))) | \
               ((np.hypot(u, v + 0.2) <= 0.85) & (v < -0.2))
    raise ValueError(f"unknown shape {shape!r}")


def _voronoi(x, y, rng, n, s):
    pts = rng.uniform(-0.1 * s, 1.1 * s, size=(n, 2))
    d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1])
    part = np.partition(d, 1, axis=-1)
    return part[..., 0], part[..., 1], d.argmin(-1)


def _smooth_noise(s: int, rng, cells: int) -> np.ndarray:
    """Value noise: a coarse random grid upsampled bilinearly to s x s, in [0, 1]."""
    g = rng.uniform(0, 1, size=(cells + 1, cells + 1))
    t = np.linspace(0, cells, s, endpoint=False) + cells / (2 * s)
    i = np.clip(t.astype(int), 0, cells - 1)
    f = t - i
    f = f * f * (3 - 2 * f)
    row = g[i][:, i] * (1 - f)[None, :] + g[i][:, i + 1] * f[None, :]
    row2 = g[i + 1][:, i] * (1 - f)[None, :] + g[i + 1][:, i + 1] * f[None, :]
    return row * (1 - f)[:, None] + row2 * f[:, None]


def texture_field(name: str | None, x, y, rng, period: float, theta: float) -> np.ndarray:
    """Pattern field in [0, 1] over pixel coordinates; 0 -> first colour, 1 -> second."""
    s = x.shape[0]
    if name is None:
        return np.zeros_like(x)
    c, sn = np.cos(theta), np.sin(theta)
    u = (c * x + sn * y) / period
    v = (-sn * x + c * y) / period
    ph = rng.uniform(0, 1, size=2)
    if name == "striped":
        return (np.mod(u + ph[0], 1.0) < 0.5).astype(float)
    if name == "grooved":
        return (np.mod(u + ph[0], 1.0) < 0.18).astype(float)
    if name == "dotted":
        du, dv = np.mod(u + ph[0], 1.0) - 0.5, np.mod(v + ph[1], 1.0) - 0.5
        return (np.hypot(du, dv) < 0.28).astype(float)
    if name == "checkered":
        return ((np.floor(u + ph[0]) + np.floor(v + ph[1])) % 2).astype(float)
    if name == "zigzag":
        tri = np.abs(np.mod(v * 1.0 + ph[1], 1.0) - 0.5)
        return (np.mod(u + tri + ph[0], 1.0) < 0.5).astype(float)
    if name == "wavy":
        return (np.mod(u + 0.35 * np.sin(2 * np.pi * v / 1.6) + ph[0], 1.0) < 0.5).astype(float)
    if name == "cracked":
        d1, d2, _ = _voronoi(x, y, rng, max(6, int((s / period) ** 2 / 3)), s)
        return ((d2 - d1) < 1.4).astype(float)
    if name == "crystalline":
        _, _, idx = _voronoi(x, y, rng, max(6, int((s / period) ** 2 / 2.5)), s)
        levels = rng.uniform(0, 1, size=idx.max() + 1)
        return levels[idx]
    if name == "knitted":
        frac = np.mod(u + ph[0], 1.0)
        vfrac = np.mod(v + ph[1], 1.0)
        return ((np.abs(frac - 0.5) * 1.2 + (vfrac - 0.5)) % 1.0 < 0.5).astype(float)
    if name == "bumpy":
        n = _smooth_noise(s, rng, max(2, int(s / period * 1.2)))
        return np.clip((n - 0.3) * 1.6, 0, 1)
    if name == "freckled":
        k = max(4, int((s / period) ** 2 * 0.9))
        pts = rng.uniform(0, s, size=(k, 2))
        rad = rng.uniform(0.6, 1.6, size=k) * period / 5
        d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]) - rad
        return (d.min(-1) < 0).astype(float)
    if name == "porous":
        k = max(5, int((s / period) ** 2 * 0.8))
        pts = rng.uniform(0, s, size=(k, 2))
        rad = rng.uniform(0.18, 0.4, size=k) * period
        d = np.hypot(x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]) - rad
        return (d.min(-1) < 0).astype(float)
    raise ValueError(f"unknown texture {name!r}")


def apply_material(name: str | None, rgb: np.ndarray, x, y, rng, background: np.ndarray | None = None):
    """Modulate an RGB field (H, W, 3) in [0, 1] with a material's micro-structure."""
    if name is None:
        return rgb
    s = x.shape[0]
    lum = rgb.mean(-1, keepdims=True)
    if name == "wood":
        cx, cy = rng.uniform(-s, 2 * s, size=2)
        r = np.hypot((x - cx) * 0.25, y - cy) + 3 * _smooth_noise(s, rng, 4)
        grain = 0.72 + 0.28 * (0.5 + 0.5 * np.sin(r * rng.uniform(0.9, 1.4)))
        tint = np.array([0.55, 0.35, 0.18])
        return np.clip((0.7 * rgb + 0.3 * tint) * grain[..., None], 0, 1)
    if name == "stone":
        d1, d2, idx = _voronoi(x, y, rng, 18, s)
        cell = rng.uniform(0.75, 1.0, size=idx.max() + 1)[idx]
        speck = rng.uniform(0.85, 1.0, size=(s, s))
        out = 0.6 * rgb + 0.4 * lum
        return np.clip(out * (cell * speck)[..., None] * (0.8 + 0.2 * np.clip(d2 - d1, 0, 3) / 3)[..., None], 0, 1)
    if name == "metal":
        streak = np.repeat(rng.uniform(0.85, 1.0, size=(s, 1)), s, axis=1)
        streak = 0.5 * streak + 0.5 * np.roll(streak, 1, axis=0)
        band = np.exp(-((x + y - rng.uniform(0.4, 1.6) * s) / (0.18 * s)) ** 2)
        out = 0.45 * rgb + 0.55 * lum
        return np.clip(out * streak[..., None] + 0.45 * band[..., None], 0, 1)
    if name == "fabric":
        weave = np.where((np.floor(x / 2) + np.floor(y / 2)) % 2 == 0, 1.0, 0.82)
        fuzz = rng.uniform(0.9, 1.0, size=(s, s))
        return np.clip(rgb * (weave * fuzz)[..., None], 0, 1)
    if name == "foliage":
        k = 60
        pts = rng.uniform(0, s, size=(k, 2))
        ang = rng.uniform(0, np.pi, size=k)
        dx, dy = x[..., None] - pts[:, 0], y[..., None] - pts[:, 1]
        uu = dx * np.cos(ang) + dy * np.sin(ang)
        vv = -dx * np.sin(ang) + dy * np.cos(ang)
        leaf = ((uu / 4.0) ** 2 + (vv / 1.8) ** 2 <= 1)
        shade = np.where(leaf.any(-1), rng.uniform(0.75, 1.0, size=k)[leaf.argmax(-1)], 0.65)
        green = np.array([0.2, 0.55, 0.15])
        return np.clip((0.7 * rgb + 0.3 * green) * shade[..., None], 0, 1)
    if name == "glass":
        bg = background if background is not None else np.full_like(rgb, 0.5)
        out = 0.55 * rgb + 0.45 * bg
        streak = np.exp(-((x - y + rng.uniform(-0.3, 0.3) * s) / (0.06 * s)) ** 2)
        return np.clip(out + 0.5 * streak[..., None], 0, 1)
    if name == "plastic":
        hx, hy = rng.uniform(0.25, 0.75, size=2) * s
        spot = np.exp(-((x - hx) ** 2 + (y - hy) ** 2) / (2 * (0.08 * s) ** 2))
        sat = np.clip(lum + 1.3 * (rgb - lum), 0, 1)
        return np.clip(sat + 0.6 * spot[..., None], 0, 1)
    raise ValueError(f"unknown material {name!r}")


def _color(name: str, rng, jitter: float = 18.0) -> np.ndarray:
    return np.clip((np.array(COLORS[name], float) + rng.normal(0, jitter, 3)) / 255.0, 0, 1)


def _noise_blend(s, rng, c1, c2, t_base, noise_w=0.3, cells=3):
    t = np.clip((1 - noise_w) * t_base + noise_w * _smooth_noise(s, rng, cells), 0, 1)
    return c1 * (1 - t[..., None]) + c2 * t[..., None]


def _tint(base, rng, spread=0.08):
    return np.clip(np.asarray(base, float) + rng.normal(0, spread, 3), 0.02, 0.98)


def context_background(context: str | None, s: int, rng) -> np.ndarray:
    """A background for a scene context (grassland, indoor, street, outdoors) or, for None, a
    neutral one of random colours. Hues are jittered, so a context is likely, not certain."""
    x, y = _grid(s)
    yy = y / s
    if context is None:
        c1, c2 = rng.uniform(0.15, 0.75, size=3), rng.uniform(0.15, 0.75, size=3)
        c1, c2 = 0.5 * c1 + 0.5 * c1.mean(), 0.5 * c2 + 0.5 * c2.mean()
        theta = rng.uniform(0, 2 * np.pi)
        img = _noise_blend(s, rng, c1, c2, ((np.cos(theta) * x + np.sin(theta) * y) / s + 1) / 2)
    elif context == "grassland":   # greens and straw, lighter towards a hazy top
        img = _noise_blend(s, rng, _tint((0.30, 0.50, 0.18), rng), _tint((0.62, 0.60, 0.30), rng),
                           1 - yy, 0.5, 4)
    elif context == "indoor":      # a pale wall above a floor
        h = rng.uniform(0.55, 0.8)
        wall = _noise_blend(s, rng, _tint((0.78, 0.74, 0.66), rng, 0.06), _tint((0.70, 0.68, 0.64), rng, 0.06),
                            yy, 0.2, 2)
        floor = _noise_blend(s, rng, _tint((0.45, 0.33, 0.22), rng), _tint((0.35, 0.28, 0.22), rng), yy, 0.3, 3)
        img = np.where((yy > h)[..., None], floor, wall)
    elif context == "street":      # sky above, grey buildings and pavement below
        h = rng.uniform(0.3, 0.5)
        sky = _noise_blend(s, rng, _tint((0.62, 0.74, 0.88), rng, 0.05), _tint((0.80, 0.85, 0.90), rng, 0.05), yy, 0.15)
        cols = np.floor(x / rng.uniform(6, 14))
        blocks = 0.4 + 0.07 * np.sin(cols * 2.7 + rng.uniform(0, 6))[..., None] + rng.normal(0, 0.02, 3)
        img = np.where((yy > h)[..., None], np.clip(blocks, 0, 1) * np.ones(3), sky)
    elif context == "outdoors":    # sky above brown and green earth
        h = rng.uniform(0.25, 0.55)
        sky = _noise_blend(s, rng, _tint((0.55, 0.70, 0.92), rng, 0.06), _tint((0.85, 0.88, 0.95), rng, 0.04), yy, 0.2)
        earth = _noise_blend(s, rng, _tint((0.42, 0.32, 0.20), rng), _tint((0.35, 0.45, 0.25), rng), yy, 0.6, 5)
        img = np.where((yy > h)[..., None], earth, sky)
    else:
        raise ValueError(f"unknown context {context!r}")
    return np.clip(img + rng.normal(0, 0.015, size=(s, s, 3)), 0, 1)


def texture_overlay(img: np.ndarray, rng, strength: float) -> np.ndarray:
    """Blend a random texture of the vocabulary into a background at low contrast (a confuser)."""
    s = img.shape[0]
    x, y = _grid(s)
    p = texture_field(str(rng.choice(TEXTURE_NAMES)), x, y, rng, rng.uniform(4.0, 9.0), rng.uniform(0, np.pi))
    return np.clip(img * (1 - strength * (p[..., None] - 0.5)), 0, 1)


def _surface(facet: Facet, colors, x, y, rng, bg, period=None) -> np.ndarray:
    c1, c2 = _color(colors[0], rng), _color(colors[1], rng)
    period = period or rng.uniform(4.5, 8.5)
    p = texture_field(facet.texture, x, y, rng, period, rng.uniform(0, np.pi))
    rgb = c1 * (1 - p[..., None]) + c2 * p[..., None]
    return apply_material(facet.material, rgb, x, y, rng, bg)


def place_object(img, facet: Facet, colors, cx, cy, size, theta, rng, aspect: float = 1.0):
    """Draw an object in place; returns its box (x0, y0, x1, y1) clipped to the image and its
    mask, or None when it falls (almost) outside."""
    s = img.shape[0]
    x, y = _grid(s)
    u, v = _local(x, y, cx, cy, size / 2, theta)
    mask = _shape_mask(facet.shape, u * aspect, v / aspect, rng)
    if mask.sum() < 6:
        return None
    surf = _surface(facet, colors, x, y, rng, img)
    shade = np.clip(1.0 - 0.18 * np.hypot(u + 0.3, v + 0.3), 0.75, 1.0)  # a little volume
    img[mask] = (surf * shade[..., None])[mask]
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), mask


CLUTTER_SHAPES = ("disc", "square", "triangle", "ring", "cross", "diamond")


def clutter(img, rng, n: int, max_size: float, near=None, textured: float = 0.5):
    """``n`` distractor shapes of random colours (some textured); with ``near`` = (cx, cy, r)
    they are placed over that region (occluders)."""
    s = img.shape[0]
    for _ in range(n):
        tex = str(rng.choice(TEXTURE_NAMES)) if rng.uniform() < textured else None
        f = Facet(str(rng.choice(CLUTTER_SHAPES)), tex, None)
        cols = (str(rng.choice(COLOR_NAMES)), str(rng.choice(COLOR_NAMES)))
        size = rng.uniform(0.35, 1.0) * max_size
        if near is None:
            cx, cy = rng.uniform(0, s), rng.uniform(0, s)
        else:
            a, r = rng.uniform(0, 2 * np.pi), near[2] * rng.uniform(0.5, 1.0)
            cx, cy = near[0] + r * np.cos(a), near[1] + r * np.sin(a)
        place_object(img, f, cols, cx, cy, size, rng.uniform(0, 2 * np.pi), rng)


def lighting(img: np.ndarray, rng, strength: float = 1.0) -> np.ndarray:
    """Global gain, a colour cast and a directional gradient (all drawn at random)."""
    s = img.shape[0]
    x, y = _grid(s)
    gain = rng.uniform(1 - 0.35 * strength, 1 + 0.3 * strength)
    cast = 1 + rng.uniform(-0.12, 0.12, 3) * strength
    th = rng.uniform(0, 2 * np.pi)
    grad = 1 + 0.22 * strength * ((np.cos(th) * x + np.sin(th) * y) / s - 0.5)
    return np.clip(img * gain * cast * grad[..., None], 0, 1)


def blur(img: np.ndarray) -> np.ndarray:
    """A [1, 2, 1] / 4 blur in both directions (edges repeated)."""
    p = np.pad(img, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h = (p[:, :-2] + 2 * p[:, 1:-1] + p[:, 2:]) / 4
    return (h[:-2] + 2 * h[1:-1] + h[2:]) / 4


def _to_uint8(img: np.ndarray) -> np.ndarray:
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
