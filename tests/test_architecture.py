"""The shape the design promises, checked on the package's own source: no import cycle, no module
over 600 lines, CPython's ``ast`` only in the pre-screen, the heavy libraries only in verify/."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "peftlint"
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[dotted.removesuffix(".__init__")] = path
    return found


def _runtime_imports(path: Path) -> list[str]:
    """Every ``peftlint`` module a file imports when it runs (not under ``if TYPE_CHECKING:``),
    function-level imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
        for child in ast.walk(node)
    }
    found = []
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


def test_no_import_cycle() -> None:
    modules = _modules()
    edges = {
        name: {target for target in _runtime_imports(path) if target in modules and target != name}
        for name, path in modules.items()
    }
    # The package's __init__ re-exports the engine: an edge into it from its own modules is the
    # import machinery's, not a dependency of theirs.
    for targets in edges.values():
        targets.discard("peftlint")
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycle.extend([*trail[trail.index(target) :], node, target] if target in trail else [node, target])
                return True
            if target not in state and visit(target, [*trail, node]):
                return True
        state[node] = 2
        return False

    for name in sorted(modules):
        if name not in state and visit(name, []):
            break
    assert not cycle, " -> ".join(cycle)


def test_no_module_is_over_600_lines() -> None:
    long = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _modules().items()}
    assert {name: lines for name, lines in long.items() if lines > MAX_LINES} == {}


def test_cpython_ast_only_in_the_pre_screen() -> None:
    users = {name for name, path in _modules().items() if "ast" in _runtime_imports(path)}
    assert users == {"peftlint.analysis.prescreen"}


def test_heavy_libraries_only_in_verify() -> None:
    heavy = ("torch", "transformers", "peft", "gguf")
    offenders = {
        name
        for name, path in _modules().items()
        if not name.startswith("peftlint.verify")
        and any(imported.split(".")[0] in heavy for imported in _runtime_imports(path))
    }
    assert offenders == set()
