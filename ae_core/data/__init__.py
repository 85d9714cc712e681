"""Datasets: one in-memory type, many sources, and a seeded stratified split; one module each.

Images are float32 in [0, 1], shape (N, C, H, W), with optional integer
labels and class names. Sources, by the name or path given to `load_dataset`:

    digits                    scikit-learn's bundled 8x8 digits (always there)
    mnist | fashion-mnist | kmnist
                              local IDX files when found (MNIST: $LSE_MNIST_DIR or
                              ../shared/data/mnist), else OpenML through scikit-learn
                              (cached on disk; offline -> DataError saying what to do)
    a data root's name        a folder or .npz the host lists in $LSE_DATA_ROOTS (`data_roots`)
    path/to/folder            MNIST-format IDX files (gzipped or not), or an image
                              folder with one sub-folder per class
    path/to/file.npz          arrays `x` (images) and optional `y` (labels)

Paths are for local use (and the CLI) only: `load_dataset(spec, allow_paths=False)`, the hosted
app's call, takes built-in and data-root names and nothing else, with one refusal whatever the
spec is (`ae_core.io.local_paths.unknown_dataset`), so a visitor can neither read nor map the
server's folders. Every file is read through `ae_core.io.local_paths` (regular files only, the
size checked before reading), and neither `ImageDataset.source` nor any message holds a folder:
base names only.

Limits (past each, a DataError):

    MAX_DATA_FILE_BYTES   an IDX or .npz file on disk (400 MB)
    MAX_IDX_BYTES         an IDX file's content, raw or gunzipped (400 MB; the header's declared
                          size is checked before the body is inflated)
    image_files.DEFAULT_MAX_BYTES
                          one image of a class folder (20 MB), before it is read
    archive_limits        an .npz's members (the zip-bomb rule: 300 MB unzipped, ratio 100), and
                          each array's .npy header (shape, dtype, MAX_IMAGES) before any is loaded
    MAX_IMAGES            images in any dataset (200,000)

Modules: dataset (ImageDataset, MAX_IMAGES, MAX_DATA_FILE_BYTES), split (train_test_split),
digits, idx (IDX files and their bounded gunzip), openml, image_folder, npz, rescale
(to_unit_range), roots (built-in names and $LSE_DATA_ROOTS), load (load_dataset, the local MNIST
folder), record (what a checkpoint records of its split, and split_for). The names below are
this package's interface: `from ae_core.data import load_dataset`.
"""

from ae_core.data.dataset import MAX_DATA_FILE_BYTES, MAX_IMAGES, ImageDataset
from ae_core.data.digits import load_digits
from ae_core.data.idx import MAX_IDX_BYTES, load_idx_folder, read_idx
from ae_core.data.image_folder import MAX_FOLDER_SIDE, load_image_folder
from ae_core.data.load import REPO_ROOT, default_mnist_dir, load_dataset
from ae_core.data.npz import load_npz
from ae_core.data.openml import FASHION_CLASSES, OPENML_NAMES, load_openml
from ae_core.data.record import DEFAULT_SPLIT_SEED, DEFAULT_TEST_FRACTION, dataset_record, split_for
from ae_core.data.rescale import to_unit_range
from ae_core.data.roots import BUILTIN, ROOTS_ENV, data_roots, dataset_names
from ae_core.data.split import train_test_split

__all__ = ["BUILTIN", "DEFAULT_SPLIT_SEED", "DEFAULT_TEST_FRACTION", "FASHION_CLASSES", "MAX_DATA_FILE_BYTES",
           "MAX_FOLDER_SIDE", "MAX_IDX_BYTES", "MAX_IMAGES", "OPENML_NAMES", "REPO_ROOT", "ROOTS_ENV",
           "ImageDataset", "data_roots", "dataset_names", "dataset_record", "default_mnist_dir", "load_dataset",
           "load_digits", "load_idx_folder", "load_image_folder", "load_npz", "load_openml", "read_idx",
           "split_for", "to_unit_range", "train_test_split"]
