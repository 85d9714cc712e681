"""The Denoising page's Missing part tab under AppTest: without a model trained to fill in it says
where to find one; with one (a small digits model trained here on the "part" noise) its sentence
gives the PSNRs ae_core.analysis.fill_in measures on the same images."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ae_core.analysis.fill_in import MEAN, NEAREST, fill, region_psnr
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import load_dataset, split_for
from ae_core.io.checkpoint import load_checkpoint
from ae_core.noise import hide_part, part_mask
from ae_core.runs import train_and_save
from dashboard.views.denoising_fill import N_MEASURED
from services import catalog

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages/5_Denoising.py")


@pytest.fixture
def user_dir(tmp_path, monkeypatch):
    d = tmp_path / "user"
    monkeypatch.setattr(catalog, "USER_DIR", d)
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")
    return d


def _sentence(at) -> str | None:
    return next((m.value for m in at.markdown if "hidden, **" in m.value), None)


def test_without_a_fill_in_model_the_tab_says_where_one_is(user_dir):
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.tabs][:3] == ["Small images", "Missing part", "Photographs"]
    assert any("No model for this data was trained to fill in" in i.value for i in at.info)
    assert _sentence(at) is None


def test_a_fill_in_model_is_offered_and_its_psnrs_are_the_librarys(user_dir):
    mc = ModelConfig(kind="denoising", code_dim=16, hidden=(64,), noise_kind="part", noise_level=0.8,
                     input_shape=(1, 8, 8)).validate()
    path, _, _ = train_and_save(mc, TrainConfig(epochs=3, seed=0).validate(), "digits", user_dir / "digits-fill",
                                quiet=True, full_eval=False)
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.segmented_control(key="_w_fill_part").set_value("bottom-left").run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    assert at.selectbox(key="_w_fill_model").value == str(path)
    other = at.selectbox(key="_w_fill_other").value
    assert Path(other).name == "undercomplete-16"
    train, test = split_for(load_checkpoint(path).dataset, load_dataset("digits"))
    x = test.x[:N_MEASURED]
    hidden, mask = hide_part(x, "bottom-left"), part_mask(8, 8, "bottom-left")
    want = {"digits-fill": region_psnr(x, fill("model", hidden, "bottom-left", train.x, load_checkpoint(path).model), mask),
            MEAN: region_psnr(x, fill(MEAN, hidden, "bottom-left", train.x), mask),
            NEAREST: region_psnr(x, fill(NEAREST, hidden, "bottom-left", train.x), mask)}
    text = _sentence(at)
    assert "**bottom-left** quarter hidden" in text and f"first {N_MEASURED} test images" in text
    for name, db in want.items():
        assert f"{name} {db:.1f} dB" in text
    assert len(at.main.get("image")) >= 2  # the Small images tab's grid and this tab's rows
