"""The `ae-core` command: train -> eval --json end to end on digits, and user errors as one line
with exit status 2, never a traceback."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from ae_core.io.checkpoint import load_checkpoint
from ae_core.cli import main
from ae_core.config import ConfigError

TINY = ["--dataset", "digits", "--hidden", "32", "--epochs", "3", "--batch-size", "128", "--threads", "1",
        "--device", "cpu"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny model trained through the CLI (and what it printed), shared by the tests that read it."""
    out = tmp_path_factory.mktemp("cli") / "ae-4"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # code_dim 4 < the default top_k (8): must still be a valid plain autoencoder
        rc = main(["train", "--kind", "undercomplete", "--code-dim", "4", "--out", str(out), *TINY])
    assert rc == 0
    return out, printed.getvalue()


def test_train_writes_a_loadable_checkpoint_and_says_so(trained):
    path, printed = trained
    ck = load_checkpoint(path)
    lines = printed.strip().splitlines()
    assert len(lines) == 4 and all("/3" in line for line in lines[:3])  # one progress line per epoch
    assert lines[-1].startswith(f"saved {path}") and "PCA-4" in lines[-1]
    assert ck.model_config.kind == "undercomplete" and ck.model_config.code_dim == 4
    assert ck.model_config.hidden == (32,) and ck.train_config.epochs == 3
    assert len(ck.history.epochs) == 3 and ck.dataset["name"] == "digits"
    for key in ("recon_mse", "pca_recon_mse"):
        assert math.isfinite(ck.metrics[key]) and ck.metrics[key] > 0


def test_eval_json_prints_metrics_that_match_training(trained, capsys):
    trained, _ = trained
    saved = load_checkpoint(trained).metrics
    capsys.readouterr()
    assert main(["eval", str(trained), "--json"]) == 0
    out, err = capsys.readouterr()
    results = json.loads(out)  # stdout is exactly one JSON document
    res = results[str(trained)]
    assert {"recon_mse", "pca_recon_mse"} <= set(res)
    # the same split is rebuilt from config.json, so the numbers equal those saved at training
    assert res["recon_mse"] == pytest.approx(saved["recon_mse"], rel=1e-6)
    assert res["pca_recon_mse"] == pytest.approx(saved["pca_recon_mse"], rel=1e-6)
    assert res["n_test"] == 360 and res["code_dim"] == 4


