"""The photo denoiser: tiled inference, shapes, progress, training, classical filters, the held-out split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ae_core.analysis import filters as classical
from ae_core.config import ConfigError, ModelConfig
from ae_core.errors import ImageError
from ae_core.photo.model import FCNDenoiser, denoise_image, n_tiles
from ae_core.photo.photographs import (
    PHOTOS,
    TEST_PHOTOS,
    TRAIN_PHOTOS,
    list_photos,
    load_photo,
    load_photos,
)
from ae_core.photo.patches import PatchSampler
from ae_core.analysis.quality import image_psnr
from photo_support import scrambled_model


def _model(channels=3, width=12, depth=5, seed=0) -> FCNDenoiser:
    return scrambled_model(channels, width, depth, seed)


@pytest.fixture(scope="module")
def colour_model():
    return _model(3)


@pytest.fixture(scope="module")
def gray_model():
    return _model(1)


@pytest.mark.parametrize("channels_img", [1, 3])
@pytest.mark.parametrize("which", ["colour_model", "gray_model"])
def test_tiled_equals_untiled(request, which, channels_img):
    model = request.getfixturevalue(which)
    img = np.random.default_rng(0).random((83, 101, channels_img), dtype=np.float32)
    whole = denoise_image(model, img, tile=512, bf16=False, refine=False)  # one tile
    assert n_tiles(83, 101, 512, model.receptive_radius) == 1
    tiled = denoise_image(model, img, tile=30, overlap=4, bf16=False, refine=False)  # halo = receptive radius 5, core 20
    assert np.abs(whole - tiled).max() < 1e-5
    assert np.abs(whole - img).mean() > 0.01  # the net really changes the image


def test_untiled_pass_matches_forward(colour_model):
    img = np.random.default_rng(1).random((40, 50, 3), dtype=np.float32)
    with torch.no_grad():
        ref = colour_model(torch.from_numpy(img.transpose(2, 0, 1))[None])[0][0].numpy().transpose(1, 2, 0)
    out = denoise_image(colour_model, img, tile=40, overlap=10, bf16=False, refine=False)
    assert np.abs(out - ref).max() < 1e-5


@pytest.mark.parametrize("downscale", [1, 2])
def test_folding_batchnorm_keeps_the_eval_output(downscale):
    model = scrambled_model(1, 8, 5, seed=3, downscale=downscale)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    model.train()
    folded = model.folded()
    assert model.training and not folded.training  # the model itself is left as it was
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(2, 1, 20, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model.eval()(x)[0]
        assert (folded.denoise(x) - ref).abs().max() < 1e-5
        assert (folded(x)[0] - ref).abs().max() < 1e-5
        assert (ref - x).abs().mean() > 0.01  # the net does change the image


@pytest.mark.parametrize("shape", [(37, 53), (1, 1), (300, 7), (37, 53, 1), (1, 1, 3), (300, 7, 3), (7, 300, 3)])
@pytest.mark.parametrize("which", ["colour_model", "gray_model"])
def test_output_shape_equals_input_shape(request, which, shape):
    model = request.getfixturevalue(which)
    img = np.random.default_rng(2).random(shape, dtype=np.float32)
    out = denoise_image(model, img, tile=64)
    assert out.shape == img.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_uint8_input_is_scaled(colour_model):
    img = (np.random.default_rng(3).random((20, 30, 3)) * 255).astype(np.uint8)
    a = denoise_image(colour_model, img, bf16=False)
    b = denoise_image(colour_model, img.astype(np.float32) / 255, bf16=False)
    assert np.allclose(a, b, atol=1e-6)


def _numpy_views(n):
    """The first n of ENSEMBLE's transforms as (forward, inverse) on (H, W, C) arrays, written with numpy."""
    views = [(lambda a: a, lambda a: a),
             (lambda a: a.transpose(1, 0, 2), lambda a: a.transpose(1, 0, 2)),
             (lambda a: a[::-1, ::-1], lambda a: a[::-1, ::-1]),
             (lambda a: a[::-1, ::-1].transpose(1, 0, 2), lambda a: a.transpose(1, 0, 2)[::-1, ::-1])]
    return views[:n]


@pytest.mark.parametrize("n", [2, 4])
@pytest.mark.parametrize("downscale", [1, 2])
def test_ensemble_is_the_mean_over_transformed_copies(n, downscale):
    model = scrambled_model(1, 8, 5, seed=5, downscale=downscale)
    img = np.random.default_rng(6).random((46, 58, 1), dtype=np.float32)
    ref = np.mean([back(denoise_image(model, np.ascontiguousarray(fwd(img)), bf16=False, refine=False, ensemble=1))
                   for fwd, back in _numpy_views(n)], axis=0)
    out = denoise_image(model, img, bf16=False, refine=False, ensemble=n)
    assert np.abs(out - ref).max() < 1e-5
    single = denoise_image(model, img, bf16=False, refine=False, ensemble=1)
    assert np.abs(out - single).mean() > 1e-3  # the transforms really differ
    tiled = denoise_image(model, img, tile=40, overlap=4, bf16=False, refine=False, ensemble=n)
    assert np.abs(out - tiled).max() < 1e-5  # tiles still equal a whole-image pass


