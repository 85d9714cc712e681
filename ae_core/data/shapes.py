"""`shapes` and `shapes-colour`: dSprites-like images with known factors of variation, drawn here.

Every combination of the factor grid appears once, in grid order, deterministically (the seed
only shuffles nothing: the images are a pure function of the grid). The factors are stored beside
the images (`ImageDataset.factors`, one integer column per factor, an index into that factor's
levels); the label is the shape, and any factor can become the label (`ImageDataset.with_label`).

    ds = load_shapes("shapes")          # 49,152 images of 32x32: 4 shapes x 6 scales x 8 orientations x 16 x 16
    ds = load_shapes("shapes-colour")   # 28,800 of 3x32x32: 4 x 3 x 4 x 10 x 10, times 6 hues
    ds = load_shapes("shapes-64")       # 98,304 of 64x64: dSprites' size, 16 orientations, 16 x 16 positions

How it draws: each (shape, scale, orientation) sprite is evaluated once on a 4x supersampled
canvas (an implicit inequality per shape), box-filtered, and every position is a strided read of
that canvas, so positions fall on quarter pixels and a whole dataset takes about a second. Sizes
are chosen for 2 CPU cores (see GRIDS); dSprites' own grid (3 shapes x 6 x 40 x 32 x 32 = 737,280
at 64x64) would be 12 GB as float32 and past MAX_IMAGES.
"""

from __future__ import annotations

import colorsys
import functools
from dataclasses import dataclass

import numpy as np

from ae_core.data.dataset import ImageDataset

SHAPES = ("square", "ellipse", "heart", "triangle")
SUPER = 4  # subpixels per pixel, each way: anti-aliased edges and quarter-pixel positions


@dataclass(frozen=True)
class Grid:
    side: int  # image side in pixels
    n_scale: int
    n_orient: int
    n_pos: int  # positions along x and along y
    n_hue: int = 0  # 0: gray images, no hue factor
    radius: float = 0.14  # a sprite's half-size at scale 1, as a share of the side

    @property
    def step(self) -> int:
        """Subpixels between neighbouring positions: the positions span 0.6 of the side."""
        return max(1, round(0.6 * self.side * SUPER / max(self.n_pos - 1, 1)))


# 32x32 for training on 2 cores; the colour variant has a smaller grid so that its three channels
# stay near the gray set's memory (28,800 x 3 x 32 x 32 float32 = 354 MB against 201 MB).
GRIDS = {
    "shapes": Grid(32, 6, 8, 16),
    "shapes-colour": Grid(32, 3, 4, 10, n_hue=6),
    "shapes-64": Grid(64, 6, 16, 16),
}


def _inside(shape: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Whether (u, v), in units of the sprite's half-size with v up, is inside the shape."""
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) <= 0.85
    if shape == "ellipse":  # elongated, so its orientation shows
        return (u / 1.0) ** 2 + (v / 0.5) ** 2 <= 1.0
    if shape == "heart":  # (x^2 + y^2 - 1)^3 - x^2 y^3 <= 0, scaled to about the same size
        x, y = u * 1.2, v * 1.2 + 0.15
        return (x * x + y * y - 1) ** 3 - x * x * y ** 3 <= 0
    if shape == "triangle":  # equilateral, a vertex up, centred on its centroid
        return (v >= -0.5) & (np.sqrt(3) * u + v <= 1.0) & (-np.sqrt(3) * u + v <= 1.0)
    raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {shape!r}")


