"""The Transfer page: reuse of the chosen model's code with few labels (issue 34). Test accuracy
against labels per class for six methods (ae_core.analysis.transfer), 3 seeds: one chart, the
table beside it, one computed sentence. The cells are computed by a job on the worker pool
(services.jobs.runs.submit_transfer), saved one by one in the checkpoint's transfer.json, and
read from there (dashboard.data.transfer), so a reload, a stop or a restart loses no cell.

A page of its own rather than a tab of Compare: the table is of one model (Compare's sidebar
picks 2-4, and six lines per model would not read as one chart), and a job per model that runs
for minutes is one thing to follow and stop on a page of its own.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ae_core.analysis.transfer_chart import chart_png
from ae_core.analysis.transfer_table import summarise, verdict
from dashboard.data.transfer import saved_table
from dashboard.render.transfer import table_rows, transfer_figure
from dashboard.shell import frame, visitor, widgets
from dashboard.shell.errors import guard
from dashboard.shell.safe_text import md
from services.jobs import channel
from services.jobs.queue import QueueError
from services.jobs.runs import submit_transfer, transfer_job


@st.fragment(run_every=1.0)
def _live(owner_key_job: tuple) -> None:
    """The running job's progress and its Stop button; the whole page again when it ends."""
    owner, job_id = owner_key_job
    ch = channel.by_id(owner, job_id)
    if ch is None:
        return
    job = ch.view()
    if not job.running:
        st.rerun()
    st.progress(job.fraction, text=job.progress_text if job.stage != "queued" else f"queued: {job.progress_text}")
    if job.stop_requested:
        st.caption("Stopping after the cell being computed; every finished cell is kept.")
    else:
        st.button("Stop", icon=":material/stop:", key="_w_tf_stop", on_click=ch.request_stop,
                  help="the cell being computed is dropped; the finished ones stay saved with the model")


def _start(entry) -> None:
    with guard():
        try:
            submit_transfer(entry.path, owner=visitor.owner())
        except QueueError:
            st.session_state["_tf_busy"] = ("Another transfer table of yours is being computed; wait for it or stop "
                                            "it on its model's Transfer page.")


def render() -> None:
    """The Transfer page: what app_pages/8_Transfer.py runs."""
    widgets.header("Transfer", "Does this model's code help a classifier when labels are few, and from how many "
                               "labels on does the same network trained from scratch catch up?")
    sel = frame.selection("Transfer")
    if not widgets.need_model(sel):
        st.stop()
    entry, spec = sel.entry, sel.spec
    if entry.is_photo:
        st.info("The photo denoiser has no classes to transfer to: choose an autoencoder.", icon=":material/info:")
        st.stop()
    if entry.dataset != spec:
        st.info(f"A transfer table is measured on the model's own data and test split ({md(entry.dataset)}): "
                "choose that dataset in the sidebar to see it.", icon=":material/info:")
        st.stop()
    with guard(stop=True):
        saved = saved_table(entry)
    busy_note = st.session_state.pop("_tf_busy", None)
    if busy_note:
        st.warning(busy_note, icon=":material/hourglass:")
    if saved["frozen_only"]:
        st.info(saved["frozen_only"], icon=":material/ac_unit:")
    done, total = len(saved["cells"]), saved["total"]
    owner = visitor.owner()
    ch = transfer_job(entry.path, owner)
    if ch is not None:
        _live((_owner_of(ch), ch.id))
    elif done == 0:
        _offer(entry, done, total)
    if not saved["cells"]:
        st.caption("Six methods × the label counts × 3 seeds: on MNIST's conv models about half an hour on a free "
                   "core, most of it the semi-supervised rows.")
        return
    rows = summarise(saved["cells"])
    st.markdown(f"**{md(verdict(rows), limit=1_000)}**")
    fig = transfer_figure(rows, saved["n_classes"], height=520 if widgets.presenting() else 460)
    # presentation size: the chart across the page and the table under it, each readable from the back
    left, right = st.columns([4, 3]) if not widgets.presenting() else (st.container(), st.container())
    with left:
        widgets.chart(fig, f"transfer-{entry.name}")
    with right:
        widgets.table(pd.DataFrame(table_rows(rows)))
        st.caption(f"Test accuracy in % (mean ± spread over the seeds) on the model's {saved['n_test']:,} test "
                   "images, the same for every row; labels per class drawn stratified and seeded. Dashed lines: "
                   "rows that use nothing the model learned. Above the chart, the lead of the best pretrained "
                   "row (code + LR, code + MLP, fine-tuned) over the same network from scratch, in points. "
                   + " ".join(saved["notes"]))
        st.download_button("Download PNG", chart_png(rows, saved["n_classes"], title=f"{entry.name}: test accuracy "
                                                     "against labels per class"),
                           f"transfer-{entry.name}.png", "image/png", icon=":material/download:", key="_w_tf_png")
    if ch is None and 0 < done < total:  # below the chart: what is there comes first
        _offer(entry, done, total)


def _offer(entry, done: int, total: int) -> None:
    what = "Compute the table" if done == 0 else f"Compute the other {total - done} of {total} cells"
    if done:
        st.caption(f"{done} of {total} cells saved: the chart shows them (fewer seeds where a row says so).")
    st.button(what, type="primary", icon=":material/play_arrow:", key="_w_tf_start", on_click=_start,
              args=(entry,), help="on a worker; each finished cell is saved with the model at once, so "
                                  "you may leave the page, stop, or come back later")


def _owner_of(ch: channel.Channel) -> str:
    """The queue's owner key a job was filed under (its folder's parent), for channel.by_id."""
    return ch.folder.parent.name
