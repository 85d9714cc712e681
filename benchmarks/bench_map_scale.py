"""The Latent space page with many points, in headless Chromium (software WebGL): time from
navigation to the drawn map, and from the end of a box selection of about 1,000 points to
their images on screen, at a given number of points.

For each `--points` N it writes an `.npz` of N 8x8 images (scikit-learn's 1,797 digits, then
copies with a little noise), starts the dashboard (local mode, temporary folders), opens
Latent space on `?data=<that file>&model=pca-16` once cold (codes computed, the map fitted
and cached: reported, not a target), then `--repeats` fresh sessions timed from navigation
start to the map drawn with all N points (dashboard/components/latent_map/map.js), in fresh browser profiles and in
new tabs of one profile (its cache kept: a returning visitor), each beside the time to the page's
title (Streamlit's own start, which every page waits for: the baseline), and one box selection
around the densest point that holds about 1,000 points.

    .venv-dev/bin/python benchmarks/bench_map_scale.py [--points 1797 10000 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser_support import (MAP, StreamlitServer, box_around, browser_missing, densest_point,  # noqa: E402
                             launch_chromium, map_points, shown_at, wait_idle)

TIMEOUT_MS = int(__import__("os").environ.get("BENCH_TIMEOUT_MS", 600_000))
VIEWPORT = {"width": 1400, "height": 1200}
# Checked in the page at every animation frame (as browser_support.shown_at), so a time is the
# frame it happened in, not the next poll of a Playwright wait.
SELECTION_SHOWN = """() => {  // the first image beside the map under 'N selected', loaded and laid out
  for (const p of document.querySelectorAll('[role=tabpanel]')) {
    if (![...p.querySelectorAll('[data-testid=stCaptionContainer]')].some(c => c.textContent.includes(' selected')))
      continue;
    const im = p.querySelector('[data-testid=stImage] img');
    if (im && im.complete && im.naturalWidth > 0 && im.getBoundingClientRect().width > 0) return performance.now();
  }
  return false;
}"""


def write_data(n: int, folder: Path) -> Path:
    from sklearn.datasets import load_digits

    d = load_digits()
    base, y = d.images / 16.0, d.target
    reps = -(-n // len(base))
    rng = np.random.default_rng(0)
    x = np.concatenate([np.clip(base + (rng.normal(scale=0.05, size=base.shape) if r else 0), 0, 1)
                        for r in range(reps)])[:n].astype(np.float32)
    path = folder / f"digits-{n}.npz"
    np.savez(path, x=x, y=np.tile(y, reps)[:n])
    return path


def time_map(browser, url: str, n: int, context=None) -> tuple[float, float]:
    """Seconds from navigation start to the map drawn with all `n` points, and to the page's
    title, in a fresh browser profile (nothing cached) or, given `context`, a new tab of it."""
    ctx = context or browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        title = shown_at(page, "h1", "Latent space", TIMEOUT_MS)
        m = page.locator(f'.lse-map[data-drawn="{n}"]').first
        m.wait_for(state="attached", timeout=TIMEOUT_MS)
        return float(m.get_attribute("data-drawn-at")) / 1000, title  # the map's own clock of its draw
    finally:
        page.close()
        if context is None:
            ctx.close()


def time_box(browser, url: str, want: int = 1000) -> tuple[float, int]:
    """Seconds from the end of a box of about `want` points (around the densest point) to the
    first of their images beside the map, and how many points the box held."""
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.locator(MAP).first.wait_for(state="attached")
        wait_idle(page, TIMEOUT_MS)
        page.locator(".lse-btn", has_text="Box select").click()
        page.locator(".lse-over").first.scroll_into_view_if_needed()
        shown = map_points(page)
        c = densest_point(shown, radius=15)
        h, _ = box_around(shown, c["x"], c["y"], want)
        r = page.locator(".lse-over").first.bounding_box()  # the box stays on the map
        x0, y0 = max(c["x"] - h, r["x"] + 2), max(c["y"] - h, r["y"] + 2)
        x1, y1 = min(c["x"] + h, r["x"] + r["width"] - 2), min(c["y"] + h, r["y"] + r["height"] - 2)
        n = sum(x0 <= x <= x1 and y0 <= y <= y1 for x, y, _ in shown)
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x1, y1, steps=5)
        t0 = page.evaluate("performance.now()")
        page.mouse.up()
        shown_at = page.wait_for_function(SELECTION_SHOWN, polling="raf").json_value()
        return (shown_at - t0) / 1000, n
    finally:
        ctx.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[1797, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    if browser_missing():
        print(f"skipped: {browser_missing()}")
        return 0
    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory() as tmp, StreamlitServer(Path(tmp) / "srv", start_timeout=120) as srv, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        returning = browser.new_context(viewport=VIEWPORT)  # one profile, its cache kept
        for n in a.points:
            data = write_data(n, Path(tmp))
            url = srv.url(f"Latent_space?data={data}&model=pca-16")
            t0 = time.perf_counter()
            time_map(browser, url, n)
            cold = time.perf_counter() - t0
            fresh, again = [], []
            for _ in range(a.repeats):  # alternated
                fresh.append(time_map(browser, url, n))
                again.append(time_map(browser, url, n, returning))
            box, got = time_box(browser, url, min(1000, n // 4))  # a box inside the plot on small maps
            (fm, ft), (rm, rt) = ([statistics.median(v) for v in zip(*runs)] for runs in (fresh, again))
            rows.append((n, cold, fm, ft, rm, rt, box, got))
            print(f"{n:>7,} points: cold {cold:.1f} s (codes and map fitted once) | fresh profile: map "
                  f"{', '.join(f'{t:.2f}' for t, _ in fresh)} s, title {ft:.2f} s | returning: map "
                  f"{', '.join(f'{t:.2f}' for t, _ in again)} s, title {rt:.2f} s | box of {got:,} points "
                  f"to their images {box:.2f} s", flush=True)
        returning.close()
        browser.close()
    print("\nMedians. The title is Streamlit's own start, which every page waits for (the baseline);")
    print("ratio = map / title.")
    print("| points | cold visit (fit once) | fresh profile: map (title, ratio) | returning: map (title, ratio) "
          "| box selection -> images |")
    print("|---:|---:|---:|---:|---:|")
    for n, cold, fm, ft, rm, rt, box, got in rows:
        print(f"| {n:,} | {cold:.1f} s | {fm:.2f} s ({ft:.2f} s, {fm / ft:.2f}) | {rm:.2f} s ({rt:.2f} s, "
              f"{rm / rt:.2f}) | {box:.2f} s ({got:,} points) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
