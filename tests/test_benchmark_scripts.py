"""Every benchmark script still starts: it imports what it names and its options parse.

The benchmarks run for minutes and are not part of the test run, so a rename in ae_core or in one
benchmark that another imports (bench_ensemble reads bench_refine's training_photos) would
otherwise go unnoticed until someone measures. `--help` loads the script and builds its parser
without measuring anything. The scripts are loaded in a process of their own: some set
process-wide state on import (bench_projection pins NUMBA_NUM_THREADS before numba loads), which
must not reach the tests that run after this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))

# Loads each script, asks it for --help, and prints {script: "ok" or what went wrong} as JSON.
_CHECK = r"""
import contextlib, importlib.util, inspect, io, json, sys
from pathlib import Path

folder = Path(sys.argv[1])
sys.path.insert(0, str(folder))
outcome = {}
for path in sorted(folder.glob("bench_*.py")):
    printed = io.StringIO()
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if not callable(getattr(module, "main", None)):
            outcome[path.name] = "no main()"
            continue
        sys.argv = [path.name, "--help"]  # some read sys.argv, some take argv
        with contextlib.redirect_stdout(printed):
            module.main(["--help"]) if inspect.signature(module.main).parameters else module.main()
        outcome[path.name] = "main() returned instead of exiting after --help"
    except SystemExit as done:
        ok = done.code == 0 and "usage:" in printed.getvalue()
        outcome[path.name] = "ok" if ok else f"exit {done.code}: {printed.getvalue()[:300]}"
    except Exception as e:
        outcome[path.name] = f"{type(e).__name__}: {e}"
print(json.dumps(outcome))
"""


@pytest.fixture(scope="module")
def outcomes() -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", _CHECK, str(BENCHMARKS)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) >= 10, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_answers_help(script, outcomes):
    assert outcomes.get(script) == "ok", outcomes.get(script)
