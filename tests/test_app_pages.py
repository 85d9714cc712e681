"""Every page of the dashboard under Streamlit's AppTest: it runs, a widget is set, its key
element appears, and no exception is shown. Uses the shipped digits checkpoints; user
checkpoints (training, uploads) go to a temporary folder. Chart clicks cannot be made
here: their handling is tested in test_ui_functions.py, and the browser flow with Playwright."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from dashboard.shell import navigation
from services import catalog
from services.jobs import channel

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@pytest.fixture(scope="session")
def map_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("maps")


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch, map_cache):
    """Trained and uploaded checkpoints land in a temporary folder, never in checkpoints/user;
    maps fitted for models without a saved one are cached in a temporary folder too."""
    d = tmp_path / "user"
    monkeypatch.setattr(catalog, "USER_DIR", d)
    monkeypatch.setattr(catalog, "CACHE_DIR", map_cache)
    return d


def run(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def latent_map(at: AppTest) -> dict:
    """What the Latent space 2D map (dashboard.components.latent_map) was given to draw, decoded."""
    return maps_drawn(at, 1)[0]


def maps_drawn(at: AppTest, count: int) -> list[dict]:
    """What each of the `count` map components on the page was given to draw, decoded."""
    from test_latent_map import decoded

    maps = [e for e in at.get("bidi_component") if e.proto.component_name == "lse_latent_map"]
    assert len(maps) == count
    return [decoded(m.proto.bytes) for m in maps]


def record_media(monkeypatch) -> dict:
    """{url: bytes} of every media file the runs register (AppTest gives each run a fresh
    manager, gone once the run ends, so what they were given is kept here)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    added, add = {}, MediaFileManager.add

    def recording(self, data, *a, **kw):
        url = add(self, data, *a, **kw)
        added[url] = data
        return url

    monkeypatch.setattr(MediaFileManager, "add", recording)
    return added


def digit_png() -> bytes:
    img = np.full((64, 48), 255, np.uint8)
    img[10:54, 20:28] = 0  # a "1" drawn dark on white
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def test_home_lists_models_and_links_pages():
    at = run("app.py")
    ok(at)
    here, elsewhere = (d.value["model"].tolist() for d in at.dataframe)
    assert "undercomplete-16" in here and "mnist-undercomplete-32" in elsewhere
    # another data's figures never sit in this data's table (an MNIST model's kNN under digits)
    assert not any(m.startswith(("mnist-", "photo-")) for m in here)
    assert len(at.main.get("page_link")) == len(navigation.PAGES) - 1  # "Where next": every page but Home
    # app.py routes every page (st.navigation, Home first, the lecture's opening example next)
    assert [p.title for p in navigation.PAGES][:3] == ["Home", "What is a representation?", "Train"]
    for p in navigation.PAGES[1:4]:
        at.switch_page(p.script).run()
        ok(at)
        assert at.title[0].value == p.title and at.sidebar.selectbox(key="_w_active_model")
    at.switch_page("app_pages/0_Home.py").run()
    at.selectbox(key="_w_active_model").select(str(catalog.SHIPPED_DIR / "vae-16")).run()
    ok(at)
    assert any("vae-16" in m.value.replace("\\", "") for m in at.markdown)  # names are shown escaped


