"""The shape of the code, read with ``ast`` (nothing is imported): the import graph of the first-party
modules has no circle, the layers import one way, no module is over 600 lines, and every import inside
a function says why it is deferred.

The graph counts every import a module makes, at its top and inside its functions: ``import a.b``,
``from a import b`` (the module ``a.b`` when there is one, else the package ``a``), relative imports
resolved against the module's package. Importing ``a.b.c`` counts as an edge to ``a.b.c`` only, not to
the packages above it: a package ``__init__`` that re-exports its submodules is fine, but a submodule
that imports a sibling through the package (``from casework.report import clean`` inside
``casework/report/pdf.py``) closes a circle; siblings import each other directly. Imports under ``if
TYPE_CHECKING:`` never run, so they count for the layers but not for circles.

An import inside a function is allowed only with a comment containing the word "deferred" on its line,
or on the line above it (a comment heading a run of such imports), saying why: a heavy library loaded
only when needed, an optional dependency, Streamlit kept out of a module's import...
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("knowledge", "rules", "casework", "app_pages")
SCRIPTS = ("app.py", "scripts")  # first-party modules outside the packages: the app's frame, the docs and screenshot scripts
# bench/ is left out on purpose: its scripts time imports, so they import inside functions by design.
MAX_LINES = 600
# the layers, lowest first: a module may import its own layer and the ones below, never one above
LAYERS = ("knowledge", "rules", "casework", "app_pages")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


@dataclass
class Module:
    name: str
    path: Path
    rel: str  # the path from the project's root
    is_package: bool
    lines: int = 0
    imports: list[tuple[str, int, bool, bool]] = field(default_factory=list)  # (module, line, in function, runs)
    undeferred: list[int] = field(default_factory=list)  # lines of function-level imports without a reason


def discover(root: Path, packages=PACKAGES, scripts=SCRIPTS) -> dict[str, Module]:
    """Every first-party module by dotted name (scripts by their path: ``scripts.screenshots``, ``app``)."""
    found: dict[str, Module] = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            rel = path.relative_to(root).with_suffix("")
            parts = list(rel.parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = Module(".".join(parts), path, path.relative_to(root).as_posix(), is_package)
    for item in scripts:
        paths = [root / item] if item.endswith(".py") else sorted((root / item).glob("*.py"))
        for path in paths:
            if path.is_file():
                name = ".".join(path.relative_to(root).with_suffix("").parts)
                found[name] = Module(name, path, path.relative_to(root).as_posix(), False)
    return found


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out[tok.start[0]] = tok.string
    return out


def _resolve(mod: Module, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = mod.name.split(".") if mod.is_package else mod.name.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _under_type_checking(parents: list[ast.AST]) -> bool:
    return any(
        isinstance(p, ast.If) and "TYPE_CHECKING" in ast.unparse(p.test) for p in parents
    )


def read(mod: Module, known: set[str]) -> Module:
    source = mod.path.read_text(encoding="utf-8")
    mod.lines = len(source.splitlines())
    comments = _comments(source)
    tree = ast.parse(source, str(mod.path))
    function_import_lines: set[int] = set()
    found: list[tuple[ast.AST, list[ast.AST]]] = []

    def walk(node: ast.AST, parents: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((child, parents))
                if any(isinstance(p, FUNCTIONS) for p in parents):
                    function_import_lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
            walk(child, [*parents, child])

    walk(tree, [])
    for node, parents in found:
        in_function = any(isinstance(p, FUNCTIONS) for p in parents)
        runs = not _under_type_checking(parents)
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = _resolve(mod, node)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            if target in known:
                mod.imports.append((target, node.lineno, in_function, runs))
        if in_function and not _deferred(node, comments, function_import_lines):
            mod.undeferred.append(node.lineno)
    return mod


def _deferred(node: ast.AST, comments: dict[int, str], import_lines: set[int]) -> bool:
    """A comment with "deferred" on the import's lines, or on the first line above the run of
    function-level imports it belongs to."""
    own = range(node.lineno, (node.end_lineno or node.lineno) + 1)
    if any("deferred" in comments.get(n, "").lower() for n in own):
        return True
    above = node.lineno - 1
    while above in import_lines:
        above -= 1
    return "deferred" in comments.get(above, "").lower()


def analyse(root: Path, packages=PACKAGES, scripts=SCRIPTS) -> dict[str, Module]:
    modules = discover(root, packages, scripts)
    known = set(modules)
    return {name: read(m, known) for name, m in modules.items()}


def find_cycle(modules: dict[str, Module]) -> list[str] | None:
    """One circle among the imports that run (as a list of modules, first == last), or None."""
    graph = {n: sorted({t for t, _, _, runs in m.imports if runs and t != n}) for n, m in modules.items()}
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        colour[n] = GREY
        stack.append(n)
        for t in graph.get(n, []):
            if colour.get(t) == GREY:
                return [*stack[stack.index(t):], t]
            if colour.get(t) == WHITE:
                found = visit(t)
                if found:
                    return found
        stack.pop()
        colour[n] = BLACK
        return None

    for n in sorted(graph):
        if colour[n] == WHITE:
            found = visit(n)
            if found:
                return found
    return None


def layer_of(name: str) -> int | None:
    top = name.split(".")[0]
    return LAYERS.index(top) if top in LAYERS else None


def layer_breaches(modules: dict[str, Module]) -> list[str]:
    out = []
    for name, m in modules.items():
        mine = layer_of(name)
        if mine is None:
            continue
        for target, line, _, _ in m.imports:
            theirs = layer_of(target)
            if theirs is None or theirs > mine:  # a layer above, or the app's frame and the scripts
                out.append(f"{m.rel}:{line} {name} imports {target}")
    return out


def too_long(modules: dict[str, Module]) -> list[str]:
    return [f"{name}: {m.lines} lines" for name, m in modules.items() if m.lines > MAX_LINES]


def undeferred(modules: dict[str, Module]) -> list[str]:
    return [f"{name}:{line}" for name, m in modules.items() for line in m.undeferred]


# --------------------------------------------------------------------------- the project


@pytest.fixture(scope="module")
def project() -> dict[str, Module]:
    return analyse(ROOT)


def test_the_graph_sees_the_project(project):
    assert {"app", "rules.consult", "casework.report", "casework.report.pdf", "app_pages.casework.cases"} <= set(project)
    edges = {(n, t) for n, m in project.items() for t, *_ in m.imports}
    assert ("app", "app_pages.casework.cases") in edges
    assert ("casework.report", "casework.report.pdf") in edges  # the package re-exports its parts
    assert ("casework.report.document", "casework.plan") in edges


def test_no_import_circle(project):
    cycle = find_cycle(project)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_layers_import_one_way(project):
    assert layer_breaches(project) == []


def test_no_module_over_600_lines(project):
    assert too_long(project) == []


def test_every_import_inside_a_function_says_why_it_is_deferred(project):
    assert undeferred(project) == [], "add a '# deferred: <why>' comment, or import at the top"


# --------------------------------------------------------------------------- the checks can fail


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return analyse(tmp_path, packages=("knowledge", "rules", "casework", "app_pages"), scripts=())


def test_the_checks_find_a_circle_a_breach_a_long_module_and_a_hidden_import(tmp_path):
    modules = _tree(tmp_path, {
        "knowledge/__init__.py": "",
        "rules/__init__.py": "",
        "rules/a.py": "from . import b\n",
        "rules/b.py": "def f():\n    from rules.c import x\n    return x\n",
        "rules/c.py": "import rules.a\nx = 1\n",
        "casework/__init__.py": "",
        "casework/report/__init__.py": "from casework.report.pdf import render\n",
        "casework/report/pdf.py": "from casework.report import clean\n\ndef render():\n"
                                  "    import fpdf  # deferred: heavy\n    # deferred: heavy as well\n"
                                  "    import docx\n    import lxml\n    return fpdf, docx, lxml\n",
        "knowledge/low.py": "def f():\n    from app_pages import page  # deferred: but still a breach\n",
        "app_pages/__init__.py": "",
        "app_pages/page.py": "x = 1\n" * (MAX_LINES + 1),
    })
    # the package that re-exports pdf, and pdf that imports the package
    assert find_cycle(modules) == ["casework.report", "casework.report.pdf", "casework.report"]
    del modules["casework.report"]
    assert find_cycle(modules) == ["rules.a", "rules.b", "rules.c", "rules.a"]  # through a function's import
    assert layer_breaches(modules) == ["knowledge/low.py:2 knowledge.low imports app_pages.page"]
    assert too_long(modules) == ["app_pages.page: 601 lines"]
    assert undeferred(modules) == ["rules.b:2"]  # the run under "# deferred: heavy as well" is fine


def test_type_checking_imports_are_no_circle_and_sibling_imports_are_none(tmp_path):
    modules = _tree(tmp_path, {
        "rules/__init__.py": "",
        "rules/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rules.b import B\n",
        "rules/b.py": "from rules import a\n",
        "casework/report/__init__.py": "from casework.report.pdf import render\nfrom .model import clean\n",
        "casework/report/model.py": "def clean(): ...\n",
        "casework/report/pdf.py": "from casework.report.model import clean\n",
    })
    assert find_cycle(modules) is None
    assert ("casework.report.model", 2, False, True) in modules["casework.report"].imports
