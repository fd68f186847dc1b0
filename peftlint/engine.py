"""A lint run: discover files, scan their bytes, analyse what needs it (in a process pool when
there is enough work), join cross-file facts, apply suppressions, and map notebook positions.

Per-file analysis is analyse.py; what comes out is results.py.
"""

from __future__ import annotations

import gc
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from peftlint.analyse import analyse_bytes, dedupe
from peftlint.cache import ResultCache, content_hash, run_signature
from peftlint.config import Settings, per_file_ignored
from peftlint.discovery import discover
from peftlint.findings import FileError, Finding, Position
from peftlint.modules import top_package
from peftlint.results import FileResult, LintResult
from peftlint.rules import all_rules, select_rules
from peftlint.rules.base import Rule, Tokens, necessary_tokens
from peftlint.sources import NOTEBOOK_SUFFIX, SourceError, SourceFile, load_source
from peftlint.suppression import ALL, Suppressions, parse_suppressions

if TYPE_CHECKING:
    import multiprocessing.context

__all__ = ["FileResult", "LintResult", "lint_paths", "lint_source"]

Job = tuple[str, bytes, str, frozenset[str]]  # path, content, hash, names it imports from wanted modules
# Below this many files to analyse per worker, a pool costs more than it saves.
MIN_FILES_PER_WORKER = 8


def lint_source(source: str | bytes, path: str = "<stdin>", settings: Settings | None = None) -> LintResult:
    """Lint one in-memory source as a run of its own."""
    settings = settings or Settings()
    rules = [rule for rule in select_rules(settings.select, settings.ignore) if rule.analysed]
    data = source.encode("utf-8") if isinstance(source, str) else source
    result = analyse_bytes(path, data, rules)
    return _finish([result], rules, [path], settings, {path: data})


def lint_paths(paths: Sequence[str], settings: Settings | None = None, cache_dir: str | None = None) -> LintResult:
    """Lint files and directories as one run; ``cache_dir`` enables the results cache."""
    settings = settings or Settings()
    rules = [rule for rule in select_rules(settings.select, settings.ignore) if rule.analysed]
    found = discover(paths, settings)
    cache = ResultCache(cache_dir, rules) if cache_dir and settings.cache else None
    results: dict[str, FileResult] = {}
    statuses: dict[str, os.stat_result] = {}
    for path in found.files:
        status = _stat(path, settings)
        if isinstance(status, FileResult):
            results[path] = status
        else:
            statuses[path] = status
    contents: dict[str, bytes] = {}
    with_noqa: dict[str, bytes] = {}  # files whose directives --report-unused-noqa must check
    # With the cache on and every file as it was (same names, sizes and times), the last run's
    # bytes scan and import admission stand: no file is read unless its result must be redone.
    signature = run_signature(statuses, settings.max_file_bytes) if cache else ""
    memo = cache.screening(signature) if cache and not settings.report_unused_noqa else None
    if memo is not None:
        wanted, admitted, unreadable = memo
        for path in unreadable:  # their error is reported afresh, and one now readable is news
            data = _read(path, settings) if path in statuses else None
            if not isinstance(data, FileResult):
                memo = None
                break
            results[path] = data
    if memo is None:
        from peftlint.admission import admitted_by_imports, header_of, under_conftests

        if settings.jobs != 1 and len(statuses) >= 4 * MIN_FILES_PER_WORKER and (os.cpu_count() or 1) > 1:
            _pool_context(start=True)  # a pool is likely: its imports overlap the reading below

        unreadable = []
        necessary = necessary_tokens(rules)
        headers: dict[str, bytes] = {}  # of the files no rule wants: only their imports are kept
        for path in statuses:
            data = _read(path, settings)
            if isinstance(data, FileResult):
                results[path] = data
                unreadable.append(path)
                continue
            if settings.report_unused_noqa and b"noqa" in data:
                with_noqa[path] = data
            if _wanted(data, rules, necessary):
                contents[path] = data
            else:
                headers[path] = header_of(data, path)
        wanted = set(contents)
        for path in under_conftests(headers, contents):  # pytest gives them their conftest's fixtures
            data = _read(path, settings)
            if isinstance(data, bytes):
                headers[path] = data

        def full_text(path: str) -> bytes | None:
            data = contents.get(path) or _read(path, settings)
            return data if isinstance(data, bytes) else None

        admitted = admitted_by_imports({**headers, **contents}, rules, wanted, full_text)
        headers.clear()
        if cache:
            cache.remember_screening(signature, wanted, admitted, unreadable)
    todo: list[Job] = []
    hashes: dict[str, str] = {}

    def hash_of(path: str) -> str | None:
        """A run file's content hash, computed once, when the cache needs it (from the cache's
        record of the file's size and times when those are unchanged)."""
        if path not in hashes and path in statuses:
            status = statuses[path]
            known = cache.digest(path, status) if cache and path not in contents else None
            data = data_of(path) if known is None else None
            if known is not None or isinstance(data, bytes):
                hashes[path] = known or content_hash(data)  # type: ignore[arg-type]
                if cache:
                    cache.remember_digest(path, status, hashes[path])
        return hashes.get(path)

    def data_of(path: str) -> bytes | FileResult:
        """A run file's bytes, read once (kept for the analysis when they had to be read)."""
        if path not in contents:
            data = _read(path, settings)
            if isinstance(data, FileResult):
                return data
            contents[path] = data
        return contents[path]

    for path in statuses:
        if path in results:
            continue
        imports_wanted = admitted.get(path, frozenset())
        if not imports_wanted and path not in wanted:
            results[path] = FileResult(path)
            continue
        digest = hash_of(path) or ""
        cached = cache.get(path, digest, hash_of) if cache else None
        if cached is not None:
            results[path] = cached
            continue
        data = data_of(path)
        if isinstance(data, FileResult):
            results[path] = data
            continue
        todo.append((path, data, digest, imports_wanted))
    contents.clear()  # the files to analyse travel with their jobs; the rest is not needed again
    run_files = tuple(found.files)
    for (path, _, digest, _), result in zip(todo, _analyse_all(todo, rules, settings.jobs, run_files), strict=True):
        results[path] = result
        if cache:
            cache.put(path, digest, result)
    if cache:
        cache.save()
    ordered = [results[path] for path in found.files]
    ordered += [FileResult(path, errors=(FileError(path, reason),)) for path, reason in found.errors]
    return _finish(ordered, rules, found.files, settings, with_noqa)


