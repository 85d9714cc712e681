"""A view is a link (dashboard.shell.view_link): the Latent space view survives a reload and opens from a
copied URL; a selection belongs to its dataset and model. One AppTest = one browser session
opened on a URL (AppTest's query_params)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from services import catalog
from dashboard.shell.view_link import decode_indices, encode_indices

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "app_pages/3_Latent_space.py")


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "USER_DIR", tmp_path / "user")
    monkeypatch.setattr(catalog, "CACHE_DIR", tmp_path / "maps")


@given(st.sets(st.integers(0, 2000), max_size=300))
def test_indices_round_trip_as_ranges(ids):
    text = encode_indices(ids)
    assert decode_indices(text, 2001) == sorted(ids)
    assert len(text) <= 5 * len(ids)


def test_a_hand_edited_link_is_read_safely():
    assert decode_indices("3-1,x,5-7,-2,9999999", 10) == [5, 6, 7]
    assert len(decode_indices("0-100000000", 10**9, limit=5000)) == 5000


def opened(**params) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_link_opens_its_view_with_its_selection():
    at = opened(data="digits", model="vae-16", map="PCA", colour="reconstruction error",  # labels, as shown
                sel="3-7,40", focus="40", pair="40,52")
    assert at.session_state["active_model"] == str(catalog.SHIPPED_DIR / "vae-16")
    assert at.segmented_control(key="map").value == "pca"
    assert at.selectbox(key="colour").value == "reconstruction error"
    assert at.session_state["map_selected"] == [3, 4, 5, 6, 7, 40]
    assert at.session_state["map_focus"] == 40 and at.session_state["map_pair"] == [40, 52]
    assert any(c.value.startswith("6 selected") for c in at.caption)
    # and the page writes back what it shows, names only (no server path in a link)
    q = dict(at.query_params)
    assert q["model"] == "vae-16" and q["sel"] == "3-7,40" and q["focus"] == "40" and q["data"] == "digits"
    assert not any(str(ROOT) in str(v) for v in q.values())


def test_a_selection_survives_colouring_and_goes_with_another_model():
    at = opened(data="digits", model="undercomplete-16", sel="10-19")
    at.selectbox(key="colour").select("code norm").run()
    assert at.session_state["map_selected"] == list(range(10, 20))  # same data and model: kept
    at.sidebar.selectbox(key="_w_active_model").select(str(catalog.SHIPPED_DIR / "pca-16")).run()
    assert not at.exception
    assert at.session_state["map_selected"] == [] and at.session_state["map_focus"] is None
    assert "sel" not in dict(at.query_params)


def test_a_link_to_a_model_that_is_not_here_says_so():
    at = opened(data="digits", model="someone-elses-model")
    assert any("not available here" in i.value for i in at.info)
    assert at.session_state["active_model"] == str(catalog.SHIPPED_DIR / "undercomplete-16")


def test_find_highlights_by_label_index_and_error_and_exports_them():
    import numpy as np

    from dashboard.views.latent_space import find_points

    ids = np.arange(10, 20)
    labels = np.array([0, 1, 1, 2, 2, 2, 3, 3, 3, 3])
    errs = np.linspace(0.0, 0.9, 10)
    assert find_points(ids, labels, errs, classes=[2, 3]) == list(range(13, 20))
    assert find_points(ids, labels, errs, classes=[2, 3], index_text="15-30") == list(range(15, 20))
    assert find_points(ids, labels, errs, error_range=(0.25, 0.55)) == [13, 14, 15]
    at = opened(data="digits", model="undercomplete-16")
    at.multiselect(key="_w_find_labels").select(3).run()
    at.button(key="_w_find_go").click().run()
    assert not at.exception
    picked = at.session_state["map_selected"]
    y = np.asarray(__import__("dashboard.data.loaders", fromlist=["x"]).dataset("digits").y)
    assert picked == [int(i) for i in np.flatnonzero(y == 3)]  # every 3 of the map (all the data)
    assert "sel" in dict(at.query_params)


@pytest.mark.parametrize("bad", [{"unit": "inf"}, {"unit": "1e400"}, {"unit": "999"}, {"pair": "²,3"},
                                 {"pair": "9" * 5000}, {"focus": "-4"}, {"sel": "a-b,,--"}])
def test_a_hand_edited_link_never_breaks_the_page(bad):
    at = opened(data="digits", model="undercomplete-16", **bad)
    assert not at.error
    assert 0 <= at.number_input(key="unit").value < 16


def test_a_links_points_wait_for_the_view_it_names():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)  # opens Home with the link
    at.query_params.update(data="digits", model="vae-16", sel="1-5")
    at.run()
    at.sidebar.selectbox(key="_w_active_model").select(str(catalog.SHIPPED_DIR / "pca-16")).run()
    at.switch_page("app_pages/3_Latent_space.py").run()
    assert not at.exception and at.session_state["map_selected"] == []  # not pca-16's points


def test_back_and_forward_show_each_view_as_it_was_and_a_page_switch_keeps_the_selection():
    """Each view the app writes is an entry of the browser's history. Going Back to an entry
    without a selection used to show the selection made since (a view that never existed)."""
    at = opened(data="digits", model="undercomplete-16", map="PCA")
    assert at.session_state["map_selected"] == []
    at.query_params["sel"] = "10-19"  # Forward, to the entry written after a box on the map
    at.run()
    assert at.session_state["map_selected"] == list(range(10, 20))
    del at.query_params["sel"]  # Back: the entry before the box
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["map_selected"] == [] and "sel" not in dict(at.query_params)
    at.query_params["sel"] = "10-19"
    at.query_params["focus"] = "12"
    at.run()
    assert at.session_state["map_selected"] == list(range(10, 20)) and at.session_state["map_focus"] == 12
    for k in list(at.query_params):  # another page and back by the sidebar: Streamlit drops the query
        del at.query_params[k]
    at.run()
    assert at.session_state["map_selected"] == list(range(10, 20)) and at.session_state["map_focus"] == 12
    assert dict(at.query_params)["sel"] == "10-19"  # and writes it back
