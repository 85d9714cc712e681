"""What a checkpoint records of its data and split, and that split rebuilt from the record."""

from __future__ import annotations

from ae_core.data.dataset import ImageDataset
from ae_core.data.load import load_dataset
from ae_core.data.split import train_test_split

DEFAULT_TEST_FRACTION = 0.2
DEFAULT_SPLIT_SEED = 0


def dataset_record(spec: str, ds: ImageDataset, test_fraction=DEFAULT_TEST_FRACTION,
                   split_seed=DEFAULT_SPLIT_SEED, n_train=None, n_test=None) -> dict:
    """What a checkpoint records of its data and split (config.json's "dataset"), for `split_for`."""
    return {"name": ds.name, "spec": spec, "fingerprint": ds.fingerprint(), "n_images": len(ds),
            "image_shape": list(ds.image_shape), "test_fraction": test_fraction,
            "split_seed": split_seed, "n_train": n_train, "n_test": n_test}


def split_for(record: dict, ds: ImageDataset | None = None,
              allow_paths: bool = True) -> tuple[ImageDataset, ImageDataset]:
    """The train/test split a checkpoint was trained with (on `ds` when given; else loaded from
    the record's spec, a path only when `allow_paths`: a hosted app passes False, since an
    uploaded checkpoint's config.json can name any path)."""
    ds = ds if ds is not None else load_dataset(record.get("spec") or record.get("name") or "digits",
                                                allow_paths=allow_paths)
    return train_test_split(ds, record.get("test_fraction") or DEFAULT_TEST_FRACTION,
                            int(record.get("split_seed") or DEFAULT_SPLIT_SEED), record.get("n_train"),
                            record.get("n_test"))