def test_train_two_epochs_saves_and_selects(user_dir):
    at = run("app_pages/1_Train.py")
    at.segmented_control(key="_w_tr_kind").set_value("sparse").run()
    at.number_input(key="_w_tr_epochs").set_value(2)
    at.text_input(key="_w_tr_name").set_value("app test/run")
    at.number_input(key="_w_tr_code_dim_sparse_64").set_value(32)
    at.form_submit_button[0].click().run()
    ok(at)
    ch = channel.by_id(None, *at.session_state["train_seen"])  # the job this session submitted
    deadline = time.time() + 120
    while ch.view().running and time.time() < deadline:
        time.sleep(0.2)
    job = ch.view()
    assert not job.running and not job.error, job.error
    at.run()
    ok(at)
    assert (user_dir / "app-test-run" / "model.safetensors").is_file()
    assert (user_dir / "app-test-run" / "map-umap-2d.npz").is_file()  # Latent space opens at once
    # two epochs of an L1-sparse ReLU code learn nothing yet (no better than the mean image): said
    # with a hint, and the run is not selected until asked
    m = job.result["metrics"]
    assert m["recon_mse"] >= 0.98 * m["mean_image_mse"]
    assert any("not selected" in w.value and "mean image" in w.value and "learning rate" in w.value
               for w in at.warning)
    assert at.session_state["active_model"] != str(user_dir / "app-test-run")
    at.button(key="_w_tr_use_anyway").click().run()
    ok(at)
    assert any("Saved as" in s.value for s in at.success)
    assert charts(at) and at.session_state["active_model"] == str(user_dir / "app-test-run")
    assert [m.value for m in at.metric]


def test_train_name_hint_names_no_code_size_the_form_has_not_sent():
    """Inside the form a typed code size reaches the server only with Train, so the hint shows
    the pattern; it used to say "digits-vae-16 (automatic)" while 2 was typed (saved as -2)."""
    at = run("app_pages/1_Train.py")
    at.segmented_control(key="_w_tr_kind").set_value("vae").run()
    ok(at)
    hint = at.text_input(key="_w_tr_name").placeholder
    assert hint == "digits-vae-‹code size› (automatic)", hint


def test_train_bad_value_is_shown_plainly():
    at = run("app_pages/1_Train.py")
    at.text_input(key="_w_tr_hidden_undercomplete").set_value("wide")
    at.form_submit_button[0].click().run()
    assert not at.exception
    assert at.error and "hidden widths" in at.error[0].value.lower()
    assert not at.session_state["train_seen"]  # no job submitted


def test_train_value_out_of_range_says_why_on_submit():
    at = run("app_pages/1_Train.py")
    at.number_input(key="_w_tr_code_dim_undercomplete_64").set_value(5000)
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.session_state["train_seen"]
    assert at.error and "Code size must be an integer in \\[1, 4096\\]; got 5000" in at.error[0].value  # escaped markdown
    at.number_input(key="_w_tr_code_dim_undercomplete_64").set_value(16)
    at.number_input(key="_w_tr_epochs").set_value(0)
    at.form_submit_button[0].click().run()
    assert at.error and "Epochs must be an integer" in at.error[0].value
    at.number_input(key="_w_tr_epochs").set_value(2)
    at.number_input(key="_w_tr_shift").set_value(12)
    at.form_submit_button[0].click().run()
    assert at.error and "Shift \\(px\\) must be an integer in \\[0, 8\\]; got 12" in at.error[0].value


def test_train_form_offers_tied_weights_and_a_linear_output_for_the_lecture_pair_only():
    at = run("app_pages/1_Train.py")
    shown = {}
    for kind in ("undercomplete", "overcomplete", "sparse", "vae"):
        at.segmented_control(key="_w_tr_kind").set_value(kind).run()
        shown[kind] = {s.label for s in at.selectbox}
    assert {"Weights", "Output"} <= shown["overcomplete"] and {"Weights", "Output"} <= shown["sparse"]
    assert not {"Weights", "Output"} & (shown["undercomplete"] | shown["vae"])
    at.segmented_control(key="_w_tr_kind").set_value("sparse").run()
    at.selectbox(key="_w_tr_tied").select("tied")
    at.text_input(key="_w_tr_hidden_sparse").set_value("32")
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.session_state["train_seen"]
    assert at.error and "Tied weights need one layer each way" in at.error[0].value


def _form_labels(at) -> set[str]:
    """The labels of every field inside the Train form (the choosers above it excluded)."""
    form = at.get("form")[0]
    return {w.label for kind in ("number_input", "selectbox", "text_input", "slider") for w in form.get(kind)}


