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
from dashboard.views import train_fields
from services.jobs import channel, executor
from services.jobs.runs import submit_training
from services.training import make_configs


def run_name(spec: str, kind: str, code_dim: int) -> str:
    """The automatic name: the data, the kind, the code size (mnist-sparse-256); never a shipped
    name (the shipped digits models have no data prefix, and reserve_path skips taken names)."""
    data = re.sub(r"[^A-Za-z0-9_-]+", "-", Path(str(spec)).name.split(".")[0]).strip("-") or "data"
    return f"{data}-{kind}-{int(code_dim)}"


def train_form(sel, busy: bool) -> tuple[bool, dict, str, str]:
    """The form, showing the fields of the chosen kind and penalty only (dashboard.views.train_fields
    draws them from their declaration): (submitted, values, data spec, name)."""
    choice, penalty = train_fields.choosers()
    pixels = int(sel.data.n_features)
    with st.form("train_form", border=True):
        c1, c2 = st.columns(2)
        specs = list(dict.fromkeys([sel.spec, *dataset_names()]))
        spec = c1.selectbox("Data", specs, key="_w_tr_data")
        # The hint names the pattern, not a code size: inside a form the Code size box sends its value
        # only with Train, so a number here would be the default's, not the one typed (2 gave "-16").
        hint = run_name(sel.spec, choice, 0).removesuffix("-0") + "-‹code size› (automatic)"
        name = c2.text_input("Name", placeholder=hint,
                             key="_w_tr_name", max_chars=64,
                             help="A name already taken gets a number: name-2, name-3, ...")
        v = train_fields.fields(choice, penalty, pixels)
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
        st.caption("The loss curves appear when the first epoch ends; the bar above moves with every batch.")
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
