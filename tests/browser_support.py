"""Helpers for driving the real dashboard in headless Chromium: start and stop a Streamlit
server, launch Debian's Chromium through Playwright, wait for a page to settle, measure
the server's memory. Used by tests/test_e2e_browser.py, tests/test_many_sessions.py and
benchmarks/bench_pages.py. Not a test module (no `test_` prefix).

    with StreamlitServer(tmp_dir) as srv:            # a free port, temporary user/map folders
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page()
            open_page(page, srv.url("Latent_space"), MAP)

Never downloads a browser: without /usr/bin/chromium (or `chromium` on PATH) or the
playwright package, `require_browser()` skips with the reason. `.ci/run` installs Chromium,
so in CI these tests run.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# (name in the sidebar, URL path, what shows that the page has drawn its main result)
PLOT = ".js-plotly-plot"
MAP = ".lse-map[data-drawn]"  # the 2D map component (dashboard/components/latent_map/map.js), once it has drawn
DATAFRAME = '[data-testid="stDataFrame"]'
IMAGE = '[data-testid="stImage"]'
PAGES = [
    ("Home", "", DATAFRAME),
    ("What is a representation?", "Representation", IMAGE),  # its 2D charts are pictures
    ("Train", "Train", '[data-testid="stForm"]'),
    ("Models", "Models", PLOT),
    ("Latent space", "Latent_space", MAP),
    ("Reconstructions", "Reconstructions", IMAGE),
    ("Denoising", "Denoising", PLOT),
    ("Sparsity", "Sparsity", PLOT),
    ("Factors", "Factors", PLOT),
    ("Compare", "Compare", PLOT),
    ("Transfer", "Transfer", '[data-testid="stMainBlockContainer"] [data-testid="stButton"]'),  # digits: "Compute"
]
EXCEPTION = '[data-testid="stException"]'


# ------------------------------------------------------------------ browser
def chromium_path() -> str | None:
    for cand in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if chromium_path() is None:
        return "no Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run does this)"
    return None


def require_browser() -> None:
    """pytest.skip with the reason when Chromium or Playwright is missing."""
    import pytest

    reason = browser_missing()
    if reason:
        pytest.skip(f"browser test skipped: {reason}")


def launch_chromium(playwright, **kw):
    """Debian's Chromium, headless; works for the sync and the async Playwright API."""
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, **kw)


def map_points(page) -> list[list[float]]:
    """[page x, page y, dataset index] of every point shown on the Latent space 2D map."""
    return page.locator(".lse-map").first.evaluate("el => el.lseScreen()")