def test_train_form_shows_only_the_fields_of_the_kind_and_penalty_chosen():
    """The form's fields follow the declaration: a sparse model's penalty decides whether ρ or k
    is asked, a denoising AE asks for its noise and no penalty, PCA for no encoder."""
    at = run("app_pages/1_Train.py")
    common = {"Data", "Code size", "Epochs", "Batch size", "Learning rate"}
    at.segmented_control(key="_w_tr_kind").set_value("sparse").run()
    at.segmented_control(key="_w_tr_sparsity").set_value("topk").run()
    ok(at)
    topk = _form_labels(at)
    assert common | {"k (top-k)", "Weights", "Output", "Encoder", "Hidden widths"} <= topk
    assert not {"Target rate ρ", "Sparsity weight", "Noise", "β"} & topk  # top-k has no penalty term
    at.segmented_control(key="_w_tr_sparsity").set_value("kl").run()
    kl = _form_labels(at)
    assert {"Target rate ρ", "Sparsity weight"} <= kl and "k (top-k)" not in kl
    at.segmented_control(key="_w_tr_kind").set_value("denoising").run()
    ok(at)
    denoising = _form_labels(at)
    assert common | {"Noise", "Noise level", "Shift (px)"} <= denoising
    assert not {"k (top-k)", "Target rate ρ", "Sparsity weight", "Weights", "β"} & denoising
    assert "Penalty" not in {c.label for c in at.segmented_control}
    at.segmented_control(key="_w_tr_kind").set_value("pca").run()
    pca = _form_labels(at)
    assert common <= pca and not {"Encoder", "Hidden widths", "Code activation", "Shift (px)", "Noise"} & pca
    # the ρ shown is the ρ the config reads, refused by its declared bounds under its title
    at.segmented_control(key="_w_tr_kind").set_value("sparse").run()
    at.segmented_control(key="_w_tr_sparsity").set_value("kl").run()
    at.number_input(key="_w_tr_sparsity_target").set_value(2.0)
    at.form_submit_button[0].click().run()
    assert not at.exception and not at.session_state["train_seen"]  # refused: no job submitted
    assert at.error and "Target rate ρ must be a number in \\[0.0001, 0.9999\\]; got 2.0" in at.error[0].value


def test_train_stop_keeps_what_was_trained(user_dir):
    at = run("app_pages/1_Train.py")
    at.number_input(key="_w_tr_epochs").set_value(500)
    at.text_input(key="_w_tr_name").set_value("stopped")
    at.form_submit_button[0].click().run()
    ch = channel.by_id(None, *at.session_state["train_seen"])
    deadline = time.time() + 120
    while not ch.view().epochs and time.time() < deadline:  # on a worker, into its epochs
        time.sleep(0.2)
    at.run()
    at.button(key="_w_tr_stop").click().run()
    deadline = time.time() + 60
    while ch.view().running and time.time() < deadline:
        time.sleep(0.2)
    job = ch.view()
    assert job.result["stopped"] == "cancelled" and len(job.epochs) < 500
    at.run()
    ok(at)
    assert at.warning and "Stopped by request" in at.warning[0].value
    assert (user_dir / "stopped" / "model.safetensors").is_file()


def test_models_inspect_upload_and_delete(user_dir):
    from ae_core.io.checkpoint_zip import export_zip

    at = run("app_pages/2_Models.py")
    ok(at)
    assert charts(at)  # the training history of the selected model
    assert at.get("download_button")
    at.tabs[1]  # upload tab exists
    at.file_uploader(key="_w_models_upload").set_value(
        ("pca.zip", export_zip(catalog.SHIPPED_DIR / "pca-16"), "application/zip")).run()
    ok(at)
    assert (user_dir / "pca-16-2").is_dir()  # beside the shipped pca-16, never under its name
    at.selectbox(key="_w_models_pick").select(str(user_dir / "pca-16-2")).run()
    at.button(key="_w_models_del").click().run()
    at.button(key="_w_models_yes").click().run()
    ok(at)
    assert not (user_dir / "pca-16-2").exists()
    # a bad upload is refused with a message, not a traceback
    at.file_uploader(key="_w_models_upload").set_value(("x.zip", b"not a zip", "application/zip")).run()
    assert not at.exception and "not a zip" in at.error[0].value


