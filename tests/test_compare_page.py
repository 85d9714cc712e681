"""The Compare page states its point from the data: which model wins at what, each beside the
baseline that measure is read against; the Same images tab shows the group selected on the Maps
tab; and no figure moves when the display changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.render import denoising, tables
from dashboard.shell import state
from services import catalog

ROOT = Path(__file__).resolve().parent.parent


def _rows():
    metrics = {
        "small": {"code_dim": 16, "recon_mse": 0.020, "knn_acc": 0.90, "probe_acc_1pct": 0.70,
                  "denoise_psnr_gaussian_0.3": 18.0, "pca_recon_mse": 0.030, "pca_knn_acc": 0.88,
                  "raw_knn_acc": 0.95, "raw_probe_acc_1pct": 0.60, "best_filter_psnr_gaussian_0.3": 19.0},
        "big": {"code_dim": 64, "recon_mse": 0.010, "knn_acc": 0.93, "probe_acc_1pct": 0.65,
                "denoise_psnr_gaussian_0.3": 17.0, "pca_recon_mse": 0.008},
    }
    return tables.compare_rows(metrics, n_pixels=784), list(metrics)


def test_each_measure_names_its_best_model_and_the_baseline_it_is_read_against():
    rows, models = _rows()
    found = {w["measure"]: w for w in tables.winners(rows, models)}
    assert set(found) == {"recon MSE", "kNN acc", "probe 1%", "denoise PSNR σ=0.3"}
    mse = found["recon MSE"]  # lower is better, against PCA at the winner's own code size (64, not 16)
    assert (mse["model"], mse["value"], mse["baseline"], mse["baseline_value"]) == ("big", 0.010, "PCA-64", 0.008)
    assert mse["beats"] is False
    knn = found["kNN acc"]  # the pixels are the bar for accuracy; 0.93 is below them
    assert (knn["model"], knn["baseline"], knn["beats"]) == ("big", "raw pixels", False)
    probe = found["probe 1%"]
    assert (probe["model"], probe["value"], probe["beats"]) == ("small", 0.70, True)
    den = found["denoise PSNR σ=0.3"]
    assert (den["model"], den["baseline"], den["beats"]) == ("small", "best classical filter", False)
    text = tables.winners_sentence(list(found.values()))
    assert "**big** reconstructs best: 0.0100, not below PCA-64 (0.0080)" in text
    assert "**small** is best with 1% of the labels (probe): 70.0%, above raw pixels (60.0%)" in text


def test_a_measure_only_one_model_has_names_no_winner():
    rows, models = _rows()
    assert tables.winners(rows, models[:1]) == []


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")


def _point(at) -> list[str]:
    return [m.value for m in at.markdown if "reconstructs best" in m.value]


def test_the_point_is_stated_above_the_tabs_and_does_not_move_with_the_presentation_size(user_dir):
    at = AppTest.from_file(str(ROOT / "app_pages/7_Compare.py"), default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    desk = _point(at)
    assert len(desk) == 1 and "above" in desk[0] or "below" in desk[0]
    at.session_state["presentation"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _point(at) == desk


def test_same_images_shows_the_group_selected_on_the_maps_and_measures_on_the_test_images(user_dir):
    at = AppTest.from_file(str(ROOT / "app_pages/7_Compare.py"), default_timeout=300).run()
    spec = at.query_params["data"]
    n_test = int(np.ceil(1797 * 0.2))  # digits: 1,797 images, 20% held out
    at.session_state[state.COMPARE_SELECTED] = {"spec": spec, "space": ("test", n_test), "from": "pca-16",
                                                "indices": [5, 3, 9]}
    at.session_state["compare_tab"] = "Same images"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    pictures = at.get("image")
    assert len(pictures) == 1, "one picture on the Same images tab"
    caption = pictures[0].proto.imgs[0].caption
    assert caption.startswith("3 of the 3 test images selected on the Maps tab"), caption
    assert f"mean PSNR on the first {denoising.N_MEASURED} test images" in caption
    # a map of all the data: its selection's images are shown from all the data
    at.session_state[state.COMPARE_SELECTED] = {"spec": spec, "space": ("all", 1797), "from": "pca-16",
                                                "indices": [1500, 3]}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    caption = at.get("image")[0].proto.imgs[0].caption
    assert caption.startswith("2 of the 2 images selected on the Maps tab"), caption
    at.session_state[state.COMPARE_SELECTED] = None
    at.run()
    caption = at.get("image")[0].proto.imgs[0].caption
    assert caption.startswith("The first ") and "select a group" in caption, caption
