"""`ae-core decode-grid`, `traverse`, `sample` and `walk`: the decoder's figures as PNGs, for slides.

    ae-core decode-grid checkpoints/mnist-vae-2 grid.png --n 20          # a 2-unit code: its own plane
    ae-core decode-grid checkpoints/mnist-undercomplete-32 grid.png --map umap --n 15
    ae-core traverse checkpoints/mnist-vae-32 trav.png --index 0 --top 8 --span prior
    ae-core sample checkpoints/mnist-vae-32 samples.png --n 16 --temperature 0.8
    ae-core walk checkpoints/mnist-undercomplete-32 walk.png --attribute thick --index 0 1 2
    ae-core walk checkpoints/mnist-undercomplete-32 walk.png --from-label 1 --to-label 7 --index 0

Each reads the checkpoint's own data (its training split gives the codes, ranges and nearest
images), writes one PNG and prints one line per figure. `add_walk_commands` registers them on
the `ae-core` parser (ae_core.cli); errors are AEErrors, which it prints as one line.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ae_core.errors import AEError

ATTRIBUTES = {"thick": "thin -> thick", "slanted": "upright -> slanted", "wide": "narrow -> wide",
              "tall": "short -> tall"}
MAPS = ("auto", "code", "umap", "pca", "tsne")


@dataclass
class _Loaded:
    path: Path
    model: object
    name: str
    data: object  # the whole dataset, load order (what saved maps cover)
    train: object  # the training split
    train_codes: np.ndarray


def _load(path: str) -> _Loaded:
    from ae_core.analysis.latent_walks import require_decoder
    from ae_core.data import load_dataset, split_for
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    ck = load_checkpoint(path)
    require_decoder(ck.model)
    ds = load_dataset(ck.dataset.get("spec") or ck.dataset.get("name") or "digits")
    train, _ = split_for(ck.dataset, ds)
    return _Loaded(Path(path), ck.model, ck.name, ds, train, encode_array(ck.model, train.x))


def _upscale(images) -> int:
    """Tiles of at least 64 px (an 8x8 digit 8 times, an MNIST digit 3 times), as the app draws them."""
    return max(1, -(-64 // int(images.shape[-1])))


def figure_png(images: np.ndarray, ncols: int, pad: int = 1) -> tuple[bytes, int, int]:
    """(PNG bytes, width, height) of `images` tiled `ncols` a row at the app's tile size: the
    figure each command writes, and the Latent space page's decoded grid download."""
    from ae_core.io.image_files import encode_png, image_grid

    picture = image_grid(images, ncols, pad=pad, upscale=_upscale(images))
    return encode_png(picture), picture.shape[1], picture.shape[0]


def _write(path: str, images: np.ndarray, ncols: int, pad: int = 1) -> tuple[int, int]:
    data, w, h = figure_png(images, ncols, pad)
    Path(path).write_bytes(data)
    return w, h


def _indices(values, n: int) -> list[int]:
    for i in values:
        if not 0 <= i < n:
            raise AEError(f"--index must be among the {n:,} training images (0 to {n - 1}); got {i}")
    return list(values)


def _inverse(lo: _Loaded, which: str, method: str):
    """The map and its inverse for the decoded grid: (inverse, what the map is)."""
    from ae_core.analysis.map_inverse import code_plane, inverse_for
    from ae_core.analysis.projection import Projector
    from ae_core.models import encode_array

    dim = lo.train_codes.shape[1]
    if dim == 1:
        code_plane(lo.train_codes)  # refuses, with the sentence
    if which == "code" or (which == "auto" and dim == 2):
        if dim != 2:
            raise AEError(f"--map code needs a 2-unit code (the code is its own map); this one has {dim} units")
        return code_plane(lo.train_codes), "the code plane"
    which = "umap" if which == "auto" else which
    codes = encode_array(lo.model, lo.data.x)
    saved = lo.path / f"map-{which}-2d.npz"
    if saved.is_file():  # the shipped map, as the app shows it (saved without its codes: put them back)
        proj = Projector.load(saved)
        if getattr(proj, "X_fit_", None) is None:
            proj.attach_codes(codes)
    else:
        proj = Projector(method=which).fit(codes, y=lo.data.y)
    return inverse_for(proj, codes, method=method), f"its {which} map"


