"""The jobs from a terminal: submit a training run or a map fit to the same queue and
executor the app uses (the embedded pool, or the cluster at LSE_SCHEDULER), follow it, stop it.

    python -m services.jobs train --dataset digits --kind sparse --code-dim 64 --epochs 30 --name my-sae
    python -m services.jobs project checkpoints/user/my-sae --method umap --dims 2
    python -m services.jobs stop <job id>             # from another terminal; keeps what was trained

Ctrl-C while following a run stops it the same way. Errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ae_core.choices import configs_from_choices
from ae_core.cli_flags import add_config_flags, add_map_flags, config_values
from ae_core.config import ModelConfig, TrainConfig
from ae_core.data import load_dataset
from ae_core.errors import AEError
from services.jobs import channel
from services.jobs.runs import submit_map, submit_training
from services.training import check_budget

FOLLOW_S = 0.5


def follow(ch: channel.Channel, out=print) -> channel.JobView:
    """Print each new epoch and stage until the job ends; Ctrl-C asks it to stop and keeps waiting."""
    shown, stage = 0, ""
    while True:
        try:
            job = ch.view()
            for logs in job.epochs[shown:]:
                shown += 1
                terms = "  ".join(f"{k} {v:.4g}" for k, v in logs.items() if isinstance(v, float))
                out(f"[{ch.id}] epoch {shown}/{job.epochs_total}  {terms}")
            if job.stage != stage and job.stage != "training":  # epochs say the training
                stage = job.stage
                out(f"[{ch.id}] {job.progress_text}")
            if not job.running:
                return job
            time.sleep(FOLLOW_S)
        except KeyboardInterrupt:
            out(f"[{ch.id}] stopping: the model trained so far is kept")
            ch.request_stop()


def cmd_train(a) -> int:
    # the same flags and the same way to configs as `ae-core train` (ae_core.settings declares them once)
    values = config_values(a, ModelConfig) | config_values(a, TrainConfig)
    mc, tc = configs_from_choices(values, load_dataset(a.dataset).image_shape, threads=1, device="cpu")
    check_budget(mc, tc)
    ch = submit_training(mc, tc, a.dataset, a.name or f"{a.dataset}-{values['kind']}-{mc.code_dim}",
                         root=Path(a.out_dir) if a.out_dir else None, make_map=not a.no_map)
    print(f"job {ch.id}: {ch.job()['out']}", flush=True)
    job = follow(ch)
    if job.error:
        raise AEError(job.error)
    r = job.result
    if r.get("message"):
        print(r["message"], file=sys.stderr)
    if r.get("warning"):
        print(f"warning: {r['warning']}", file=sys.stderr)
    m = r.get("metrics", {})
    print(f"saved {r['path']}  test recon MSE {m.get('recon_mse', float('nan')):.5f}  "
          f"(PCA-{mc.code_dim}: {m.get('pca_recon_mse', float('nan')):.5f})  {r.get('seconds', 0):.1f}s"
          + (f"  map {r['map']}" if r.get("map") else ""))
    return 0


def cmd_project(a) -> int:
    jobs = [submit_map(d, a.method, a.dims) for d in a.dirs]  # queued together: they run side by side
    for ch in jobs:
        job = follow(ch)
        if job.error:
            raise AEError(job.error)
        r = job.result
        print(f"{r['map']}  trustworthiness {r['trustworthiness']:.3f}  {r['seconds']:.1f}s", flush=True)
    return 0


def cmd_stop(a) -> int:
    ch = channel.by_id(None, a.job)
    if ch is None:
        raise AEError(f"no job {a.job!r} under {channel.jobs_root() / channel.OWNER_LOCAL}")
    ch.request_stop()
    print(f"stop asked: {ch.id}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.jobs", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train one model as a job (the Train page's settings)")
    tr.add_argument("--dataset", default="digits", help="digits, mnist, fashion-mnist, kmnist, a folder or .npz")
    add_config_flags(tr, ModelConfig)
    add_config_flags(tr, TrainConfig)
    tr.add_argument("--name", default="")
    tr.add_argument("--out-dir", default="", help="where the checkpoint folder goes (default: checkpoints/user)")
    tr.add_argument("--no-map", action="store_true", help="skip the UMAP map (Latent space fits it when opened)")
    tr.set_defaults(fn=cmd_train)
    pr = sub.add_parser("project", help="fit checkpoints' maps as jobs (ae-core project on a worker)")
    pr.add_argument("dirs", nargs="+")
    add_map_flags(pr)
    pr.set_defaults(fn=cmd_project)
    st = sub.add_parser("stop", help="ask a job to stop (a run keeps what it trained)")
    st.add_argument("job")
    st.set_defaults(fn=cmd_stop)
    return p


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        return a.fn(a)
    except (AEError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
