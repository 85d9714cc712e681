"""The Train page's parts: the form (its fields follow the chosen kind), and the run's
progress and outcome, read from the job's channel (services.jobs) every second while it runs.
The job is found by its visitor, not kept in the session: a reload or a second tab shows it too.

    submitted, values, spec, name = train_form(sel, busy)
    show_job(job_id)
"""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from ae_core.data import dataset_names
from ae_core.models import DESCRIPTIONS
from ae_core.noise import LEVEL_MEANING
from ae_core.config import TRAINING_NOISE
from dashboard.render import figures, tables
from dashboard.shell import frame, navigation, widgets
from services import hosting
from dashboard.shell.errors import show_error
from dashboard.shell.safe_text import md

from ae_core.config import estimate_parameters
from dashboard.data import loaders
from dashboard.shell import visitor
from services import ownership
from dashboard.shell.errors import guard
from services.jobs import channel, executor
from services.jobs.runs import submit_training
from services.training import make_configs

# "overcomplete" is the plain autoencoder with more code units than pixels (ModelConfig kind
# undercomplete, one layer each way, a ReLU code unless chosen): the lecture's "it learns to copy".
KINDS = ("undercomplete", "overcomplete", "denoising", "sparse", "contractive", "vae", "pca")
KIND_HELP = {**DESCRIPTIONS, "overcomplete": "Plain autoencoder with more code units than pixels: with "
             "nothing to stop it, it can learn to copy its input. Compare it with a sparse one of the same size."}
DEFAULT_CODE = {"sparse": 64}
# one layer, as the zoo's L1 and overcomplete models: a deep ReLU code can die under L1
DEFAULT_HIDDEN = {"sparse": "", "overcomplete": ""}
DEFAULT_ENCODER = {"sparse": "mlp", "overcomplete": "mlp"}  # else "auto" (ae_core.config.default_design)


def default_code_size(kind: str, n_pixels: int) -> int:
    """16 (64 for sparse); for overcomplete the smallest power of two above the pixels (128 for 8x8, 1,024 for 28x28)."""
    if kind == "overcomplete":
        return 1 << int(n_pixels).bit_length()
    return DEFAULT_CODE.get(kind, 16)


def run_name(spec: str, kind: str, code_dim: int) -> str:
    """The automatic name: the data, the kind, the code size (mnist-sparse-256); never a shipped
    name (the shipped digits models have no data prefix, and reserve_path skips taken names)."""
    data = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(str(spec)).name.split(".")[0]).strip("-") or "data"
    return f"{data}-{kind}-{int(code_dim)}"
PENALTY = {"sparse": ("Sparsity weight", 0.002, "L1: weight on Σ|h|; KL: weight on Σ KL(ρ‖ρ̂)"),
           "contractive": ("Contractive weight λ", 0.01, "λ in λ‖J_f(x)‖²"),
           "vae": ("β", 1.0, "weight of the KL term of the ELBO")}


# No bounds on the number boxes: Streamlit would only show an out-of-range value's reason on hover.
# The configs check every value on submit and say why (services.training.make_configs names the field).