def _wanted(data: bytes, rules: Sequence[type[Rule]], necessary: tuple[bytes, ...] | None) -> bool:
    tokens = Tokens(data)
    if necessary is not None and not any(tokens[token] for token in necessary):
        return False
    return any(rule.wants(tokens) for rule in rules)


def _stat(path: str, settings: Settings) -> os.stat_result | FileResult:
    """The file's status, or why it is not read at all (a directory, a pipe, too big)."""
    try:
        status = os.stat(path)
    except OSError as error:
        return _error(path, f"cannot read: {error.strerror or error}")
    if stat.S_ISDIR(status.st_mode):
        return _error(path, "is a directory")
    if not stat.S_ISREG(status.st_mode):
        return _error(path, "not a regular file (a pipe, socket or device): skipped")
    if status.st_size > settings.max_file_bytes:
        return _too_big(path, status.st_size, settings.max_file_bytes)
    return status


def _read(path: str, settings: Settings) -> bytes | FileResult:
    try:
        with open(path, "rb") as handle:
            data = handle.read(settings.max_file_bytes + 1)  # bounded: the file may grow meanwhile
        if len(data) > settings.max_file_bytes:
            return _too_big(path, len(data), settings.max_file_bytes)
        return data
    except IsADirectoryError:
        return _error(path, "is a directory")
    except OSError as error:
        return _error(path, f"cannot read: {error.strerror or error}")


def _analyse_all(
    todo: Sequence[tuple[str, bytes, str, frozenset[str]]],
    rules: Sequence[type[Rule]],
    jobs: int,
    run_files: Sequence[str],
) -> list[FileResult]:
    """In this process for a handful of files; in a process pool when there is enough work."""
    workers = min(jobs or os.cpu_count() or 1, len(todo) // MIN_FILES_PER_WORKER)
    if workers <= 1:
        return [analyse_bytes(path, data, rules, run_files, admitted=admit) for path, data, _, admit in todo]
    from concurrent.futures import ProcessPoolExecutor

    codes = [rule.code for rule in rules]
    # Largest first, one file at a time: a few big files (a 5,000-line trainer) dominate the work,
    # and handing them out first keeps every worker busy to the end.
    order = sorted(range(len(todo)), key=lambda i: -len(todo[i][1]))
    results: list[FileResult | None] = [None] * len(todo)
    # Workers forked from a fresh server process that has imported the analysis once, not from
    # this process: a fork of it would carry (and count) all the memory used reading and scanning
    # every file of the run. Where there is no fork server (Windows), fresh interpreters.
    context = _pool_context()
    _release_freed_memory()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_worker_init, initargs=(tuple(run_files),)
    ) as pool:
        work = [(todo[i][0], todo[i][1], codes, todo[i][3]) for i in order]
        for index, result in zip(order, pool.map(_analyse_in_worker, work), strict=True):
            results[index] = result
    return results  # type: ignore[return-value]


