"""No module of ours imports itself back through others, and the actions import only at the top of a module.

Read from the source with `ast` (nothing is imported, so both Python environments' code is checked from here):
every `import` and `from ... import` of our own packages, wherever it stands, is an edge from one module to
another; a strongly connected set of more than one module is a cycle. Imports under `if TYPE_CHECKING:` are
left out, as they never run. A function-level import in actions/ is refused outright: it was how the six
capability modules hid the circle they made (issue 13, item 4).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("actions", "action_server", "bot", "repairs", "rasa_channel", "rasa_components", "rasa_tracker")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Each import that runs, and whether it stands inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                for orelse in child.orelse:
                    yield from walk(orelse, in_function)
                continue
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            yield from walk(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    yield from walk(tree, False)


def imported_modules(node: ast.Import | ast.ImportFrom, importer: str, modules: dict[str, Path]) -> set[str]:
    """The modules of ours an import statement loads (`from pkg import mod` loads pkg.mod when it is one)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package
            package = importer.split(".")
            if modules[importer].name != "__init__.py":
                package = package[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
    found = set()
    for name in names:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != importer:
            found.add(name)
    return found


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """Edges between our modules, and every import inside a function in actions/ (as `module:line`)."""
    modules = our_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    in_functions: list[str] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, in_function in imports(tree):
            targets = imported_modules(node, name, modules)
            graph[name] |= targets
            if in_function and name.split(".")[0] == "actions" and targets:
                in_functions.append(f"{name}:{node.lineno}")
    return graph, in_functions


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_ours_imports_itself_back() -> None:
    graph, _ = import_graph()
    assert cycles(graph) == []


def test_the_actions_import_nothing_inside_a_function() -> None:
    _, in_functions = import_graph()
    assert in_functions == []


CIRCLE = {
    "a.py": "from actions.b import run\n",
    "b.py": "def run():\n    from actions.c import go\n    return go()\n",
    "c.py": "import actions.a\n",
    "d.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import actions.a\n",
}


def test_the_check_finds_a_circle_hidden_inside_a_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The check itself can fail: a circle through a function-level import is found, one under TYPE_CHECKING is not.
    (tmp_path / "actions").mkdir()
    for name, source in CIRCLE.items():
        (tmp_path / "actions" / name).write_text(source, encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    monkeypatch.setattr(f"{__name__}.PACKAGES", ("actions",))
    graph, in_functions = import_graph()
    assert cycles(graph) == [["actions.a", "actions.b", "actions.c"]]
    assert in_functions == ["actions.b:2"]