def test_latent_space_map_neighbours_interpolation_upload(monkeypatch):
    media = record_media(monkeypatch)
    at = run("app_pages/3_Latent_space.py")
    ok(at)
    drawn = latent_map(at)
    assert drawn["n"] == 1797 and sorted(drawn["ids"]) == list(range(1797))  # every image, once
    # the hover images travel in the component's own message (no media file of Streamlit's), at
    # full size (8x8): every drawn point's digit, in order
    from ae_core.data import load_dataset

    ds = load_dataset("digits")
    want = (ds.x[np.asarray(drawn["ids"])] * 255 + 0.5).astype(np.uint8).reshape(1797, 8, 8, 1)
    assert drawn["thumbs"].shape == (1797, 8, 8, 1) and not media
    np.testing.assert_array_equal(drawn["thumbs"], want)
    from ae_core.io.checkpoint import load_checkpoint  # and beside each, its reconstruction
    from ae_core.models import reconstruct_array

    model_dir = catalog.SHIPPED_DIR / at.query_params["model"]
    recon = reconstruct_array(load_checkpoint(model_dir).model, ds.x[np.asarray(drawn["ids"])])
    got = drawn["recon_thumbs"][..., 0].astype(int)
    assert np.abs(got - (recon[:, 0] * 255 + 0.5).astype(int)).max() <= 1  # batching may round apart
    assert [t.label for t in at.tabs] == ["Selection", "Neighbours", "Interpolation", "Your image"]
    assert at.number_input(key="_w_map_index").value is None  # nothing picked yet: no index shown
    at.number_input(key="_w_map_index").set_value(5).run()
    ok(at)
    assert at.session_state["map_focus"] == 5
    again = latent_map(at)  # the browser has the points and images: the rerun sends neither again
    assert again["cached"] and again["images_cached"] and "x" not in again and "thumbs" not in again
    assert at.session_state["_w_map_panel"] == "Neighbours"  # a chosen point opens its neighbours
    at.number_input(key="_w_map_index").set_value(40).run()
    ok(at)
    assert at.session_state["map_pair"] == [5, 40]
    at.file_uploader(key="_w_map_upload").set_value(("one.png", digit_png(), "image/png")).run()
    ok(at)
    assert any(m.label == "Reconstruction error" for m in at.metric)
    at.selectbox(key="colour").select("reconstruction error").run()
    ok(at)


def test_latent_space_uses_the_map_saved_with_the_checkpoint(user_dir):
    import shutil

    from ae_core.analysis import projection
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.data import load_dataset
    from ae_core.models import encode_array

    dest = user_dir / "with-map"
    shutil.copytree(catalog.SHIPPED_DIR / "undercomplete-16", dest)
    ds = load_dataset("digits")
    codes = encode_array(load_checkpoint(dest).model, ds.x)
    saved = projection.Projector(method="pca").fit(codes)
    saved.save(dest / "map-pca-2d.npz")
    at = AppTest.from_file(str(ROOT / "app_pages/3_Latent_space.py"), default_timeout=TIMEOUT)
    at.session_state["active_model"] = str(dest)
    at.run()
    at.segmented_control(key="map").set_value("pca").run()
    ok(at)
    assert any("saved with the checkpoint" in c.value for c in at.caption)
    drawn = latent_map(at)  # its points are the saved embedding, in the map's unit square
    assert drawn["n"] == len(saved.embedding_)
    e = saved.embedding_[:, :2]
    scale = (e.max(0) - e.min(0)).max() * 1.06
    np.testing.assert_allclose(np.stack([drawn["x"], drawn["y"]], 1),
                               (e - (e.max(0) + e.min(0)) / 2) / scale + 0.5, atol=1e-5)


def test_reconstructions_metrics_and_grids():
    at = run("app_pages/4_Reconstructions.py")
    ok(at)
    labels = [m.label for m in at.metric]
    assert labels[:3] == ["MSE", "PSNR", "SSIM"]
    at.slider(key="_w_recon_n").set_value(30).run()
    ok(at)
    assert len(at.dataframe) == 1 and charts(at)


