"""`ae-core denoise` with the shipped photo denoisers: gray and colour routing, output file,
scores, clear errors; `ae-core photo train` on a folder of photographs."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ae_core.cli import main
from ae_core.io.image_files import decode_image

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "checkpoints" / "photo-colour"
GRAY = ROOT / "checkpoints" / "photo-gray"
pytestmark = pytest.mark.skipif(not all((p / "model.safetensors").exists() for p in (PHOTO, GRAY)),
                                reason="no shipped photo denoisers")


@pytest.fixture
def photo_png(tmp_path):
    from skimage import data

    img = data.astronaut()[200:296, 150:250]  # held out of training; 96x100 keeps the test fast
    path = tmp_path / "crop.png"
    Image.fromarray(img).save(path)
    return path


def test_denoise_with_sigma_scores_and_improves(photo_png, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["denoise", str(photo_png), str(out), "--sigma", "25", "--tile", "64"]) == 0
    text = capsys.readouterr().out
    noisy, denoised = (float(v) for v in re.findall(r"PSNR\s+([\d.]+) dB", text))
    assert denoised > noisy + 3  # sigma 25 noise is ~20 dB; the denoiser recovers several dB
    result = decode_image(out.read_bytes())
    assert result.shape == (96, 100, 3)
    assert np.isfinite(result).all()
    assert "colour, model photo-colour" in text


@pytest.mark.parametrize("as_rgb", [False, True])
def test_a_gray_photo_goes_through_the_gray_model(tmp_path, capsys, as_rgb):
    from skimage import data

    gray = data.camera()[200:264, 200:280]  # held out of training
    path = tmp_path / "gray.png"
    Image.fromarray(np.repeat(gray[:, :, None], 3, axis=2) if as_rgb else gray).save(path)
    out = tmp_path / "out.png"
    assert main(["denoise", str(path), str(out), "--sigma", "25", "--tile", "64"]) == 0
    text = capsys.readouterr().out
    assert "gray, model photo-gray" in text
    noisy, denoised = (float(v) for v in re.findall(r"PSNR\s+([\d.]+) dB", text))
    assert denoised > noisy + 3
    assert decode_image(out.read_bytes()).shape == (64, 80, 1)  # written as the gray picture it is


def test_denoise_refuses_non_image_and_missing_file(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    assert main(["denoise", str(bad), str(tmp_path / "o.png")]) == 2
    assert "not an image" in capsys.readouterr().err
    assert main(["denoise", str(tmp_path / "missing.png"), str(tmp_path / "o.png")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()


def test_denoise_refuses_a_digit_model(photo_png, tmp_path, capsys):
    code = main(["denoise", str(photo_png), str(tmp_path / "o.png"),
                 "--model", str(ROOT / "checkpoints" / "undercomplete-16")])
    assert code == 2
    assert "photo_denoiser" in capsys.readouterr().err


def test_eval_scores_the_photo_denoiser_on_its_held_out_photos(tmp_path, capsys, monkeypatch):
    """`ae-core eval` takes the photo denoiser too, with its own keys, and writes nothing."""
    import json
    import shutil

    import ae_core.photo.evaluation as ev

    real = ev.load_photo
    monkeypatch.setattr(ev, "load_photo", lambda name: real(name)[:64, :64])  # small crops: a fast test
    path = tmp_path / "photo-colour"
    shutil.copytree(PHOTO, path)
    before = (path / "metrics.json").read_bytes()
    assert main(["eval", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)[str(path)]
    assert res["test_photos"] == ["astronaut", "china"]  # the colour model's held-out photographs
    for s in ("15", "25", "50"):
        row = res["heldout_psnr"][s]
        assert row["ours"] == res[f"psnr_sigma{s}"] and row["ours"] > row["noisy"] + 3
    assert (path / "metrics.json").read_bytes() == before


def test_no_refine_gives_the_network_alone(photo_png, tmp_path, capsys):
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.io.image_files import encode_png
    from ae_core.noise import corrupt
    from ae_core.photo.model import denoise_image

    both, alone = tmp_path / "both.png", tmp_path / "alone.png"
    assert main(["denoise", str(photo_png), str(both), "--sigma", "25", "--tile", "64"]) == 0
    assert main(["denoise", str(photo_png), str(alone), "--sigma", "25", "--tile", "64", "--no-refine"]) == 0
    scores = [float(v) for v in re.findall(r"denoised PSNR\s+([\d.]+) dB", capsys.readouterr().out)]
    noisy = corrupt(decode_image(photo_png.read_bytes()), "gaussian", 25 / 255, seed=0)
    net = denoise_image(load_checkpoint(PHOTO).model, noisy, tile=64, refine=False)
    assert alone.read_bytes() == encode_png(net)
    assert both.read_bytes() != alone.read_bytes() and len(scores) == 2


def test_ensemble_flag_averages_the_flips_and_refuses_out_of_range(photo_png, tmp_path, capsys):
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.io.image_files import encode_png
    from ae_core.noise import corrupt
    from ae_core.photo.model import denoise_image

    out = tmp_path / "four.png"
    assert main(["denoise", str(photo_png), str(out), "--sigma", "25", "--tile", "64", "--no-refine",
                 "--ensemble", "4"]) == 0
    noisy = corrupt(decode_image(photo_png.read_bytes()), "gaussian", 25 / 255, seed=0)
    model = load_checkpoint(PHOTO).model
    assert out.read_bytes() == encode_png(denoise_image(model, noisy, tile=64, refine=False, ensemble=4))
    assert out.read_bytes() != encode_png(denoise_image(model, noisy, tile=64, refine=False, ensemble=1))
    capsys.readouterr()
    assert main(["denoise", str(photo_png), str(tmp_path / "o.png"), "--ensemble", "9"]) == 2
    assert "ensemble must be 1 to 8; got 9" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
