"""The documentation matches the tree (issue 31): docs/design.md names every module of advcore/ and pages/
and nothing that is gone, and gives each the layer pyproject.toml's import contract puts it in (the contract
itself is tests/test_layers.py's); every relative link in README.md and docs/*.md leads to a file, and the
README stays a short page for a newcomer whose install and test commands .ci/run can extract.

Static checks only: files are read and parsed (``ast``), nothing is imported, so no TensorFlow start-up.
"""

import ast
import re
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
DESIGN = ROOT / "docs" / "design.md"
README = ROOT / "README.md"
README_MAX_LINES = 250

MODULE_PATH = re.compile(r"(?<![\w/.])((?:advcore|pages)/[\w/]*\w\.py)\b")
ANY_PY_PATH = re.compile(r"(?<![\w/.])((?:advcore|pages|tests|bench|deploy|scripts)/[\w/]*\w\.py)\b")
DOTTED = re.compile(r"(?<![\w/.])(advcore(?:\.\w+)+)")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LAYER_ROW = re.compile(r"\| `((?:advcore|pages)/[\w/]+\.py)` \| ([^|]+?) \|")


def python_modules() -> set[str]:
    """Every ``.py`` file under advcore/ and pages/, as a path relative to the repository root."""
    return {p.relative_to(ROOT).as_posix() for top in ("advcore", "pages") for p in (ROOT / top).rglob("*.py")
            if "__pycache__" not in p.parts}


def named_paths(text: str) -> set[str]:
    return set(MODULE_PATH.findall(text))


def module_file(dotted: list[str]) -> Path | None:
    """The file of the module ``a.b.c`` (``a/b/c.py`` or the package's ``a/b/c/__init__.py``), if any."""
    base = ROOT.joinpath(*dotted)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def top_level_names(path: Path) -> set[str]:
    """Names a module defines or imports at its top level (what ``module.NAME`` can refer to)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def dotted_problem(name: str) -> str | None:
    """Why ``advcore.x.y[.attr]`` named in a doc does not exist, or None if it does: the longest prefix
    must be a module, and at most one name after it, defined at that module's top level."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        path = module_file(parts[:cut])
        if path is None:
            continue
        rest = parts[cut:]
        if not rest:
            return None
        if len(rest) == 1 and rest[0] in top_level_names(path):
            return None
        return f"{'.'.join(parts[:cut])} has no top-level {'.'.join(rest)}"
    return "no such module"


def contract_layers() -> list[str]:
    """The layers of pyproject.toml's import contract, top first (``"cli | train_runner"``)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    return contract["layers"]


def expected_layer(path: str, layers: list[str]) -> str:
    """The layer a module's row in docs/design.md gives: its top-level module's, counted from the bottom (1);
    "pages" for a page and "—" for advcore/__init__.py, which are in no layer."""
    if path.startswith("pages/"):
        return "pages"
    top = path.split("/")[1].removesuffix(".py")
    if top == "__init__":
        return "—"
    for number, layer in enumerate(reversed(layers), 1):
        if top in (name.strip() for name in layer.split("|")):
            return str(number)
    return "not in the contract"


def imports_streamlit(path: str) -> bool:
    """Whether a module imports streamlit anywhere in its file."""
    for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
        if any(n == "streamlit" or n.startswith("streamlit.") for n in names):
            return True
    return False


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def test_design_names_only_modules_that_exist():
    text = DESIGN.read_text(encoding="utf-8")
    missing = sorted(p for p in named_paths(text) if not (ROOT / p).is_file())
    assert not missing, f"docs/design.md names files that do not exist: {missing}"
    wrong = {name: why for name in sorted(set(DOTTED.findall(text))) if (why := dotted_problem(name))}
    assert not wrong, f"docs/design.md names modules or names that do not exist: {wrong}"


def test_design_names_every_module():
    unnamed = sorted(python_modules() - named_paths(DESIGN.read_text(encoding="utf-8")))
    assert not unnamed, f"docs/design.md does not name these modules (one line each, with its layer): {unnamed}"


def test_design_layers_match_the_contract():
    """docs/design.md lists the contract's layers as they are, and each module's row gives its layer."""
    layers = contract_layers()
    text = DESIGN.read_text(encoding="utf-8")
    listing = "\n".join(f"{len(layers) - k:>2}. {layer}" for k, layer in enumerate(layers))
    assert listing in text, f"docs/design.md's list of layers differs from pyproject.toml's:\n{listing}"
    rows = dict(LAYER_ROW.findall(text))
    unplaced = sorted(python_modules() - set(rows))
    assert not unplaced, f"docs/design.md has no row with a layer for: {unplaced}"
    wrong = {m: (given, want) for m, given in sorted(rows.items())
             if (want := expected_layer(m, layers)) != given}
    assert not wrong, f"docs/design.md gives these modules a layer other than the contract's (given, contract): {wrong}"


def test_only_ui_and_pages_import_streamlit():
    outside = sorted(m for m in python_modules()
                     if not m.startswith(("advcore/ui/", "pages/")) and imports_streamlit(m))
    assert not outside, f"docs/design.md says only advcore/ui imports streamlit; these do too: {outside}"


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_lead_to_files(doc):
    text = FENCE.sub("", doc.read_text(encoding="utf-8"))  # a link inside a code block is not a link
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):  # https:, mailto:, anchors
            continue
        if not (doc.parent / target.split("#")[0]).exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(ROOT)} links to files that do not exist: {broken}"


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_python_files_named_exist(doc):
    named = set(ANY_PY_PATH.findall(doc.read_text(encoding="utf-8")))
    missing = sorted(p for p in named if not (ROOT / p).is_file())
    assert not missing, f"{doc.relative_to(ROOT)} names files that do not exist: {missing}"


def test_readme_is_short():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; measurements belong in docs/"


@pytest.mark.parametrize("marker", ["ci:install", "ci:test"])
def test_readme_has_the_commands_ci_runs(marker):
    """.ci/run takes the lines between ``<!-- marker -->`` and ``<!-- /marker -->`` outside the code fence."""
    block = re.search(rf"<!-- {marker} -->\n(.*?)<!-- /{marker} -->", README.read_text(encoding="utf-8"), re.S)
    assert block, f"README.md lacks the <!-- {marker} --> block .ci/run reads"
    commands = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("```")]
    assert len(commands) == 1 and "python -m" in commands[0], commands


def test_the_checks_can_fail():
    """The helpers above do find what is missing (so a passing test means something)."""
    assert named_paths("`advcore/nope.py` and pages/x/y.py, not tests/advcore/a.py") == {
        "advcore/nope.py", "pages/x/y.py"}
    assert set(ANY_PY_PATH.findall("tests/test_a.py, bench/load.py; not docs/x.py")) == {
        "tests/test_a.py", "bench/load.py"}
    assert dotted_problem("advcore.no_such_module")
    assert dotted_problem("advcore.attacks.no_such_module.run")
    assert dotted_problem("advcore.errors.no_such_name")
    assert dotted_problem("advcore.errors") is None
    assert imports_streamlit("advcore/ui/layout.py") and not imports_streamlit("advcore/live.py")
    layers = ["ui | __main__", "cli", "errors"]
    assert [expected_layer(m, layers) for m in ("advcore/ui/qr.py", "advcore/cli.py", "advcore/zoo.py")] == [
        "3", "2", "not in the contract"]
    assert LINK.findall("see [a](docs/a.md#x) and ![b](b.png) and [c](https://x.org)") == [
        "docs/a.md#x", "b.png", "https://x.org"]