def test_denoising_curve_and_upload():
    at = run("app_pages/5_Denoising.py")
    ok(at)
    assert charts(at)  # PSNR against noise level
    at.segmented_control(key="_w_dn_kind").set_value("block").run()
    ok(at)
    assert "PSNR" in [m.label for m in at.metric]
    at.file_uploader(key="_w_dn_upload").set_value(("one.png", digit_png(), "image/png")).run()
    ok(at)
    assert at.get("download_button")


@pytest.mark.parametrize("kind", ["colour", "gray", "gray saved as RGB"])
def test_denoising_photo_path(user_dir, kind):
    """A colour upload goes through the colour model and a gray one (also one saved as RGB)
    through the gray model; a shipped model takes precedence over a visitor's of its kind."""
    from ae_core.config import ModelConfig
    from ae_core.photo.model import FCNDenoiser
    from ae_core.photo.training import save_photo_denoiser

    for c, name in ((3, "tiny-colour"), (1, "tiny-gray")):
        cfg = ModelConfig(kind="photo_denoiser", arch="fcn", input_shape=(c, 48, 48), width=8, depth=3)
        save_photo_denoiser(user_dir / name, FCNDenoiser(cfg))
    rgb = np.random.default_rng(0).integers(0, 255, (70, 90, 3), dtype=np.uint8)
    pixels = {"colour": rgb, "gray": rgb[:, :, 0], "gray saved as RGB": np.repeat(rgb[:, :, :1], 3, axis=2)}[kind]
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    at = run("app_pages/5_Denoising.py")
    at.file_uploader(key="_w_ph_upload").set_value(("photo.png", buf.getvalue(), "image/png")).run()
    ok(at)
    at.button(key="_w_ph_go").click().run()
    ok(at)
    assert any("Download the denoised photo" in b.label for b in at.get("download_button"))
    channels = 3 if kind == "colour" else 1
    shipped = catalog.PHOTO_MODELS[channels]
    used = shipped.name if (shipped / "model.safetensors").exists() else f"tiny-{'colour' if channels == 3 else 'gray'}"
    assert at.dataframe[-1].value["method"].tolist() == ["noisy", used, "Gaussian blur", "total variation"]
    route = f"{'Colour' if channels == 3 else 'Gray'} photograph → {used}, the {'colour' if channels == 3 else 'gray'} model"
    assert any(route in c.value for c in at.caption), [c.value for c in at.caption]


@pytest.mark.filterwarnings("ignore::UserWarning")  # scikit-learn's "network error ... Retrying"
def test_unreachable_dataset_is_reported_plainly():
    at = run("app_pages/4_Reconstructions.py")
    at.selectbox(key="_w_dataset").select("fashion-mnist").run()
    assert not at.exception
    assert at.error and "could not download fashion-mnist" in at.error[0].value.lower()
    assert [m.label for m in at.metric][:3] == ["MSE", "PSNR", "SSIM"]  # fell back to digits