def cmd_decode_grid(a) -> int:
    from ae_core.analysis.latent_walks import MAX_GRID, decoded_grid

    if not 2 <= a.n <= MAX_GRID:
        raise AEError(f"--n must be 2 to {MAX_GRID}; got {a.n}")
    lo = _load(a.checkpoint)
    inv, what = _inverse(lo, a.map, a.inverse)
    g = decoded_grid(lo.model, inv, a.n)
    w, h = _write(a.out, g.images, a.n, pad=0)
    (x0, y1), (x1, y0) = g.points[0], g.points[-1]
    print(f"saved {a.out} ({w} x {h} px): {a.n} x {a.n} decodings of {lo.name} over {what}, "
          f"x {x0:.3g} to {x1:.3g}, y {y0:.3g} to {y1:.3g} ({inv.method} inverse)")
    return 0


def cmd_traverse(a) -> int:
    from ae_core.analysis.latent_walks import traverse

    lo = _load(a.checkpoint)
    base = None
    if a.index is not None:
        base = lo.train_codes[_indices([a.index], len(lo.train_codes))[0]]
    units = [int(u) for u in a.units.split(",") if u.strip()] if a.units else None
    t = traverse(lo.model, lo.train_codes, base=base, units=units, top=a.top, steps=a.steps, span=a.span,
                 images=lo.train.x)
    w, h = _write(a.out, t.images.reshape(-1, *t.images.shape[2:]), a.steps)
    start = "the mean code" if a.index is None else f"training image {a.index}"
    print(f"saved {a.out} ({w} x {h} px): from {start}, rows = units {', '.join(map(str, t.units))} "
          f"({t.chosen_by}), each over its {'prior -3 to +3' if a.span == 'prior' else 'observed 2-98%'}")
    return 0


def cmd_sample(a) -> int:
    from ae_core.analysis.latent_walks import sample

    lo = _load(a.checkpoint)
    s = sample(lo.model, lo.train_codes, lo.train.x, n=a.n, temperature=a.temperature, source=a.source,
               seed=a.seed)
    cols = min(a.n, 8)
    pairs = []  # a row of samples, then the row of their nearest training images
    for i in range(0, a.n, cols):
        block = slice(i, min(i + cols, a.n))
        fill = cols - (block.stop - block.start)
        pad = np.full((fill, *s.images.shape[1:]), 0.5, np.float32)
        pairs += [np.concatenate([s.images[block], pad]), np.concatenate([lo.train.x[s.nearest[block]], pad])]
    w, h = _write(a.out, np.concatenate(pairs), cols)
    print(f"saved {a.out} ({w} x {h} px): {a.n} samples of {lo.name} from the "
          f"{'prior' if s.source == 'prior' else 'Gaussian fitted to its training codes'} at temperature "
          f"{a.temperature:g}, each above its nearest training image; RMS pixel distance to it: "
          f"median {np.median(s.distance):.3f}, min {s.distance.min():.3f}")
    return 0


