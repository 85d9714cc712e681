"""The decoder on the Latent space map, timed in the page's own clock (headless Chromium).

For each model: the Latent space page is opened (MNIST when LSE_MNIST_DIR or --mnist points at
its IDX files, else the digits), and once the decoded lattice has arrived the pointer is moved,
alternately, to an empty place of the map and onto a real point (the baseline: the hover card of
a point, which draws that point's image and its reconstruction). Each move's time runs from the
mousemove event's own timestamp (event.timeStamp, performance.now's clock) to the moment map.js
has drawn the card's image (the `data-decoded-at` / `data-hovered-at` marks it sets in the same
frame). Then, in the same page:

* the server path, measured once to say why hovering does not use it: a click on an empty place
  pins it and the page decodes it exactly in a Streamlit rerun; from the click to that image shown;
* the decoded grid at 20 x 20: from the click on the toggle to the frame the grid is on the map
  (`data-grid-drawn-at`), the first time (decoded on the server) and again (cached). The baseline:
  the same toggles on the app of `--before` (default 0aa6c2d; the grid travels in the map's message,
  each toggle a rerun of the map's fragment), a page of its own, toggles alternating: a change to
  the grid's path is measured against it in the same run;
* the first draw of the map (`data-drawn-at`, from navigation start) and when the lattice was on
  the page (`data-lattice`), so the lattice is seen not to hold the first draw up. With
  `--first-draws N` the same first draw is timed on the `--before` app too, visits alternating.

    .venv-dev/bin/python benchmarks/bench_decode_latency.py        # one model, ~3-4 min on 2 cores
    .venv-dev/bin/python benchmarks/bench_decode_latency.py --models mnist-vae-2 mnist-pca-32 --first-draws 3

Needs Chromium at /usr/bin/chromium and playwright (the test environment, .venv-dev).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import (  # noqa: E402 - after the path is set
    MAP,
    StreamlitServer,
    browser_missing,
    checkout,
    empty_places,
    launch_chromium,
    map_points,
    wait_idle,
)

TIMEOUT_MS = 240_000
MNIST_MODELS = ["mnist-vae-32"]  # the default: one model (the others: --models)
DIGITS_MODELS = ["vae-16"]
BEFORE = "0aa6c2d"  # the app the grid toggles are compared with


def pct(values, q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def _mark(page, name: str) -> float:
    v = page.locator(MAP).first.get_attribute(f"data-{name}")
    return float(v) if v else float("nan")


# the map's root element, found once (it sits in the component's shadow root) and kept on window,
# so the polling below does little work in the frames it shares with the map
_FIND = """window.__lseMap = (window.__lseMap && window.__lseMap.isConnected) ? window.__lseMap :
    (document.querySelector('.lse-map') || [...document.querySelectorAll('*')].map(e => e.shadowRoot)
     .filter(Boolean).map(r => r.querySelector('.lse-map')).find(Boolean));"""


def move_and_time(page, x: float, y: float, mark: str) -> float:
    """ms from the mousemove to the card drawn with its image (`mark`: decodedAt or hoveredAt)."""
    page.evaluate("() => {" + _FIND + "}")
    before = page.evaluate(f"parseFloat(window.__lseMap.dataset.{mark} || 'NaN')")
    page.mouse.move(x, y)
    page.wait_for_function(f"""before => {{ {_FIND} const v = window.__lseMap.dataset.{mark};
        return v && parseFloat(v) !== before; }}""", arg=before, polling="raf", timeout=10_000)
    return page.evaluate(f"parseFloat(window.__lseMap.dataset.{mark}) - parseFloat(window.__lseMap.dataset.movedAt)")


def open_map(page, url: str) -> None:
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    page.locator(MAP).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)


def first_draw(page, url: str) -> tuple[float, float]:
    """(s from navigation start to the map's first draw, s to the lattice on the page or nan)."""
    open_map(page, url)
    drawn = _mark(page, "drawn-at") / 1000
    try:
        page.locator(f'{MAP}[data-lattice]:not([data-lattice="0"])').first.wait_for(state="attached", timeout=TIMEOUT_MS)
        lat = page.evaluate("performance.now()") / 1000  # an upper bound: when we saw it
    except Exception:  # noqa: BLE001 - an app without the lattice (the --before one)
        lat = float("nan")
    return drawn, lat


def hover_latency(page, moves: int) -> tuple[list[float], list[float]]:
    empties = empty_places(page, gap=20, most=moves)
    view = page.viewport_size
    pts = [q for q in map_points(page) if 4 < q[0] < view["width"] - 4 and 4 < q[1] < view["height"] - 4]
    step = max(1, len(pts) // moves)
    points = [(p[0], p[1]) for p in pts[::step]][:moves]
    dec, base = [], []
    for i in range(min(len(empties), len(points))):
        dec.append(move_and_time(page, *empties[i], "decodedAt"))
        base.append(move_and_time(page, *points[i], "hoveredAt"))
    return dec, base


def click_times(page) -> None:
    page.evaluate("""() => { if (window.__lseClicks) return; window.__lseClicks = [];
        document.addEventListener('click', e => window.__lseClicks.push(e.timeStamp), true);
        document.addEventListener('pointerup', e => window.__lseClicks.push(e.timeStamp), true); }""")


def server_path(page, tries: int) -> list[float]:
    """ms from a click on an empty place to its exact decoding shown under the map (a rerun)."""
    out = []
    click_times(page)
    for x, y in empty_places(page, gap=20, most=tries, seed=1):
        page.evaluate("window.__lseClicks = []")
        n_before = page.get_by_text("The place you clicked").count()
        old = page.get_by_text("The place you clicked").first.inner_text() if n_before else ""
        page.mouse.click(x, y)
        page.wait_for_function(
            """old => { const e = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                  .find(e => e.textContent.includes('The place you clicked'));
                  if (e && e.textContent !== old && !window.__lseShown) window.__lseShown = performance.now();
                  return e && e.textContent !== old; }""", arg=old, polling="raf", timeout=TIMEOUT_MS)
        shown = page.evaluate("() => { const t = window.__lseShown; window.__lseShown = 0; return t; }")
        out.append(shown - page.evaluate("window.__lseClicks[0]"))
        wait_idle(page, TIMEOUT_MS)
    return out


def grid_ready(page) -> None:
    """Set the grid's side to 20 (before the grid is on) and arm the click clock."""
    page.get_by_role("slider").first.focus()
    page.keyboard.press("End")  # 20 a side, set before the grid is on
    wait_idle(page, TIMEOUT_MS)
    click_times(page)


def grid_toggle(page) -> float:
    """ms from the click on "Decoded grid" (at 20 a side) to the frame the grid is on the map; then off."""
    page.evaluate("window.__lseClicks = []")
    page.get_by_text("Decoded grid").first.click()
    at = page.evaluate("window.__lseClicks[0]")
    page.evaluate("() => {" + _FIND + "}")
    page.wait_for_function("at => {" + _FIND + """ const v = window.__lseMap && window.__lseMap.dataset.gridDrawnAt;
        return v && parseFloat(v) > at && window.__lseMap.dataset.grid === "20"; }""",
                           arg=at, polling="raf", timeout=TIMEOUT_MS)
    ms = page.evaluate("parseFloat(window.__lseMap.dataset.gridDrawnAt)") - at
    wait_idle(page, TIMEOUT_MS)
    page.get_by_text("Decoded grid").first.click()  # off again
    wait_idle(page, TIMEOUT_MS)
    return ms


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", help="checkpoint names (default: the MNIST zoo's decoders)")
    ap.add_argument("--moves", type=int, default=60, help="pointer moves of each kind per model (>= 50)")
    ap.add_argument("--pins", type=int, default=5, help="clicks on empty places (the server path)")
    ap.add_argument("--grids", type=int, default=4, help="20 x 20 grid toggles (the first is the cold one)")
    ap.add_argument("--mnist", default=os.environ.get("LSE_MNIST_DIR", str(ROOT.parent / "shared" / "data" / "mnist")))
    ap.add_argument("--before", default=BEFORE, help="a commit whose app's grid (and first draws) are timed "
                    "beside this one's ('': none)")
    ap.add_argument("--first-draws", type=int, default=0, help="first-draw visits per app (with --before)")
    a = ap.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"skipped: {missing}")
        return 0
    mnist = Path(a.mnist).is_dir()
    models = a.models or (MNIST_MODELS if mnist else DIGITS_MODELS)
    data = "mnist" if mnist else "digits"
    env = {"OMP_NUM_THREADS": "1", **({"LSE_MNIST_DIR": str(Path(a.mnist).resolve())} if mnist else {})}
    from playwright.sync_api import sync_playwright

    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min); data {data}")
    rows, draws = [], []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        servers = [StreamlitServer(Path(tmp) / "after", env=env).start()]
        if a.before:
            servers.append(StreamlitServer(Path(tmp) / "before", env=env,
                                           root=checkout(a.before, Path(tmp) / "src")).start())
        browser = launch_chromium(p)
        try:
            for name in models:
                url = f"Latent_space?data={data}&model={name}&map=umap"
                if a.before and a.first_draws:  # first draws, alternating between the apps (caches warm after the first)
                    for _ in range(a.first_draws):
                        for k, srv in enumerate(servers):
                            pg = browser.new_page(viewport={"width": 1400, "height": 900})
                            draws.append((name, "after" if k == 0 else "before", *first_draw(pg, srv.url(url))))
                            pg.close()
                pg = browser.new_page(viewport={"width": 1400, "height": 900})
                pg.set_default_timeout(TIMEOUT_MS)
                t0 = time.perf_counter()
                drawn, lat = first_draw(pg, servers[0].url(url))
                print(f"{name}: map drawn {drawn:.2f} s, lattice {lat:.2f} s", flush=True)
                old = None
                if a.before:  # opened now, so its server is idle again by the grid toggles
                    old = browser.new_page(viewport={"width": 1400, "height": 900})
                    old.set_default_timeout(TIMEOUT_MS)
                    first_draw(old, servers[1].url(url))  # and its lattice
                    grid_ready(old)
                dec, base = hover_latency(pg, a.moves)
                pins = server_path(pg, a.pins)
                grid_ready(pg)
                grid, grid_old = [], []
                for _ in range(a.grids + 1):  # alternating: this app, then the --before one
                    grid.append(grid_toggle(pg))
                    if old:
                        grid_old.append(grid_toggle(old))
                if old:
                    old.close()
                rows.append((name, dec, base, pins, grid, drawn, lat, grid_old))
                print(f"{name}: {len(dec)} moves, decoded median {statistics.median(dec):.1f} ms (p95 "
                      f"{pct(dec, 95):.1f}), point card {statistics.median(base):.1f} ms (p95 {pct(base, 95):.1f}), "
                      f"pin {statistics.median(pins):.0f} ms, grid {[round(g) for g in grid]} "
                      f"(before: {[round(g) for g in grid_old]}) "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
                pg.close()
        finally:
            browser.close()
            for srv in servers:
                srv.stop()
    print(f"\nload after: {os.getloadavg()[0]:.2f}\n")
    print("| model | hover -> decoded image, median / p95 (ms) | point card (baseline), median / p95 (ms) | "
          "ratio of medians | click -> exact decoding by a rerun, median (ms) | 20 x 20 grid: first / again, "
          f"median (ms) | the same on {a.before or '-'} (grid in the map's message) | ratio of the agains | "
          "map drawn / lattice on the page (s from navigation) |")
    print("|---|---|---|---|---|---|---|---|---|")

    def first_again(g):
        return (f"{g[0]:.0f} / {statistics.median(g[1:]):.0f}" if len(g) > 1 else f"{g[0]:.0f} / -") if g else "-"

    for name, dec, base, pins, grid, drawn, lat, grid_old in rows:
        ratio = (statistics.median(grid_old[1:]) / statistics.median(grid[1:])) if len(grid_old) > 1 and len(grid) > 1 \
            else float("nan")
        print(f"| {name} | {statistics.median(dec):.1f} / {pct(dec, 95):.1f} | {statistics.median(base):.1f} / "
              f"{pct(base, 95):.1f} | {statistics.median(dec) / statistics.median(base):.2f} | "
              f"{statistics.median(pins):.0f} | {first_again(grid)} | {first_again(grid_old)} | {ratio:.2f} | "
              f"{drawn:.2f} / {lat:.2f} |")
    if draws:
        print("\n| model | app | first draw of the map, median over visits (s from navigation) |")
        print("|---|---|---|")
        for name in models:
            for app in ("before", "after"):
                v = [d[2] for d in draws if d[0] == name and d[1] == app]
                if v:
                    print(f"| {name} | {app} ({a.before if app == 'before' else 'this branch'}) | "
                          f"{statistics.median(v):.2f} ({', '.join(f'{t:.2f}' for t in v)}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
