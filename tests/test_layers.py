"""advcore's layers import only downward (pyproject.toml [tool.importlinter]), and no import inside a function
hides an upward one: every function-level import in advcore (outside advcore/ui) says why it is lazy."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "advcore"
LAZY = "# lazy:"


def _lint_imports() -> str | None:
    """The import-linter command next to this interpreter (the venv's), else on PATH."""
    beside = Path(sys.executable).with_name("lint-imports")
    return str(beside) if beside.is_file() else shutil.which("lint-imports")


def test_layers_contract_is_kept():
    command = _lint_imports()
    if command is None:
        pytest.fail("lint-imports not found: pip install -r requirements-dev.txt (import-linter)")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([command, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the import contracts are broken:\n{done.stdout}\n{done.stderr}"
    assert "0 broken" in done.stdout and "KEPT" in done.stdout, done.stdout


def unexplained_lazy_imports(source: str) -> list[int]:
    """Line numbers of imports inside a function (at any depth) that carry no ``# lazy:`` comment: on the
    import's line, on the comment line just above it, or on the first import of a run of consecutive ones."""
    lines = source.splitlines()
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        explained_run = False
        previous_end = None
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if in_function and isinstance(child, ast.Import | ast.ImportFrom):
                own = LAZY in lines[child.lineno - 1]
                above = child.lineno >= 2 and lines[child.lineno - 2].strip().startswith("#") and \
                    LAZY in lines[child.lineno - 2]
                in_run = explained_run and previous_end == child.lineno - 1
                explained_run = own or above or in_run
                previous_end = child.end_lineno
                if not explained_run:
                    found.append(child.lineno)
            else:
                explained_run = False
            visit(child, inside)

    visit(ast.parse(source), False)
    return found


def test_no_function_level_import_without_a_reason():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if (PACKAGE / "ui") in path.parents:
            continue
        offenders += [f"{path.relative_to(ROOT)}:{line}" for line in unexplained_lazy_imports(path.read_text())]
    assert offenders == [], ("imports inside functions without a '# lazy: <reason>' comment (move the code to "
                             "the layer where it belongs, or say why the import waits):\n" + "\n".join(offenders))


def test_the_lazy_import_check_can_fail():
    source = ("import os\n\n"
              "def f():\n    import json\n    return json\n\n"
              "def g():\n    # lazy: keras loads TensorFlow\n    import keras\n    from keras import layers\n"
              "    x = 1\n    import re\n\n"
              "def h():\n    import numpy  # lazy: start-up time\n\n"
              "class C:\n    def m(self):\n        if True:\n            from . import zoo\n")
    assert unexplained_lazy_imports(source) == [4, 12, 20]
