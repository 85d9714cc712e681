"""Whose checkpoint is whose, how much each visitor may keep, and cleaning up after them.
No Streamlit here (who the visitor is comes from dashboard.shell.visitor).

Local mode has one owner: every run sits directly in `catalog.USER_DIR` and is "yours".
Hosted mode gives each visitor a folder of their own, `USER_DIR/<owner>`, named by an owner id
that carries no personal data:

    u-<hash>   a signed-in visitor (st.login): the hash of their identity provider's subject;
               their runs stay until they delete them
    s-<hash>   a browser session: a random token; its runs expire `expiry_hours` after their
               last change (the session cannot come back to them once the tab is closed)

A visitor lists, downloads and deletes only what is in their folder; shipped models are never
deleted or shadowed from the browser. Ownership is where a folder is, not a field in a file
that an upload could forge.

Quotas count everything a visitor leaves on disk, as it lies there: their checkpoint folders
and the maps fitted for them (`map_dir`: CACHE_DIR/maps/<owner>/<run>), which expire and go
with their run. `check_saved` measures a save after it lands (an embedding's upload is
compressed; its checkpoint is not) and takes it back when it passed a limit.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from pathlib import Path

from ae_core.errors import AEError
from services import catalog, hosting
from services.jobs.queue import prune

OWNER_ID = re.compile(r"^[us]-[0-9a-f]{8,64}$")
LEFTOVER = re.compile(r"^\.(tmp|upload|deleted|old)-")  # saves, uploads and deletes a crash cut short
SWEEP_EVERY_S = 600.0


class QuotaError(AEError):
    """A visitor's (or the server's) limit on kept checkpoints is reached."""


def user_dir(owner: str | None) -> Path:
    """Where `owner`'s runs and uploads go: USER_DIR itself in local mode (owner None)."""
    if owner is None:
        return catalog.USER_DIR
    if not OWNER_ID.fullmatch(owner):
        raise ValueError(f"not an owner id: {owner!r}")
    return catalog.USER_DIR / owner


def owns(path: str | Path, owner: str | None) -> bool:
    """True when the checkpoint folder `path` is `owner`'s (in local mode: any user run)."""
    try:
        return Path(path).resolve().parent == user_dir(owner).resolve()
    except (OSError, ValueError):
        return False


def may_delete(entry: catalog.CheckpointInfo, owner: str | None) -> bool:
    """Local mode: anything (a shipped model after typing its name). Hosted: only your own."""
    if not hosting.hosted():
        return True
    return not entry.shipped and owns(entry.path, owner)


def shipped_names() -> set[str]:
    """Names a run or upload may not take: a visitor's `pca-16` beside ours would read as ours."""
    try:
        return {p.name.lower() for p in catalog.SHIPPED_DIR.iterdir() if p.is_dir()}
    except OSError:
        return set()


