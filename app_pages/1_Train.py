"""Train: pick data, kind, code size, penalty, noise and schedule; watch the losses live; stop any time."""

import streamlit as st

from ae_core.config import estimate_parameters
from ui import frame, hosting, loaders, ownership, state, visitor, widgets
from ui.errors import guard
from ui.train_form import run_name, show_job, train_form
from ui.training import TrainJob, make_configs

sel = frame.selection("Train")
widgets.header("Train", "Train an autoencoder and watch each loss term: does the penalty fight the "
                        "reconstruction, and when does it stop improving?")
job = st.session_state.get(state.TRAIN_JOB)
busy = job is not None and job.running
submitted, values, spec, name = train_form(sel, busy)
if submitted and not busy:
    with guard():
        mc, tc = make_configs(values, loaders.dataset(spec).image_shape)
        ownership.check_quota(visitor.owner(), 4 * estimate_parameters(mc))  # float32 weights
        run_name = name.strip() or run_name(spec, values["kind"], mc.code_dim)
        st.session_state[state.TRAIN_JOB] = job = TrainJob.start(
            mc, tc, spec, run_name, owner=visitor.owner(),
            connected=visitor.connected_check() if hosting.hosted() else None)  # local: runs on unwatched
        st.rerun()  # the form is drawn again, its Train button disabled while this run lasts

if job is not None:
    show_job(job)
else:
    st.caption("Results appear here: a progress bar and every loss term, epoch by epoch.")
