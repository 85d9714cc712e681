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


def _halve():
    """A stand-in saved model with a known output: it maps a pixel v to 0.5 v + 0.25, counting its calls."""
    import torch  # heavy: only these tests build a torch model

    class Halve(torch.nn.Module):
        calls = 0

        def encode(self, x):
            self.calls += 1
            return x

        def decode(self, h):
            return 0.5 * h + 0.25

    return Halve()


def test_a_saved_models_rows_are_read_from_disk_equal_to_the_measured_ones(tmp_path, monkeypatch):
    from ae_core.analysis import result_cache
    from ae_core.analysis.denoising import denoising_table
    from ae_core.analysis.quality import psnr

    x = np.random.default_rng(2).random((6, 1, 8, 8)).astype(np.float32)
    args = dict(kinds=("salt_pepper",), levels=(0.2, 0.3), filters=("median",), store=tmp_path / "f",
                model_store=tmp_path / "scores")
    model = _halve()
    first = denoising_table({"m": model}, x, model_keys={"m": ("ckpt/m", 1.0)}, **args)
    assert model.calls == 2  # one reconstruction per level
    for r in (r for r in first if r["type"] == "model"):  # the row is the model's output, measured
        noisy = corrupt(x, "salt_pepper", r["level"], seed=0)
        assert r["psnr"] == pytest.approx(psnr(x, np.clip(0.5 * noisy + 0.25, 0, 1)), rel=1e-5)
    assert len(list((tmp_path / "scores").glob("*.json"))) == 2
    monkeypatch.setattr(result_cache, "_CACHE", result_cache.OrderedDict())  # a second server
    again = denoising_table({"m": model}, x, model_keys={"m": ("ckpt/m", 1.0)}, **args)
    assert again == first and model.calls == 2  # read from disk, every figure identical
    # the same name with newer weights (another stamp) is measured again, and so is a model with no key
    denoising_table({"m": model}, x, model_keys={"m": ("ckpt/m", 2.0)}, **args)
    assert model.calls == 4
    denoising_table({"m": model}, x, **args)
    assert model.calls == 6


def test_progress_names_every_step_in_order_and_ends_done():
    from ae_core.analysis.denoising import denoising_table

    x = np.random.default_rng(3).random((4, 1, 8, 8)).astype(np.float32)
    seen = []
    denoising_table({"m": _halve()}, x, ("block",), (0.2, 0.4), filters=("median", "tv"),
                    progress=lambda done, total, step: seen.append((done, total, step)))
    assert seen == [(0, 6, ("model", "m", "block", 0.2)), (1, 6, ("filter", "median", "block", 0.2)),
                    (2, 6, ("filter", "tv", "block", 0.2)), (3, 6, ("model", "m", "block", 0.4)),
                    (4, 6, ("filter", "median", "block", 0.4)), (5, 6, ("filter", "tv", "block", 0.4)),
                    (6, 6, None)]


def test_the_wait_text_names_the_step_and_estimates_once_5_percent_is_done():
    step = ("filter", "median", "salt_pepper", 0.3)
    # 2 of 8 steps done in 2 s: 6 more steps at 1 s each
    assert denoising.wait_text(step, 2, 8, started=100.0, now=102.0) == \
        "tuning the median filter for salt & pepper 0.3 (3 of 8 steps, about 6 s left)"
    # nothing done yet, or under 5% of 40 steps: no estimate (nothing to go by)
    assert denoising.wait_text(step, 0, 8, started=100.0, now=103.0) == \
        "tuning the median filter for salt & pepper 0.3 (1 of 8 steps)"
    assert denoising.wait_text(("model", "mnist-denoising-64", "block", 0.5), 1, 40, 100.0, 150.0) == \
        "denoising block 0.5 with mnist-denoising-64 (2 of 40 steps)"
    assert denoising.wait_text(("model", "ae", "gaussian", 0.1), 2, 40, 100.0, 104.0) == \
        "denoising gaussian 0.1 with ae (3 of 40 steps, about 76 s left)"


def test_a_second_server_opens_the_page_from_disk_with_the_same_figures(user_dir, monkeypatch):
    from ae_core.analysis import result_cache

    def page():
        at = AppTest.from_file(str(ROOT / "app_pages/5_Denoising.py"), default_timeout=120).run()
        assert not at.exception, [e.value for e in at.exception]
        return at, {m.label: (m.value, m.delta) for m in at.metric}, [c.proto.spec for c in at.get("plotly_chart")]

    monkeypatch.setattr(result_cache, "_CACHE", result_cache.OrderedDict())  # a cold first server
    _, metrics, chart = page()
    assert metrics and chart
    assert list((catalog.CACHE_DIR / "scores").glob("*.json")) and list((catalog.CACHE_DIR / "filters").glob("*.json"))
    monkeypatch.setattr(result_cache, "_CACHE", result_cache.OrderedDict())  # only the disk remembers
    monkeypatch.setattr("ae_core.analysis.denoising.reconstruct_array",
                        lambda *a, **k: pytest.fail("a saved model's curve was measured again"))
    monkeypatch.setattr("ae_core.analysis.denoising.tune_filter",
                        lambda *a, **k: pytest.fail("a filter was tuned again"))
    _, metrics2, chart2 = page()
    assert metrics2 == metrics and chart2 == chart
