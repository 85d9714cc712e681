"""Install hygiene for hosting: constraints.txt pins every dependency exactly and agrees with
pyproject.toml, the minimums of pillow and streamlit are past their published advisories (and
so are the pins), `make app` builds an environment without the test tools and listens on
localhost only, `make host` switches hosted mode on and hides error details, and the Streamlit
config listens on localhost. Reads files and runs `make -n` (a dry run): no network, no install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# Published advisories and the first release that fixes each; the minimum in pyproject.toml
# and the pin in constraints.txt must both be at least the highest of these.
ADVISORIES = {
    "pillow": {
        "CVE-2024-28219": "10.3.0",
        "CVE-2025-48379": "11.3.0",
        "CVE-2026-25990": "12.1.1",
        "CVE-2026-40192": "12.2.0",
        "CVE-2026-59197": "12.3.0",
        "advisories against 12.3.0 (2026-10-20)": "13.0.0",
    },
    "streamlit": {
        "CVE-2024-42474": "1.37.0",
        "CVE-2026-33682": "1.54.0",
    },
}
# Left out of the lock on purpose: TORCH_SPEC installs torch, and with it its CUDA wheels and
# the packages only torch needs.
UNPINNED = re.compile(r"^(torch|triton|nvidia-[a-z0-9-]+|sympy|mpmath|filelock|fsspec)$")
DEV_TOOLS = ("pytest", "hypothesis", "ruff", "playwright")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])
    return [Requirement(s) for s in specs]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for n, raw in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line)
        assert m, f"constraints.txt line {n} is not an exact pin (name==version): {raw!r}"
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"constraints.txt pins {name} twice"
        pins[name] = Version(m.group(2))
    return pins


def _minimum(req: Requirement) -> Version | None:
    """The lower bound of a requirement's >= (or ==) clauses; None when it has none."""
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==")]
    return max(bounds) if bounds else None


def _requirement(name: str) -> Requirement:
    found = [r for r in _requirements() if canonicalize_name(r.name) == name]
    assert len(found) == 1, f"pyproject.toml should name {name} once, names it {len(found)} times"
    return found[0]


def _make_dry_run(target: str, **overrides: str) -> str:
    """`make -n -B TARGET`: every recipe line the target would run, none of them run."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items()
           if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "HOST", "PORT", "TORCH_SPEC", "LSE_HOSTED"}}
    args = [f"{k}={v}" for k, v in overrides.items()]
    out = subprocess.run(["make", "--no-print-directory", "-n", "-B", target, *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _pip_installs(dry_run: str) -> list[str]:
    return [line for line in dry_run.splitlines() if re.search(r"\bpip install\b", line)]


def test_every_dependency_has_an_exact_pin_that_satisfies_pyproject():
    pins = _pins()
    for req in _requirements():
        name = canonicalize_name(req.name)
        if name == "torch":
            assert name not in pins, "torch comes from TORCH_SPEC, not constraints.txt"
            continue
        assert name in pins, f"{name} ({req}) has no pin in constraints.txt"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject.toml's {req}"


def test_torch_and_its_cuda_wheels_stay_out_of_the_lock():
    left_in = sorted(n for n in _pins() if UNPINNED.match(n))
    assert not left_in, f"constraints.txt should leave these to TORCH_SPEC: {left_in}"
    header = (ROOT / "constraints.txt").read_text()
    assert "TORCH_SPEC" in header and "make lock" in header


@pytest.mark.parametrize("name", sorted(ADVISORIES))
def test_minimum_is_past_every_published_advisory(name):
    fixed = max(Version(v) for v in ADVISORIES[name].values())
    req = _requirement(name)
    low = _minimum(req)
    assert low is not None and low >= fixed, f"pyproject.toml's {req} allows versions before {fixed}"
    last_vulnerable = {"pillow": "12.3.0", "streamlit": "1.53.0"}[name]
    assert not req.specifier.contains(last_vulnerable, prereleases=True)


@pytest.mark.parametrize("name", sorted(ADVISORIES))
def test_pin_is_past_every_published_advisory(name):
    pin = _pins()[name]
    for advisory, fixed in ADVISORIES[name].items():
        assert pin >= Version(fixed), f"constraints.txt pins {name}=={pin}, before the fix for {advisory}"


def test_streamlit_minimum_covers_the_newest_api_the_app_uses():
    # st.cache_data(max_size=...) is new in 1.67.0, the first release that also accepts pillow 13.
    assert _minimum(_requirement("streamlit")) >= Version("1.67")


def test_requires_python_matches_the_pinned_wheels():
    # streamlit 1.67 and pillow 13 are for Python 3.11 and newer.
    requires = SpecifierSet(_pyproject()["project"]["requires-python"])
    assert not requires.contains("3.10") and requires.contains("3.11")


def test_make_app_installs_the_runtime_only_under_the_constraints():
    out = _make_dry_run("app")
    installs = _pip_installs(out)
    project = [line for line in installs if " -e " in line]
    assert project, out
    assert all("-c constraints.txt" in line for line in project), project
    assert ".[dev]" not in out and "[dev]" not in out, out
    for line in installs:
        assert not any(re.search(rf"\b{tool}\b", line) for tool in DEV_TOOLS), line
    assert ".venv-dev" not in out
    run = [line for line in out.splitlines() if "streamlit run" in line]
    assert len(run) == 1 and "--server.address localhost" in run[0], run
    assert "LSE_HOSTED" not in run[0]


def test_make_test_uses_its_own_environment_with_the_dev_extra():
    out = _make_dry_run("test")
    project = [line for line in _pip_installs(out) if " -e " in line]
    assert project and all(".venv-dev/bin/python" in line for line in project), out
    assert all('".[dev]"' in line and "-c constraints.txt" in line for line in project), project
    assert ".venv-dev/bin/python -m pytest" in out


@pytest.mark.parametrize("target", ["lint", "test-all"])
def test_other_test_tools_run_from_the_dev_environment(target):
    out = _make_dry_run(target)
    assert ".venv-dev/bin/" in out.splitlines()[-1], out


def test_make_host_is_hosted_on_every_interface_without_error_details():
    out = _make_dry_run("host").replace("\\\n", " ")
    run = [" ".join(line.split()) for line in out.splitlines() if "streamlit run" in line]
    assert len(run) == 1, out
    line = run[0]
    assert re.search(r"(^|\s)LSE_HOSTED=1\s", line), line
    assert "--server.address 0.0.0.0" in line
    assert "--client.showErrorDetails none" in line
    assert "--server.address 10.1.2.3" in " ".join(_make_dry_run("host", HOST="10.1.2.3").split())


def test_streamlit_config_listens_on_localhost():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "localhost"
    # Local use keeps Streamlit's default error details; `make host` passes "none".
    assert "showErrorDetails" not in config.get("client", {})


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)
    assert "chromium" in ci
