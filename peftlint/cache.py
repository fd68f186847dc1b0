"""Per-file results cached by content hash, peftlint's version and code, and the enabled rules.

One JSON file per (build, rule set) in ``.peftlint_cache/``: loading one file is cheaper than
opening hundreds, and JSON (never pickle) means a planted cache file cannot run code. The build
is the version plus a hash of peftlint's own sources, so an edited checkout or a rebuilt release
with the same version number never reads results an older analysis wrote.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from peftlint.findings import Finding, Position
from peftlint.results import FileResult
from peftlint.rules.base import CrossFileFact, Rule
from peftlint.version import __version__

CACHE_DIRECTORY = ".peftlint_cache"


def _hashlib() -> Any:
    """hashlib, imported when first needed (a run with no file to analyse never needs it)."""
    import hashlib

    return hashlib


def content_hash(data: bytes) -> str:
    return _hashlib().blake2b(data, digest_size=16).hexdigest()


def run_signature(statuses: Mapping[str, os.stat_result], max_file_bytes: int) -> str:
    """The run's files as the file system describes them: names, sizes, inodes and modification
    and change times (``chmod`` changes the last). Equal signatures mean the same bytes to scan,
    as make and ruff assume."""
    digest = _hashlib().blake2b(str(max_file_bytes).encode(), digest_size=16)
    for path, status in statuses.items():
        digest.update(b"\0" + os.fsencode(path) + f"\0{_stamp(status)}".encode())
    return digest.hexdigest()


def _stamp(status: os.stat_result) -> list[int]:
    return [status.st_mtime_ns, status.st_size, status.st_ctime_ns, status.st_ino]


# How many runs' screening decisions the cache keeps (a full run and a few pre-commit runs).
SCREENINGS_KEPT = 4


def code_fingerprint() -> str:
    """peftlint's version and a hash of its own ``.py`` files (about 300 kB: a millisecond or two)."""
    digest = _hashlib().blake2b(__version__.encode(), digest_size=16)
    package = os.path.dirname(os.path.abspath(__file__))
    for directory, subdirectories, files in os.walk(package):
        subdirectories.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, package).encode() + b"\0")
                try:
                    with open(path, "rb") as handle:
                        digest.update(handle.read())
                except OSError:
                    digest.update(b"unreadable")
    return f"{__version__}+{digest.hexdigest()}"


def _plugin_fingerprint(rules: Sequence[type[Rule]]) -> str:
    """Third-party rules' own sources: a changed plugin never reads results its older self wrote."""
    import inspect

    digest = _hashlib().blake2b(digest_size=8)
    for rule in rules:
        if rule.__module__.startswith("peftlint."):
            continue
        try:
            path = inspect.getsourcefile(rule)
            with open(path or "", "rb") as handle:
                digest.update(handle.read())
        except (OSError, TypeError):
            digest.update(rule.__module__.encode())
    return "+" + digest.hexdigest()


