"""Module-level string constants of the files of a run, for imported path constants.

``from config import CHECKPOINT`` in infer.py resolves against config.py when that file is in
the run or sits beside the importer. Constants are read with ``ast``: nothing is executed.
"""

from __future__ import annotations

import ast
import os
from functools import lru_cache

from peftlint.analysis import paths

MAX_CONSTANT_FILE_BYTES = 2_000_000


class ConstantResolver:
    def __init__(self, run_files: list[str]) -> None:
        self.by_module: dict[str, list[str]] = {}
        for path in run_files:
            for dotted in _dotted_names(path):
                self.by_module.setdefault(dotted, []).append(path)

    def __call__(self, importer: str, shape: paths.Shape) -> paths.Shape:
        return paths.resolve_imports(shape, lambda qualname: self.lookup(importer, qualname))

    def lookup(self, importer: str, qualname: str) -> paths.Shape | None:
        module, _, name = qualname.rpartition(".")
        for candidate in self._candidates(importer, module):
            value = _constants(candidate).get(name)
            if value is not None:
                return paths.normalise(paths.literal(value))
        return None

    def _candidates(self, importer: str, module: str) -> list[str]:
        base = os.path.dirname(importer)
        stripped = module.lstrip(".")
        for _ in range(max(len(module) - len(stripped) - 1, 0)):
            base = os.path.dirname(base)
        beside = os.path.join(base, *stripped.split(".")) + ".py" if stripped else None
        found = [beside] if beside and os.path.isfile(beside) else []
        if not module.startswith("."):
            found += sorted(self.by_module.get(module, []))
        return found


def _dotted_names(path: str) -> list[str]:
    parts = os.path.normpath(path).split(os.sep)
    parts[-1] = parts[-1].removesuffix(".py")
    parts = [p for p in parts if p not in ("", ".", "..")]
    return [".".join(parts[i:]) for i in range(len(parts))]


@lru_cache(maxsize=256)
def _constants(path: str) -> dict[str, str]:
    try:
        if os.path.getsize(path) > MAX_CONSTANT_FILE_BYTES:
            return {}
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    found: dict[str, str] = {}
    for statement in tree.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    found[target.id] = value.value
                else:
                    found.pop(target.id, None)  # rebound to something we cannot read
    return found
