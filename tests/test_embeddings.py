"""Bring your own embeddings: the file formats and their refusals, binding rows to a dataset's
images (and catching rows out of order), lookup by image, the checkpoint round trip, the
code-only metrics, and `ae-core import-embedding`."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from ae_core.data import load_dataset
from ae_core.embeddings import (NoDecoderError, StoredEmbedding, UnknownImageError, bind_embedding,
                                image_keys, import_embedding)
from ae_core.errors import DataError
from ae_core.io.embedding_file import MAX_DIM, read_embedding_file
from ae_core.models import encode_array, reconstruct_array


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def vectors(digits):
    rng = np.random.default_rng(0)
    # class-structured vectors, so the probes have something to find
    centres = rng.normal(size=(10, 12)).astype(np.float32)
    return centres[digits.y] + 0.3 * rng.normal(size=(len(digits), 12)).astype(np.float32)


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_every_format_reads_the_same_vectors(vectors, digits, tmp_path):
    names = np.array([str(v) for v in "zero one two three four five six seven eight nine".split()])
    df = pd.DataFrame(vectors, columns=[f"d{i}" for i in range(vectors.shape[1])])
    df.insert(0, "label", digits.y)
    csv = df.to_csv(index=False).encode()
    pq = io.BytesIO()
    df.to_parquet(pq)
    text = df.assign(label=names[digits.y])
    listed = pd.DataFrame({"embedding": list(vectors.astype(np.float64)), "label": digits.y})
    pq_list = io.BytesIO()
    listed.to_parquet(pq_list)
    tables = {
        "v.npy": read_embedding_file(_npy(vectors), "v.npy"),
        "v.npz": read_embedding_file(_npz(vectors=vectors, labels=digits.y), "v.npz"),
        "v.csv": read_embedding_file(csv, "v.csv"),
        "v.parquet": read_embedding_file(pq.getvalue(), "v.parquet"),
        "list.parquet": read_embedding_file(pq_list.getvalue(), "list.parquet"),
        "text.csv": read_embedding_file(text.to_csv(index=False).encode(), "text.csv"),
    }
    for name, t in tables.items():
        np.testing.assert_allclose(t.vectors, vectors, rtol=1e-6, atol=1e-6, err_msg=name)
        assert t.vectors.dtype == np.float32 and len(t) == len(digits) and t.dim == 12
    assert tables["v.npy"].labels is None
    assert np.array_equal(tables["v.csv"].labels, digits.y)
    t = tables["text.csv"]  # text labels: numbered by name, the names kept
    assert np.array_equal(np.array(t.label_names)[t.labels], names[digits.y])


@pytest.mark.parametrize("data,name,match", [
    (b"", "e.npy", "empty"),
    (b"x,y\n1,2\n", "e.txt", "must be .npy"),
    (_npy(np.zeros(5)), "e.npy", "2-D"),
    (_npy(np.zeros((4, MAX_DIM + 1), np.float32)), "e.npy", "limit is 4,096"),
    (_npy(np.zeros((2, 3))), "e.npy", "at least 3"),
    (_npy(np.array([[1.0, np.nan], [1, 2], [3, 4]])), "e.npy", "NaN or infinite.*row 0"),
    (_npy(np.array([[object()]] * 3, dtype=object)), "e.npy", "pickle|Python objects|allow_pickle"),
    (_npz(labels=np.arange(3)), "e.npz", "no array named"),
    (_npz(vectors=np.zeros((3, 2)), labels=np.arange(4)), "e.npz", "4 rows; the vectors have 3"),
    (_npz(vectors=np.zeros((3, 2)), labels=np.array([0.5, 1, 2])), "e.npz", "whole numbers"),
    (b"PK\x03\x04 not really a zip", "e.npz", "not a readable .npz"),
    (b"a,b,c\n1,2,x\n3,4,y\n5,6,z\n", "e.csv", "'c' is not numeric"),
    (b"garbage", "e.parquet", "not a readable Parquet"),
])
def test_bad_files_are_refused_by_name(data, name, match):
    with pytest.raises(DataError, match=match) as e:
        read_embedding_file(data, f"/secret/dir/{name}")
    assert "/secret" not in str(e.value)


def test_bound_rows_are_found_by_image_for_any_part(vectors, digits):
    model = bind_embedding(read_embedding_file(_npz(vectors=vectors, labels=digits.y), "v.npz"), digits)
    np.testing.assert_array_equal(encode_array(model, digits.x), vectors)
    idx = np.random.default_rng(1).permutation(len(digits))[:300]
    np.testing.assert_array_equal(encode_array(model, digits.subset(idx).x), vectors[idx])
    with pytest.raises(UnknownImageError, match="1 of these 2 images are not among them"):
        encode_array(model, np.concatenate([digits.x[:1], np.clip(digits.x[1:2] + 0.01, 0, 1)]))
    with pytest.raises(NoDecoderError):
        reconstruct_array(model, digits.x[:2])
    assert not model.has_decoder and not model.trainable


def test_rows_out_of_order_are_caught(vectors, digits):
    perm = np.random.default_rng(2).permutation(len(digits))
    with pytest.raises(DataError, match=r"labels agree with the data's \(digits\) on 1[0-9.]+% of rows"):
        bind_embedding(read_embedding_file(_npz(vectors=vectors, labels=digits.y[perm]), "v.npz"), digits)
    # labels named or numbered otherwise, rows in order: taken ("seven" for 7, or 7 -> 2)
    renamed = pd.DataFrame(vectors).assign(label=np.array("zero one two three four five six seven eight nine".split())[
        digits.y]).to_csv(index=False).encode()
    bind_embedding(read_embedding_file(renamed, "v.csv"), digits)
    bind_embedding(read_embedding_file(_npz(vectors=vectors, labels=(digits.y + 5) % 10), "v.npz"), digits)
    imgs = (digits.x[perm, 0] * 255).round().astype(np.uint8)  # images as (N, H, W) uint8, shuffled
    with pytest.raises(DataError, match=r"images match the data's \(digits\) on [0-9.]+% of rows"):
        bind_embedding(read_embedding_file(_npz(vectors=vectors, images=imgs), "v.npz"), digits)
    good = (digits.x[:, 0] * 255).round().astype(np.uint8)
    bind_embedding(read_embedding_file(_npz(vectors=vectors, images=good), "v.npz"), digits)  # in order: taken
    with pytest.raises(DataError, match="1,796 rows; digits has 1,797 images"):
        bind_embedding(read_embedding_file(_npy(vectors[1:]), "v.npy"), digits)


def test_checkpoint_round_trip_keeps_every_key_exact(vectors, digits, tmp_path):
    from ae_core.io.checkpoint import load_checkpoint, read_info

    path = import_embedding(_npy(vectors), "v.npy", "digits", tmp_path / "emb", ds=digits)
    ck = load_checkpoint(path)
    assert isinstance(ck.model, StoredEmbedding)
    assert np.array_equal(ck.model.keys(), image_keys(digits.x))  # 48-bit keys through float32 halves
    assert image_keys(digits.x).max() >= 2**40  # really 48 bits wide
    np.testing.assert_array_equal(encode_array(ck.model, digits.x[::5]), vectors[::5])
    info = read_info(path)
    assert info.kind == "embedding" and not info.has_decoder and info.dataset == "digits"
    assert "imported embedding · vectors of 12" in info.summary


def test_code_only_metrics_match_the_probes_on_the_vectors(vectors, digits):
    from ae_core.analysis.metrics import evaluate_all, representation_quality
    from ae_core.data import train_test_split

    model = bind_embedding(read_embedding_file(_npy(vectors), "v.npy"), digits)
    train, test = train_test_split(digits, 0.2, 0)
    out = evaluate_all(model, train, test)
    ref = representation_quality(encode_array(model, train.x), train.y, encode_array(model, test.x), test.y)
    assert out["knn_acc"] == ref["knn_acc"] and out["probe_acc"] == ref["probe_acc"]
    assert out["knn_acc"] > 0.9  # the class structure is there
    assert "recon_mse" not in out and "jacobian_norm" not in out and "raw_knn_acc" in out


def test_cli_imports_and_maps_an_embedding(vectors, digits, tmp_path, capsys):
    from ae_core.cli import main

    f = tmp_path / "clip.npz"
    f.write_bytes(_npz(vectors=vectors, labels=digits.y))
    out = tmp_path / "clip-digits"
    assert main(["import-embedding", str(f), "--dataset", "digits", "--out", str(out), "--map"]) == 0
    text = capsys.readouterr().out
    assert "trustworthiness" in text and (out / "map-umap-2d.npz").is_file()
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["kind"] == "embedding" and cfg["model"]["n_items"] == len(digits)
    assert main(["import-embedding", str(f), "--dataset", "digits", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    bad = tmp_path / "short.npy"
    bad.write_bytes(_npy(vectors[:10]))
    assert main(["import-embedding", str(bad), "--dataset", "digits", "--out", str(tmp_path / "x")]) == 2
    assert "10 rows; digits has 1,797 images" in capsys.readouterr().err and not (tmp_path / "x").exists()