class ResultCache:
    def __init__(self, directory: str, rules: Sequence[type[Rule]]) -> None:
        self.directory = directory
        self.build = build = code_fingerprint() + _plugin_fingerprint(rules)
        key = _hashlib().sha256(f"{build}|{','.join(r.code for r in rules)}".encode()).hexdigest()[:16]
        self.path = os.path.join(directory, f"results-{key}.json")
        self.entries: dict[str, list[Any]] = {}
        self.stamps: dict[str, list[Any]] = {}  # path -> its stat stamp and content hash
        self.screenings: list[dict[str, Any]] = []  # the last runs' bytes-scan decisions
        self.changed = False
        try:
            with open(self.path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            if isinstance(loaded, dict) and loaded.get("version") == build:
                files, stamps, screenings = loaded.get("files"), loaded.get("stamps"), loaded.get("screenings")
                self.entries = files if isinstance(files, dict) else {}
                self.stamps = stamps if isinstance(stamps, dict) else {}
                self.screenings = screenings if isinstance(screenings, list) else []
        except (OSError, ValueError):
            self.entries = {}

    def screening(self, signature: str) -> tuple[set[str], dict[str, frozenset[str]], list[str]] | None:
        """What a run over exactly these files decided before reading them: the files some rule
        wants by their bytes, the names each file imports that admit it, the unreadable files."""
        for memo in self.screenings:
            try:
                if memo["signature"] == signature:
                    admitted = {path: frozenset(names) for path, names in memo["admitted"].items()}
                    return set(memo["wanted"]), admitted, list(memo["unreadable"])
            except (KeyError, TypeError, AttributeError):
                return None
        return None

    def remember_screening(
        self,
        signature: str,
        wanted: Collection[str],
        admitted: Mapping[str, frozenset[str]],
        unreadable: Sequence[str],
    ) -> None:
        memo = {
            "signature": signature,
            "wanted": sorted(wanted),
            "admitted": {path: sorted(names) for path, names in sorted(admitted.items())},
            "unreadable": list(unreadable),
        }
        kept = [m for m in self.screenings if isinstance(m, dict) and m.get("signature") != signature]
        self.screenings = [memo, *kept][:SCREENINGS_KEPT]
        self.changed = True

    def digest(self, path: str, status: os.stat_result) -> str | None:
        """The content hash recorded for ``path`` when it had this very stat stamp."""
        known = self.stamps.get(path)
        if isinstance(known, list) and len(known) == 2 and known[0] == _stamp(status):
            return str(known[1])
        return None

    def remember_digest(self, path: str, status: os.stat_result, digest: str) -> None:
        stamp = _stamp(status)
        if self.stamps.get(path) != [stamp, digest]:
            self.stamps[path] = [stamp, digest]
            self.changed = True

    def get(self, path: str, digest: str, known: Callable[[str], str | None] | None = None) -> FileResult | None:
        """The cached result of ``path`` with content ``digest``, if every file its analysis read
        is unchanged too (``known``: the hashes of the run's files, computed once)."""
        try:
            entry = self.entries.get(path)
            if not entry or entry[0] != digest:
                return None
            result = FileResult(**result_from_json(entry[1]))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return None  # a damaged or foreign entry: analyse the file afresh
        for dependency, expected in result.dependencies:
            current = known(dependency) if known is not None else None
            if current is None:
                try:
                    with open(dependency, "rb") as handle:
                        current = content_hash(handle.read())
                except OSError:
                    return None
            if current != expected:
                return None
        return result

    def put(self, path: str, digest: str, result: FileResult) -> None:
        if result.errors:
            return  # errors are re-examined every run (the file may become readable)
        self.entries[path] = [digest, result_to_json(result)]
        self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        try:
            os.makedirs(self.directory, exist_ok=True)
            ignore = os.path.join(self.directory, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w", encoding="utf-8") as handle:
                    handle.write("# created by peftlint\n*\n")
            import tempfile  # only a run that writes the cache pays for it

            descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                document = {
                    "version": self.build,
                    "files": self.entries,
                    "stamps": self.stamps,
                    "screenings": self.screenings,
                }
                json.dump(document, handle, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError:
            pass  # a read-only checkout still lints; it only runs cold


def clean(directory: str) -> bool:
    import shutil

    if not os.path.isdir(directory):
        return False
    shutil.rmtree(directory)
    return True


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def result_to_json(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "findings": [f.to_data() for f in result.findings],
        "facts": [
            [
                c.code, c.path, c.kind, c.start.to_data(), c.end.to_data(), c.shapes, [[k, v] for k, v in c.data],
                c.anchor, [[line, list(codes)] for line, codes in c.noqa],
            ]
            for c in result.facts
        ],
        "analysed": result.analysed,
        "dependencies": [list(d) for d in result.dependencies],
    }  # fmt: skip


def result_from_json(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "path": raw["path"],
        "findings": tuple(Finding.from_data(f) for f in raw["findings"]),
        "facts": tuple(
            CrossFileFact(
                code,
                path,
                kind,
                Position.from_data(start),
                Position.from_data(end),
                _tuplify(shapes),
                tuple((k, _tuplify(v)) for k, v in data),
                anchor,
                tuple((line, tuple(codes)) for line, codes in noqa),
            )
            for code, path, kind, start, end, shapes, data, anchor, noqa in raw["facts"]
        ),
        "errors": (),
        "analysed": raw["analysed"],
        "dependencies": tuple((p, h) for p, h in raw["dependencies"]),
    }