def cmd_walk(a) -> int:
    from ae_core.analysis.attributes import READY, attribute_walk, direction, ready_direction

    lo = _load(a.checkpoint)
    if (a.attribute is None) == (a.from_label is None or a.to_label is None):
        raise AEError("give --attribute, or both --from-label and --to-label")
    if a.attribute is not None:
        name = ATTRIBUTES[a.attribute]
        d, _, _ = ready_direction(name, lo.train_codes, lo.train.x, labels=lo.train.y)
        what = f"{name} ({READY[name][1]} to {READY[name][2]}{', within each class' * (lo.train.y is not None)})"
    else:
        y = lo.train.y
        if y is None:
            raise AEError("this dataset has no labels: use --attribute")
        d = direction(lo.train_codes, np.flatnonzero(y == a.from_label), np.flatnonzero(y == a.to_label))
        what = f"label {a.from_label} -> label {a.to_label}"
    if not 0 < a.max_strength <= 5:
        raise AEError(f"--max-strength must be in (0, 5]; got {a.max_strength}")
    strengths = np.linspace(-a.max_strength, a.max_strength, a.steps)
    rows = [attribute_walk(lo.model, lo.train_codes[i], d, strengths).images
            for i in _indices(a.index, len(lo.train_codes))]
    w, h = _write(a.out, np.concatenate(rows), a.steps)
    print(f"saved {a.out} ({w} x {h} px): {what}, strengths {-a.max_strength:g} to {a.max_strength:g}, "
          f"training images {', '.join(map(str, a.index))}")
    return 0


def _steps(s: str) -> int:
    v = int(s)
    if not 2 <= v <= 32:
        raise argparse.ArgumentTypeError(f"must be 2 to 32, got {v}")
    return v


def add_walk_commands(sub) -> None:
    """Register decode-grid, traverse, sample and walk on the `ae-core` subparsers."""
    dg = sub.add_parser("decode-grid", help="PNG: an n x n lattice of decodings over a model's map (or its "
                                            "2-unit code plane)")
    dg.add_argument("checkpoint")
    dg.add_argument("out", help="the PNG to write")
    dg.add_argument("--n", type=int, default=15, help="images a side, 2-20")
    dg.add_argument("--map", choices=MAPS, default="auto",
                    help="auto: the code itself for a 2-unit code, else the saved UMAP map (fitted if absent)")
    dg.add_argument("--inverse", choices=("auto", "neighbours", "mlp", "pca"), default="auto",
                    help="how a map point becomes a code (auto: exact for PCA, neighbours for UMAP, mlp for t-SNE)")
    dg.set_defaults(fn=cmd_decode_grid)

    tr = sub.add_parser("traverse", help="PNG: one row per code unit, moved across its range, the others held")
    tr.add_argument("checkpoint")
    tr.add_argument("out")
    tr.add_argument("--index", type=int, default=None, help="start from this training image (default: the mean code)")
    tr.add_argument("--units", default=None, help="comma-separated units (default: the top ones)")
    tr.add_argument("--top", type=int, default=10, help="rows when --units is not given")
    tr.add_argument("--steps", type=_steps, default=9)
    tr.add_argument("--span", choices=("observed", "prior"), default="observed",
                    help="observed: 2nd-98th percentile of the training codes; prior: -3..+3 (VAE)")
    tr.set_defaults(fn=cmd_traverse)

    sa = sub.add_parser("sample", help="PNG: new images from the prior or the codes' Gaussian, each above "
                                       "its nearest training image")
    sa.add_argument("checkpoint")
    sa.add_argument("out")
    sa.add_argument("--n", type=int, default=16)
    sa.add_argument("--temperature", type=float, default=1.0, help="scale of the spread, (0, 5]")
    sa.add_argument("--source", choices=("auto", "prior", "gaussian"), default="auto",
                    help="auto: the prior for a VAE, else a Gaussian fitted to the training codes")
    sa.add_argument("--seed", type=int, default=0)
    sa.set_defaults(fn=cmd_sample)

    wa = sub.add_parser("walk", help="PNG: images moved along an attribute direction, strengths -2..2")
    wa.add_argument("checkpoint")
    wa.add_argument("out")
    wa.add_argument("--index", type=int, nargs="+", default=[0], help="training images to walk (one row each)")
    wa.add_argument("--attribute", choices=sorted(ATTRIBUTES), default=None,
                    help="a direction read off the pixels: thick (ink), slanted, wide, tall")
    wa.add_argument("--from-label", type=int, default=None)
    wa.add_argument("--to-label", type=int, default=None)
    wa.add_argument("--steps", type=_steps, default=9)
    wa.add_argument("--max-strength", type=float, default=2.0)
    wa.set_defaults(fn=cmd_walk)