def test_sparsity_stats_and_features():
    at = run("app_pages/6_Sparsity.py")
    ok(at)
    # the activations histogram, and of the lazy tabs beside it only the open one: four charts in all
    assert len(charts(at)) == 2 and [t.label for t in at.tabs] == [
        "Per unit (lifetime)", "Per image (population)", "The code of one image"]
    at.session_state["_w_sp_tab"] = "Per image (population)"
    at.run()
    ok(at)
    assert len(charts(at)) == 2 and not at.number_input
    at.session_state["_w_sp_tab"] = "The code of one image"
    at.run()
    ok(at)
    # the image beside its code; then per model (the selected one, its lecture partner beside it):
    # one feature enlarged and the test images that switch it on most (the feature tiles are a
    # clickable component, not images: tests/test_e2e_feature_tiles.py clicks them)
    assert len(charts(at)) == 2 and len(at.main.get("image")) == 1 + 2 * 2
    at.number_input(key="_w_sparsity_image").set_value(7).run()
    at.session_state["_w_sp_tab"] = "Per unit (lifetime)"
    at.run()
    at.session_state["_w_sp_tab"] = "The code of one image"
    at.run()
    ok(at)
    assert at.number_input(key="_w_sparsity_image").value == 7  # kept while the tab was closed
    at.session_state["sparsity_image"] = 10_000  # chosen on a bigger dataset
    at.run()
    ok(at)
    assert at.number_input(key="_w_sparsity_image").value == at.number_input(key="_w_sparsity_image").max
    at.selectbox(key="_w_active_model").select(str(catalog.SHIPPED_DIR / "sparse-overcomplete-256")).run()
    ok(at)
    assert at.metric[0].label == "Dead units" and at.metric[0].value.endswith("/ 256")
    # the lecture's pair side by side: the plain one beside the sparse one, each with its locality
    beside = at.selectbox(key=f"_w_sp_beside_{catalog.SHIPPED_DIR / 'sparse-overcomplete-256'}")
    assert beside.value == str(catalog.SHIPPED_DIR / "overcomplete-256")
    names = [m.value for m in at.markdown if m.value.startswith("**") and "overcomplete" in m.value]
    assert len(names) == 2
    localities = [c.value for c in at.caption if c.value.startswith("**Locality")]
    assert len(localities) == 2 and all("2×2 window" in c for c in localities)
    unit = at.selectbox(key="_w_sp_unit_sparse-overcomplete-256")
    unit.select(unit.options[3]).run()
    ok(at)
    assert any("switch unit" in (i.proto.imgs[0].caption if i.proto.imgs else "") for i in at.main.get("image"))
    beside.select_index(0).run()  # "nothing" beside: one panel
    ok(at)
    assert len([c for c in at.caption if c.value.startswith("**Locality")]) == 1
    at.segmented_control(key="_w_sp_view").set_value("encoder").run()
    ok(at)


def test_compare_two_models():
    at = AppTest.from_file(str(ROOT / "app_pages/7_Compare.py"), default_timeout=TIMEOUT)
    at.session_state["compare_models"] = [str(catalog.SHIPPED_DIR / n) for n in ("pca-16", "undercomplete-16")]
    at.run()
    ok(at)
    # Lazy tabs: only the open view runs. Accuracy first (one bar chart, no maps drawn, no table).
    assert [t.label for t in at.tabs] == ["Accuracy", "Metrics", "Maps", "Same images", "Factors"]
    assert len(charts(at)) == 1 and not at.get("image") and not at.dataframe
    at.session_state["compare_tab"] = "Metrics"
    at.run()
    ok(at)
    models = at.dataframe[0].value["model"].tolist()
    assert models[:2] == ["pca-16", "undercomplete-16"] and "raw pixels (baseline)" in models
    at.session_state["compare_tab"] = "Maps"
    at.run()
    ok(at)
    maps = maps_drawn(at, 2)  # one map per model, on the map component, each with its title
    assert [m["title"] for m in maps] == ["pca-16", "undercomplete-16"] and not charts(at)
    assert all(m["n"] == len(m["ids"]) > 300 and m["thumbs"].shape[1:] == (8, 8, 1) for m in maps)
    at.session_state["compare_tab"] = "Same images"
    at.run()
    ok(at)
    assert not charts(at) and len(at.get("image")) == 1  # every strip in one picture
    tall = at.get("image")[0]
    at.slider(key="_w_cmp_level").set_value(0.0).run()  # no denoising rows: a shorter picture
    ok(at)
    assert len(at.get("image")) == 1 and at.get("image")[0].proto != tall.proto
    at.session_state["compare_tab"] = "Factors"
    at.run()
    ok(at)
    ranked = at.dataframe[0].value  # the ranking under its tab (the metrics table is on its own tab)
    assert set(ranked["model"]) == {"pca-16", "undercomplete-16", "PCA-16 (baseline)"}
    assert list(ranked["MIG"]) == sorted(ranked["MIG"], reverse=True)
    assert any(m.value.startswith("**Ranked by MIG**") for m in at.markdown)


