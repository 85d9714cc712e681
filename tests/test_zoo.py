"""The shipped zoos: what they hold, how they are stored, and that the shipped folders match."""

import json
from pathlib import Path

import numpy as np
import pytest

from ae_core.config import ModelConfig, TrainConfig
from ae_core.io.checkpoint import WEIGHTS
from ae_core.io.safetensors_header import read_safetensors_header
from ae_core.zoo import MNIST, SHAPES, ZOOS, zoo_configs

CHECKPOINTS = Path(__file__).resolve().parent.parent / "checkpoints"
ZOO_BUDGET = 15 * 2**20  # every zoo together, in the repository


def test_every_entry_validates_and_names_are_unique_across_zoos():
    names = [n for z in ZOOS.values() for n in z.entries]
    assert len(names) == len(set(names))
    for zoo in ZOOS.values():
        for name in zoo.entries:
            mc, tc = zoo_configs(name, zoo=zoo)
            assert mc.n_pixels == {"digits": 64, "mnist": 784, "shapes": 1024}[zoo.dataset]
            assert mc.input_shape == zoo.image_shape


def test_the_mnist_zoo_has_one_of_each_kind_and_the_lecture_pair_differs_only_in_the_penalty():
    kinds = {zoo_configs(n, zoo=MNIST)[0].kind for n in MNIST.entries}
    assert {"undercomplete", "denoising", "sparse", "contractive", "vae", "pca"} <= kinds
    assert (MNIST.n_train, MNIST.n_test) == (8000, 2000)
    plain, _ = zoo_configs("mnist-overcomplete-1024", zoo=MNIST)
    sparse, _ = zoo_configs("mnist-sparse-overcomplete-1024", zoo=MNIST)
    assert plain.code_dim == sparse.code_dim > plain.n_pixels
    differ = {k for k, v in plain.to_dict().items() if sparse.to_dict()[k] != v}
    # kind undercomplete -> sparse switches the penalty on; the rest is the penalty's own settings
    assert differ <= {"kind", "sparsity", "sparsity_weight", "sparsity_target", "top_k"}


def test_the_shapes_zoo_holds_the_lectures_contrast_on_one_net():
    kinds = [zoo_configs(n, zoo=SHAPES)[0] for n in SHAPES.entries]
    assert [m.kind for m in kinds] == ["pca", "undercomplete", "vae", "vae", "tcvae"]
    assert {m.code_dim for m in kinds} == {10}
    nets = {(m.arch, m.conv_channels) for m in kinds if m.kind != "pca"}
    assert len(nets) == 1  # the same net: only the objective differs
    assert [m.beta for m in kinds if m.kind in ("vae", "tcvae")] == [1.0, 4.0, 6.0]


def test_the_cli_offers_each_zoo_and_refuses_an_unknown_entry(capsys):
    from ae_core.cli import main

    assert main(["zoo", "--dataset", "mnist", "--only", "nope", "--out", "/nonexistent"]) == 2
    assert "not in the mnist zoo: nope" in capsys.readouterr().err


@pytest.mark.parametrize("zoo_name", sorted(ZOOS))
def test_shipped_folders_hold_their_zoo_stored_as_the_rules_say(zoo_name):
    """Each entry shipped with its config, a UMAP map of every image of its data, float16 weights
    where the zoo ships them so; a zoo that is not shipped (not rebuilt yet) is skipped."""
    zoo = ZOOS[zoo_name]
    present = [n for n in zoo.entries if (CHECKPOINTS / n / "config.json").is_file()]
    if not present:
        pytest.skip(f"the {zoo_name} zoo is not in checkpoints/")
    assert present == list(zoo.entries), "a zoo is shipped whole"
    for name in present:
        cfg = json.loads((CHECKPOINTS / name / "config.json").read_text())
        mc, tc = zoo_configs(name, zoo=zoo)
        assert ModelConfig.from_dict(cfg["model"]) == mc, name  # every field, as the zoo says
        shipped = TrainConfig.from_dict(cfg["train"])  # trained as the zoo says (a field it lacks: the default)
        assert (shipped.epochs, shipped.shift) == (tc.epochs, tc.shift), name
        dtypes = {t["dtype"] for t in read_safetensors_header(CHECKPOINTS / name / WEIGHTS).values()}
        assert dtypes == ({"F16"} if zoo.half else {"F32"})
        if not zoo.maps:  # shipped without maps (the shapes zoo: ae_core.zoo says why)
            assert not list((CHECKPOINTS / name).glob("map-*")), name
            continue
        with np.load(CHECKPOINTS / name / "map-umap-2d.npz") as m:
            assert m["embedding"].shape[0] == cfg["dataset"]["n_images"]


def test_every_zoo_together_fits_the_repository_budget():
    total = sum(f.stat().st_size for f in CHECKPOINTS.rglob("*") if f.is_file() and "user" not in f.parts)
    assert total <= ZOO_BUDGET, f"checkpoints/ holds {total / 2**20:.1f} MB; the budget is 15 MB"
