"""Evaluate a checkpoint on the same data and split it was trained on.

`dataset_record` describes data + split in a checkpoint's config.json;
`split_for` rebuilds exactly that split; `evaluate` reports every metric of
`ae_core.metrics.evaluate_all` on the test images, next to PCA with the same
code size fitted on the same training images and the raw pixels.
"""

from __future__ import annotations

import numpy as np

from ae_core.config import ModelConfig
from ae_core.data import ImageDataset, load_dataset, train_test_split
from ae_core.models import PCAModel, reconstruct_array

DEFAULT_TEST_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0


def dataset_record(spec: str, ds: ImageDataset, test_fraction=DEFAULT_TEST_FRACTION,
                   split_seed=DEFAULT_SPLIT_SEED, n_train=None, n_test=None) -> dict:
    return {"name": ds.name, "spec": spec, "fingerprint": ds.fingerprint(), "n_images": len(ds),
            "image_shape": list(ds.image_shape), "test_fraction": test_fraction,
            "split_seed": split_seed, "n_train": n_train, "n_test": n_test}


def split_for(record: dict, ds: ImageDataset | None = None) -> tuple[ImageDataset, ImageDataset]:
    """The train/test split a checkpoint was trained with (on `ds` when given)."""
    ds = ds if ds is not None else load_dataset(record.get("spec") or record.get("name") or "digits")
    return train_test_split(ds, record.get("test_fraction") or DEFAULT_TEST_FRACTION,
                            int(record.get("split_seed") or 0), record.get("n_train"), record.get("n_test"))


def pca_baseline(train: ImageDataset, code_dim: int) -> PCAModel:
    k = min(code_dim, len(train), train.n_features)
    cfg = ModelConfig(kind="pca", input_shape=train.image_shape, code_dim=k)
    return PCAModel(cfg).fit(train.x)


def recon_mse(model, x: np.ndarray) -> float:
    return float(((reconstruct_array(model, x) - x) ** 2).mean())


def evaluate(model, train: ImageDataset, test: ImageDataset, full: bool = True) -> dict:
    """Test metrics of `model` beside PCA at the same code size (and raw pixels when `full`).

    `full=True` runs `ae_core.metrics.evaluate_all` (reconstruction, probes with
    100/10/1% of the labels, sparsity, Jacobian norm, denoising; a few seconds
    on digits); `full=False` only the reconstruction MSE of the model and of PCA.
    """
    if full:
        from ae_core.metrics import evaluate_all

        return evaluate_all(model, train, test)
    pca = pca_baseline(train, model.config.code_dim)
    return {"recon_mse": recon_mse(model, test.x), "pca_recon_mse": recon_mse(pca, test.x),
            "n_train": len(train), "n_test": len(test), "code_dim": model.config.code_dim}