def test_train_refuses_an_existing_folder_before_training(trained, capsys, monkeypatch):
    path, _ = trained
    before = (path / "model.safetensors").read_bytes()
    monkeypatch.setattr("ae_core.train.fit", lambda *a, **k: pytest.fail("trained before refusing"))
    assert main(["train", "--code-dim", "4", "--out", str(path), *TINY]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--overwrite" in err
    assert (path / "model.safetensors").read_bytes() == before


@pytest.mark.parametrize(
    "args,field",
    [(["--code-dim", "0"], "code_dim"), (["--code-dim", "100000"], "code_dim"), (["--epochs", "0"], "epochs"),
     (["--lr", "5"], "lr"), (["--noise-level", "2"], "noise_level"), (["--activation", "swish"], "activation"),
     (["--hidden", "64,0"], "hidden"), (["--kind", "sparse", "--sparsity", "topk", "--code-dim", "4"], "top_k"),
     (["--dataset", "no-such-dataset"], "unknown dataset")],
)
def test_bad_value_exits_2_with_one_line_naming_the_field(tmp_path, capsys, args, field):
    out = tmp_path / "m"
    argv = ["train", "--out", str(out), "--epochs", "1", "--threads", "1", *args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "\n" not in err and err.startswith("ae-core: error:")
    assert field in err
    assert "Traceback" not in captured.err + captured.out
    assert not out.exists()


def test_eval_of_a_damaged_checkpoint_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{oops")
    assert main(["eval", str(bad), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "not valid JSON" in err
    assert main(["eval", str(tmp_path / "missing")]) == 2
    assert "not a checkpoint folder" in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--code-dim", "many", "--out", "x"])
    assert info.value.code == 2
    assert "--code-dim" in capsys.readouterr().err


def test_eval_is_a_read_and_save_writes_metrics(trained, tmp_path, capsys):
    import shutil

    src, _ = trained
    path = tmp_path / "copy"
    shutil.copytree(src, path)
    before = (path / "metrics.json").read_bytes()
    assert main(["eval", str(path), "--json"]) == 0
    assert (path / "metrics.json").read_bytes() == before  # nothing written
    printed = json.loads(capsys.readouterr().out)[str(path)]
    (path / "metrics.json").write_text("{}")
    assert main(["eval", str(path), "--json", "--save"]) == 0
    saved = json.loads((path / "metrics.json").read_text())
    assert saved["recon_mse"] == pytest.approx(printed["recon_mse"]) and "knn_acc" in saved


def test_train_and_the_train_page_build_the_same_model_from_the_same_settings(tmp_path):
    """The CLI's default code activation and the Train form's "auto" are one rule."""
    from ae_core.config import default_code_activation
    from services.training import make_configs

    for kind, sparsity, expected in (("sparse", "l1", "relu"), ("contractive", "l1", "sigmoid"),
                                     ("undercomplete", "l1", "linear")):
        out = tmp_path / kind
        assert main(["train", "--kind", kind, "--sparsity", sparsity, "--code-dim", "8", "--out", str(out),
                     *TINY, "--epochs", "1"]) == 0
        mc, _ = make_configs({"kind": kind, "code_dim": 8, "hidden": "32", "sparsity": sparsity, "epochs": 1,
                              "batch_size": 128, "lr": 3e-3}, (1, 8, 8))
        assert load_checkpoint(out).model_config.code_activation == mc.code_activation == expected
        assert default_code_activation(kind, sparsity) == expected
    assert default_code_activation("sparse", "kl") == "sigmoid"


def test_shift_augmentation_is_one_setting_for_the_cli_and_the_train_page(tmp_path):
    from services.training import make_configs

    out = tmp_path / "shifted"
    assert main(["train", "--code-dim", "8", "--shift", "1", "--out", str(out), *TINY, "--epochs", "1"]) == 0
    _, form = make_configs({"kind": "undercomplete", "code_dim": 8, "hidden": "32", "epochs": 1, "batch_size": 128,
                            "lr": 3e-3, "shift": 1}, (1, 8, 8))
    assert load_checkpoint(out).train_config.shift == form.shift == 1
    assert main(["train", "--code-dim", "8", "--shift", "9", "--out", str(tmp_path / "bad"), *TINY]) == 2
    assert not (tmp_path / "bad").exists()


def test_the_lecture_pairs_tied_linear_design_is_one_setting_for_the_cli_and_the_train_page(tmp_path):
    """--tied --output linear (the zoo's overcomplete pair) and the form's Weights "tied", Output
    "linear": with auto arch and hidden, one MLP layer each way trained with MSE, on 28x28 too."""
    from services.training import make_configs

    out = tmp_path / "tied"
    assert main(["train", "--kind", "sparse", "--sparsity", "topk", "--top-k", "4", "--code-dim", "80", "--tied",
                 "--output", "linear", "--code-activation", "linear", "--out", str(out),
                 *[a for a in TINY if a not in ("--hidden", "32")]]) == 0
    cli = load_checkpoint(out).model_config
    form, _ = make_configs({"kind": "sparse", "sparsity": "topk", "top_k": 4, "code_dim": 80, "hidden": "",
                            "arch": "mlp", "code_activation": "linear", "weights": "tied", "output": "linear", "penalty_weight": 1e-3,
                            "epochs": 3, "batch_size": 128, "lr": 3e-3}, (1, 8, 8))
    assert cli == form
    assert (cli.tied, cli.output, cli.arch, cli.hidden, cli.recon_loss) == (True, "linear", "mlp", (), "mse")
    from ae_core.config import default_design

    assert default_design((1, 28, 28), tied=True, output="linear") == {
        "arch": "mlp", "hidden": (), "conv_channels": (32, 64, 128), "recon_loss": "mse"}
    # tied changes the net, not the loss: with a sigmoid output 28x28 keeps BCE either way
    assert default_design((1, 28, 28), tied=True)["recon_loss"] == default_design((1, 28, 28))["recon_loss"] == "bce"
    # "auto" encoder and hidden widths on the form, with tied weights: the same one-layer MLP as the CLI's
    auto, _ = make_configs({"kind": "sparse", "sparsity": "topk", "top_k": 4, "code_dim": 80, "hidden": "",
                            "arch": "auto", "code_activation": "linear", "weights": "tied", "output": "linear",
                            "penalty_weight": 1e-3, "epochs": 3, "batch_size": 128, "lr": 3e-3}, (1, 8, 8))
    assert auto == cli
    with pytest.raises(ConfigError, match="tied weights need one layer"):
        make_configs({"kind": "sparse", "code_dim": 80, "hidden": "32", "weights": "tied", "epochs": 1,
                      "batch_size": 128, "lr": 3e-3}, (1, 8, 8))


def test_auto_design_is_one_rule_for_the_cli_and_the_train_page(tmp_path, capsys):
    """`--arch auto` (the default) and the form's Encoder "auto": a conv net with BCE for images of
    16 px a side or more, an MLP with MSE for 8x8 digits; the same config either way. A run that
    learns nothing is told so on stderr."""
    import numpy as np

    from services.training import make_configs

    rng = np.random.default_rng(0)
    data = tmp_path / "big.npz"
    np.savez(data, x=rng.random((60, 20, 20)).astype(np.float32), y=np.arange(60) % 3)
    for spec, shape, arch, loss in ((str(data), (1, 20, 20), "conv", "bce"), ("digits", (1, 8, 8), "mlp", "mse")):
        out = tmp_path / f"auto-{arch}"
        assert main(["train", "--dataset", spec, "--code-dim", "8", "--epochs", "1", "--batch-size", "32",
                     "--threads", "1", "--device", "cpu", "--out", str(out)]) == 0
        cli = load_checkpoint(out).model_config
        form, _ = make_configs({"kind": "undercomplete", "code_dim": 8, "hidden": "256", "arch": "auto",
                                "epochs": 1, "batch_size": 32, "lr": 3e-3}, shape)
        assert (cli.arch, cli.recon_loss) == (form.arch, form.recon_loss) == (arch, loss)
        assert cli.conv_channels == form.conv_channels or arch == "mlp"
    # random pixels cannot be learned in one epoch: the CLI says the model is no better than the mean image
    assert "no better than the data's mean image" in capsys.readouterr().err


def test_training_warning_names_what_is_wrong_and_a_remedy():
    from ae_core.runs import training_warning

    mean = {"recon_mse": 0.074, "mean_image_mse": 0.074, "pca_recon_mse": 0.02, "code_dim": 16}
    assert "no better than the data's mean image" in training_warning(mean, n_pixels=64)
    assert "learning rate" in training_warning(mean, n_pixels=64)
    worse = {"recon_mse": 0.03, "mean_image_mse": 0.074, "pca_recon_mse": 0.02, "code_dim": 16}
    assert "worse than PCA" in training_warning(worse, n_pixels=64)
    # where PCA is exact (code >= pixels) being worse than it is no news
    assert training_warning({**worse, "code_dim": 64}, n_pixels=64) == ""
    assert training_warning({"recon_mse": 0.01, "mean_image_mse": 0.074, "pca_recon_mse": 0.02,
                             "code_dim": 16}, n_pixels=64) == ""
    assert training_warning({}) == ""
