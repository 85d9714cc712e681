"""The Denoising page states its point from the data: the sentence, the model it opens on, the
hidden square made visible, chart lines that keep their style, and figures that do not move when
the display changes (presentation size draws fewer, larger examples)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from ae_core.analysis.denoising import BEST_FILTER, filter_output, with_best_filter
from ae_core.analysis.filters import FILTER_LABELS, FILTERS
from ae_core.noise import corrupt
from dashboard.render import denoising, figures
from services import catalog

ROOT = Path(__file__).resolve().parent.parent


def rows(model=20.0, noisy=15.0, filters=(("median", 17.0), ("nlm", 18.5))):
    out = [{"method": "noisy", "type": "noisy", "noise_kind": "gaussian", "level": 0.3, "psnr": noisy,
            "ssim": 0.3, "param": None},
           {"method": "ae", "type": "model", "noise_kind": "gaussian", "level": 0.3, "psnr": model,
            "ssim": 0.6, "param": None}]
    out += [{"method": f, "type": "filter", "noise_kind": "gaussian", "level": 0.3, "psnr": p, "ssim": 0.5,
             "param": 1.0} for f, p in filters]
    return with_best_filter(out)


def test_the_sentence_names_the_margin_over_the_best_filter():
    h = denoising.headline(rows(model=20.0), "ae")
    assert h["best"]["param"] == "nlm" and h["best"]["psnr"] == 18.5
    text = denoising.point_sentence(h, "ae", "gaussian", 0.3, n=200, recon_psnr=25.0)
    assert "removes Gaussian noise at 0.3 better than any classical filter" in text
    assert "+1.5 dB over the best filter" in text and FILTER_LABELS["nlm"] in text and "200 test images" in text
    assert "further from the clean images" not in text  # above the noisy input: no excuse needed


def test_the_sentence_says_when_the_model_loses_and_why_it_is_below_the_noisy_input():
    h = denoising.headline(rows(model=14.0, noisy=28.5), "ae")
    text = denoising.point_sentence(h, "ae", "gaussian", 0.05, n=200, recon_psnr=22.0)
    assert "does not beat the best classical filter" in text and "-4.5 dB" in text
    assert "noisy input (28.5 dB)" in text and "clean test images at 22.0 dB" in text


def test_headline_names_a_missing_row():
    with pytest.raises(KeyError, match="model"):
        denoising.headline(rows(), "another")


def test_the_page_opens_on_the_best_measured_denoiser():
    def e(name, psnr):
        return SimpleNamespace(name=name, metrics={} if psnr is None else {denoising.RANK_KEY: psnr})
    entries = [e("plain", 14.0), e("denoiser", 19.0), e("unscored", None)]
    assert denoising.best_denoiser(entries).name == "denoiser"
    assert denoising.best_denoiser([e("unscored", None)]) is None


def test_the_hidden_square_is_tinted_where_block_noise_hid_pixels_and_nowhere_else():
    x = np.zeros((3, 1, 8, 8), np.float32)  # black digits on black: a blanked square is invisible
    noisy = corrupt(x + 0.5, "block", 0.25, seed=0)
    from dashboard.data.analysis import hidden_mask

    mask = hidden_mask(x.shape, 0.25, seed=0)
    assert mask.sum() == 3 * 16  # one 4x4 square per image
    assert np.array_equal(mask, noisy == 0)  # the mask is where corrupt() blanked, from the same seed
    out = denoising.tint_hidden(np.zeros_like(x), mask)
    assert out.shape == (3, 3, 8, 8)
    square = mask[:, 0]
    for c, tint in enumerate(denoising.HIDDEN_TINT):  # black blended 70% towards the tint, channel by channel
        assert np.allclose(out[:, c][square], 0.7 * tint)
        assert np.all(out[:, c][~square] == 0)


def test_switching_a_filter_on_restyles_no_other_line():
    def styles(shown):
        rs = [r for r in rows() if r["type"] != "filter" or r["method"] in shown]
        named = [{**r, "method": FILTER_LABELS.get(r["method"], r["method"]) if r["type"] == "filter" else r["method"]}
                 for r in rs]
        fig = figures.line_figure(named, "level", "psnr", "method", dashed=denoising.line_order(FILTERS))
        return {t.name: (t.line.color, t.line.dash) for t in fig.data}

    before, after = styles(()), styles(("median",))
    assert FILTER_LABELS["median"] in after
    for name in ("noisy", BEST_FILTER, "ae"):
        assert before[name] == after[name], name
    assert after[FILTER_LABELS["median"]] not in (after["noisy"], after[BEST_FILTER])


def test_the_filter_picture_is_the_measured_filter_at_its_measured_setting():
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    a = filter_output(x, "gaussian", 0.2, "median", 3, seed=0)
    from ae_core.analysis.filters import filter_images

    noisy = corrupt(x, "gaussian", 0.2, seed=0)
    assert np.allclose(a, filter_images("median", noisy, 3, 0.2))


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")


def test_figures_do_not_move_with_the_presentation_size(user_dir):
    at = AppTest.from_file(str(ROOT / "app_pages/5_Denoising.py"), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    desk = {m.label: (m.value, m.delta) for m in at.metric}
    sentence = [m.value for m in at.markdown if "classical filter" in m.value]
    assert set(desk) >= {"PSNR", "SSIM"} and sentence
    at.session_state["presentation"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    room = {m.label: (m.value, m.delta) for m in at.metric}
    assert room == desk
    assert [m.value for m in at.markdown if "classical filter" in m.value] == sentence
    # the model picked is named, and the upload caption says the noise as the buttons do
    assert any("best denoiser for this data" in c.value for c in at.caption), [c.value for c in at.caption]


def test_filter_rows_are_kept_on_disk_and_a_damaged_file_is_recomputed(tmp_path, monkeypatch):
    from ae_core.analysis import result_cache
    from ae_core.analysis.denoising import denoising_table

    x = np.random.default_rng(1).random((6, 1, 8, 8)).astype(np.float32)
    first = denoising_table({}, x, ("gaussian",), (0.2,), filters=("median",), store=tmp_path)
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1
    monkeypatch.setattr(result_cache, "_CACHE", result_cache.OrderedDict())  # a new process
    monkeypatch.setattr("ae_core.analysis.denoising.tune_filter",
                        lambda *a, **k: pytest.fail("tuned again instead of read from disk"))
    again = denoising_table({}, x, ("gaussian",), (0.2,), filters=("median",), store=tmp_path)
    assert again == first
    monkeypatch.undo()
    files[0].write_text("{not json")  # damaged: computed again, not an error, and saved anew
    monkeypatch.setattr(result_cache, "_CACHE", result_cache.OrderedDict())
    third = denoising_table({}, x, ("gaussian",), (0.2,), filters=("median",), store=tmp_path)
    assert third == first
    assert json.loads(files[0].read_text())["value"]["method"] == "median"