def train_form(sel, busy: bool) -> tuple[bool, dict, str, str]:
    """The form, showing the fields of the chosen kind only: (submitted, values, data spec, name)."""
    kind = st.segmented_control("Model kind", KINDS, default="undercomplete", required=True, key="_w_tr_kind") \
        or "undercomplete"
    st.caption(KIND_HELP[kind])
    pixels = int(sel.data.n_features)
    with st.form("train_form", border=True):
        c1, c2, c3 = st.columns(3)
        specs = list(dict.fromkeys([sel.spec, *dataset_names()]))
        spec = c1.selectbox("Data", specs, key="_w_tr_data")
        code_default = default_code_size(kind, pixels)
        name = c2.text_input("Name", placeholder=f"{run_name(sel.spec, kind, code_default)} (automatic)",
                             key="_w_tr_name", max_chars=64,
                             help="A name already taken gets a number: name-2, name-3, ...")
        code_dim = c3.number_input("Code size", None, None, code_default, key=f"_w_tr_code_{kind}_{pixels}",
                                   help=f"units in h; more than the {pixels:,} pixels makes an overcomplete code")
        v = {"kind": kind, "code_dim": code_dim}
        if kind != "pca":
            c1, c2, c3 = st.columns(3)
            v["hidden"] = c1.text_input("Hidden widths", DEFAULT_HIDDEN.get(kind, "256"), key=f"_w_tr_hidden_{kind}",
                                        help="MLP layers between pixels and code, e.g. 512,128; empty for none. "
                                        "Used by the mlp encoder only (auto picks conv for images of 16 px a side or more)")
            encoders = ["auto", "mlp", "conv"]
            v["arch"] = c2.selectbox("Encoder", encoders, index=encoders.index(DEFAULT_ENCODER.get(kind, "auto")),
                                     key=f"_w_tr_arch_{kind}", help="auto: convolutional (32, 64, 128) with a "
                                     "BCE loss for images of 16 px a side or more, an MLP with MSE for smaller "
                                     "ones; the same rule as ae-core train")
            v["code_activation"] = c3.selectbox("Code activation", ["auto", "linear", "relu", "sigmoid", "tanh"],
                                                key="_w_tr_act", help="auto: sigmoid for KL and contractive, "
                                                                       "relu for sparse, else linear")
        if kind in ("overcomplete", "sparse"):  # the lecture's pair: ae_core.zoo's mnist-*-overcomplete-1024
            c1, c2, c3 = st.columns(3)
            v["weights"] = c1.selectbox("Weights", ["separate", "tied"], key=f"_w_tr_weights_{kind}",
                                        help="tied: the decoder uses the encoder's weights transposed, so each "
                                        "unit has one feature both ways (one layer each way: empty hidden widths, "
                                        "mlp encoder)")
            v["output"] = c2.selectbox("Output", ["sigmoid", "linear"], key=f"_w_tr_output_{kind}",
                                       help="the decoder's last step; linear is trained with MSE")
        if kind == "sparse":
            c1, c2, c3 = st.columns(3)
            v["sparsity"] = c1.selectbox("Penalty", ["l1", "kl", "topk"], key="_w_tr_sparsity",
                                         format_func={"l1": "L1 on h", "kl": "KL to a target rate",
                                                      "topk": "top-k (k-sparse)"}.get)
            v["sparsity_target"] = c2.number_input("Target rate ρ (KL)", None, None, 0.05, format="%.3f",
                                                   key="_w_tr_rho")
            v["top_k"] = c3.number_input("k (top-k)", None, None, 8, key="_w_tr_topk")
        if kind in PENALTY:
            label, default, helptext = PENALTY[kind]
            v["penalty_weight"] = st.number_input(label, None, None, default, format="%.4f", help=helptext,
                                                  key=f"_w_tr_pw_{kind}")
        if kind == "denoising":
            c1, c2 = st.columns(2)
            v["noise_kind"] = c1.selectbox("Noise", TRAINING_NOISE, key="_w_tr_noise")
            v["noise_level"] = c2.slider("Noise level", 0.0, 0.9, 0.3, 0.05, key="_w_tr_level",
                                         help=" · ".join(f"{k}: {m}" for k, m in LEVEL_MEANING.items()))
        c1, c2, c3, c4 = st.columns(4)
        v["epochs"] = c1.number_input("Epochs", None, None, 30, key="_w_tr_epochs")
        v["batch_size"] = c2.selectbox("Batch size", [16, 32, 64, 128, 256, 512], index=2, key="_w_tr_batch")
        v["lr"] = c3.number_input("Learning rate", None, None, 3e-3, format="%.4f", step=1e-3, key="_w_tr_lr")
        if kind != "pca":
            v["shift"] = c4.number_input("Shift (px)", None, None, 0, key="_w_tr_shift",
                                         help="augmentation: each training image moved by up to this many pixels "
                                         "each way, a new draw every epoch; 2 helps on MNIST (28 px), 0 = none")
        submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:", disabled=busy)

    return submitted, v, spec, name