def test_factors_page_measures_the_code_against_pca_on_stand_in_factors():
    at = run("app_pages/8_Factors.py")
    ok(at)
    assert "pixel attributes ink, slant, width and height" in at.info[0].value  # digits: stand-ins
    table = at.dataframe[0].value
    assert len(table) == 2 and {"MIG", "DCI disentanglement", "SAP", "FactorVAE score"} <= set(table.columns)
    assert ((table["MIG"] >= 0) & (table["MIG"] <= 1)).all()
    assert len(charts(at)) == 2  # the heatmaps: the model's and PCA's
    units = at.dataframe[1].value
    assert set(units["factor it moves most"]) <= {"ink", "slant", "width", "height"}
    assert any(("MIG" in m.value and "against" in m.value) for m in at.markdown)  # the measured sentence
    assert any(m.value == "**Traversals named by factor**" for m in at.markdown) and len(at.main.get("image")) == 1


def test_an_imported_embedding_is_explored_and_views_needing_a_decoder_say_so(user_dir):
    """Models → Import embeddings: the vectors become the selected model; Latent space draws
    their map and neighbours (no reconstruction, no error in the hover); Reconstructions says
    why it shows nothing; Compare sets it beside an autoencoder of the same images."""
    from ae_core.data import load_dataset
    from ae_core.io.checkpoint import load_checkpoint
    from ae_core.models import encode_array

    ds = load_dataset("digits")
    vectors = encode_array(load_checkpoint(catalog.SHIPPED_DIR / "pca-16").model, ds.x)[:, :8]
    buf = io.BytesIO()
    np.savez(buf, vectors=vectors, labels=ds.y)
    at = run("app.py")
    at.switch_page("app_pages/2_Models.py").run()
    at.file_uploader(key="_w_emb_upload").set_value(("mine.npz", buf.getvalue(), "application/octet-stream")).run()
    ok(at)
    assert at.text_input(key="_w_emb_name").value == "mine-digits"
    at.button(key="_w_emb_go").click().run()
    ok(at)
    assert (user_dir / "mine-digits" / "config.json").is_file()
    assert at.session_state["active_model"] == str(user_dir / "mine-digits")

    at.switch_page("app_pages/3_Latent_space.py").run()
    ok(at)
    drawn = latent_map(at)
    assert drawn["n"] == len(ds) and "errors" not in drawn  # no reconstruction error in the hover card
    assert "reconstruction error" not in at.selectbox(key="colour").options
    assert any("no encoder to place a new image" in c.value for c in at.caption)
    at.session_state["map_focus"] = 5
    at.run()
    ok(at)
    assert any("**#5**" in m.value for m in at.markdown)

    at.switch_page("app_pages/4_Reconstructions.py").run()
    ok(at)
    assert at.info and "imported embedding" in at.info[0].value and "no decoder" in at.info[0].value

    at.session_state["compare_models"] = [str(catalog.SHIPPED_DIR / "pca-16"), str(user_dir / "mine-digits")]
    at.session_state["compare_tab"] = "Metrics"
    at.switch_page("app_pages/7_Compare.py").run()
    ok(at)
    table = at.dataframe[0].value
    assert list(table["model"])[:2] == ["pca-16", "mine-digits"]  # then the baselines
    assert table.set_index("model").loc["mine-digits", "kNN acc"] > 0.8


def test_a_map_above_the_drawing_limit_shows_a_sample_over_every_points_density(monkeypatch):
    from dashboard.render import figures

    monkeypatch.setattr(figures, "MAX_DRAWN_POINTS", 500)
    at = run("app_pages/3_Latent_space.py")
    ok(at)
    drawn = latent_map(at)
    assert drawn["n"] == 500 and len(set(drawn["ids"])) == 500
    assert drawn["density"]["alpha"].astype(bool).any()  # every point beneath, as a density
    assert any("500 drawn as points" in c.value and "1,797" in c.value for c in at.caption)
