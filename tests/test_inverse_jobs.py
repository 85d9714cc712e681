"""A t-SNE map's learned inverse (a torch network) is trained in the map job's worker, not in the
web server (issue 37): the job fitting the map writes it under the name the server computes, equal
to what the in-process fit gives for the same map; a map without it (fitted before, or saved with
its checkpoint) gets an inverse-only job; either way the server never runs the training."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

import ae_core.analysis.map_inverse as mi
from ae_core.analysis.map_inverse import MapInverse, inverse_for
from ae_core.analysis.projection import Projector
from ae_core.io.map_file import read_map_arrays
from dashboard.data import decoding, loaders
from services import catalog
from services.jobs import channel, maps
from services.jobs.queue import QUEUE

PARAMS = dict(method="tsne", n_components=2, random_state=0)


class Entry:
    path, stamp, name, has_decoder = "/models/tiny-model", 3.0, "tiny-model", True


@pytest.fixture
def where(tmp_path, monkeypatch):
    """Jobs, maps and inverses in a temporary folder; the server's caches empty."""
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.delenv("LSE_JOBS_DIR", raising=False)
    decoding._inverse.clear()
    yield tmp_path
    decoding._inverse.clear()


@pytest.fixture(scope="module")
def codes(digits):
    return digits.x.reshape(len(digits), -1)[:300].astype(np.float32)


def finished(ch: channel.Channel, timeout: float = 240) -> channel.JobView:
    end = time.monotonic() + timeout
    while (view := ch.view()).running:
        assert time.monotonic() < end, view
        time.sleep(0.2)
    return view


def no_training_here(monkeypatch):
    """The server process's torch training, made to fail the test if it is reached."""
    monkeypatch.setattr(mi, "_fit_mlp", lambda *a, **k: pytest.fail("the server trained the map's inverse"))


def map_result(proj: Projector) -> loaders.MapResult:
    """The map as loaders.projection gives it to the page."""
    return loaders.MapResult(proj, np.asarray(proj.embedding_, np.float32), np.asarray(proj.subsample_idx_),
                             "all", "computed for this session and cached")


def assert_same_inverse(got: MapInverse, want: MapInverse, coords) -> None:
    assert got.method == want.method == "mlp"
    a, b = got.to_arrays(), want.to_arrays()
    assert sorted(a) == sorted(b)
    for k in a:
        if k.startswith("inv_"):  # the network's weights, its standardisation and the map's range
            np.testing.assert_allclose(a[k], b[k], rtol=1e-4, atol=1e-4, err_msg=k)
        else:  # method, k, seed
            np.testing.assert_array_equal(a[k], b[k], err_msg=k)
    # and what the decoder is given: the codes at the map's points and between them
    places = np.vstack([coords[:50], (coords[:25] + coords[25:50]) / 2])
    np.testing.assert_allclose(got.codes(places), want.codes(places), rtol=1e-4, atol=1e-4)


def test_the_job_fitting_a_tsne_map_writes_its_inverse_as_the_server_would_fit_it(where, codes, monkeypatch):
    inverse = maps.inverse_of(Entry.path, Entry.stamp, "all", "tsne")
    path, ch = maps.ensure(codes, PARAMS, where / "maps", None, "t-SNE map", inverse)
    view = finished(ch)
    assert not view.error and not view.died, view
    assert ch.status()["pid"] != os.getpid()  # trained by another process: a worker
    mp = map_result(Projector.load(path))
    file = decoding.inverse_file(Entry.path, "tsne", decoding.map_signature(Entry(), "tsne", mp))
    assert file.is_file() and view.result["inverse"] == str(file.resolve())
    worker_inv = MapInverse.from_arrays(read_map_arrays(file)[0])
    assert_same_inverse(worker_inv, inverse_for(mp.projector, codes), mp.coords)  # in process, same seed

    # the page asking for the decoder now reads that file: no training here, no job
    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: codes)
    no_training_here(monkeypatch)
    monkeypatch.setattr(QUEUE, "submit", lambda *a, **k: pytest.fail("a job was submitted"))
    served = decoding.inverse(Entry(), "digits", "tsne", mp)
    np.testing.assert_array_equal(served.codes(mp.coords[:20]), worker_inv.codes(mp.coords[:20]))


def test_a_tsne_map_without_its_inverse_gets_an_inverse_job_and_the_server_never_trains(where, codes, monkeypatch):
    proj = Projector(**PARAMS).fit(codes[:200])  # fitted before this change: no inverse beside it
    mp = map_result(proj)
    want = inverse_for(proj, codes[:200])  # the in-process reference, before training is forbidden
    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: codes[:200])
    no_training_here(monkeypatch)
    submitted = []
    real_submit = QUEUE.submit
    monkeypatch.setattr(QUEUE, "submit", lambda *a, **k: submitted.append(real_submit(*a, **k)) or submitted[-1])
    got = decoding.inverse(Entry(), "digits", "tsne", mp)
    assert len(submitted) == 1 and submitted[0].job().get("inverse_file")  # one inverse-only job
    assert submitted[0].status()["pid"] != os.getpid()
    assert submitted[0].view().detail == f"training the map's inverse: epoch {mi.MLP_EPOCHS} of {mi.MLP_EPOCHS}"
    assert_same_inverse(got, want, mp.coords)
    file = decoding.inverse_file(Entry.path, "tsne", decoding.map_signature(Entry(), "tsne", mp))
    assert file.is_file() and not list(file.parent.glob(".*codes.npz"))  # the staged arrays went with it
    decoding._inverse.clear()  # a new server process: read back, no second job
    again = decoding.inverse(Entry(), "digits", "tsne", mp)
    assert len(submitted) == 1
    np.testing.assert_array_equal(again.codes(mp.coords[:9]), got.codes(mp.coords[:9]))


def test_umap_and_pca_inverses_stay_in_the_server_without_a_job(where, codes, monkeypatch):
    monkeypatch.setattr(loaders, "codes", lambda path, stamp, spec, part: codes[:200])
    monkeypatch.setattr(QUEUE, "submit", lambda *a, **k: pytest.fail("a job was submitted"))
    proj = Projector(method="pca").fit(codes[:200])
    inv = decoding.inverse(Entry(), "digits", "pca", map_result(proj))
    assert inv.method == "pca"
    np.testing.assert_allclose(inv.codes(proj.embedding_[:5]), inverse_for(proj, codes[:200]).codes(proj.embedding_[:5]))
    assert not (catalog.CACHE_DIR / "maps").exists()  # nothing learned, nothing written


def test_a_map_whose_inverse_cannot_be_written_is_still_fitted_and_says_why(where, codes):
    blocker = where / "not-a-folder"
    blocker.write_text("a file where the inverses' folder should be")
    inverse = dict(maps.inverse_of(Entry.path, Entry.stamp, "all", "tsne"), dir=str(blocker / "tiny-model"))
    path, ch = maps.ensure(codes[:200], PARAMS, where / "maps", None, "t-SNE map", inverse)
    view = finished(ch)
    assert not view.error and not view.died, view  # the map is the job's result: kept
    np.testing.assert_allclose(Projector.load(path).embedding_, Projector(**PARAMS).fit(codes[:200]).embedding_,
                               atol=1e-4)
    assert "inverse" not in view.result and view.result["inverse_error"]  # a sentence, for the host's log
