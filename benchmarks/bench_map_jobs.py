"""Map fits out of the web server (issue 37) and their progress (issue 36), in a real browser.

Starts `streamlit run app.py` from this tree and from `--before REF` (a commit of this repository,
unpacked with `git archive`; default `main`), each on a free loopback port with empty user and map
folders, and on each:

1. for each of `--models` in turn, opens Latent space on the model's saved UMAP map (torch, the
   model, the data, its codes, errors and images loaded), then
2. opens it with the map `--method` (default t-SNE, which no shipped model saves, so it is
   fitted now: on MNIST's 10,000 images a sample of 5,000 fitted, the rest placed), sampling the
   server process's resident memory every 0.2 s until the map is drawn, and times that page in
   the page's own clock (navigation start to the drawn map).

Prints, per tree and fit: the server's RSS before, at its peak during and after the fit, the
worker processes' RSS (after: the fit's memory is theirs; the first fit also starts the pool),
the page time, and the ratios after / before. With `--shot PATH` the page of this tree is
photographed (1400x900) while it waits, once its progress bar names a step of the fit.

    .venv-dev/bin/python benchmarks/bench_map_jobs.py      # mnist; mnist-undercomplete-32 then mnist-vae-32; t-SNE
    .venv-dev/bin/python benchmarks/bench_map_jobs.py --before main --shot /tmp/map-progress.png

Runs from the test environment (.venv-dev: playwright); needs /usr/bin/chromium and MNIST's test
images in ../shared/data/mnist (or LSE_MNIST_DIR), handed to both servers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser_support import (MAP, StreamlitServer, _vm_rss_kb, browser_missing, checkout,  # noqa: E402
                             launch_chromium, rss_mb, shown_at, wait_idle)

TIMEOUT_MS = 600_000
LABELS = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA"}


def server_mb(pid: int) -> float:
    return _vm_rss_kb(pid) / 1024


def measure(root: Path, work: Path, a, shot: Path | None) -> list[dict]:
    """One server from `root`: the baseline, then each model's map fitted in turn; a row per fit."""
    from playwright.sync_api import sync_playwright

    # the data where either tree finds it (a checkout in a temporary folder has no ../shared beside it)
    env = {"LSE_MNIST_DIR": os.environ.get("LSE_MNIST_DIR") or str(ROOT.parent / "shared" / "data" / "mnist")}
    rows = []
    with StreamlitServer(work, root=root, start_timeout=180, env=env) as srv, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for i, model in enumerate(a.models):
            # the model's saved UMAP map first: its weights, codes, errors and images loaded, so what the
            # server gains next is the fit's and the t-SNE page's own
            page.goto(srv.url(f"Latent_space?data={a.data}&model={model}&map=UMAP"), wait_until="domcontentloaded",
                      timeout=TIMEOUT_MS)
            shown_at(page, MAP, timeout_ms=TIMEOUT_MS)
            wait_idle(page, TIMEOUT_MS)
            alerts = page.locator('[data-testid="stAlert"]').all_inner_texts()
            if alerts:  # a measurement of another page than the one asked for (data not found, ...) is none
                raise SystemExit(f"{root}: the page says {alerts[0][:300]!r}")
            time.sleep(2)
            before = server_mb(srv.pid)
            peak, done = [before], threading.Event()

            def sample(peak=peak, done=done):
                while not done.is_set():
                    peak.append(server_mb(srv.pid))
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            page.goto(srv.url(f"Latent_space?data={a.data}&model={model}&map={LABELS[a.method]}"),
                      wait_until="domcontentloaded", timeout=TIMEOUT_MS)
            if shot is not None and i == 0:
                try:  # the progress bar, once it names a step of the fit
                    page.wait_for_selector('[data-testid="stProgress"]:has-text("iteration"), '
                                           '[data-testid="stProgress"]:has-text("epoch")', timeout=TIMEOUT_MS)
                    time.sleep(1.0)
                    page.screenshot(path=str(shot))
                except Exception as e:  # noqa: BLE001 - the "before" tree has no such bar
                    print(f"no progress bar to photograph: {type(e).__name__}", file=sys.stderr)
            seconds = shown_at(page, MAP, timeout_ms=TIMEOUT_MS)
            wait_idle(page, TIMEOUT_MS)
            done.set()
            sampler.join()
            after = server_mb(srv.pid)
            rows.append({"model": model, "before": before, "peak": max(peak), "after": after,
                         "workers": rss_mb(srv.pid) - after, "seconds": seconds, "alive": srv.healthy()})
        browser.close()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="main", help="the commit to compare with (git archive of it)")
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--models", nargs="+", default=["mnist-undercomplete-32", "mnist-vae-32"],
                    help="fitted one after the other: the first starts the worker pool, the next finds it warm")
    ap.add_argument("--method", default="tsne", choices=sorted(LABELS))
    ap.add_argument("--shot", type=Path, default=None, help="a 1400x900 PNG of this tree's page while it waits")
    a = ap.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(missing, file=sys.stderr)
        return 2
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        before = checkout(a.before, tmp / "before")
        rows["before"] = measure(before, tmp / "work-before", a, None)
        rows["after"] = measure(ROOT, tmp / "work-after", a, a.shot)
    print(f"{LABELS[a.method]} maps on {a.data}, fitted one after the other in one server (nothing cached); "
          "the server's resident memory (MiB) before, at its peak during and after each fit:")
    print(f"{'tree':7} {'model':26} {'server before':>13} {'peak':>6} {'after':>6} {'workers':>8} {'page s':>7} alive")
    for name, fits in rows.items():
        for r in fits:
            print(f"{name:7} {r['model']:26} {r['before']:13.0f} {r['peak']:6.0f} {r['after']:6.0f} "
                  f"{r['workers']:8.0f} {r['seconds']:7.1f} {r['alive']}")
    for i, model in enumerate(a.models):
        b, f = rows["before"][i], rows["after"][i]
        print(f"{model}: server growth at peak after/before {f['peak'] - f['before']:.0f} / {b['peak'] - b['before']:.0f} "
              f"MiB, kept {f['after'] - f['before']:.0f} / {b['after'] - b['before']:.0f} MiB; page time ratio "
              f"after/before {f['seconds'] / b['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
