"""The waits a lecturer met in front of a room (issue 36), today's app beside the one the issue was
filed against, in one run, every time read from the page's own clock in headless Chromium at
1400x900 on MNIST (the real test set: LSE_MNIST_DIR, default ../shared/data/mnist):

- Denoising, first open of a cold server: navigation to the rows of images, and to the PSNR chart;
- its noise switched to salt & pepper, then to block: the click to the end of the page's run;
- Latent space, a t-SNE map of the 10,000 test images (mnist-undercomplete-32): navigation to the
  first progress text (a bar or a spinner) and to the drawn map;
- Train, a run of `--epochs` epochs on MNIST: the click on Train to the first epoch line
  ("epoch 1/N"), and the end of the last epoch ("training done…", scoring starts) to the run saved
  and scored ("Saved as").

Two dashboards (local mode, temporary folders, so every cache starts cold): this checkout and
`--before` (a commit unpacked by `git archive`; by default 765c69c, the last commit of 2026-12-02,
when the issue was filed). Each step runs on one server, then the other, the order alternating
between steps, in a fresh browser profile each.

    .venv-dev/bin/python benchmarks/bench_waits.py [--before 765c69c] [--epochs 3] [--steps denoising,tsne,train]

Prints a table: each wait before and now, and the ratio before / now (above 1: now is shorter).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from browser_support import (IMAGE, MAP, PLOT, StreamlitServer, browser_missing, checkout,  # noqa: E402
                             launch_chromium, shown_at, wait_idle)

TIMEOUT_MS = int(os.environ.get("BENCH_TIMEOUT_MS", 300_000))
VIEWPORT = {"width": 1400, "height": 900}
MNIST_MODEL = "mnist-undercomplete-32"
PROGRESS = '[data-testid="stProgress"], [data-testid="stSpinner"]'

# Clicks the button or radio reading `text` and resolves with the ms from the click to the end of
# the run it starts (Streamlit's run-state flag going to running, then back), -1 after 300 s.
CLICK_TO_RUN_END = """async (text) => {
  const app = document.querySelector('[data-testid=stApp]');
  const b = [...document.querySelectorAll('button, [role=radio]')].find(e => e.textContent.trim() === text);
  if (!b) return null;
  let ran = false;
  const t0 = performance.now();
  const end = new Promise(res => {
    const ob = new MutationObserver(() => {
      const s = app.dataset.testScriptState;
      if (s === 'running') ran = true;
      else if (ran && s === 'notRunning') { ob.disconnect(); res(performance.now()); }
    });
    ob.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
    setTimeout(() => { ob.disconnect(); res(-1); }, 300000);
  });
  b.click();
  const t = await end;
  return t < 0 ? -1 : t - t0;
}"""

# Records, every 100 ms, the page-clock time each pattern first matched the page's text.
WATCH = """(pats) => {
  window.__seen = {};
  const res = pats.map(p => new RegExp(p));
  window.__watch = setInterval(() => {
    const text = document.body.innerText;
    res.forEach((r, i) => { if (!(pats[i] in window.__seen) && r.test(text)) window.__seen[pats[i]] = performance.now(); });
  }, 100);
}"""
# the first epoch's line; the end of the last epoch (the bar moves on to scoring: "training done" in
# both versions); the run saved and scored
FIRST_EPOCH, LAST_EPOCH, SAVED = r"epoch 1/\d+", r"training done", r"Saved as"


def new_page(browser):
    ctx = browser.new_context(viewport=VIEWPORT)
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx, ctx.new_page()


def denoising(browser, srv) -> dict:
    ctx, page = new_page(browser)
    try:
        page.goto(srv.url("Denoising?data=mnist"), wait_until="commit")
        out = {"Denoising opened: images": shown_at(page, IMAGE, timeout_ms=TIMEOUT_MS),
               "Denoising opened: PSNR chart": shown_at(page, PLOT, timeout_ms=TIMEOUT_MS)}
        wait_idle(page, TIMEOUT_MS)
        for label in ("salt & pepper", "block"):
            ms = page.evaluate(CLICK_TO_RUN_END, label)
            out[f"noise -> {label}"] = None if ms is None or ms < 0 else ms / 1000
            wait_idle(page, TIMEOUT_MS)
        return out
    finally:
        ctx.close()


def tsne(browser, srv) -> dict:
    ctx, page = new_page(browser)
    try:
        page.goto(srv.url(f"Latent_space?data=mnist&model={MNIST_MODEL}&map=t-SNE"), wait_until="commit")
        first = shown_at(page, PROGRESS, timeout_ms=TIMEOUT_MS)
        drawn = shown_at(page, MAP, timeout_ms=TIMEOUT_MS)
        return {"t-SNE 10,000: first progress text": first, "t-SNE 10,000: map drawn": drawn}
    finally:
        ctx.close()


def train(browser, srv, epochs: int) -> dict:
    ctx, page = new_page(browser)
    try:
        page.goto(srv.url("Train?data=mnist"), wait_until="domcontentloaded")
        page.locator('[data-testid="stForm"]').first.wait_for(state="visible")
        wait_idle(page, TIMEOUT_MS)
        box = page.get_by_label("Epochs", exact=True)
        if box.count():
            box.first.fill(str(epochs))
            box.first.press("Tab")
        page.evaluate(WATCH, [FIRST_EPOCH, LAST_EPOCH, SAVED])
        t0 = page.evaluate("performance.now()")
        page.locator('[data-testid="stFormSubmitButton"] button').first.click()
        try:
            page.wait_for_function(f"() => window.__seen && '{SAVED}' in window.__seen", timeout=2 * TIMEOUT_MS,
                                   polling=500)
        finally:
            seen = page.evaluate("window.__seen")
            print(f"{srv.root.name}: Train run, what the page showed when (ms): {seen} (clicked at {t0:.0f})")
        out = {"Train: click -> first epoch line": (seen.get(FIRST_EPOCH, t0) - t0) / 1000 if FIRST_EPOCH in seen else None}
        if LAST_EPOCH in seen:
            out["Train: last epoch done -> saved (scoring)"] = (seen[SAVED] - seen[LAST_EPOCH]) / 1000
        return out
    finally:
        ctx.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", default="765c69c", help="the commit to compare with ('' for none)")
    ap.add_argument("--epochs", type=int, default=3, help="epochs of the Train run")
    ap.add_argument("--steps", default="denoising,tsne,train", help="which waits, comma-separated")
    ap.add_argument("--mnist", default=os.environ.get("LSE_MNIST_DIR", str(ROOT.parent / "shared/data/mnist")))
    a = ap.parse_args()
    why = browser_missing()
    if why:
        print(f"skipped: {why}")
        return 0
    if not Path(a.mnist).is_dir():
        print(f"skipped: no MNIST folder at {a.mnist} (--mnist or LSE_MNIST_DIR)")
        return 0
    from playwright.sync_api import sync_playwright

    env = {"LSE_MNIST_DIR": str(Path(a.mnist).resolve())}
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-waits-") as tmp:
        servers = {"now": StreamlitServer(Path(tmp) / "now", env=env, start_timeout=180)}
        if a.before:
            servers["before"] = StreamlitServer(Path(tmp) / "before-srv", env=env, start_timeout=180,
                                                root=checkout(a.before, Path(tmp) / "before"))
        for s in servers.values():
            s.start()
        res = {k: {} for k in servers}
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                known = {"denoising": denoising, "tsne": tsne, "train": lambda b, s: train(b, s, a.epochs)}
                steps = [known[k.strip()] for k in a.steps.split(",") if k.strip() in known]
                for i, step in enumerate(steps):
                    order = list(servers) if i % 2 == 0 else list(servers)[::-1]  # alternate who goes first
                    for k in order:
                        try:
                            res[k].update(step(browser, servers[k]))
                        except Exception as e:  # noqa: BLE001 - a step the old app cannot do: a dash, the reason
                            print(f"{k}: {getattr(step, '__name__', 'train')} failed: {str(e).splitlines()[0][:200]}")
                browser.close()
        finally:
            for s in servers.values():
                s.stop()
    load1 = os.getloadavg()[0]
    print(f"\nSeconds by the page's clock, 1400x900, MNIST; 'before' = {a.before or '-'}; load average "
          f"{load0:.1f} -> {load1:.1f} on {os.cpu_count()} cores. Ratio = before / now (above 1: now is shorter).")
    print("| wait | before | now | ratio |\n|---|---|---|---|")
    names = list(dict.fromkeys([*res["now"], *res.get("before", {})]))
    for n in names:
        now, bef = res["now"].get(n), res.get("before", {}).get(n)
        ratio = f"{bef / now:.2f}" if now and bef else "—"
        print(f"| {n} | {'—' if bef is None else f'{bef:.1f}'} | {'—' if now is None else f'{now:.1f}'} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