def test_ensemble_out_of_range_is_refused(gray_model):
    for n in (0, 9):
        with pytest.raises(ValueError, match="ensemble must be 1 to 8"):
            denoise_image(gray_model, np.zeros((8, 8, 1), np.float32), ensemble=n)


@pytest.mark.parametrize("which,channels,passes", [("colour_model", 3, 1), ("gray_model", 3, 3), ("gray_model", 1, 1)])
def test_progress_reaches_total(request, which, channels, passes):
    model = request.getfixturevalue(which)
    calls = []
    denoise_image(model, np.zeros((70, 45, channels), np.float32), tile=30, overlap=4,
                  progress=lambda done, total: calls.append((done, total)))
    total = n_tiles(70, 45, 30, 5) * passes + 1  # and the Wiener pass
    assert total > 2
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_progress_counts_the_wiener_pass_when_it_runs(gray_model):
    rng = np.random.default_rng(4)
    clean = np.full((70, 45, 1), 0.5, np.float32)
    noisy = np.clip(clean + 15 / 255 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    calls = []
    out = denoise_image(gray_model, noisy, tile=30, overlap=4, bf16=False,
                        progress=lambda done, total: calls.append((done, total)))
    net = denoise_image(gray_model, noisy, tile=30, overlap=4, bf16=False, refine=False)
    assert not np.array_equal(out, net)  # the pass ran
    total = n_tiles(70, 45, 30, 5) + 1
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_bad_images_are_refused(colour_model):
    with pytest.raises(ImageError, match="shape"):
        denoise_image(colour_model, np.zeros((8, 8, 4), np.float32))
    with pytest.raises(ImageError, match="megapixels"):
        denoise_image(colour_model, np.broadcast_to(np.float32(0), (4000, 3200, 3)))
    with pytest.raises(ValueError, match="tile"):
        denoise_image(colour_model, np.zeros((8, 8, 3), np.float32), tile=12)


def test_config_refuses_two_channels():
    with pytest.raises(ConfigError, match="channels"):
        FCNDenoiser(ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(2, 24, 24)))


def test_common_interface(colour_model):
    x = torch.rand(2, 3, 16, 16)
    h = colour_model.encode(x)
    assert h.shape == (2, 3 + colour_model.config.width, 16, 16)
    x_hat, h2 = colour_model(x)
    assert torch.equal(h, h2) and torch.equal(colour_model.decode(h), x_hat)
    total, parts = colour_model.loss(x)
    assert set(parts) == {"reconstruction"} and torch.isfinite(total)


def test_gray_patches_get_the_same_noise_in_every_channel(colour_model):
    x = torch.rand(4, 3, 16, 16)
    x[:2] = x[:2, :1]  # two gray patches repeated over the channels
    torch.manual_seed(0)
    noisy = colour_model.add_noise(x, 0.1)
    assert torch.equal(noisy[:2, 0], noisy[:2, 1]) and torch.equal(noisy[:2, 0], noisy[:2, 2])
    assert not torch.equal(noisy[2:, 0] - x[2:, 0], noisy[2:, 1] - x[2:, 1])


def test_training_lowers_the_loss():
    from ae_core.photo.training import train_photo_denoiser

    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(3, 20, 20), width=16, depth=4)
    images = {n: load_photo(n) for n in ("chelsea", "brick")}
    x = PatchSampler(images, 20, 3, seed=5).sample(32)
    gen = torch.Generator().manual_seed(0)
    noisy = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)

    def held_loss(m):
        m.eval()
        with torch.no_grad():
            return float(torch.mean((m(noisy)[0] - x) ** 2))

    torch.manual_seed(0)
    model = FCNDenoiser(cfg)
    before = held_loss(model)
    logs = []
    model, history = train_photo_denoiser(cfg, steps=30, batch_size=16, lr=3e-3, device="cpu", seed=0,
                                          log_every=10, images=images, model=model, callback=logs.append)
    after = held_loss(model)
    assert [entry["step"] for entry in logs] == [10, 20, 30]
    assert len(history.epochs) == 3
    assert after < 0.8 * before, (before, after)


def test_a_callback_that_returns_true_stops_at_that_log_point():
    from ae_core.photo.training import train_photo_denoiser

    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(1, 12, 12), width=4, depth=2)
    images = {"a": np.random.default_rng(0).random((40, 40, 1), dtype=np.float32)}
    seen = []
    _, history = train_photo_denoiser(cfg, steps=50, batch_size=4, device="cpu", log_every=5, images=images,
                                      callback=lambda logs: seen.append(logs["step"]) or logs["step"] >= 10)
    assert seen == [5, 10] and [e["step"] for e in history.epochs] == [5, 10]
    assert history.stopped == "cancelled" and "step 10" in history.message