def show_run(job: channel.JobView, ch: channel.Channel) -> None:
    """Progress, live losses, the stop button while running; the outcome when done."""
    st.subheader(f"Run: {md(job.out.name)}")
    if job.running and job.stage == "queued":
        st.info(f"Queued: {job.progress_text}. This server trains {hosting.settings().max_trainings} "
                "run(s) at a time; yours starts by itself. Keep a page of this app open: a run whose "
                "visitor has left is dropped." if hosting.hosted() else
                f"Queued: {job.progress_text}; it starts by itself.", icon=":material/hourglass_top:")
        st.button("Cancel", icon=":material/close:", on_click=ch.request_stop, disabled=job.stop_requested,
                  key="_w_tr_cancel")
        return
    if job.running:
        st.progress(job.fraction, text=f"{job.progress_text} · on {md(job.spec)}")
        st.button("Stop (keep what was trained)", icon=":material/stop:", on_click=ch.request_stop,
                  disabled=job.stop_requested or job.stage in ("evaluating", "mapping"), key="_w_tr_stop",
                  help="Training is over: the model is being scored against PCA and mapped"
                  if job.stage in ("evaluating", "mapping") else None)
    if job.epochs:
        st.caption("Each loss term per epoch (log scale); dotted: validation.")
        widgets.chart(figures.loss_figure(job.epochs), f"loss-{job.out.name}", key="_w_tr_loss_chart")
    elif job.running:
        st.caption("Waiting for the first epoch…")
    if job.running:
        return
    if job.error:
        show_error(Exception(job.error))
        return
    r = job.result
    if r.get("stopped") == "non_finite":
        st.error(md(r["message"], limit=1_000), icon=":material/warning:")
    elif r.get("stopped") == "cancelled":
        st.warning(md(r["message"], limit=1_000), icon=":material/pan_tool:")
    elif r.get("message"):
        st.info(md(r["message"], limit=1_000))
    m = r.get("metrics", {})
    mapped = "" if r.get("map") else " (Its map will be computed when you open Latent space.)"
    if r.get("warning") and not frame.adopted(job):
        st.warning(f"Saved as **{md(job.out.name)}** in {r.get('seconds', 0):.1f} s, but not selected: "
                   + md(r["warning"], limit=1_000), icon=":material/warning:")
        st.button("Use it anyway", key="_w_tr_use_anyway", on_click=frame.adopt, args=(job,))
    else:
        st.success(f"Saved as **{md(job.out.name)}** in {r.get('seconds', 0):.1f} s (training, scoring "
                   f"against PCA{' and its map' if r.get('map') else ''}) and selected in the sidebar." + mapped,
                   icon=":material/check_circle:")
    if m.get("recon_mse") is not None and m.get("pca_recon_mse") is not None:
        c1, c2 = st.columns(2)
        exact = tables.pca_exact(job.code_dim, job.n_pixels, m["pca_recon_mse"])
        delta, colour = tables.vs_pca(m["recon_mse"], m["pca_recon_mse"], exact)
        c1.metric("Test MSE", f"{m['recon_mse']:.4f}", delta, delta_color=colour,
                  delta_arrow="off" if colour == "off" else "auto")
        c2.metric(f"PCA with {m.get('code_dim', '')} components", f"{m['pca_recon_mse']:.4f}")
    l1, l2, l3 = st.columns(3)
    with l1:
        navigation.link("Latent space", "See its latent space")
    with l2:
        navigation.link("Reconstructions", "See reconstructions")
    with l3:
        navigation.link("Models", "Manage models")


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    ch = channel.by_id(visitor.owner(), job_id)
    if ch is None:  # its record was pruned
        return
    job = visitor.watch(ch)
    show_run(job, ch)
    if not job.running:
        st.rerun()  # the whole page: the sidebar lists the new model


def show_job(ch: channel.Channel) -> None:
    """The run's panel: live while it runs, its outcome once it is over."""
    job = visitor.watch(ch)
    live(ch.id) if job.running else show_run(job, ch)


def render() -> None:
    """The Train page: what app_pages/1_Train.py runs."""
    sel = frame.selection("Train")
    widgets.header("Train", "Train an autoencoder and watch each loss term: does the penalty fight the "
                            "reconstruction, and when does it stop improving?")
    executor.warm_up()  # the worker pool starts while the form is filled in (embedded mode)
    ch = visitor.job()
    busy = ch is not None and ch.view().running
    submitted, values, spec, name = train_form(sel, busy)
    if submitted and not busy:
        with guard():
            mc, tc = make_configs(values, loaders.dataset(spec).image_shape)
            ownership.check_quota(visitor.owner(), 4 * estimate_parameters(mc))  # float32 weights
            out_name = name.strip() or run_name(spec, values["kind"], mc.code_dim)
            visitor.watch(submit_training(mc, tc, spec, out_name, owner=visitor.owner()))
            st.rerun()  # the form is drawn again, its Train button disabled while this run lasts

    if ch is not None:
        show_job(ch)
    else:
        st.caption("Results appear here: a progress bar and every loss term, epoch by epoch.")
