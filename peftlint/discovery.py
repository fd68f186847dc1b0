"""Paths -> the source files to lint: directories walked for ``*.py``, honouring .gitignore."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from peftlint.config import Settings, is_excluded
from peftlint.globs import translate

SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        "build",
        "dist",
        "node_modules",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".peftlint_cache",
        ".ipynb_checkpoints",
        ".eggs",
        "site-packages",
    }
)
SOURCE_SUFFIXES = (".py", ".ipynb")


@dataclass(frozen=True)
class Discovered:
    files: list[str]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def discover(paths: Sequence[str], settings: Settings) -> Discovered:
    files: dict[str, str] = {}  # absolute path -> the path as shown
    errors: list[tuple[str, str]] = []
    for given in paths:
        if not os.path.lexists(given):
            errors.append((given, "no such file or directory"))
        elif os.path.isdir(given):
            for path in _walk(given, settings, errors):
                files.setdefault(os.path.abspath(path), path)
        elif not os.path.exists(given):
            errors.append((given, "dangling symbolic link"))
        elif not (settings.force_exclude and _excluded_file(given, settings)):
            files.setdefault(os.path.abspath(given), os.path.normpath(given))
    return Discovered(sorted(files.values()), list(dict.fromkeys(errors)))


def _walk(root: str, settings: Settings, errors: list[tuple[str, str]]) -> Iterator[str]:
    root = os.path.normpath(root)
    ignores = _ignores_above(root) if settings.respect_gitignore else []
    # A directory named on the command line is walked even if a .gitignore above it ignores it.
    floor = len(os.path.abspath(root).replace(os.sep, "/"))
    yield from _walk_dir(root, settings, ignores, floor, set(), errors)


def _walk_dir(
    directory: str,
    settings: Settings,
    ignores: list[_IgnoreFile],
    floor: int,
    seen: set[tuple[int, int]],
    errors: list[tuple[str, str]],
) -> Iterator[str]:
    try:
        stat = os.stat(directory)
    except OSError as error:
        errors.append((directory, error.strerror or str(error)))
        return
    if (stat.st_dev, stat.st_ino) in seen:
        return  # reached twice (bind mounts): walk it once
    seen.add((stat.st_dev, stat.st_ino))
    if settings.respect_gitignore:
        local = _IgnoreFile.read(directory)
        if local is not None:
            ignores = [*ignores, local]
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as error:
        errors.append((directory, error.strerror or str(error)))
        return
    for entry in entries:
        path = entry.name if directory == os.curdir else os.path.join(directory, entry.name)
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            is_link = entry.is_symlink()
        except OSError:
            continue
        if is_dir:
            if (
                entry.name in SKIPPED_DIRECTORIES
                or _is_virtualenv(path)
                or _ignored(ignores, path, True, floor)
                or is_excluded(settings, path, True)
            ):
                continue
            yield from _walk_dir(path, settings, ignores, floor, seen, errors)
        elif entry.name.endswith(SOURCE_SUFFIXES) and not (is_link and os.path.isdir(path)):
            # symlinked directories are not followed (as git does), which also rules out loops
            if not _ignored(ignores, path, False, floor) and not is_excluded(settings, path, False):
                if is_link and not os.path.exists(path):
                    errors.append((path, "dangling symbolic link"))
                else:
                    yield path


def _excluded_file(path: str, settings: Settings) -> bool:
    """--force-exclude: a file named explicitly is dropped as if the walk had met it."""
    if is_excluded(settings, path):
        return True
    relative = os.path.relpath(os.path.abspath(path))
    parts = relative.split(os.sep) if not relative.startswith(os.pardir) else os.path.normpath(path).split(os.sep)
    if any(part in SKIPPED_DIRECTORIES for part in parts[:-1]):
        return True
    directory = os.path.dirname(os.path.abspath(path))
    return settings.respect_gitignore and _ignored(_ignores_above(directory, include_self=True), path, False, 0)


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def _ignored(ignores: list[_IgnoreFile], path: str, is_dir: bool, floor: int) -> bool:
    if not ignores:
        return False
    verdict = False
    absolute = os.path.abspath(path)
    for ignore in ignores:
        result = ignore.verdict(absolute, is_dir, floor)
        if result is not None:
            verdict = result
    return verdict


def _ignores_above(directory: str, include_self: bool = False) -> list[_IgnoreFile]:
    """The .gitignore files above ``directory`` (and its own), up to the repository top (.git)."""
    found: list[_IgnoreFile] = []
    current = os.path.abspath(directory)
    if include_self:
        own = _IgnoreFile.read(current)
        if own is not None:
            found.append(own)
    while not os.path.exists(os.path.join(current, ".git")):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
        ignore = _IgnoreFile.read(current)
        if ignore is not None:
            found.insert(0, ignore)
    return found


@dataclass(frozen=True)
class _IgnorePattern:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool

    @classmethod
    def parse(cls, line: str, base: str) -> _IgnorePattern:
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        line = line.rstrip("/")
        anchored = "/" in line
        line = line.lstrip("/")
        regex = translate(line)
        prefix = re.escape(base.rstrip("/") + "/") if base else ""
        if anchored:
            full = f"^{prefix}{regex}(?P<below>/.*)?$"
        else:
            full = f"^{prefix}(.*/)?{regex}(?P<below>/.*)?$"
        return cls(re.compile(full), negated, directory_only)

    def matches(self, path: str, is_dir: bool, floor: int = 0) -> bool:
        """``floor``: a match on a directory at or above this prefix length does not count."""
        match = self.regex.match(path)
        if match is None:
            return False
        if match.group("below") is not None and match.start("below") <= floor:
            return False
        # "build/" names a directory: it matches the directory itself and what lies below it
        return is_dir or not self.directory_only or match.group("below") is not None


@dataclass(frozen=True)
class _IgnoreFile:
    base: str
    patterns: tuple[_IgnorePattern, ...]

    @classmethod
    def read(cls, directory: str) -> _IgnoreFile | None:
        path = os.path.join(directory, ".gitignore")
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return None
        base = os.path.abspath(directory).replace(os.sep, "/")
        patterns = tuple(
            _IgnorePattern.parse(line.rstrip(), base) for line in lines if line.strip() and not line.startswith("#")
        )
        return cls(base, patterns)

    def verdict(self, absolute: str, is_dir: bool, floor: int = 0) -> bool | None:
        """True ignored, False re-included by a ``!`` pattern, None no pattern applies."""
        path = absolute.replace(os.sep, "/")
        result = None
        for pattern in self.patterns:
            if pattern.matches(path, is_dir, floor):
                result = not pattern.negated
        return result
