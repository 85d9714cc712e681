"""The two ways the app runs, and the limits a host sets. No Streamlit here.

Local (`make app`): one person on their own machine. Any dataset path, training without a
queue budget, delete anything (a shipped model after typing its name).

Hosted (`LSE_HOSTED=1`, `make host`): strangers share one server. Datasets are the built-in
ones and the folders the host lists in `LSE_DATA_ROOTS`; each visitor's runs and uploads live
in a folder of their own (services.ownership); training goes through one queue (services.jobs.queue)
with a budget; shipped models are read-only.

Every limit is read from the environment when asked, so a test (or a host) changes it without
a restart of the interpreter. The README's limits table names each variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float, lo: float, hi: float) -> float:
    """An environment number clamped into [lo, hi]; a typo falls back to the default."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return min(hi, max(lo, value))


@dataclass(frozen=True)
class Settings:
    hosted: bool
    max_trainings: int  # runs training at once on the server (queue width)
    max_runs: int  # checkpoints one visitor may keep (runs and uploads)
    max_visitor_mb: float  # bytes one visitor's checkpoints may take on disk
    max_total_mb: float  # bytes all visitors' checkpoints may take
    expiry_hours: float  # a browser-session's runs are deleted this long after their last change
    train_budget: float  # epochs × parameters of one hosted run
    train_minutes: float  # wall-clock cap of one hosted run
    gone_seconds: float  # a run whose visitor's pages have not beaten this long is stopped
    cache_mb: float  # what the shared in-memory caches (models, data, maps) may hold
    upload_session_mb: float  # uploaded bytes one browser session may hold in the server's memory
    upload_total_mb: float  # uploaded bytes all sessions together may hold
    upload_reap_s: float  # how often the uploads of ended sessions are looked for and released
    heavy_decodes: int  # large pictures decoded at once, server-wide (ae_core.io.image_files)
    max_queue: int  # runs waiting for a worker, all visitors together
    allow_downloads: bool  # hosted: may a visitor's choice make the server fetch a dataset (OpenML)


def settings() -> Settings:
    return Settings(
        hosted=os.environ.get("LSE_HOSTED", "").strip().lower() in {"1", "true", "yes", "on"},
        max_trainings=int(_number("LSE_MAX_TRAININGS", 1, 1, 64)),
        max_runs=int(_number("LSE_MAX_RUNS", 5, 0, 10_000)),
        max_visitor_mb=_number("LSE_MAX_VISITOR_MB", 200, 0, 1e7),
        max_total_mb=_number("LSE_MAX_TOTAL_MB", 2_000, 0, 1e8),
        expiry_hours=_number("LSE_RUN_EXPIRY_HOURS", 24, 0.01, 1e5),
        train_budget=_number("LSE_TRAIN_BUDGET", 2e8, 1, 1e15),
        train_minutes=_number("LSE_TRAIN_MINUTES", 10, 0.1, 1e4),
        # 120: the visitor's presence is their pages' heartbeat (services.jobs.channel), and a
        # browser runs a hidden tab's timers once a minute after five minutes
        gone_seconds=_number("LSE_GONE_SECONDS", 120, 1, 1e6),
        cache_mb=_number("LSE_CACHE_MB", 1_500, 50, 1e6),
        # 60: one checkpoint zip or embedding file (server.maxUploadSize is 50) with room for a
        # picture beside it; a raw PUT past it is answered 413 (dashboard.shell.upload_budget)
        upload_session_mb=_number("LSE_UPLOAD_SESSION_MB", 60, 1, 1e6),
        upload_total_mb=_number("LSE_UPLOAD_TOTAL_MB", 400, 1, 1e7),
        upload_reap_s=_number("LSE_UPLOAD_REAP_S", 15, 0.2, 3600),
        heavy_decodes=int(_number("LSE_HEAVY_DECODES", 2, 1, 64)),
        max_queue=int(_number("LSE_MAX_QUEUE", 20, 1, 100_000)),
        allow_downloads=os.environ.get("LSE_ALLOW_DOWNLOADS", "").strip().lower() in {"1", "true", "yes", "on"},
    )


def hosted() -> bool:
    return settings().hosted