def _release_freed_memory() -> None:
    """Give back to the system what reading every file of the run left free in this process's
    heap (its allocator keeps it otherwise): this process then waits on the workers, and the
    machine holds all of them at once (on the bench corpus, 86 MB down to 33 MB). glibc only."""
    import gc

    gc.collect()
    _trim()


# A big file's analysis leaves the worker's heap spread over pages the allocator keeps: given back
# after each such file, the next one starts from less (the machine holds every worker at once).
_TRIM_AFTER_BYTES = 20_000


def _trim() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # another C library: nothing to do


def _pool_context(start: bool = False) -> multiprocessing.context.BaseContext:
    """The fork server's context (``start``: launch the server now, so that it imports the analysis
    while this process still reads the run's files), or spawn's where there is none."""
    import multiprocessing

    try:
        server = multiprocessing.get_context("forkserver")
    except ValueError:
        return multiprocessing.get_context("spawn")
    # (not libcst: the server's own copy of it would be counted again beside each worker's; the
    # workers import it with the first file that needs it)
    server.set_forkserver_preload(["peftlint.analyse", "peftlint.rules"])
    if start:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    return server


_RUN_FILES: tuple[str, ...] = ()


def _worker_init(run_files: tuple[str, ...]) -> None:
    global _RUN_FILES
    _RUN_FILES = run_files
    # What the fork server imported (the analysis, libcst, the rules) lives as long as the worker:
    # out of the collector's sight, and collections rarer, while libcst builds a tree per unit.
    gc.freeze()
    gc.set_threshold(*_WORKER_GC_THRESHOLDS)


# CPython's defaults are (700, 10, 10). A file's analysis allocates millions of objects, almost
# all freed by reference counting (the parse trees hold no cycles); collecting every 700 of them
# cost ~20 % of a worker's time. A young collection now waits for 200,000 (which still bounds the
# garbage one file can pile up), and each file's leftovers are collected when it is done.
_WORKER_GC_THRESHOLDS = (200_000, 1_000, 1_000)


def _analyse_in_worker(job: tuple[str, bytes, list[str], frozenset[str]]) -> FileResult:
    path, data, codes, admitted = job
    rules = [rule for rule in all_rules() if rule.code in codes]
    try:
        return analyse_bytes(path, data, rules, _RUN_FILES, admitted=admitted)
    finally:
        gc.collect(1)
        if len(data) > _TRIM_AFTER_BYTES:
            _trim()


def _in_library_copy(path: str) -> bool:
    """A file of a library's own package copied into the project (``scripts/training/peft/``, an
    old peft vendored beside the scripts that import it): its code is the library, whose use the
    rules are about, and of its own version; nothing in it is reported."""
    from peftlint.analysis.names import LIBRARY_ROOTS

    package = top_package(os.path.dirname(os.path.abspath(path)))
    return package is not None and package in LIBRARY_ROOTS


def _without_refuted(findings: list[Finding], rules: Sequence[type[Rule]]) -> list[Finding]:
    """Without the findings another finding at the same call refutes (Rule.refutes)."""
    refuting = {rule.code: rule.refutes for rule in rules if rule.refutes}
    if not refuting:
        return findings
    refuted: set[tuple[str, int | None, int, int, str]] = set()
    for finding in findings:
        place = (finding.path, finding.start.cell, finding.start.line, finding.start.column)
        refuted |= {(*place, code) for code in refuting.get(finding.code, ())}
    return [f for f in findings if (f.path, f.start.cell, f.start.line, f.start.column, f.code) not in refuted]


def _finish(
    results: Sequence[FileResult],
    rules: Sequence[type[Rule]],
    files: Sequence[str],
    settings: Settings,
    contents: Mapping[str, bytes],
) -> LintResult:
    findings = [f for result in results for f in result.findings]
    facts = [fact for result in results for fact in result.facts]
    run_errors: list[FileError] = []
    for rule in rules:
        own = [fact for fact in facts if fact.code == rule.code]
        if not own:
            continue
        try:
            findings += rule.join(own)
        except Exception as error:  # noqa: BLE001 - the other rules' findings still count
            reason = f"internal error in {rule.code} (cross-file pass): {type(error).__name__}: {error}"
            run_errors.append(FileError(own[0].path, reason))
    findings = _without_refuted(findings, rules)
    findings = [f for f in findings if not _in_library_copy(f.path)]
    findings = _as_run_spells(findings, files)
    if settings.per_file_ignores:
        findings = [f for f in findings if f.code not in per_file_ignored(settings, f.path)]
    findings = _Postprocess(contents).run(dedupe(findings), settings.report_unused_noqa)
    errors = sorted({e for result in results for e in (*result.errors, *run_errors)}, key=lambda e: (e.path, e.reason))
    return LintResult(
        findings=tuple(sorted(dedupe(findings), key=Finding.sort_key)),
        errors=tuple(errors),
        files_checked=len(files),
        files_analysed=sum(1 for result in results if result.analysed),
        files=tuple(files),
    )


