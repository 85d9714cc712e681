"""Slider move -> decoded image, timed in the page's own clock, in headless Chromium.

Opens Latent space for one model with the decoder row open (?decoder=true: its Traverse tab) and
alternates two sliders `--repeats` times each, one step right then one step left:

* walk: a unit slider beside the traversal. It lives in its own st.fragment, so a move reruns that
  panel only (one decoding) and the decoded image beside it changes.
* baseline: the traversal's Steps slider, in the map's fragment: a move reruns the map, its tabs
  and the traversal (its pictures cached after the first visit of each value), as a unit slider
  would if it were not a fragment of its own.

Each move is timed from the key press (a keydown listener's performance.now()) to the moment the
image it changes gets its new picture (a MutationObserver on the image's src), in the page. Prints
the median and 90th percentile of each and their ratio, and the issue's target (300 ms). Also
times a drawn digit: pen lift on the drawing pad -> the "Your image" panel's prepared image.

    .venv-dev/bin/python benchmarks/bench_walk_latency.py [--model mnist-vae-32] [--repeats 15]

MNIST models need LSE_MNIST_DIR (or ../shared/data/mnist); default model: digits' vae-16 when
MNIST is absent. Needs Chromium at /usr/bin/chromium and playwright (.venv-dev).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TARGET_MS = 300.0

# Time from the next `event` (keydown, pointerup) to the next change of the image's src inside `sel`.
_ARM = """([sel, event]) => { window.__lseWait = new Promise((done) => {
  const box = document.querySelector(sel);
  const img = box && box.querySelector('img');
  if (!img) { done(-1); return; }
  let t0 = null;
  const key = () => { t0 = performance.now(); };
  document.addEventListener(event, key, { capture: true, once: true });
  const seen = img.getAttribute('src');
  const obs = new MutationObserver(() => {
    const now = box.querySelector('img');
    if (now && now.getAttribute('src') !== seen && t0 !== null) { obs.disconnect(); done(performance.now() - t0); }
  });
  obs.observe(box, { subtree: true, attributes: true, childList: true, attributeFilter: ['src'] });
  setTimeout(() => { obs.disconnect(); done(-1); }, 20000);
}); }"""  # kept in the page, not returned: Playwright would wait for a returned promise before the key press
_WAIT = "() => window.__lseWait"


def move(page, slider, image_sel: str, key: str) -> float:
    """Press `key` on `slider`; ms until the image in `image_sel` changes (-1 if it never did)."""
    from browser_support import wait_idle

    slider.focus()
    page.evaluate(_ARM, [image_sel, "keydown"])
    page.keyboard.press(key)
    ms = page.evaluate(_WAIT)
    wait_idle(page, 60_000)
    return float(ms)


def pen_lift(page, wobble: int = 0) -> float:
    """Draw a 7 on the pad (see draw_seven); ms from the pen lift to the prepared image in Your image."""
    from browser_support import wait_idle

    page.get_by_role("tab", name="Your image").click()
    pad = page.locator(".lse-pad-canvas").first
    pad.wait_for(state="visible")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    if page.locator(".st-key-lse-yours-prepared img").count():
        page.evaluate(_ARM, [".st-key-lse-yours-prepared", "pointerup"])
        draw_seven(page, box["x"], box["y"], box["width"], wobble=wobble)
        ms = float(page.evaluate(_WAIT))
    else:  # the first drawing: nothing to compare against, time to the prepared image appearing
        page.evaluate("""() => { window.__lseLift = null;
          document.addEventListener('pointerup', () => { window.__lseLift = performance.now(); },
                                    { capture: true, once: true }); }""")
        draw_seven(page, box["x"], box["y"], box["width"])
        page.locator(".st-key-lse-yours-prepared img").first.wait_for(state="attached", timeout=60_000)
        ms = float(page.evaluate("() => performance.now() - window.__lseLift"))  # an upper bound
    wait_idle(page, 60_000)
    return ms


def draw_seven(page, x0: float, y0: float, side: float, wobble: int = 0) -> None:
    """A 7 with the mouse: the top bar, then the stroke down to the left, in one stroke (`wobble`
    moves its foot a little, so each drawing differs from the last)."""
    pts = [(0.25, 0.22), (0.75, 0.22), (0.62, 0.45), (0.5, 0.65), (0.42 - 0.03 * wobble, 0.82)]
    page.mouse.move(x0 + pts[0][0] * side, y0 + pts[0][1] * side)
    page.mouse.down()
    for (ax, ay), (bx, by) in zip(pts, pts[1:]):
        for t in (0.25, 0.5, 0.75, 1.0):
            page.mouse.move(x0 + (ax + t * (bx - ax)) * side, y0 + (ay + t * (by - ay)) * side)
    page.mouse.up()


def summary(ms: list[float]) -> tuple[float, float]:
    good = sorted(v for v in ms if v >= 0)
    if not good:
        return float("nan"), float("nan")
    return statistics.median(good), good[min(len(good) - 1, int(0.9 * len(good)))]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="default: mnist-vae-32 with MNIST, else vae-16 on digits")
    ap.add_argument("--repeats", type=int, default=15, help="moves of each slider (alternated)")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=900)
    a = ap.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from browser_support import MAP, StreamlitServer, launch_chromium, open_page, require_browser, wait_idle

    require_browser()
    from ae_core.data import default_mnist_dir

    mnist = os.environ.get("LSE_MNIST_DIR") or (str(default_mnist_dir()) if default_mnist_dir() else None)
    data, model = ("mnist", a.model or "mnist-vae-32") if mnist else ("digits", a.model or "vae-16")
    env = {"OMP_NUM_THREADS": "1"} | ({"LSE_MNIST_DIR": mnist} if mnist else {})
    walk_ms, base_ms = [], []
    with tempfile.TemporaryDirectory() as tmp, StreamlitServer(Path(tmp), env=env) as srv, \
            sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": a.width, "height": a.height})
        open_page(page, srv.url(f"Latent_space?data={data}&model={model}&decoder=true"), MAP, 240_000)
        wait_idle(page, 240_000)
        # Streamlit's slider is a range input (visually hidden) behind react-aria's thumb
        unit = page.locator('.st-key-lse-unit-sliders input[type="range"]').first
        unit.wait_for(state="attached", timeout=120_000)
        steps = page.locator('.st-key-_w_trav_steps input[type="range"]').first
        for key in ("ArrowRight", "ArrowLeft"):  # warm both paths: pictures cached, model loaded
            move(page, unit, ".st-key-lse-slider-image", key)
            move(page, steps, ".st-key-lse-trav-picture", key)
        for i in range(a.repeats):
            key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
            walk_ms.append(move(page, unit, ".st-key-lse-slider-image", key))
            base_ms.append(move(page, steps, ".st-key-lse-trav-picture", key))
        pen_lift(page)  # the first drawing (the panel appears)
        lift = [pen_lift(page, i + 1) for i in range(3)]  # each a new drawing: the prepared image changes
        browser.close()
    (wm, w90), (bm, b90), (lm, _) = summary(walk_ms), summary(base_ms), summary(lift)
    load = os.getloadavg()
    print(f"# {data} / {model}, {a.width}x{a.height}, {a.repeats} moves each, alternated; "
          f"load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print("| path | median ms | p90 ms | missed |")
    print("|---|---|---|---|")
    print(f"| unit slider -> decoded image (own fragment) | {wm:.0f} | {w90:.0f} | {sum(v < 0 for v in walk_ms)} |")
    print(f"| baseline: Steps slider -> traversal (map's fragment) | {bm:.0f} | {b90:.0f} | "
          f"{sum(v < 0 for v in base_ms)} |")
    print(f"| pen lift -> prepared image changes (3 drawings) | {lm:.0f} | | |")
    print(f"ratio walk / baseline (medians): {wm / bm:.2f}; target {TARGET_MS:.0f} ms: "
          f"{'met' if w90 <= TARGET_MS else 'NOT met'} at p90")
    return 0


if __name__ == "__main__":
    sys.exit(main())
