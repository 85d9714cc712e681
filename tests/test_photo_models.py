"""The shipped photo denoisers' design: convolutions on 2x2 sub-images (tiling still exact, the
receptive field as stated), gray and colour routing, a folder of training photographs, and the
colour model's share of colour patches."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import torch
from PIL import Image

from ae_core.config import ConfigError, ModelConfig, estimate_parameters
from ae_core.errors import DataError
from ae_core.photo import photographs
from ae_core.photo.model import FCNDenoiser, denoise_image, n_tiles
from ae_core.photo.patches import PatchSampler
from ae_core.photo.routing import COLOUR_MODEL, GRAY_MODEL, is_gray_photo, model_name_for, route
from photo_support import scrambled_model
from ae_core.photo.training import COLOUR_SHARE, TEST_SETS, recipe_config, training_images


def _model(channels: int, downscale: int = 2, width: int = 8, depth: int = 4, seed: int = 0) -> FCNDenoiser:
    return scrambled_model(channels, width, depth, seed, downscale)


@pytest.mark.parametrize("downscale", [2, 4])
@pytest.mark.parametrize("channels,shape", [(1, (83, 101, 1)), (3, (83, 101, 3)), (3, (83, 101, 1)),
                                            (1, (67, 45, 3))])
def test_tiled_equals_one_whole_pass_at_odd_sizes(downscale, channels, shape):
    """Tile origins on the sub-image grid and replicated edges make tiles exact, odd sides too."""
    model = _model(channels, downscale)
    img = np.random.default_rng(0).random(shape, dtype=np.float32)
    whole = denoise_image(model, img, tile=512, bf16=False)
    halo = -(-model.receptive_radius // downscale) * downscale
    tile = 2 * halo + 16
    assert n_tiles(*shape[:2], tile, halo, downscale) > 4
    tiled = denoise_image(model, img, tile=tile, overlap=0, bf16=False)
    assert whole.shape == img.shape
    assert np.abs(whole - tiled).max() < 1e-5
    assert np.abs(whole - img).mean() > 0.01  # the net really changes the image


def test_receptive_radius_is_exact():
    """A change at one pixel reaches exactly receptive_radius pixels away (by a finite difference)."""
    model = _model(1, downscale=2, depth=4)
    x = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        base = model(x)[0]
        for r, c in ((31, 31), (32, 32)):  # both places in a 2x2 block
            y = x.clone()
            y[0, 0, r, c] += 0.5
            diff = (model(y)[0] - base).abs()[0, 0] > 0
            rows, cols = np.nonzero(diff.numpy())
            reach = max(np.abs(rows - r).max(), np.abs(cols - c).max())
            assert reach <= model.receptive_radius
            if (r, c) == (32, 32):  # the first pixel of a block sees farthest to one side
                assert reach == model.receptive_radius


def test_sub_image_model_shapes_and_config():
    model = _model(3, downscale=2, width=8)
    x = torch.rand(2, 3, 16, 20)
    h = model.encode(x)
    assert h.shape == (2, 12 + 8, 8, 10) and model.code_dim == 20
    out, _ = model(x)
    assert out.shape == x.shape and torch.equal(model.decode(h), out)
    with pytest.raises(ValueError, match="multiples of 2"):
        model.encode(torch.rand(1, 3, 15, 16))
    with pytest.raises(ConfigError, match="downscale"):
        ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(1, 24, 24), downscale=3).validate()
    # the config's parameter estimate (the size guard) bounds the sub-image nets too, closely
    for c in (1, 3):
        cfg = recipe_config(c)
        real = sum(p.numel() for p in FCNDenoiser(cfg).parameters())
        assert real <= estimate_parameters(cfg) <= real * 1.01


def test_shipped_recipes_fit_two_megabytes_in_float32():
    for c in (1, 3):
        n = sum(p.numel() for p in FCNDenoiser(recipe_config(c)).parameters())
        assert 4 * n <= 2_000_000, (c, n)


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def test_gray_and_colour_routing():
    rng = np.random.default_rng(0)
    g = rng.integers(0, 256, (40, 50), dtype=np.uint8)
    assert is_gray_photo(g) and is_gray_photo(g[:, :, None])
    rgb_gray = np.repeat(g[:, :, None], 3, axis=2)
    assert is_gray_photo(rgb_gray) and is_gray_photo(rgb_gray.astype(np.float32) / 255)
    colour = rgb_gray.copy()
    colour[20, 30, 2] = colour[20, 30, 2] ^ 8  # one pixel off by 8 levels: a colour picture
    assert not is_gray_photo(colour)
    assert model_name_for(g) == GRAY_MODEL and model_name_for(colour) == COLOUR_MODEL
    one, c = route(rgb_gray)
    assert c == 1 and one.shape == (40, 50, 1) and np.array_equal(one[:, :, 0], g)
    same, c = route(colour)
    assert c == 3 and np.array_equal(same, colour)
    tall = np.repeat(rng.random((600, 3, 1), dtype=np.float32), 3, axis=2)
    tall[599, 0, 1] += 0.1  # in the last band of rows that is checked
    assert not is_gray_photo(tall)


def test_a_photo_folder_loads_every_image_and_refuses_clearly(tmp_path, monkeypatch):
    folder = tmp_path / "my-photos"
    folder.mkdir()
    rng = np.random.default_rng(1)
    (folder / "a.png").write_bytes(_png(rng.integers(0, 256, (30, 40), dtype=np.uint8)))
    (folder / "b.jpg").write_bytes(b"")  # replaced below by a real JPEG
    Image.fromarray(rng.integers(0, 256, (20, 25, 3), dtype=np.uint8)).save(folder / "b.jpg")
    (folder / "notes.txt").write_text("not a photo")
    (folder / "sub").mkdir()
    got = photographs.load_photo_folder(folder)
    assert sorted(got) == ["a.png", "b.jpg"]
    assert got["a.png"].shape == (30, 40, 1) and got["b.jpg"].shape == (20, 25, 3)
    (folder / "c.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(DataError, match="c.png") as e:
        photographs.load_photo_folder(folder)
    assert str(tmp_path) not in str(e.value)  # the base name only
    with pytest.raises(DataError, match="no image files"):
        photographs.load_photo_folder(folder / "sub")
    with pytest.raises(DataError, match="not a readable folder"):
        photographs.load_photo_folder(tmp_path / "missing")
    with pytest.raises(DataError, match="limit is 2"):
        photographs.load_photo_folder(folder, max_images=2)
    monkeypatch.setenv(photographs.TRAINING_FOLDER_ENV, str(folder))
    assert photographs.default_training_folder() == folder


def test_gray_test_set_is_held_out_and_gray():
    assert set(TEST_SETS[3]) <= set(photographs.TEST_PHOTOS)
    for name in TEST_SETS[1]:
        base = name.removesuffix(photographs.GRAY_SUFFIX)
        assert base in photographs.TEST_PHOTOS and base not in photographs.TRAIN_PHOTOS
        assert photographs.load_photo(name).shape[2] == 1
    lum = photographs.load_photo("astronaut-gray")[:, :, 0]
    ref = photographs.load_photo("astronaut") @ photographs.LUMA
    np.testing.assert_allclose(lum, ref, atol=1e-6)


def test_colour_model_draws_its_share_of_colour_patches(tmp_path):
    folder = tmp_path / "grays"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(30):  # a gray folder much larger than the bundled colour photographs
        (folder / f"{i}.png").write_bytes(_png(rng.integers(0, 256, (300, 300), dtype=np.uint8)))
    images, weights = training_images(3, folder)
    assert not set(images) & set(photographs.TEST_PHOTOS)
    assert sum(1 for n in images if n.startswith("grays/")) == 30
    sampler = PatchSampler(images, 16, 3, seed=0, weights=weights)
    colour = {i for i, n in enumerate(sampler.names) if images[n].shape[2] == 3}
    share = sum(p for i, p in enumerate(sampler.probs) if i in colour)
    assert abs(share - COLOUR_SHARE) < 1e-9
    # and what is drawn follows it
    gen = torch.Generator().manual_seed(0)
    picks = torch.multinomial(torch.from_numpy(sampler.probs), 20_000, replacement=True, generator=gen).numpy()
    assert abs(np.isin(picks, list(colour)).mean() - COLOUR_SHARE) < 0.02
    gray_images, gray_weights = training_images(1, folder)
    assert gray_weights == {} and set(gray_images) == set(images)


def test_photo_train_command_reads_a_folder_and_records_only_its_name(tmp_path, capsys):
    import json

    from ae_core.cli import main

    folder = tmp_path / "holiday"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        (folder / f"p{i}.png").write_bytes(_png(rng.integers(0, 256, (40, 40), dtype=np.uint8)))
    out = tmp_path / "gray-run"
    assert main(["photo", "train", "--channels", "gray", "--out", str(out), "--photos", str(folder),
                 "--steps", "3", "--batch-size", "2", "--patch", "16", "--width", "4", "--depth", "3",
                 "--no-eval", "--save-every", "0"]) == 0
    text = capsys.readouterr().out
    assert f"{len(photographs.TRAIN_PHOTOS)} bundled + 3 from holiday" in text
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["input_shape"][0] == 1 and cfg["model"]["depth"] == 3 and cfg["model"]["width"] == 4
    assert cfg["dataset"]["folder"] == "holiday" and cfg["dataset"]["folder_images"] == 3
    assert str(tmp_path) not in (out / "config.json").read_text()
    assert cfg["dataset"]["test"] == list(TEST_SETS[1])
    # --out names one model: with both kinds it is refused, and nothing is written
    assert main(["photo", "train", "--channels", "both", "--out", str(tmp_path / "x"), "--steps", "1"]) == 2
    assert "--out names one model" in capsys.readouterr().err and not (tmp_path / "x").exists()
    # a folder that is not there is refused before any training
    assert main(["photo", "train", "--channels", "gray", "--out", str(tmp_path / "y"),
                 "--photos", str(tmp_path / "nowhere"), "--steps", "1"]) == 2
    assert "not a readable folder" in capsys.readouterr().err and not (tmp_path / "y").exists()


def test_photo_train_continues_a_checkpoint_and_records_its_earlier_training(tmp_path, capsys):
    import json

    from ae_core.cli import main
    from ae_core.io.checkpoint import load_checkpoint

    tiny = ["--steps", "3", "--batch-size", "2", "--patch", "16", "--no-eval", "--save-every", "0", "--photos", "none"]
    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    assert main(["photo", "train", "--channels", "gray", "--out", str(first), "--width", "4", "--depth", "3",
                 "--minutes", "2", *tiny]) == 0
    assert main(["photo", "train", "--channels", "gray", "--init", str(first), "--out", str(second),
                 "--minutes", "3", "--lr", "1e-4", *tiny]) == 0
    assert main(["photo", "train", "--channels", "gray", "--init", str(second), "--out", str(third), *tiny]) == 0
    said = re.search(r"continuing second \(6 steps, ([\d.]+) min earlier\)", capsys.readouterr().out)
    a, b = load_checkpoint(first).model, load_checkpoint(second).model
    trained = (load_checkpoint(first).history.seconds + load_checkpoint(second).history.seconds) / 60
    assert said and float(said[1]) == round(trained, 1) < 1  # minutes trained, not the budgets (2 + 3)
    assert b.config.width == 4 and b.config.depth == 3  # the design it continued, not the recipe's
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    extra = json.loads((third / "config.json").read_text())["extra"]
    assert extra["continued_from"] == {"model": "second", "steps": 6, "minutes": round(trained, 1)}
    # refused before any training, and the model it would have continued is kept as it was
    before = (first / "model.safetensors").read_bytes()
    for args, message in ((["--channels", "colour", "--init", str(first), "--out", str(tmp_path / "c")],
                           "not a colour photo denoiser"),
                          (["--channels", "gray", "--init", str(first), "--out", str(tmp_path / "w"), "--width", "8"],
                           "cannot change width"),
                          (["--channels", "gray", "--init", str(first), "--out", str(first)], "--out must differ"),
                          (["--channels", "gray", "--init", str(first)], "give --channels gray or colour and --out")):
        assert main(["photo", "train", *args, *tiny]) == 2
        assert message in capsys.readouterr().err
    assert (first / "model.safetensors").read_bytes() == before
    assert not (tmp_path / "c").exists() and not (tmp_path / "w").exists()


def test_batchnorm_recalibration_is_the_plain_average_over_batches():
    from ae_core.photo.training import recalibrate_batchnorm

    torch.manual_seed(0)
    model = FCNDenoiser(ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(1, 16, 16), width=4,
                                    depth=3, downscale=2, max_sigma=0.0).validate())  # no noise: exact
    batches = [torch.rand(5, 1, 16, 16) for _ in range(7)]
    it = iter(batches)
    weights = {k: v.clone() for k, v in model.state_dict().items() if "running" not in k}
    recalibrate_batchnorm(model, lambda n: next(it), batches=7, batch_size=5)
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        pre = [model.features[:3](torch.nn.functional.pixel_unshuffle(b, 2)) for b in batches]
    mean = torch.stack([p.mean((0, 2, 3)) for p in pre]).mean(0)
    var = torch.stack([p.var((0, 2, 3), unbiased=True) for p in pre]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(bn.running_var, var, rtol=1e-5, atol=1e-6)
    assert bn.momentum == 0.1 and not model.training
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items() if k in weights)


def test_other_methods_are_scored_on_the_same_noisy_images():
    """The benchmark's BM3D enters evaluate_denoiser as `others`: it sees the very noisy image the
    filters see (identity scores exactly the noisy input's PSNR)."""
    from ae_core.photo.evaluation import evaluate_denoiser

    rows = evaluate_denoiser(None, ("coins",), (25,), filters=(), with_ssim=False,
                             others={"identity": lambda noisy, sigma: noisy, "half": lambda noisy, sigma: noisy * 0.5})
    by = {r["method"]: r for r in rows}
    assert set(by) == {"noisy", "identity", "half"}
    assert by["identity"]["psnr"] == by["noisy"]["psnr"] and by["half"]["psnr"] < by["noisy"]["psnr"]