def densest_point(points, radius: float = 25.0, most: int = 2000) -> dict:
    """The shown map point with the most others within `radius` px (among at most `most`
    evenly spaced ones): where a click lands on a point and a box catches several."""
    import numpy as np

    p = np.asarray(points, dtype=float)[:, :2]
    cand = p[:: max(1, len(p) // most)]
    near = [(np.hypot(*(p - c).T) < radius).sum() for c in cand]
    best = int(np.argmax(near))
    return {"x": float(cand[best, 0]), "y": float(cand[best, 1]), "near": int(near[best]), "points": len(p)}


def box_around(points, x: float, y: float, want: int) -> tuple[float, int]:
    """The half-side (px) of the square around (x, y) that holds about `want` shown points."""
    import numpy as np

    p = np.asarray(points, dtype=float)[:, :2]
    d = np.max(np.abs(p - [x, y]), axis=1)
    d.sort()
    k = min(want, len(d)) - 1
    return float(d[k]) + 0.5, int(k + 1)


def empty_places(page, gap: float = 20.0, most: int = 60, seed: int = 0) -> list[tuple[float, float]]:
    """Up to `most` places (page px) of the Latent space 2D map at least `gap` px from every shown
    point and 12 px inside its edge and the viewport's, in a seeded random order: where a hover
    shows what the decoder draws, not a point's card."""
    import numpy as np

    p = np.asarray(map_points(page), dtype=float)[:, :2]
    box = page.locator(".lse-gl").first.bounding_box()
    view = page.viewport_size or {"width": 1400, "height": 900}
    xs = np.linspace(box["x"] + 12, min(box["x"] + box["width"], view["width"]) - 12, 48)
    ys = np.linspace(box["y"] + 12, min(box["y"] + box["height"], view["height"]) - 12, 48)
    cand = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    far = np.array([np.min(np.hypot(*(p - c).T)) >= gap for c in cand]) if len(p) else np.ones(len(cand), bool)
    keep = cand[far][np.random.default_rng(seed).permutation(int(far.sum()))][:most]
    return [(float(x), float(y)) for x, y in keep]


# ------------------------------------------------------------------ server
def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=timeout) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


class StreamlitServer:
    """`streamlit run app.py` on a free loopback port, stopped (by its pid) on exit.

    `work_dir` receives the server log and, unless given, empty folders for user
    checkpoints (LSE_USER_DIR) and fitted maps (LSE_CACHE_DIR), so a run neither sees
    other people's runs nor leaves files in the checkout.
    """

    def __init__(self, work_dir, port: int | None = None, user_dir=None, cache_dir=None,
                 env: dict | None = None, start_timeout: float = 90.0, root=None, script: str = "app.py"):
        self.root = Path(root) if root else ROOT  # another checkout of the app (benchmarks' "before")
        self.script = script  # the app, or a page of a benchmark's own
        self.work_dir = Path(work_dir)
        self.port = port or free_port()
        self.user_dir = Path(user_dir) if user_dir else self.work_dir / "user"
        self.cache_dir = Path(cache_dir) if cache_dir else self.work_dir / "cache"
        self.extra_env = dict(env or {})
        self.start_timeout = start_timeout
        self.log_path = self.work_dir / f"streamlit-{self.port}.log"
        self.proc: subprocess.Popen | None = None
        self._log = None

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self) -> StreamlitServer:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.user_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "LSE_USER_DIR": str(self.user_dir), "LSE_CACHE_DIR": str(self.cache_dir),
               "PYTHONUNBUFFERED": "1", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **self.extra_env}
        if self.root != ROOT:  # its own modules first, not the installed (editable) ones
            env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        cmd = [sys.executable, "-m", "streamlit", "run", self.script, "--server.port", str(self.port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = self.log()
                self.stop()
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{log[-3000:]}")
            if _health(self.port):
                return self
            time.sleep(0.3)
        log = self.log()
        self.stop()
        raise RuntimeError(f"streamlit did not answer /_stcore/health in {self.start_timeout:.0f} s:\n{log[-3000:]}")

    def healthy(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and _health(self.port)

    def cache_lookups(self) -> dict[tuple[str, str], int]:
        """{(cached function, "hit" | "miss"): count} from Streamlit's own /_stcore/metrics."""
        req = urllib.request.Request(self.url("_stcore/metrics"), headers={"Accept": "text/plain"})
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read().decode()
        out = {}
        for m in re.finditer(r'^cache_lookups_total\{(.*?)\} (\d+)', text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels.get("cache", ""), labels.get("result", ""))] = int(m.group(2))
        return out

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        """Terminate the server we started (by pid), kill it if it does not go within 10 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def checkout(ref: str, dest) -> Path:
    """The tracked files of commit `ref` of this repository, unpacked into `dest` (`git archive`:
    nothing changes in the repository): the "before" app that benchmarks run beside this one."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


# ------------------------------------------------------------------ memory
def module_server(tmp_path_factory, name: str):
    """Body of a module-scoped server fixture: `yield from module_server(tmp_path_factory, "x")`."""
    require_browser()
    with StreamlitServer(tmp_path_factory.mktemp(name)) as srv:
        yield srv


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def _vm_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and all its descendants, in MiB (from /proc; Linux only)."""
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += _vm_rss_kb(p)
        todo += _children(p)
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of `pid` so far, in seconds (from /proc; Linux only)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


# ------------------------------------------------------------------ pages (sync API)
def wait_idle(page, timeout_ms: float = 60_000) -> None:
    """Until the script of the page has finished a run (Streamlit's own run-state flag)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           state="attached", timeout=timeout_ms)


def exceptions(page) -> list[str]:
    """Texts of every Streamlit exception box on the page."""
    return [t[:500] for t in page.locator(EXCEPTION).all_inner_texts()]


# Looked for in the page at every animation frame, through shadow roots (the map's component):
# the frame an element became visible. A Playwright wait polls at 0, 20, 70, 170, 270 ms and
# then every 500 ms, which rounds a time up by as much as half a second.
_SHOWN = """([sel, text]) => {
  const find = (root) => {
    for (const e of root.querySelectorAll(sel)) {
      const r = e.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && (!text || e.textContent.includes(text))) return e;
    }
    for (const e of root.querySelectorAll('*')) if (e.shadowRoot) { const f = find(e.shadowRoot); if (f) return f; }
    return null;
  };
  return find(document) ? performance.now() : false;
}"""


def shown_at(page, selector: str, text: str | None = None, timeout_ms: float = 90_000) -> float:
    """Seconds from navigation start to the animation frame in which the first visible
    `selector` (holding `text`, when given) appeared: a benchmark's clock, not a test's."""
    return page.wait_for_function(_SHOWN, arg=[selector, text], polling="raf", timeout=timeout_ms).json_value() / 1000


def open_page(page, url: str, main: str, timeout_ms: float = 90_000) -> float:
    """Go to `url`, wait for its main element to be visible and the run to end; seconds taken."""
    t0 = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
    page.locator(main).first.wait_for(state="visible", timeout=timeout_ms)
    took = time.perf_counter() - t0
    wait_idle(page, timeout_ms)
    return took


def full_screenshot(page, path) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so the viewport is stretched to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate("""() => {
        const els = [document.querySelector('[data-testid="stMain"]'),
                     document.querySelector('[data-testid="stAppViewContainer"]'),
                     document.scrollingElement];
        return Math.max(...els.filter(Boolean).map(e => e.scrollHeight));
    }""")
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), 8000))})
    page.wait_for_timeout(300)  # let plotly redraw at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def digit_png(path, digit: str = "3", size: int = 96) -> Path:
    """A PNG of a handwritten-looking digit, dark on white, drawn with Pillow."""
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.load_default(size=int(size * 0.8))
    except TypeError:  # Pillow < 10.1: a fixed bitmap font, drawn small then scaled up
        small = Image.new("L", (12, 14), 255)
        ImageDraw.Draw(small).text((3, 1), digit, fill=0)
        img = small.resize((size, size))
    else:
        draw.text((size / 2, size / 2), digit, fill=0, font=font, anchor="mm")
    path = Path(path)
    img.save(path, format="PNG")
    return path
