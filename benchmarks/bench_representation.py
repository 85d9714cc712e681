"""How long the "What is a representation?" page takes to redraw after a change, in a real
browser, against its 1 s target (issue 34).

Starts the dashboard on a free loopback port, opens the page in headless Chromium, then changes
one control at a time (each dataset, the number of points, the noise, the seed: every change a
setting not seen before, so the three fits run) and measures in the page's own clock
(performance.now()) from the click to the animation frame in which the run has ended and the
page shows the new setting's sentence with its six charts drawn (pictures loaded and decoded,
or Plotly charts). The fits and the pictures alone are timed too, in this process, for the same
settings (dashboard.data.feature_fits, dashboard.render.representation), so the table says how
much of the time is the model, how much the drawing on the server and how much the rest (Streamlit,
the browser).

    .venv-dev/bin/python benchmarks/bench_representation.py [--target 1.0] [--readme benchmarks/README.md]
    .venv-dev/bin/python benchmarks/bench_representation.py --before 0aa6c2d   # beside the page of a commit (~4 min)

Needs Chromium at /usr/bin/chromium and playwright (the test environment, .venv-dev).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import (  # noqa: E402 - after the path is set
    StreamlitServer,
    browser_missing,
    checkout,
    exceptions,
    launch_chromium,
    wait_idle,
)
from readme_section import publish  # noqa: E402 - benchmarks/ is the script folder: on sys.path

from ae_core.analysis.feature_maps import FEATURES, telling_pair  # noqa: E402
from dashboard.data.feature_fits import representation_fits  # noqa: E402
from dashboard.render.representation import pictures  # noqa: E402

MARK_START, MARK_END = "<!-- bench_representation:start -->", "<!-- bench_representation:end -->"
TIMEOUT_MS = 120_000
# (what is changed, the control, its new value, the dataset then shown, points, noise, seed)
STEPS = [("dataset moons", "data", "moons", "moons", 400, 0.1, 0),
         ("dataset xor", "data", "xor", "xor", 400, 0.1, 0),
         ("dataset spirals", "data", "spirals", "spirals", 400, 0.1, 0),
         ("points 1,000", "n", 1000, "spirals", 1000, 0.1, 0),
         ("points 5,000", "n", 5000, "spirals", 5000, 0.1, 0),
         ("dataset circles (5,000 points)", "data", "circles", "circles", 5000, 0.1, 0),
         ("seed 1", "seed", 1, "circles", 5000, 0.1, 1),
         ("points 400", "n", 400, "circles", 400, 0.1, 1),
         # the page's own cost: a setting seen before, its fits from the cache
         ("seed 0 again (fits cached)", "seed", 0, "circles", 400, 0.1, 0)]

# armed before each change: a mutation observer notes the run starting, however short the run
_ARM = """() => {
  window.__benchSeen = false;
  const app = document.querySelector('[data-testid="stApp"]');
  new MutationObserver((_, o) => {
    if (app.getAttribute('data-test-script-state') === 'running') { window.__benchSeen = true; o.disconnect(); }
  }).observe(app, {attributes: true});
  return performance.now();
}"""
_RUNNING = "() => window.__benchSeen"
_RUN_OVER = """() => document.querySelector('[data-testid="stApp"]')
  .getAttribute('data-test-script-state') === 'notRunning' ? performance.now() : false"""

# the frame in which the run is over and the sentence of `name` shows with six charts drawn: Plotly
# charts (the 3D view, and every chart of the page before its pictures) or pictures loaded and decoded
_DRAWN = """(name) => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  const said = [...document.querySelectorAll('[data-testid="stMarkdownContainer"] p')]
      .some(p => p.textContent.startsWith('On ' + name + ','));
  const pics = [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stImage"] img')];
  const charts = document.querySelectorAll('.js-plotly-plot .main-svg').length + pics.length;
  const loaded = pics.every(i => i.complete && i.naturalWidth > 0);
  const stale = document.querySelectorAll('[data-stale="true"]').length;
  return said && charts >= 6 && loaded && !stale ? performance.now() : false;
}"""


def change(page, control: str, value) -> None:
    """Set one control as a visitor does: a click on a dataset button, a number typed and Enter."""
    if control == "data":
        page.locator("button").filter(has_text=re.compile(f"^{value}$")).first.click()
        return
    label = {"n": "Points", "seed": "Seed"}[control]
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def part_seconds(dataset: str, n: int, noise: float, seed: int) -> tuple[float, float]:
    """(the three fits with their boundary grids, the six pictures of them) in seconds, in this process:
    what the server computes for a setting it has not seen."""
    t0 = time.perf_counter()
    r = representation_fits.__wrapped__(dataset, n, noise, seed)  # the function, not Streamlit's cache
    t1 = time.perf_counter()
    cols = {k: telling_pair(f["features"], f["weights"]) if k != "raw" else (0, 1) for k, f in r["fits"].items()}
    pictures(r["x"], r["y"], r["test"], r["box"], {k: f["grid"] for k, f in r["fits"].items()},
             {k: (None if k == "raw" else r["fits"][k]["features"][:, list(cols[k])], ("a", "b")) for k in FEATURES})
    return t1 - t0, time.perf_counter() - t1


def measure(page, step) -> tuple[float, float]:
    """(seconds to the new setting drawn, seconds to the end of the script's run) for one step."""
    what, control, value, shown, n, noise, seed = step
    wait_idle(page, TIMEOUT_MS)
    page.wait_for_timeout(300)
    t0 = page.evaluate(_ARM)
    change(page, control, value)
    # the rerun has begun: the sentence of the setting before is not taken for the new one
    page.wait_for_function(_RUNNING, polling="raf", timeout=TIMEOUT_MS)
    ran = page.wait_for_function(_RUN_OVER, polling="raf", timeout=TIMEOUT_MS).json_value()
    done = page.wait_for_function(_DRAWN, arg=shown, polling="raf", timeout=TIMEOUT_MS).json_value()
    return (done - t0) / 1000, (ran - t0) / 1000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", type=float, default=1.0)
    ap.add_argument("--before", default="", help="a commit to run beside this checkout, each step alternated")
    ap.add_argument("--readme", default=None, help="update this README's bench_representation section")
    args = ap.parse_args()
    missing = browser_missing()
    if missing:
        print(f"bench_representation: cannot run: {missing}")
        return 2
    from playwright.sync_api import sync_playwright  # playwright: heavy, only for the browser run

    load0 = os.getloadavg()[0]
    rows, errs = [], []
    with tempfile.TemporaryDirectory(prefix="bench-repr-") as tmp, sync_playwright() as p:
        servers = {"now": StreamlitServer(Path(tmp) / "now")}
        if args.before:
            servers["before"] = StreamlitServer(Path(tmp) / "before-srv", root=checkout(args.before, Path(tmp) / "b"))
        browser = launch_chromium(p)
        try:
            pages = {}
            for k, srv in servers.items():
                srv.start()
                pages[k] = browser.new_page(viewport={"width": 1400, "height": 900})
                pages[k].goto(srv.url("Representation"), wait_until="commit", timeout=TIMEOUT_MS)
                first = pages[k].wait_for_function(_DRAWN, arg="circles", polling="raf", timeout=TIMEOUT_MS).json_value()
                print(f"  {k}: first load (circles, 400 points) {first / 1000:.2f} s from navigation start", flush=True)
            part_seconds("circles", 100, 0.1, 0)  # the imports, before anything is timed here
            for i, step in enumerate(STEPS):
                order = list(pages) if i % 2 == 0 else list(pages)[::-1]
                got = {k: measure(pages[k], step) for k in order}
                fits = part_seconds(*step[3:])
                rows.append((step[0], got, fits))
                print(f"  {step[0]}: " + ", ".join(f"{k} redrawn in {t:.2f} s (run over at {r:.2f} s)"
                                                   for k, (t, r) in got.items())
                      + f"; the fits alone {fits[0]:.2f} s, the pictures alone {fits[1]:.2f} s",
                      flush=True)
            errs = [e for pg in pages.values() for e in exceptions(pg)]
        finally:
            browser.close()
            for srv in servers.values():
                srv.stop()
    load1 = os.getloadavg()[0]
    publish(section(rows, args, errs, load0, load1), args.readme, MARK_START, MARK_END)
    return 0


def section(rows, args, errs, load0: float, load1: float) -> str:
    before = bool(args.before)
    lines = [MARK_START, "## The representation page's redraw (`bench_representation.py`)", "",
             f"Measured {time.strftime('%Y-%m-%d')} in headless Chromium at 1400×900 (software WebGL), in the page's "
             "own clock: from a change of one control to the frame in which the run has ended and the new setting's "
             "sentence and six charts are drawn ('run over': the frame in which the page learned that the server's "
             "run ended, every element received; the rest is the browser drawing them). Every setting is new to the "
             "server (the three fits run: raw, quadratic, a 2-32-3 network then logistic regression on its code) but "
             "the last; 'fits alone' is the same three fits with their boundary grids and 'pictures alone' the six "
             "2D charts drawn from them (PNG), both timed in the bench's process after a warm-up. "
             + (f"Beside it, commit {args.before} on a second server, each step alternated (which goes first swaps). "
                if before else "")
             + f"Target {args.target:g} s. Load average {load0:.1f} → {load1:.1f} on {os.cpu_count()} cores.", ""]
    head = (["change", "redrawn (s)", "÷ target", "run over (s)"] + (["before: redrawn (s)", "before ÷ now"] if before
                                                                     else [])
            + ["the fits alone (s)", "the pictures alone (s)"])
    lines += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for what, got, fits in rows:
        t, r = got["now"]
        cells = [what, f"{t:.2f}", f"{t / args.target:.2f}", f"{r:.2f}"]
        if before:
            cells += [f"{got['before'][0]:.2f}", f"{got['before'][0] / t:.2f}"]
        lines.append("| " + " | ".join(cells + [f"{fits[0]:.2f}", f"{fits[1]:.2f}"]) + " |")
    worst = max(rows, key=lambda r: r[1]["now"][0])
    lines += ["", f"Slowest: {worst[0]}, {worst[1]['now'][0]:.2f} s ({worst[1]['now'][0] / args.target:.2f}× the "
              f"target); {sum(r[1]['now'][0] <= args.target for r in rows)}/{len(rows)} changes within it"
              + (f". Exceptions on the page: {errs}" if errs else "."), "", MARK_END]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
