"""Every benchmark script still starts: it imports what it names and its options parse.

The benchmarks run for minutes and are not part of the test run, so a rename in ae_core or in one
benchmark that another imports (bench_ensemble reads bench_refine's training_photos) would
otherwise go unnoticed until someone measures. `--help` loads the script and builds its parser
without measuring anything."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p for p in BENCHMARKS.glob("bench_*.py"))


def test_there_are_benchmark_scripts():
    assert len(SCRIPTS) >= 10, SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_benchmark_script_answers_help(script, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"_bench_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "main", None)), f"{script.name} has no main()"
    printed = io.StringIO()
    monkeypatch.setattr(sys, "argv", [script.name, "--help"])
    with contextlib.redirect_stdout(printed), pytest.raises(SystemExit) as done:
        # some read sys.argv, some take argv
        module.main(["--help"]) if inspect.signature(module.main).parameters else module.main()
    assert done.value.code == 0
    assert "usage:" in printed.getvalue()
