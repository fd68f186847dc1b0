"""Where ``import a.b`` in a file of the run leads, as Python would find it for a script run from
its own directory: the module beside the importer, or in a package up to ``MAX_ANCESTORS``
directories above it; failing that, the one file of the run that could be that module. The
analysis follows imports this way, and the run's admission (which files call a helper of
another module) decides with the same answer. Nothing here imports the analysis."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

MAX_ANCESTORS = 4  # how far up from the importer a package is looked for
# pytest's rootdir: the nearest folder with a configuration file it reads (or the repository's
# root); conftest.py files above it are not loaded (confcutdir). Looked for this far up at most.
_ROOTDIR_MARKERS = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg", ".git")
MAX_CONFTEST_LEVELS = 16


def find_module(dotted: str, importer: str, run_modules: Mapping[str, list[str]]) -> str | None:
    """The file ``dotted`` (with leading dots for a relative import) names from ``importer``, as an
    absolute path; ``run_modules``: the run's files by dotted name (``modules_of``)."""
    stripped = dotted.lstrip(".")
    dots = len(dotted) - len(stripped)
    base = os.path.dirname(os.path.abspath(importer))
    relative = stripped.split(".") if stripped else []
    if dots:
        for _ in range(dots - 1):
            base = os.path.dirname(base)
        return module_file(base, relative)
    directory = base
    for _ in range(MAX_ANCESTORS + 1):
        found = module_file(directory, relative)
        if found is not None:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    candidates = run_modules.get(stripped, [])
    return os.path.abspath(candidates[0]) if len(candidates) == 1 else None


def conftest_folders(path: str) -> list[str]:
    """The folders whose ``conftest.py`` fixtures pytest gives the test module ``path``, nearest
    first: its own and each parent, up to and including pytest's rootdir."""
    found = []
    folder = os.path.dirname(os.path.abspath(path))
    for _ in range(MAX_CONFTEST_LEVELS):
        found.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder or any(os.path.exists(os.path.join(folder, m)) for m in _ROOTDIR_MARKERS):
            break
        folder = parent
    return found


def module_file(directory: str, parts: list[str]) -> str | None:
    if not parts:
        init = os.path.join(directory, "__init__.py")
        return os.path.abspath(init) if os.path.isfile(init) else None
    candidate = os.path.join(directory, *parts)
    for path in (candidate + ".py", os.path.join(candidate, "__init__.py")):
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def modules_of(run_files: Iterable[str]) -> dict[str, list[str]]:
    """The run's Python files by every dotted name they could be imported as, each list sorted."""
    by_module: dict[str, list[str]] = {}
    for path in sorted(run_files):
        if path.endswith(".py"):
            for dotted in dotted_names(path):
                by_module.setdefault(dotted, []).append(path)
    return by_module


def dotted_names(path: str) -> list[str]:
    """``a/b/c.py`` -> ``a.b.c``, ``b.c``, ``c`` (a package's ``__init__.py`` is the package)."""
    parts = os.path.normpath(path).split(os.sep)
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    parts = [p for p in parts if p not in ("", ".", "..")]
    return [".".join(parts[i:]) for i in range(len(parts))]


@functools.lru_cache(maxsize=4096)
def top_package(folder: str) -> str | None:
    """The name of the top-level package the files of ``folder`` belong to (the highest of the
    folders, from it upwards, that each hold an ``__init__.py``); None outside any package."""
    found = None
    for _ in range(_MAX_PACKAGE_DEPTH):
        if not os.path.isfile(os.path.join(folder, "__init__.py")):
            break
        found = os.path.basename(folder)
        above = os.path.dirname(folder)
        if above == folder:
            break
        folder = above
    return found


_MAX_PACKAGE_DEPTH = 32
