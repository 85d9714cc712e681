"""The Latent space map with many points, in headless Chromium (software WebGL), today's map beside
the one before it, in one run: time from navigation to the drawn map, from a pointer move onto a
point to its hover card, from a click on a point to its neighbours' images, and from the end of a
box of about 1,000 points to their images, every time read from the page's own clock.

For each `--points` N it writes an `.npz` of N 8x8 images (scikit-learn's 1,797 digits, then
copies with a little noise: synthetic, so 1,000,000 points need no big download), starts two
dashboards (local mode, temporary folders): this checkout and `--before` (a commit unpacked by
`git archive` into a temporary folder, by default 3922830, the hand-written WebGL map), opens
Latent space on `?data=<that file>&model=pca-16&map=pca` once cold in each (codes computed, the
PCA map fitted and cached: reported, not a target), then, alternating the two servers, `--repeats`
fresh browser profiles timed from navigation start to the map drawn, and one session each that
hovers, clicks and boxes. It prints each server's resident memory after the biggest map.

    .venv-dev/bin/python benchmarks/bench_map_scale.py [--points 1797 10000 100000] [--repeats 2]
    .venv-dev/bin/python benchmarks/bench_map_scale.py --component 1000000   # the map alone

The app's datasets stop at 200,000 images (ae_core.data.MAX_IMAGES), so `--component N` measures
the map component alone on N synthetic points (benchmarks/map_million_app.py), this one and the
one before (its canvas.py and map_canvas.js from `--before`, fed the same points): navigation to
every point drawn, a hover, and a box of about 1,000 points to the map showing them selected.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser_support import (MAP, StreamlitServer, box_around, browser_missing, checkout,  # noqa: E402
                             densest_point, launch_chromium, rss_mb, wait_idle)

TIMEOUT_MS = int(os.environ.get("BENCH_TIMEOUT_MS", 600_000))
VIEWPORT = {"width": 1400, "height": 1200}
SAMPLE = 100_000  # at most this many points' screen places are read back from the page
# Checked in the page at every animation frame, so a time is the frame it happened in, not the
# next poll of a Playwright wait.
SELECTION_SHOWN = """() => {  // the first image beside the map under 'N selected', loaded and laid out
  for (const p of document.querySelectorAll('[role=tabpanel]')) {
    if (![...p.querySelectorAll('[data-testid=stCaptionContainer]')].some(c => c.textContent.includes(' selected')))
      continue;
    const im = p.querySelector('[data-testid=stImage] img');
    if (im && im.complete && im.naturalWidth > 0 && im.getBoundingClientRect().width > 0) return performance.now();
  }
  return false;
}"""
NEIGHBOURS_SHOWN = """() => {  // the pixel-space neighbours' strip, loaded and laid out
  for (const p of document.querySelectorAll('[role=tabpanel]')) {
    if (!p.textContent.includes('Nearest in pixel space')) continue;
    const ims = [...p.querySelectorAll('[data-testid=stImage] img')];
    if (ims.length >= 3 && ims.every(im => im.complete && im.naturalWidth > 0)) return performance.now();
  }
  return false;
}"""
TIP_SHOWN = "t => getComputedStyle(t).display !== 'none' ? performance.now() : false"  # the map's hover card
STRIP_SOURCES = """() => {  // the images of the panel with the pixel-space neighbours' strip
  const p = [...document.querySelectorAll('[role=tabpanel]')].find(p => p.textContent.includes('Nearest in pixel space'));
  return p ? [...p.querySelectorAll('[data-testid=stImage] img')].map(im => im.src) : [];
}"""
NEW_NEIGHBOURS_SHOWN = """(before) => {  // another point's neighbours: the strip's images changed, loaded and laid out
  for (const p of document.querySelectorAll('[role=tabpanel]')) {
    if (!p.textContent.includes('Nearest in pixel space')) continue;
    const ims = [...p.querySelectorAll('[data-testid=stImage] img')];
    if (ims.length >= 3 && ims.every(im => im.complete && im.naturalWidth > 0 && !before.includes(im.src)))
      return performance.now();
  }
  return false;
}"""


def write_data(n: int, folder: Path) -> Path:
    from sklearn.datasets import load_digits

    d = load_digits()
    base, y = (d.images / 16.0).astype(np.float32), d.target
    reps = -(-n // len(base))
    rng = np.random.default_rng(0)
    x = np.empty((reps * len(base), 8, 8), np.float32)
    for r in range(reps):  # copies with a little noise, made in place (a million points: 256 MB)
        part = x[r * len(base):(r + 1) * len(base)]
        part[:] = base
        if r:
            part += rng.normal(scale=0.05, size=base.shape).astype(np.float32)
            np.clip(part, 0, 1, out=part)
    path = folder / f"digits-{n}.npz"
    np.savez(path, x=x[:n], y=np.tile(y, reps)[:n])
    return path


def time_map(browser, url: str) -> tuple[float, int]:
    """(seconds from navigation start to the map drawn, by the map's own clock; points drawn),
    in a fresh browser profile (nothing cached)."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    try:
        page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
        m = page.locator(MAP).first
        m.wait_for(state="attached", timeout=TIMEOUT_MS)
        return float(m.get_attribute("data-drawn-at")) / 1000, int(m.get_attribute("data-drawn"))
    finally:
        ctx.close()


def shown_points(page, n: int):
    """[x, y, id] of (about SAMPLE of) the shown points, and how many points each stands for."""
    step = max(1, n // SAMPLE)
    shown = page.locator(".lse-map").first.evaluate(f"el => el.lseScreen({step})")  # the old map ignores step
    drawn = int(page.locator(MAP).first.get_attribute("data-drawn"))
    return shown, drawn / max(1, len(shown))


def open_drawn(browser, url: str):
    """(context, page) of a fresh profile on `url`, once its map has drawn and the page is idle;
    the caller closes the context."""
    ctx = browser.new_context(viewport=VIEWPORT)
    page = ctx.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    page.locator(MAP).first.wait_for(state="attached")
    wait_idle(page, TIMEOUT_MS)
    return ctx, page


def interact(browser, url: str, n: int, want: int = 1000) -> dict:
    """One session: hover a point (to its card), click it (to its neighbours' images), click
    another (the first click of a session also loads Streamlit's image code), box about `want`
    points (to their images): seconds each, by the page's clock."""
    ctx, page = open_drawn(browser, url)
    try:
        page.locator(".lse-map").first.evaluate("el => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(1500)  # the spatial index of a big map is built just after its draw
        shown, per = shown_points(page, n)
        c = densest_point(shown, radius=15)
        target = min(shown, key=lambda p: (p[0] - c["x"]) ** 2 + (p[1] - c["y"]) ** 2)
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)
        tip = page.locator(".lse-tip").first.element_handle()  # inside the component's shadow root
        t0 = page.evaluate("performance.now()")
        page.mouse.move(target[0], target[1])
        hover = (page.wait_for_function(TIP_SHOWN, arg=tip, polling="raf").json_value() - t0) / 1000
        t0 = page.evaluate("performance.now()")
        page.mouse.click(target[0], target[1])
        neighbours = (page.wait_for_function(NEIGHBOURS_SHOWN, polling="raf").json_value() - t0) / 1000
        wait_idle(page, TIMEOUT_MS)
        other = min((p for p in shown if abs(p[0] - target[0]) + abs(p[1] - target[1]) > 6),
                    key=lambda p: (p[0] - c["x"]) ** 2 + (p[1] - c["y"]) ** 2)
        srcs = page.evaluate(STRIP_SOURCES)
        page.mouse.move(other[0], other[1])
        page.wait_for_timeout(300)
        t0 = page.evaluate("performance.now()")
        page.mouse.click(other[0], other[1])
        again = (page.wait_for_function(NEW_NEIGHBOURS_SHOWN, arg=srcs, polling="raf").json_value() - t0) / 1000
        wait_idle(page, TIMEOUT_MS)
        page.locator(".lse-btn", has_text="Box select").click()
        shown, per = shown_points(page, n)
        h, _ = box_around(shown, c["x"], c["y"], max(2, int(want / per)))
        r = page.locator(".lse-map").first.bounding_box()  # the box stays on the map
        x0, y0 = max(c["x"] - h, r["x"] + 2), max(c["y"] - h, r["y"] + 60)
        x1, y1 = min(c["x"] + h, r["x"] + r["width"] - 2), min(c["y"] + h, r["y"] + r["height"] - 2)
        got = int(sum(x0 <= x <= x1 and y0 <= y <= y1 for x, y, _ in shown) * per)
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x1, y1, steps=5)
        t0 = page.evaluate("performance.now()")
        page.mouse.up()
        box = (page.wait_for_function(SELECTION_SHOWN, polling="raf").json_value() - t0) / 1000
        return {"hover": hover, "neighbours": neighbours, "again": again, "box": box, "boxed": got}
    finally:
        ctx.close()


SELECTED_SHOWN = "m => m.dataset.selected && m.dataset.selected !== '0' ? performance.now() : false"


def component_run(browser, url: str, n: int, repeats: int) -> dict:
    """The map alone: navigation to all `n` drawn (fresh profiles), a hover, a box of ~1,000 to
    the map showing them selected."""
    maps = [time_map(browser, url) for _ in range(repeats)]
    ctx, page = open_drawn(browser, url)
    try:
        page.wait_for_timeout(3000)  # the spatial index of a big map is built just after its draw
        shown, per = shown_points(page, n)
        c = densest_point(shown, radius=15)
        target = min(shown, key=lambda p: (p[0] - c["x"]) ** 2 + (p[1] - c["y"]) ** 2)
        page.mouse.move(5, 5)
        page.wait_for_timeout(300)
        tip = page.locator(".lse-tip").first.element_handle()
        t0 = page.evaluate("performance.now()")
        page.mouse.move(target[0], target[1])
        hover = (page.wait_for_function(TIP_SHOWN, arg=tip, polling="raf").json_value() - t0) / 1000
        page.locator(".lse-btn", has_text="Box select").click()
        h, _ = box_around(shown, c["x"], c["y"], max(2, int(1000 / per)))
        page.mouse.move(c["x"] - h, c["y"] - h)
        page.mouse.down()
        page.mouse.move(c["x"] + h, c["y"] + h, steps=5)
        root = page.locator(".lse-map").first.element_handle()
        t0 = page.evaluate("performance.now()")
        page.mouse.up()
        box = (page.wait_for_function(SELECTED_SHOWN, arg=root, polling="raf").json_value() - t0) / 1000
        got = int(page.locator(".lse-map").first.get_attribute("data-selected"))
        return {"map": maps, "drawn": maps[-1][1], "hover": hover, "box": box, "boxed": got}
    finally:
        ctx.close()


def component_main(a) -> int:
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        if a.before:  # the map before, beside a page that feeds it the same points
            import subprocess

            for name, to in (("canvas.py", "old_canvas.py"), ("map_canvas.js", "map_canvas.js"),
                             ("map_canvas.css", "map_canvas.css")):
                (old / to).write_bytes(subprocess.run(["git", "show", f"{a.before}:dashboard/components/latent_map/{name}"],
                                                      cwd=ROOT, check=True, capture_output=True).stdout)
        with sync_playwright() as p:
            browser = launch_chromium(p)
            for n in a.component:
                res = {}
                for k in (["now", "before"] if a.before else ["now"]):
                    env = {"LSE_BENCH_POINTS": str(n), **({"LSE_OLD_MAP": str(old)} if k == "before" else {})}
                    with StreamlitServer(Path(tmp) / f"{k}-{n}", env=env, start_timeout=120,
                                         script="benchmarks/map_million_app.py") as srv:
                        time_map(browser, srv.url())  # cold: the points made once
                        res[k] = component_run(browser, srv.url(), n, a.repeats)
                        res[k]["rss"] = rss_mb(srv.pid)
                    v = res[k]
                    print(f"{n:>9,} {k:>6}: map {', '.join(f'{t:.2f}' for t, _ in v['map'])} s ({v['drawn']:,} drawn) | "
                          f"hover {v['hover']:.3f} s | box of {v['boxed']:,} -> shown selected {v['box']:.2f} s | "
                          f"server {v['rss']:.0f} MiB", flush=True)
                rows.append((n, res))
            browser.close()
    print(f"\nThe map component alone; medians, seconds by the page's clock; load average {load0:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores.")
    print("| points | map drawn: now (drawn) | before (drawn) | hover: now | before | box -> selected: now | before "
          "| server MiB now / before |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, res in rows:
        now, bef = res["now"], res.get("before", {})
        med = statistics.median(t for t, _ in now["map"])
        bmed = f"{statistics.median(t for t, _ in bef['map']):.2f} ({bef['drawn']:,})" if bef else "-"
        print(f"| {n:,} | {med:.2f} ({now['drawn']:,}) | {bmed} | {now['hover']:.3f} | "
              f"{bef.get('hover', float('nan')):.3f} | {now['box']:.2f} ({now['boxed']:,}) | "
              f"{bef.get('box', float('nan')):.2f} ({bef.get('boxed', 0):,}) | {now['rss']:.0f} / {bef.get('rss', 0):.0f} |")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, nargs="+", default=[1797, 10_000, 100_000])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--before", default="3922830", help="the commit to compare with ('' for none)")
    ap.add_argument("--component", type=int, nargs="*", default=[], help="the map alone at these sizes")
    a = ap.parse_args()
    if browser_missing():
        print(f"skipped: {browser_missing()}")
        return 0
    if a.component:
        return component_main(a)
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        servers = {"now": StreamlitServer(Path(tmp) / "now", start_timeout=120)}
        if a.before:
            servers["before"] = StreamlitServer(Path(tmp) / "before-srv", start_timeout=120,
                                                root=checkout(a.before, Path(tmp) / "before"))
        try:
            for s in servers.values():
                s.start()
            with sync_playwright() as p:
                browser = launch_chromium(p)
                for n in a.points:
                    data = write_data(n, Path(tmp))
                    res = {k: {"map": [], "drawn": 0} for k in servers}
                    for k, srv in servers.items():
                        t0 = time.perf_counter()
                        time_map(browser, srv.url(f"Latent_space?data={data}&model=pca-16&map=pca"))
                        res[k]["cold"] = time.perf_counter() - t0
                    for r in range(a.repeats):  # alternated, the order swapped each time
                        for k in (list(servers) if r % 2 == 0 else list(servers)[::-1]):
                            t, drawn = time_map(browser, servers[k].url(f"Latent_space?data={data}&model=pca-16&map=pca"))
                            res[k]["map"].append(t)
                            res[k]["drawn"] = drawn
                    for k, srv in servers.items():
                        res[k].update(interact(browser, srv.url(f"Latent_space?data={data}&model=pca-16&map=pca"), n,
                                               min(1000, n // 4)))
                        res[k]["rss"] = rss_mb(srv.pid)
                    rows.append((n, res))
                    for k, v in res.items():
                        print(f"{n:>9,} {k:>6}: cold {v['cold']:.1f} s | map {', '.join(f'{t:.2f}' for t in v['map'])} s "
                              f"({v['drawn']:,} drawn) | hover {v['hover']:.3f} s | click -> neighbours "
                              f"{v['neighbours']:.2f} s, another {v['again']:.2f} s | box of ~{v['boxed']:,} -> images {v['box']:.2f} s | "
                              f"server {v['rss']:.0f} MiB", flush=True)
                browser.close()
        finally:
            for s in servers.values():
                s.stop()
    load1 = os.getloadavg()[0]
    print(f"\nMedians, seconds by the page's clock; 'before' = {a.before or '-'}; load average {load0:.1f} -> "
          f"{load1:.1f} on {os.cpu_count()} cores. Ratio = before / now (above 1: now is faster).")
    print("| points | map drawn: now (drawn) | before (drawn) | ratio | hover: now | before | click -> neighbours: "
          "now | before | another click: now | before | box -> images: now | before | server MiB now / before |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, res in rows:
        now, bef = res["now"], res.get("before")
        m_now = statistics.median(now["map"])
        if bef is None:
            print(f"| {n:,} | {m_now:.2f} ({now['drawn']:,}) | - | - | {now['hover']:.3f} | - | {now['neighbours']:.2f} | - "
                  f"| {now['again']:.2f} | - | {now['box']:.2f} | - | {now['rss']:.0f} |")
            continue
        m_bef = statistics.median(bef["map"])
        print(f"| {n:,} | {m_now:.2f} ({now['drawn']:,}) | {m_bef:.2f} ({bef['drawn']:,}) | {m_bef / m_now:.2f} "
              f"| {now['hover']:.3f} | {bef['hover']:.3f} | {now['neighbours']:.2f} | {bef['neighbours']:.2f} "
              f"| {now['again']:.2f} | {bef['again']:.2f} "
              f"| {now['box']:.2f} | {bef['box']:.2f} | {now['rss']:.0f} / {bef['rss']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
