"""Time to the main chart of every page, in a real browser, against a 3 s target.

Starts the dashboard (`streamlit run app.py`) on a free loopback port with empty temporary
folders for user checkpoints and fitted maps, opens each page once in headless Chromium
(the cold visit: models load, arrays are computed and cached), then opens it `--repeats`
more times and reports the median time from navigation start (the browser's own
performance.now()) to the page's main element being visible (a chart, a table or an image
grid), and to the end of the page's run. Each visit is a new Streamlit session, as when a
user opens a link; the server's caches are shared, as in production. It also times the
usual way between pages: a click on the page's sidebar link in an open session (no reload
of the app's JavaScript), from the click to the main element.

It also says whether any page fitted a map on load instead of opening one saved with the
checkpoint: from the Latent space caption ("map saved with the checkpoint" or "computed for
this session"), and from the map cache folder, where every map fitted on load is written
(it starts empty, so a file there is a fit made during this run).

    .venv-dev/bin/python benchmarks/bench_pages.py [--repeats 3] [--target 3.0] [--pages Compare Sparsity]
    .venv-dev/bin/python benchmarks/bench_pages.py --before 3922830   # and that commit beside it

With `--before REF` a second server runs that commit (unpacked by `git archive` into a temporary
folder) and every visit alternates between the two, so the before and after columns are
measured in one run on the same load.

Needs Chromium at /usr/bin/chromium and the playwright package (never downloads a browser), so it
runs from the test environment (.venv-dev, `make test` builds it); the app's .venv has no playwright.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_support import (  # noqa: E402 - after the path is set
    PAGES,
    StreamlitServer,
    browser_missing,
    checkout,
    exceptions,
    launch_chromium,
    shown_at,
    wait_idle,
)

TIMEOUT_MS = 180_000  # a cold Compare (metrics and maps of three models) on a busy box


def visit(page, url: str, main: str) -> tuple[float, float]:
    """(seconds to the main element visible, seconds to the end of the run), from navigation start."""
    page.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    shown = shown_at(page, main, timeout_ms=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)
    done = page.evaluate("performance.now()") / 1000
    return shown, max(done, shown)


def via_sidebar(page, base_url: str, name: str, main: str) -> float:
    """Seconds from a click on the page's sidebar link (in an open session) to its main element.

    Starts from a page without that kind of element (Train, or Home for Train itself), so an
    element left from the page before cannot be mistaken for the new one.
    """
    start = next(p for p in PAGES if p[0] == ("Home" if name == "Train" else "Train"))
    visit(page, base_url + start[1], start[2])
    link = page.get_by_test_id("stSidebar").get_by_role("link", name=name, exact=True)
    link.wait_for(timeout=TIMEOUT_MS)
    t0 = page.evaluate("performance.now()") / 1000
    link.click()
    shown_at(page, "h1", "Latent Space Explorer" if name == "Home" else name, TIMEOUT_MS)
    took = shown_at(page, main, timeout_ms=TIMEOUT_MS) - t0
    wait_idle(page, TIMEOUT_MS)
    return took


def saved_maps() -> dict[str, bool]:
    """Shipped autoencoders (not the photo denoiser, which has no map) -> has a saved UMAP map."""
    out = {}
    for d in sorted((ROOT / "checkpoints").iterdir()):
        try:
            kind = json.loads((d / "config.json").read_text())["model"]["kind"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if kind != "photo_denoiser":
            out[d.name] = (d / "map-umap-2d.npz").is_file()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="timed visits per page after the cold one")
    ap.add_argument("--target", type=float, default=3.0, help="seconds to the main element")
    ap.add_argument("--pages", nargs="*", metavar="NAME", help="only these pages (e.g. Compare Sparsity)")
    ap.add_argument("--before", default="", help="a commit to run beside this checkout, alternated")
    args = ap.parse_args()
    missing = browser_missing()
    if missing:
        print(f"bench_pages: cannot run: {missing}")
        return 2

    from playwright.sync_api import sync_playwright

    maps = saved_maps()
    have = [n for n, ok in maps.items() if ok]
    lack = [n for n, ok in maps.items() if not ok]
    print(f"Shipped autoencoders with a saved map-umap-2d.npz: {len(have)}/{len(maps)}"
          + (f" (missing: {', '.join(lack)})" if lack else ""))
    load0 = os.getloadavg()[0]
    rows, notes = [], []
    if args.before:
        return compare(args)
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        with StreamlitServer(tmp) as srv, sync_playwright() as p:
            browser = launch_chromium(p)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for name, path, main in [p for p in PAGES if not args.pages or p[0] in args.pages]:
                    url = srv.url(path)
                    cold = visit(page, url, main)
                    if name == "Latent space":
                        cap = page.locator('[data-testid="stCaptionContainer"]', has_text=" · map ").first
                        notes.append(f"Latent space caption: {cap.inner_text().split(' · click')[0].strip()}")
                    warm = [visit(page, url, main) for _ in range(args.repeats)]
                    errs = exceptions(page)
                    shown = statistics.median(w[0] for w in warm)
                    done = statistics.median(w[1] for w in warm)
                    link = statistics.median(via_sidebar(page, srv.url(), name, main) for _ in range(args.repeats))
                    rows.append((name, cold[0], shown, min(w[0] for w in warm), max(w[0] for w in warm), done,
                                 link, errs))
                    print(f"  {name}: cold {cold[0]:.2f} s, median {shown:.2f} s, via the sidebar {link:.2f} s",
                          flush=True)
            finally:
                browser.close()
        fitted = sorted(str(f.relative_to(srv.cache_dir)) for f in srv.cache_dir.rglob("*.npz"))
    load1 = os.getloadavg()[0]

    print(f"\nTime from navigation start (a full page load, as when a link is opened) to the main element "
          f"visible: the first visit on a fresh server (cold), then the median of {args.repeats}; and the "
          f"median time from a click on the sidebar link within an open session. Target {args.target:g} s. "
          f"Load average {load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores.\n")
    print("| page | cold load (s) | load, median (s) | min–max (s) | run done (s) | ÷ target | sidebar click (s) | |")
    print("|---|---|---|---|---|---|---|---|")
    for name, cold, shown, lo, hi, done, link, errs in rows:
        verdict = "ok" if shown <= args.target else "SLOW"
        if errs:
            verdict += f", exception: {errs[0][:80]}"
        print(f"| {name} | {cold:.2f} | {shown:.2f} | {lo:.2f}–{hi:.2f} | {done:.2f} | "
              f"{shown / args.target:.2f} | {link:.2f} | {verdict} |")
    worst = max(rows, key=lambda r: r[2])
    print(f"\nSlowest page: {worst[0]}, {worst[2]:.2f} s = {worst[2] / args.target:.2f} x the target. "
          f"{sum(r[2] <= args.target for r in rows)}/{len(rows)} pages within it.")
    for n in notes:
        print(n)
    if fitted:
        print(f"Maps fitted on page load during this run (UMAP computed, not opened): {len(fitted)}: "
              + ", ".join(fitted))
    else:
        print("Maps fitted on page load during this run: none (every map came from a saved map-*.npz).")
    return 0


def compare(args) -> int:
    """This checkout and `args.before`, each page visited on both, alternated: median seconds to
    the main element (full load) and via the sidebar, and their ratio."""
    from playwright.sync_api import sync_playwright

    load0 = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        servers = {"now": StreamlitServer(Path(tmp) / "now"),
                   "before": StreamlitServer(Path(tmp) / "before-srv", root=checkout(args.before, Path(tmp) / "before"))}
        try:
            for s in servers.values():
                s.start()
            with sync_playwright() as p:
                browser = launch_chromium(p)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                for name, path, main in [q for q in PAGES if not args.pages or q[0] in args.pages]:
                    got = {k: {"load": [], "link": []} for k in servers}
                    for srv in servers.values():
                        visit(page, srv.url(path), main)  # cold
                    for r in range(args.repeats):
                        for k in (list(servers) if r % 2 == 0 else list(servers)[::-1]):
                            got[k]["load"].append(visit(page, servers[k].url(path), main)[0])
                            got[k]["link"].append(via_sidebar(page, servers[k].url(), name, main))
                    med = {k: {m: statistics.median(v[m]) for m in v} for k, v in got.items()}
                    rows.append((name, med))
                    print(f"  {name}: load {med['now']['load']:.2f} s (before {med['before']['load']:.2f} s), sidebar "
                          f"{med['now']['link']:.2f} s (before {med['before']['link']:.2f} s)", flush=True)
                browser.close()
        finally:
            for s in servers.values():
                s.stop()
    load1 = os.getloadavg()[0]
    print(f"\nMedian of {args.repeats} visits each, alternated, seconds from navigation start (load) or from the "
          f"sidebar click to the page's main element; before = {args.before}; load average {load0:.1f} -> "
          f"{load1:.1f} on {os.cpu_count()} cores. Ratio = before / now (above 1: now is faster).\n")
    print("| page | load now | load before | ratio | sidebar now | sidebar before | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, m in rows:
        n, b = m["now"], m["before"]
        print(f"| {name} | {n['load']:.2f} | {b['load']:.2f} | {b['load'] / n['load']:.2f} | {n['link']:.2f} | "
              f"{b['link']:.2f} | {b['link'] / n['link']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
