"""`ae-core decode-grid`, `traverse`, `sample` and `walk` write PNGs of the size their figure has,
and bad requests exit 2 with one line."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from PIL import Image

from ae_core.cli import main

TINY = ["--dataset", "digits", "--hidden", "32", "--epochs", "2", "--batch-size", "128", "--threads", "1",
        "--device", "cpu"]
TILE = 64  # an 8x8 digit drawn 8 times, as the app draws it


@pytest.fixture(scope="module")
def vae2(tmp_path_factory):
    out = tmp_path_factory.mktemp("walks") / "vae-2"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--kind", "vae", "--code-dim", "2", "--out", str(out), *TINY]) == 0
    return out


def _size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def _run(args, capsys) -> tuple[int, str, str]:
    rc = main(args)
    out = capsys.readouterr()
    return rc, out.out, out.err


def _grid(cols, rows, pad=1):
    return cols * TILE + (cols + 1) * pad, rows * TILE + (rows + 1) * pad


def test_decode_grid_draws_the_two_unit_code_plane(vae2, tmp_path, capsys):
    rc, out, _ = _run(["decode-grid", str(vae2), str(tmp_path / "g.png"), "--n", "5"], capsys)
    assert rc == 0 and "over the code plane" in out and "identity inverse" in out
    assert _size(tmp_path / "g.png") == (5 * TILE, 5 * TILE)


def test_decode_grid_over_a_pca_map_of_the_code(vae2, tmp_path, capsys):
    rc, out, _ = _run(["decode-grid", str(vae2), str(tmp_path / "g.png"), "--n", "3", "--map", "pca"], capsys)
    assert rc == 0 and "pca inverse" in out and _size(tmp_path / "g.png") == (3 * TILE, 3 * TILE)


def test_traverse_sample_and_walk_write_their_figures(vae2, tmp_path, capsys):
    rc, out, _ = _run(["traverse", str(vae2), str(tmp_path / "t.png"), "--steps", "5", "--span", "prior"], capsys)
    assert rc == 0 and "the mean code" in out and _size(tmp_path / "t.png") == _grid(5, 2)  # both units
    rc, out, _ = _run(["sample", str(vae2), str(tmp_path / "s.png"), "--n", "3"], capsys)
    assert rc == 0 and "from the prior" in out and _size(tmp_path / "s.png") == _grid(3, 2)  # samples over nearest
    rc, out, _ = _run(["sample", str(vae2), str(tmp_path / "s.png"), "--n", "10", "--source", "gaussian"], capsys)
    assert rc == 0 and _size(tmp_path / "s.png") == _grid(8, 4)  # two pairs of rows of 8
    rc, out, _ = _run(["walk", str(vae2), str(tmp_path / "w.png"), "--attribute", "thick", "--index", "0", "4",
                       "--steps", "7"], capsys)
    assert rc == 0 and "thin -> thick" in out and _size(tmp_path / "w.png") == _grid(7, 2)
    rc, out, _ = _run(["walk", str(vae2), str(tmp_path / "w.png"), "--from-label", "1", "--to-label", "7"], capsys)
    assert rc == 0 and "label 1 -> label 7" in out and _size(tmp_path / "w.png") == _grid(9, 1)


@pytest.mark.parametrize("args, said", [
    (["decode-grid", "{ck}", "{out}", "--n", "25"], "--n must be 2 to 20"),
    (["traverse", "{ck}", "{out}", "--index", "99999"], "--index must be among"),
    (["traverse", "{ck}", "{out}", "--units", "0,7"], "units must be among 0 to 1"),
    (["sample", "{ck}", "{out}", "--temperature", "-1"], "temperature"),
    (["walk", "{ck}", "{out}"], "give --attribute, or both --from-label and --to-label"),
    (["walk", "{ck}", "{out}", "--from-label", "3", "--to-label", "3"], "same mean code"),
    (["decode-grid", "{missing}", "{out}"], "error"),
])
def test_bad_requests_exit_2_with_one_line(vae2, tmp_path, capsys, args, said):
    argv = [a.format(ck=vae2, out=tmp_path / "x.png", missing=tmp_path / "nope") for a in args]
    rc, _, err = _run(argv, capsys)
    assert rc == 2 and said in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x.png").exists()


def test_a_one_unit_code_has_no_grid(tmp_path, capsys):
    out = tmp_path / "ae-1"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["train", "--kind", "undercomplete", "--code-dim", "1", "--out", str(out), *TINY]) == 0
    rc, _, err = _run(["decode-grid", str(out), str(tmp_path / "g.png")], capsys)
    assert rc == 2 and "1 unit is a line, not a plane" in err
    rc, _, _ = _run(["traverse", str(out), str(tmp_path / "t.png"), "--steps", "4"], capsys)
    assert rc == 0 and _size(tmp_path / "t.png") == _grid(4, 1)  # its one unit traverses
    assert np.asarray(Image.open(tmp_path / "t.png")).std() > 0
