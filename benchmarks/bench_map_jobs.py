"""Map fits out of the web server (issue 37) and their progress (issue 36), in a real browser.

Starts `streamlit run app.py` from this tree and from `--before REF` (a commit of this repository,
unpacked with `git archive`; default `main`), each on a free loopback port with empty user and map
folders, and on each:

1. opens Latent space on the model's saved UMAP map (torch, the model, the data and its codes
   loaded: the server's resident memory then is the baseline),
2. opens it again with the map `--method` (default t-SNE, which no shipped model saves, so it is
   fitted now), sampling the server process's resident memory every 0.2 s until the map is drawn,
   and times that page in the page's own clock (navigation start to the drawn map).

Prints, per tree: the server's RSS at the baseline, its peak during the fit and after it, the
worker processes' RSS (after: the fit's memory is theirs), the page time, and the ratios after /
before. With `--shot PATH` the page of this tree is photographed (1400x900) while it waits, once
its progress bar names a step of the fit.

    .venv-dev/bin/python benchmarks/bench_map_jobs.py                      # mnist, mnist-undercomplete-32, t-SNE
    .venv-dev/bin/python benchmarks/bench_map_jobs.py --before main --shot /tmp/map-progress.png

Runs from the test environment (.venv-dev: playwright); needs /usr/bin/chromium and MNIST's test
images in ../shared/data/mnist (or LSE_MNIST_DIR).
"""

from __future__ import annotations

import argparse
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


def measure(root: Path, work: Path, a, shot: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    with StreamlitServer(work, root=root, start_timeout=180) as srv, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        base = f"Latent_space?data={a.data}&model={a.model}"
        page.goto(srv.url(base + "&map=UMAP"), wait_until="domcontentloaded", timeout=TIMEOUT_MS)
        shown_at(page, MAP, timeout_ms=TIMEOUT_MS)
        wait_idle(page, TIMEOUT_MS)
        time.sleep(2)
        baseline = server_mb(srv.pid)
        peak, done = [baseline], threading.Event()

        def sample():
            while not done.is_set():
                peak.append(server_mb(srv.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        page.goto(srv.url(f"{base}&map={LABELS[a.method]}"), wait_until="domcontentloaded", timeout=TIMEOUT_MS)
        if shot is not None:
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
        workers = rss_mb(srv.pid) - after
        alive = srv.healthy()
        browser.close()
    return {"baseline": baseline, "peak": max(peak), "after": after, "workers": workers, "seconds": seconds,
            "alive": alive}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="main", help="the commit to compare with (git archive of it)")
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--model", default="mnist-undercomplete-32")
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
    print(f"{LABELS[a.method]} map of {a.model}'s codes on {a.data}, first time (nothing cached):")
    print(f"{'tree':8} {'server MiB: idle':>17} {'peak':>8} {'after':>8} {'workers MiB':>12} {'page s':>8} alive")
    for name, r in rows.items():
        print(f"{name:8} {r['baseline']:17.0f} {r['peak']:8.0f} {r['after']:8.0f} {r['workers']:12.0f} "
              f"{r['seconds']:8.1f} {r['alive']}")
    b, f = rows["before"], rows["after"]
    print(f"server growth during the fit, after/before: {(f['peak'] - f['baseline']):.0f} / "
          f"{(b['peak'] - b['baseline']):.0f} MiB; retained after it: {(f['after'] - f['baseline']):.0f} / "
          f"{(b['after'] - b['baseline']):.0f} MiB; page time ratio after/before {f['seconds'] / b['seconds']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