def _as_run_spells(findings: Sequence[Finding], files: Sequence[str]) -> list[Finding]:
    """A finding in another module of the run, met while following an import, names that file
    as the import found it (an absolute path): it is named as the run names it, so that it is one
    finding with the one the file's own analysis gives, and its suppressions and cells apply."""
    absolute = [f for f in findings if os.path.isabs(f.path) or any(os.path.isabs(r.path) for r in f.related)]
    if not absolute:
        return list(findings)
    spelling = {os.path.abspath(path): path for path in files}

    def spell(path: str) -> str:
        return spelling.get(path, path) if os.path.isabs(path) else path

    def respelled(finding: Finding) -> Finding:
        # one place met from two runs (its module's own, and a caller's that inlined it) is one
        # note and one edit once both name it the same way
        fix = finding.fix
        if fix is not None:
            fix = replace(fix, edits=tuple(dict.fromkeys(replace(e, path=spell(e.path)) for e in fix.edits)))
        related = tuple(dict.fromkeys(replace(r, path=spell(r.path)) for r in finding.related))
        return replace(finding, path=spell(finding.path), related=related, fix=fix)

    return [respelled(f) if f in absolute else f for f in findings]


class _Postprocess:
    """Suppression comments and notebook cells, for the files that have findings (read again here:
    the per-file results may come from the cache or a worker process)."""

    def __init__(self, contents: Mapping[str, bytes]) -> None:
        self.contents = contents
        self.sources: dict[str, SourceFile | None] = {}
        self.suppressions: dict[str, Suppressions | None] = {}

    def source(self, path: str) -> SourceFile | None:
        if path not in self.sources:
            data = self.contents.get(path)
            try:
                if data is None:
                    with open(path, "rb") as handle:
                        data = handle.read()
                self.sources[path] = load_source(path, data)
            except (OSError, SourceError):
                self.sources[path] = None
        return self.sources[path]

    def suppression(self, path: str) -> Suppressions | None:
        if path not in self.suppressions:
            source = self.source(path)
            self.suppressions[path] = parse_suppressions(source.text) if source is not None else None
        return self.suppressions[path]

    def run(self, findings: Sequence[Finding], report_unused: bool) -> list[Finding]:
        kept: list[Finding] = []
        matched: dict[str, set[tuple[int, str]]] = {}
        for finding in findings:
            code = finding.code.upper()
            used = [
                (line, ALL if ALL in codes else code) for line, codes in finding.noqa if ALL in codes or code in codes
            ]
            directives = self.suppression(finding.path) if self.may_have_file_directives(finding.path) else None
            if directives is not None:
                used += directives.file_level(code)
            if used:
                matched.setdefault(finding.path, set()).update(used)
            else:
                kept.append(finding)
        if report_unused:
            for path in sorted(set(self.contents) | {f.path for f in findings}):
                kept += self.unused_directives(path, matched.get(path, set()))
        return [self.to_cells(finding) for finding in kept]

    def may_have_file_directives(self, path: str) -> bool:
        data = self.contents.get(path)
        if data is not None:
            return b"noqa" in data
        return True

    def unused_directives(self, path: str, matched: set[tuple[int, str]]) -> list[Finding]:
        from peftlint.rules.peft100_unused_noqa import UnusedNoqa

        directives, source = self.suppression(path), self.source(path)
        if directives is None or source is None:
            return []
        return UnusedNoqa.unused(path, source.text, directives, matched)

    def to_cells(self, finding: Finding) -> Finding:
        if not finding.path.endswith(NOTEBOOK_SUFFIX) and not any(
            r.path.endswith(NOTEBOOK_SUFFIX) for r in finding.related
        ):
            return finding

        def cells(path: str, position: Position) -> Position:
            source = self.source(path) if path.endswith(NOTEBOOK_SUFFIX) else None
            return source.cell_position(position) if source is not None else position

        fix = finding.fix
        if fix is not None:
            edits = tuple(replace(e, start=cells(e.path, e.start), end=cells(e.path, e.end)) for e in fix.edits)
            fix = replace(fix, edits=edits)
        return replace(
            finding,
            start=cells(finding.path, finding.start),
            end=cells(finding.path, finding.end),
            related=tuple(replace(r, start=cells(r.path, r.start)) for r in finding.related),
            fix=fix,
        )


def _too_big(path: str, size: int, limit: int) -> FileResult:
    mib = 1024 * 1024
    return _error(path, f"skipped: file is {size / mib:.1f} MiB, over the {limit / mib:g} MiB limit (max-file-size)")


def _error(path: str, reason: str) -> FileResult:
    return FileResult(path, errors=(FileError(path, reason),))
