"""ae_core: autoencoders, their training, checkpoints and analysis.

The library behind Latent Space Explorer. It never imports streamlit, so everything here runs
from the CLI (`ae-core`), from tests and from notebooks. The map, by seam:

The core: what a model is and how it learns
    config        ModelConfig, TrainConfig: every field declared once (title, help, bounds, kinds), the limits
    settings      the declaration's type (Setting), the checks it generates, the JSON gate (from_dict)
    choices       what "auto" and the overcomplete preset mean; front-end choices -> validated configs
    data/         ImageDataset; digits, MNIST-family IDX/OpenML, image folders, .npz; the split (one module each)
    noise         corruptions: Gaussian, masking, salt-and-pepper, block occlusion
    models        the registry: undercomplete, denoising, sparse, contractive, VAE, PCA (+ photo)
    train         fit(): the one training loop (arrays or a batch stream; epoch/step/time budgets)
    history       History: per-epoch losses and how a run ended
    errors        the error types front ends show as plain messages

Runs: what the CLI and the Train page both call
    runs          train-and-save, evaluate(-and-record), project-and-save, the zoos
    zoo           the shipped zoos' configurations (digits, MNIST)
    embeddings    bring your own embeddings: vectors for a dataset's images, as a model without decoder
    cli           `ae-core`: argument parsing, then one call into runs
    cli_flags     `ae-core train`'s flags, generated from the config declaration

io/: the file formats and their checks against hostile input
    checkpoint        folders: config.json + model.safetensors + history/metrics; save, load, list, delete
    checkpoint_zip    a checkpoint as a zip: export, validated import of uploads
    map_file          a fitted map as a pickle-free .npz
    safetensors_header  the weights header, read and checked without loading tensors
    archive_limits    the one zip-bomb rule (uploaded zips and .npz maps)
    folder_names      safe, atomically claimed folder names
    image_files       decoding uploads safely; PNG encoding; image grids
    embedding_file    reading vectors a user brings (.npy, .npz, .csv, .parquet), checked like any upload

analysis/: the measurements
    metrics       evaluate_all: reconstruction, probes, sparsity, Jacobian, denoising vs PCA and pixels
    quality       MSE, PSNR, SSIM
    sparsity      lifetime/population activity, dead units, Hoyer
    denoising     small images: models against tuned classical filters
    filters       the classical filters (Gaussian, median, TV, NLM) and their tuning
    latent_walks  interpolation, nearest neighbours in code and pixel space
    projection    Projector (UMAP, PCA, t-SNE), cached fits, trustworthiness
    placement     points placed on a UMAP fitted on a sample (placement_kernel: its numba loop)
    result_cache  per-process memo of model-independent results
    feature_maps  the lecture's opening example: logistic regression on raw, quadratic and learned 2D features
    fill_in       a hidden half or quadrant filled by a model, the mean image, the nearest visible match; PSNR there
    denoising_claim  one net trained with and without input noise: do its features get better?

photo/: the photo denoisers (gray and colour)
    model         FCNDenoiser (DnCNN-style) and tiled inference on photos of any size
    wiener        the Wiener pass after the network at low noise (sliding DCT windows)
    photographs   the bundled photographs, train/held-out split, a folder of training photos (train400)
    patches       PatchSampler: random augmented patches drawn on the device
    training      the shipped recipes, their data, validation and checkpoint, trained by train.fit
    routing       which model a photograph goes to: gray or colour
    evaluation    held-out photos against the classical filters (and BM3D in the benchmark), tables
    runs          `ae-core photo train`: one model or the shipped pair within a budget, saved and scored
"""

__version__ = "0.1.0"