def test_checkpoint_round_trip(tmp_path, colour_model):
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.photo.training import save_photo_denoiser

    path = save_photo_denoiser(tmp_path / "photo", colour_model)
    ck = load_checkpoint(path)
    assert isinstance(ck.model, FCNDenoiser)
    img = np.random.default_rng(4).random((30, 30, 3), dtype=np.float32)
    assert np.array_equal(denoise_image(ck.model, img), denoise_image(colour_model, img))


def test_held_out_photos_never_train(monkeypatch):
    import ae_core.photo.photographs as photos

    assert not set(TEST_PHOTOS) & set(TRAIN_PHOTOS)
    assert set(TEST_PHOTOS) | set(TRAIN_PHOTOS) == set(PHOTOS)
    assert list_photos("train") == list(TRAIN_PHOTOS) and list_photos("test") == list(TEST_PHOTOS)
    # the held-out set has both grayscale and colour photographs (real loads)
    assert {load_photo(n).shape[2] for n in TEST_PHOTOS} == {1, 3}
    # what training loads and samples from, by name (stub pixels: decoding them all is slow)
    requested = []

    def stub(name):
        requested.append(name)
        return np.zeros((64, 64, 3), np.float32)

    monkeypatch.setattr(photos, "_load", stub)
    train = load_photos("train")
    assert set(train) == set(requested) == set(TRAIN_PHOTOS)
    sampler = PatchSampler(train, 48, 3, seed=0)
    assert set(sampler.names) == set(TRAIN_PHOTOS) and not set(sampler.names) & set(TEST_PHOTOS)
    with pytest.raises(ValueError, match="split"):
        list_photos("validation")


def test_patches_are_crops_of_the_images_under_the_8_transforms():
    from numpy.lib.stride_tricks import sliding_window_view

    rng = np.random.default_rng(0)
    images = {"a": rng.random((30, 41, 1), dtype=np.float32), "b": rng.random((25, 20, 1), dtype=np.float32)}
    sampler = PatchSampler(images, 8, 1, seed=3)
    transforms = [lambda q, k=k: np.rot90(q[:, ::-1] if k >= 4 else q, -(k % 4)) for k in range(8)]
    used = set()
    for patch in sampler.sample(100).numpy()[:, 0]:
        hits = {(name, k) for name, img in images.items() for k, undo in enumerate(transforms)
                if (np.abs(sliding_window_view(img[:, :, 0], (8, 8)) - undo(patch)).max(axis=(2, 3)) == 0).any()}
        assert hits, "a patch that is no crop of any image"
        used |= {k for _, k in hits}
    assert used == set(range(8))
    # seeded: the same seed gives the same patches
    assert torch.equal(PatchSampler(images, 8, 1, seed=3).sample(5), PatchSampler(images, 8, 1, seed=3).sample(5))


def test_training_uses_only_training_photos(monkeypatch):
    import ae_core.photo.training as pt

    seen = []
    real = pt.load_photos

    def spy(split="train"):
        seen.append(split)
        return {n: real("train")[n] for n in ("brick", "chelsea")}

    monkeypatch.setattr(pt, "load_photos", spy)
    cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(3, 16, 16), width=4, depth=2)
    pt.train_photo_denoiser(cfg, steps=1, batch_size=2, device="cpu")
    assert seen == ["train"]


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_classical_filters_beat_the_noisy_input(name):
    from ae_core.photo.evaluation import noisy_version

    clean = load_photo(name)[200:296, 200:296]
    sigma = 25 / 255
    noisy = noisy_version(clean, sigma, seed=0)
    base = image_psnr(clean, noisy)
    for f in classical.FILTERS:
        out = classical.apply_filter(f, noisy, sigma)
        assert out.shape == clean.shape and out.dtype == np.float32
        assert image_psnr(clean, out) > base + 1.0, f


def test_classical_shapes_and_params():
    img = np.random.default_rng(0).random((20, 24), dtype=np.float32)
    for f in classical.FILTERS:
        assert classical.apply_filter(f, img, 0.1).shape == (20, 24)
    assert classical.best_param("gaussian", 25 / 255) == classical.BEST_PARAMS[25]["gaussian"]
    assert classical.best_param("median", 0.0) % 2 == 1  # an odd window, clamped at the table's end
    lo, hi = classical.BEST_PARAMS[15]["tv"], classical.BEST_PARAMS[25]["tv"]
    assert min(lo, hi) <= classical.best_param("tv", 20 / 255) <= max(lo, hi)
    with pytest.raises(ValueError, match="filter"):
        classical.apply_filter("bilateral", img, 0.1)