def _sprite(shape: str, half: float, angle: float, size: int) -> np.ndarray:
    """The shape's coverage box-filtered at subpixel resolution on a (size, size) canvas centred
    at size // 2: entry [i, j] is the mean of the SUPER x SUPER subpixels starting at (i, j)."""
    c = np.arange(size) - size // 2 + 0.5
    yy, xx = np.meshgrid(c, c, indexing="ij")
    ca, sa = np.cos(angle), np.sin(angle)
    u = (ca * xx - sa * -yy) / half  # rotate by -angle; image rows go down, v goes up
    v = (sa * xx + ca * -yy) / half
    mask = _inside(shape, u, v).astype(np.float64)
    cs = np.pad(mask.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    k = SUPER
    box = cs[k:, k:] - cs[:-k, k:] - cs[k:, :-k] + cs[:-k, :-k]
    return box / (k * k)


def factor_levels(name: str) -> dict[str, list[str]]:
    """Each factor's levels as shown, in the order of the factor columns."""
    g = GRIDS[name]
    pos = np.linspace(0, 1, g.n_pos)
    levels = {"shape": list(SHAPES), "scale": [f"{s:.2f}" for s in np.linspace(0.5, 1.0, g.n_scale)],
              "orientation": [f"{d:.0f}°" for d in np.arange(g.n_orient) * 360 / g.n_orient],
              "x position": [f"{p:.2f}" for p in pos], "y position": [f"{p:.2f}" for p in pos]}
    if g.n_hue:
        levels["hue"] = [f"{h * 360 / g.n_hue:.0f}°" for h in range(g.n_hue)]
    return levels


def draw_shapes(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, C, side, side) float32 in [0, 1], factors (N, K) int64): every combination of
    `grid` once, the last factor varying fastest (shape, scale, orientation, x, y[, hue])."""
    side, n = grid.side, grid.n_pos
    fine = side * SUPER
    offsets = (fine - (n - 1) * grid.step) // 2 + grid.step * np.arange(n)  # subpixel centres
    size = 3 * fine  # the canvas is 3 images wide: any centre reads inside it
    centre = (size + SUPER) // 2
    scales = np.linspace(0.5, 1.0, grid.n_scale)
    angles = np.arange(grid.n_orient) * 2 * np.pi / grid.n_orient
    # pixel j of a sprite centred at subpixel o starts at canvas index SUPER * j + centre - o
    cols = SUPER * np.arange(side)[None, :] + centre - offsets[:, None]  # (n, side)
    rows = cols[::-1]  # y position 0 is the bottom of the image (v up), as the levels read
    gray = np.empty((len(SHAPES), grid.n_scale, grid.n_orient, n, n, side, side), np.float32)
    for a, shape in enumerate(SHAPES):
        for b, s in enumerate(scales):
            for c, ang in enumerate(angles):
                canvas = _sprite(shape, s * grid.radius * fine, ang, size + SUPER)
                gray[a, b, c] = canvas[rows[None, :, :, None], cols[:, None, None, :]]  # (x, y, row, col)
    gray = gray.reshape(-1, side, side)
    dims = [len(SHAPES), grid.n_scale, grid.n_orient, n, n]
    if grid.n_hue:
        rgb = np.array([colorsys.hsv_to_rgb(h / grid.n_hue, 1.0, 1.0) for h in range(grid.n_hue)], np.float32)
        x = gray[:, None, None] * rgb[None, :, :, None, None]  # (N, hues, 3, side, side)
        x = x.reshape(-1, 3, side, side)
        dims.append(grid.n_hue)
    else:
        x = gray[:, None]
    factors = np.stack(np.unravel_index(np.arange(int(np.prod(dims))), dims), axis=1).astype(np.int64)
    return np.clip(x, 0.0, 1.0), factors


@functools.lru_cache(maxsize=2)
def _drawn(name: str) -> tuple[np.ndarray, np.ndarray]:
    return draw_shapes(GRIDS[name])


def load_shapes(name: str = "shapes") -> ImageDataset:
    """One of GRIDS as an ImageDataset: label = shape, `factors` one column per factor. Drawn
    once per process (about a second) and held; each call wraps the same arrays."""
    if name not in GRIDS:
        raise ValueError(f"shapes dataset must be one of {', '.join(GRIDS)}; got {name!r}")
    x, factors = _drawn(name)
    levels = factor_levels(name)
    g = GRIDS[name]
    about = " x ".join(f"{len(v)} {k}" for k, v in levels.items())
    return ImageDataset(x, factors[:, 0], list(SHAPES), name,
                        f"generated shapes with known factors ({about}), {g.side}x{g.side}",
                        factors=factors, factor_names=list(levels), factor_levels=list(levels.values()))
