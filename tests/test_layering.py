"""No two modules of graphsparse import each other, directly (imports inside functions count too).

``lint-imports`` (``make lint``) keeps the layers in order between packages; this test reads every module's source
with :mod:`ast`, so it also sees the imports inside functions and between modules of one package, and fails on any
pair of modules where each imports the other. Imports under ``if TYPE_CHECKING:`` are for annotations only (never
run) and are not counted.
"""

from __future__ import annotations

import ast
from pathlib import Path

import graphsparse

PACKAGE_DIR = Path(graphsparse.__file__).parent


def _module_names() -> dict[str, Path]:
    """Every module of the package: dotted name -> file (a package is named by its ``__init__.py``)."""
    modules = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ("graphsparse", *path.relative_to(PACKAGE_DIR).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks (their ``else`` is kept)."""
    nodes, stack = [], [tree]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of graphsparse that module ``name`` imports anywhere in its source (not itself)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules.keys()
            found.update(submodules)
            if len(submodules) < len(node.names):  # names defined in the module itself (not its submodules)
                found.add(target)
    return {target for target in found if target in modules and target != name}


def test_the_module_reader_resolves_relative_imports() -> None:
    """The reader sees relative imports, at module level and inside functions."""
    modules = _module_names()
    assert "graphsparse.graph.core" in modules and "graphsparse.cli" in modules
    imports = _imports("graphsparse.graph.convert", modules["graphsparse.graph.convert"], modules)
    assert {"graphsparse.graph.core", "graphsparse.graph.checks"} <= imports
    function_level = _imports("graphsparse.cli.train", modules["graphsparse.cli.train"], modules)
    assert {"graphsparse.cli.train_link", "graphsparse.cli.train_cluster"} <= function_level  # imported in a function


def test_no_two_modules_import_each_other() -> None:
    """No pair of graphsparse modules where each imports the other."""
    modules = _module_names()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    circles = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets if a in graph[b]})
    assert circles == [], "modules that import each other: " + ", ".join(f"{a} <-> {b}" for a, b in circles)
