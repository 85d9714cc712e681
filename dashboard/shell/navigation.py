"""Every page of the dashboard, named once: its script, title, icon, one line on what it is
for, and whether its sidebar picks one model or several. app.py builds st.navigation from it,
Home draws its "Where next" cards from it, and `link("Train")` points to a page by title.

    for p in PAGES: p.script, p.title, p.icon, p.blurb, p.multi_model
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageSpec:
    script: str  # path from the project root
    title: str
    icon: str
    blurb: str  # what a user does there, for Home
    multi_model: bool = False  # the sidebar picks 2-4 models (Compare) instead of one


PAGES = (
    PageSpec("app_pages/0_Home.py", "Home", ":material/home:", "The models available and where to go next."),
    PageSpec("app_pages/01_Representation.py", "What is a representation?", ":material/category:",
             "The lecture's opening example: one classifier on raw, quadratic and learned features of 2D points."),
    PageSpec("app_pages/1_Train.py", "Train", ":material/model_training:", "Train a model of any kind and watch its losses."),
    PageSpec("app_pages/2_Models.py", "Models", ":material/inventory_2:", "Inspect, upload, download or delete checkpoints."),
    PageSpec("app_pages/3_Latent_space.py", "Latent space", ":material/scatter_plot:",
             "Where each image lands on a map of its code; neighbours, interpolations, your own image."),
    PageSpec("app_pages/4_Reconstructions.py", "Reconstructions", ":material/compare:",
             "What the decoder gives back; best and worst images."),
    PageSpec("app_pages/5_Denoising.py", "Denoising", ":material/blur_off:",
             "Remove noise from digits or your own photos; compare with classical filters."),
    PageSpec("app_pages/6_Sparsity.py", "Sparsity", ":material/grain:",
             "How many units fire, which never do, what each one draws."),
    PageSpec("app_pages/8_Factors.py", "Factors", ":material/account_tree:",
             "Which factor of variation each unit carries, against PCA: MIG, DCI, SAP, FactorVAE score."),
    PageSpec("app_pages/7_Compare.py", "Compare", ":material/leaderboard:",
             "Several models side by side against PCA and raw pixels.", multi_model=True),
    PageSpec("app_pages/8_Transfer.py", "Transfer", ":material/school:",
             "Reuse a code with few labels: frozen, fine-tuned, from scratch, semi-supervised."),
)
BY_TITLE = {p.title: p for p in PAGES}


def st_pages() -> list:
    """The st.Page objects for st.navigation, Home first and default."""
    return [st.Page(p.script, title=p.title, icon=p.icon, default=i == 0) for i, p in enumerate(PAGES)]


def spec_for(title: str | None) -> PageSpec | None:
    return BY_TITLE.get(title or "")


def link(title: str, label: str | None = None) -> None:
    """A link to the page titled `title` (plain bold text where the page is not registered, as
    when a page script runs alone under AppTest)."""
    p = BY_TITLE[title]
    try:
        st.page_link(p.script, label=label or p.title, icon=p.icon)
    except Exception:  # noqa: BLE001 - StreamlitAPIException outside the multipage app
        st.markdown(f"**{label or p.title}**")
