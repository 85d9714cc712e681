"""The architecture, checked: pyproject.toml's import-linter contracts hold (ae_core knows no app
code and no Streamlit; services import no Streamlit; the dashboard's layers point down), and every
page script in app_pages/ imports its view and nothing else."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout and "3 kept" in r.stdout, r.stdout[-2000:]


def test_a_broken_layer_is_caught(tmp_path):
    """The contracts can fail: a copy of the tree where dashboard.render imports the shell breaks one."""
    import shutil
    for name in ("ae_core", "dashboard", "services"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.js", "*.css"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    tables = tmp_path / "dashboard" / "render" / "tables.py"
    tables.write_text(tables.read_text() + "\nfrom dashboard.shell import state  # noqa: E402,F401\n")
    lint = Path(sys.executable).parent / "lint-imports"
    r = subprocess.run([str(lint), "--config", str(tmp_path / "pyproject.toml")], cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "BROKEN" in r.stdout and "dashboard.render.tables" in r.stdout, r.stdout[-2000:]


def test_pages_import_only_their_view():
    pages = sorted((ROOT / "app_pages").glob("*.py"))
    assert len(pages) >= 8
    for page in pages:
        tree = ast.parse(page.read_text())
        imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert imports, page.name
        for n in imports:
            assert isinstance(n, ast.ImportFrom) and n.module == "dashboard.views", \
                f"{page.name} imports {ast.unparse(n)}: a page imports its view only"
        statements = [n for n in tree.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]
        assert len(statements) == 2, f"{page.name}: import the view, call its render() (thin pages)"


def test_no_import_cycles():
    """No module imports itself through others (grimp reads every import, function-level too)."""
    import grimp

    graph = grimp.build_graph("ae_core", "dashboard", "services")
    index, low, on_stack, stack, cycles = {}, {}, set(), [], []

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for m in sorted(graph.modules):
        if m not in index:
            visit(m)
    assert not cycles, cycles
