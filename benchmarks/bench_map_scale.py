"""The Latent space page with many points, in headless Chromium (software WebGL): time from
navigation to the drawn map, and from the end of a box selection of about 1,000 points to
their images on screen, at a given number of points.

For each `--points` N it writes an `.npz` of N 8x8 images (scikit-learn's 1,797 digits, then
copies with a little noise), starts the dashboard (local mode, temporary folders), opens
Latent space on `?data=<that file>&model=pca-16` once cold (codes computed, the map fitted
and cached: reported, not a target), then `--repeats` fresh sessions timed from navigation
start to the map's canvas with all N points in Plotly's data, and one box selection grown
around the densest point until it holds about 1,000 points.

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

from browser_support import PLOT, StreamlitServer, browser_missing, launch_chromium, wait_idle  # noqa: E402

TIMEOUT_MS = int(__import__("os").environ.get("BENCH_TIMEOUT_MS", 600_000))
POINTS_JS = """() => {
  const gd = document.querySelector('.js-plotly-plot');
  return gd && gd._fullData ? gd._fullData.reduce(
      (s, t) => s + (t.mode === 'markers' && t.customdata ? t.x.length : 0), 0) : 0;
}"""
# A square around the densest point, grown until it holds about `want` points: its page corners.
BOX_JS = """(want) => {
  const gd = document.querySelector('.js-plotly-plot');
  const L = gd._fullLayout;
  const px = [], py = [];
  for (const t of gd._fullData) if (t.mode === 'markers' && t.customdata)
    for (let i = 0; i < t.x.length; i++) { px.push(L.xaxis._offset + L.xaxis.d2p(t.x[i]));
                                           py.push(L.yaxis._offset + L.yaxis.d2p(t.y[i])); }
  const step = Math.max(1, Math.floor(px.length / 2000));
  let best = 0, most = -1;
  for (let i = 0; i < px.length; i += step) {
    let k = 0;
    for (let j = 0; j < px.length; j += step) if (Math.abs(px[i] - px[j]) < 15 && Math.abs(py[i] - py[j]) < 15) k++;
    if (k > most) { most = k; best = i; }
  }
  const r = gd.getBoundingClientRect();
  let h = 2, n = 0;
  for (; h < 400; h += 1) {
    n = 0;
    for (let j = 0; j < px.length; j++) if (Math.abs(px[best] - px[j]) < h && Math.abs(py[best] - py[j]) < h) n++;
    if (n >= want) break;
  }
  return {x: r.left + px[best], y: r.top + py[best], h: h, n: n};
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


def time_map(browser, url: str, n: int) -> float:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        page.locator(f"{PLOT} canvas").first.wait_for(state="visible", timeout=TIMEOUT_MS)
        page.wait_for_function(f"() => ({POINTS_JS})() >= {n}", timeout=TIMEOUT_MS)
        return page.evaluate("performance.now()") / 1000
    finally:
        ctx.close()


def time_box(browser, url: str, want: int = 1000) -> tuple[float, int]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(url)
        page.locator(f"{PLOT} canvas").first.wait_for(state="visible")
        wait_idle(page, TIMEOUT_MS)
        page.locator(PLOT).first.hover()
        page.locator('.modebar-btn[data-title="Box Select"]').first.click()
        b = page.evaluate(BOX_JS, want)
        page.mouse.move(b["x"] - b["h"], b["y"] - b["h"])
        page.mouse.down()
        page.mouse.move(b["x"] + b["h"], b["y"] + b["h"], steps=5)
        t0 = time.perf_counter()
        page.mouse.up()
        panel = page.get_by_role("tabpanel").filter(has=page.locator('[data-testid="stCaptionContainer"]',
                                                                      has_text=" selected"))
        panel.locator('[data-testid="stImage"]').first.wait_for(state="visible")
        return time.perf_counter() - t0, b["n"]
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
        for n in a.points:
            data = write_data(n, Path(tmp))
            url = srv.url(f"Latent_space?data={data}&model=pca-16")
            t0 = time.perf_counter()
            time_map(browser, url, n)
            cold = time.perf_counter() - t0
            warm = [time_map(browser, url, n) for _ in range(a.repeats)]
            box, got = time_box(browser, url, min(1000, n // 4))  # a box inside the plot on small maps
            rows.append((n, cold, statistics.median(warm), warm, box, got))
            print(f"{n:>7,} points: cold {cold:.1f} s (codes and map fitted once) | map drawn, fresh session: "
                  f"median {statistics.median(warm):.2f} s ({', '.join(f'{t:.2f}' for t in warm)}) | box of {got:,} "
                  f"points to their images {box:.2f} s", flush=True)
        browser.close()
    print("\n| points | cold visit (fit once) | map drawn (median) | box selection -> images |")
    print("|---:|---:|---:|---:|")
    for n, cold, med, _, box, got in rows:
        print(f"| {n:,} | {cold:.1f} s | {med:.2f} s | {box:.2f} s ({got:,} points) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