def _folder_bytes(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def maps_root() -> Path:
    return catalog.CACHE_DIR / "maps"


def map_dir(checkpoint: str | Path) -> Path:
    """Where maps fitted for `checkpoint` are cached: beside its owner's other maps for a
    visitor's run (counted in their quota, gone with the run), else by the model's name."""
    p = Path(checkpoint)
    if OWNER_ID.fullmatch(p.parent.name) and p.parent.parent.resolve() == catalog.USER_DIR.resolve():
        return maps_root() / p.parent.name / p.name
    return maps_root() / p.name


def drop_orphan_maps(owner: str) -> list[Path]:
    """Delete `owner`'s cached maps whose run is gone (deleted, expired)."""
    removed = []
    for d in _children(maps_root() / owner):
        if d.is_dir() and not d.is_symlink() and not (catalog.USER_DIR / owner / d.name).is_dir():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def usage(folder: Path) -> tuple[int, int]:
    """(checkpoints, bytes) under one visitor's folder, with the maps cached for them."""
    try:
        runs = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return 0, 0
    maps = maps_root() / folder.name if OWNER_ID.fullmatch(folder.name) else None
    return len(runs), _folder_bytes(folder) + (_folder_bytes(maps) if maps else 0)


def check_quota(owner: str | None, adding_bytes: int = 0, counting: bool = True) -> None:
    """Raise QuotaError when `owner` may not add another checkpoint of `adding_bytes`
    (`counting=False`: the checkpoint is already there, only the bytes are checked).
    Local mode has no quota: the disk is the user's own."""
    s = hosting.settings()
    if not s.hosted:
        return
    if owner is not None:
        drop_orphan_maps(owner)
    count, used = usage(user_dir(owner))
    if counting and count >= s.max_runs:
        raise QuotaError(f"You keep {count} models, the most one visitor may keep on this server "
                         f"({s.max_runs}). Delete one on the Models page first.")
    if used + adding_bytes > s.max_visitor_mb * 1e6:
        raise QuotaError(f"Your models take {used / 1e6:.1f} MB; with this one they would pass the "
                         f"{s.max_visitor_mb:g} MB each visitor may keep. Delete one on the Models page first.")
    if _folder_bytes(catalog.USER_DIR) + _folder_bytes(maps_root()) + adding_bytes > s.max_total_mb * 1e6:
        raise QuotaError("The server's space for visitors' models is full; try again later.")


def check_saved(owner: str | None, path: str | Path) -> None:
    """After a save landed in `owner`'s folder: its size on disk counted, not the upload's.
    Past a limit the save is deleted and QuotaError says so."""
    try:
        check_quota(owner, 0, counting=False)
    except QuotaError as e:
        size = _folder_bytes(Path(path))
        shutil.rmtree(path, ignore_errors=True)
        raise QuotaError(f"Saved, it takes {size / 1e6:.1f} MB on disk, more than your space allows, so it "
                         f"was not kept. {e}") from None


# ---------------------------------------------------------------- cleaning up
def remove_leftovers(root: Path | None = None, older_than_s: float = 0.0) -> list[Path]:
    """Delete what a killed server left under `root` (default USER_DIR): empty reserved run
    folders (a name claimed by a run that never saved) and hidden save/upload/delete folders.
    Only at start-up (dashboard.shell.frame, the first page run of a server process): while the server runs,
    a run's reserved folder is empty until its save lands."""
    root = Path(root or catalog.USER_DIR)
    removed, now = [], time.time()
    folders = [root, *(p for p in _children(root) if OWNER_ID.fullmatch(p.name))]
    for folder in folders:
        for p in _children(folder):
            try:
                old = now - p.lstat().st_mtime >= older_than_s
                if p.is_symlink() or not p.is_dir() or not old:
                    continue
                if LEFTOVER.match(p.name):
                    shutil.rmtree(p, ignore_errors=True)
                    removed.append(p)
                elif not p.name.startswith(".") and not any(p.iterdir()) and not OWNER_ID.fullmatch(p.name):
                    p.rmdir()
                    removed.append(p)
            except OSError:
                continue
    return removed


def expire_sessions(now: float | None = None) -> list[Path]:
    """Delete browser-session runs (USER_DIR/s-*/<run>) unchanged for `expiry_hours`, then the
    session folders left empty."""
    now = time.time() if now is None else now
    limit = hosting.settings().expiry_hours * 3600
    removed = []
    for folder in _children(catalog.USER_DIR):
        if not (folder.name.startswith("s-") and OWNER_ID.fullmatch(folder.name)):
            continue
        for run in _children(folder):
            try:
                if run.is_dir() and not run.is_symlink() and now - run.stat().st_mtime > limit:
                    shutil.rmtree(run, ignore_errors=True)
                    removed.append(run)
            except OSError:
                continue
        drop_orphan_maps(folder.name)
        try:
            if now - folder.stat().st_mtime > limit and not any(folder.iterdir()):
                folder.rmdir()
        except OSError:
            pass
    return removed


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


_sweep_lock = threading.Lock()
_last_sweep = {"at": None}


def sweep_once_in_a_while() -> None:
    """Called on every page run: the first call of a server process removes crash leftovers;
    after that, at most every SWEEP_EVERY_S, expired session runs go (hosted mode), and
    finished jobs' records (services.jobs) older than a day."""
    if not _sweep_lock.acquire(blocking=False):
        return
    try:
        last, now = _last_sweep["at"], time.time()
        if last is None:  # a save of the CLI's that is under a minute old may still be running
            remove_leftovers(older_than_s=60)
        elif now - last < SWEEP_EVERY_S:
            return
        if hosting.hosted():
            expire_sessions(now)
        prune()  # finished jobs' records, after a day
        _last_sweep["at"] = now
    finally:
        _sweep_lock.release()
