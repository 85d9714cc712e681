"""The factor metrics as `ae-core eval --json` keys: data with known factors always gets them,
data without (digits, MNIST) gets them against its pixel attributes with --factors."""

import json


from ae_core.analysis.factors import KEYS
from ae_core.analysis.metrics import evaluate
from ae_core.cli import main
from ae_core.config import ModelConfig
from ae_core.data import ImageDataset, train_test_split
from ae_core.data.shapes import Grid, draw_shapes
from ae_core.models import PCAModel


def test_data_with_factors_gets_every_factor_key_in_its_evaluation():
    x, f = draw_shapes(Grid(32, 2, 2, 6))
    ds = ImageDataset(x, f[:, 0], factors=f, factor_names=list("abcde"), factor_levels=[["l"] * 6] * 5)
    train, test = train_test_split(ds)
    pca = PCAModel(ModelConfig(kind="pca", input_shape=(1, 32, 32), code_dim=6)).fit(train.x)
    out = evaluate(pca, train, test, full=False)
    assert set(KEYS) <= set(out) and all(0 <= out[k] <= 1 for k in KEYS)
    assert out["dci_informativeness"] > 0.5  # PCA's code still tells where the shape is


def test_eval_factors_flag_scores_digits_against_their_pixel_attributes(tmp_path, capsys):
    out = tmp_path / "m"
    assert main(["train", "--kind", "undercomplete", "--code-dim", "4", "--out", str(out), "--dataset", "digits",
                 "--hidden", "32", "--epochs", "2", "--batch-size", "128", "--threads", "1", "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--json", "--factors"]) == 0
    res = json.loads(capsys.readouterr().out)[str(out)]
    assert all(0 <= res[f"attr_{k}"] <= 1 for k in KEYS)
    assert "mig" not in res  # digits have no known factors
    assert main(["eval", str(out), "--json"]) == 0
    assert not any(k.startswith("attr_") for k in json.loads(capsys.readouterr().out)[str(out)])


