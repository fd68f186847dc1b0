"""Prefilter, parse once, run every enabled rule in one pass, join cross-file facts.

A file that mentions none of the tokens any enabled rule needs costs one bytes search. A file
that does is parsed once, by CPython's own parser (``compile(..., PyCF_ONLY_AST)``): the same
tree reports syntax errors, screens the file's calls, and carries the flow analysis.
"""

from __future__ import annotations

import ast
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from peftlint.analysis.screen import CallShapes, call_shapes
from peftlint.cache import ResultCache, content_hash
from peftlint.config import Settings, per_file_ignored
from peftlint.discovery import discover
from peftlint.findings import FileError, Finding, Position, Severity
from peftlint.rules import all_rules, select_rules
from peftlint.rules.base import CrossFileFact, Rule, RuleContext
from peftlint.sources import NOTEBOOK_SUFFIX, SourceError, SourceFile, load_source, parse_python
from peftlint.suppression import Suppressions, parse_suppressions

if TYPE_CHECKING:
    from peftlint.analysis.flow import Reach

UNUSED_NOQA = "PEFT100"  # reported by the engine itself (--report-unused-noqa), like ruff's RUF100
# Below this many files to parse per worker, a pool costs more than it saves.
MIN_FILES_PER_WORKER = 8


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[Finding, ...] = ()
    facts: tuple[CrossFileFact, ...] = ()
    errors: tuple[FileError, ...] = ()
    parsed: bool = False


@dataclass(frozen=True)
class LintResult:
    findings: tuple[Finding, ...]
    errors: tuple[FileError, ...]
    files_checked: int
    files_parsed: int  # files the flow analysis ran on: past the bytes scan and the screen of their calls
    files: tuple[str, ...] = field(default=(), repr=False)


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
    todo: list[tuple[str, bytes, str]] = []
    with_noqa: dict[str, bytes] = {}  # files whose directives --report-unused-noqa must check
    for path in found.files:
        data = _read(path, settings)
        if isinstance(data, FileResult):
            results[path] = data
            continue
        if settings.report_unused_noqa and b"noqa" in data:
            with_noqa[path] = data
        if not any(rule.wants(data) for rule in rules):
            results[path] = FileResult(path)
        else:
            digest = content_hash(data)
            cached = cache.get(path, digest) if cache else None
            if cached is not None:
                results[path] = cached
            else:
                todo.append((path, data, digest))
    for (path, _, digest), result in zip(todo, _analyse_all(todo, rules, settings.jobs), strict=True):
        results[path] = result
        if cache:
            cache.put(path, digest, result)
    if cache:
        cache.save()
    ordered = [results[path] for path in found.files]
    ordered += [FileResult(path, errors=(FileError(path, reason),)) for path, reason in found.errors]
    return _finish(ordered, rules, found.files, settings, with_noqa)


def _read(path: str, settings: Settings) -> bytes | FileResult:
    try:
        status = os.stat(path)
        if stat.S_ISDIR(status.st_mode):
            return _error(path, "is a directory")
        if not stat.S_ISREG(status.st_mode):
            return _error(path, "not a regular file (a pipe, socket or device): skipped")
        if status.st_size > settings.max_file_bytes:
            return _too_big(path, status.st_size, settings.max_file_bytes)
        with open(path, "rb") as handle:
            data = handle.read(settings.max_file_bytes + 1)  # bounded: the file may grow meanwhile
        if len(data) > settings.max_file_bytes:
            return _too_big(path, len(data), settings.max_file_bytes)
        return data
    except IsADirectoryError:
        return _error(path, "is a directory")
    except OSError as error:
        return _error(path, f"cannot read: {error.strerror or error}")


def _analyse_all(todo: Sequence[tuple[str, bytes, str]], rules: Sequence[type[Rule]], jobs: int) -> list[FileResult]:
    """In this process for a handful of files; in a process pool when there is enough work."""
    workers = min(jobs or os.cpu_count() or 1, len(todo) // MIN_FILES_PER_WORKER)
    if workers <= 1:
        return [analyse_bytes(path, data, rules) for path, data, _ in todo]
    from concurrent.futures import ProcessPoolExecutor

    codes = [rule.code for rule in rules]
    # Largest first, one file at a time: a few big files (a 5,000-line trainer) dominate the work,
    # and handing them out first keeps every worker busy to the end.
    order = sorted(range(len(todo)), key=lambda i: -len(todo[i][1]))
    results: list[FileResult | None] = [None] * len(todo)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        work = [(todo[i][0], todo[i][1], codes) for i in order]
        for index, result in zip(order, pool.map(_analyse_in_worker, work), strict=True):
            results[index] = result
    return results  # type: ignore[return-value]


def _analyse_in_worker(job: tuple[str, bytes, list[str]]) -> FileResult:
    path, data, codes = job
    rules = [rule for rule in all_rules() if rule.code in codes]
    return analyse_bytes(path, data, rules)


def analyse_bytes(path: str, data: bytes, rules: Sequence[type[Rule]], isolated: bool = False) -> FileResult:
    """``isolated``: this is already the child process that analyses a file too deep for the
    default recursion limit (an expression chained thousands deep: see isolation.py)."""
    wanted = [rule for rule in rules if rule.wants(data)]
    if not wanted:
        return FileResult(path)
    try:
        source = load_source(path, data)
        tree = _screen(source.text)
        shapes = call_shapes(tree)
        wanted = [rule for rule in wanted if rule.screen(shapes)]
        if not wanted:
            return _with_problems(FileResult(path), source)  # the tokens were only in strings or comments
    except SourceError as error:
        return _error(path, str(error))
    try:
        return _with_problems(_run_rules(path, source.text, wanted, tree, shapes), source)
    except RecursionError:
        if isolated:
            return _error(path, "too deeply nested to analyse")
        from peftlint.isolation import analyse_isolated

        return analyse_isolated(path, data, wanted)


def _with_problems(result: FileResult, source: SourceFile) -> FileResult:
    """Parts of the file that could not be analysed (a notebook cell that does not parse) are errors
    of the file, beside the findings of the rest of it."""
    if not source.problems:
        return result
    return replace(result, errors=(*(FileError(result.path, p) for p in source.problems), *result.errors))


def _screen(text: str) -> ast.Module:
    """CPython's own parser first: it reports syntax errors well and handles deep nesting safely."""
    if "\0" in text:
        raise SourceError("source contains a NUL byte")
    try:
        return parse_python(text)
    except SyntaxError as error:
        raise SourceError(f"syntax error at line {error.lineno}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None


def _run_rules(
    path: str, text: str, rules: Sequence[type[Rule]], tree: ast.Module, shapes: CallShapes | None
) -> FileResult:
    from peftlint.analysis.flow import CallSite, FileAnalysis
    from peftlint.analysis.segments import Segments

    segments = Segments(text)
    context = RuleContext(path, segments)
    instances = [rule(context) for rule in rules]
    failed: dict[str, str] = {}

    def dispatch(site: CallSite) -> None:
        for instance in instances:
            if instance.code in failed:
                continue
            try:
                instance.on_call(site)
            except RecursionError:
                raise  # the file is too deep, not the rule broken: analysed again in a child process
            except Exception as error:  # noqa: BLE001 - one broken rule must not hide the others
                failed[instance.code] = f"internal error in {instance.code}: {type(error).__name__}: {error}"

    errors: list[FileError] = []
    try:
        FileAnalysis(tree, segments, dispatch, reach=_reach(rules, shapes)).run()
    except RecursionError:
        raise  # too deep for this process's recursion limit: the caller isolates the file
    except Exception as error:  # noqa: BLE001
        errors.append(FileError(path, f"internal error in the analysis: {type(error).__name__}: {error}"))
    errors += [FileError(path, reason) for reason in failed.values()]
    findings = _dedupe(context.findings)
    return FileResult(path, tuple(findings), tuple(context.facts), tuple(errors), parsed=True)


def _reach(rules: Sequence[type[Rule]], shapes: CallShapes | None) -> Reach | None:
    """Which functions are worth analysing on their own (None: all of them)."""
    from peftlint.analysis.flow import Reach

    triggers: set[str] = set()
    for rule in rules:
        if rule.calls is None:
            return None
        triggers |= rule.calls
    return Reach(shapes, frozenset(triggers)) if shapes is not None else None


def _dedupe(findings: Sequence[Finding]) -> list[Finding]:
    """The same call is met once per context it is analysed in; keep one finding per place."""
    kept: dict[tuple[str, int, int, str], Finding] = {}
    for finding in findings:
        key = (finding.path, finding.start.line, finding.start.column, finding.code)
        if key in kept:
            previous = kept[key]
            related = tuple(dict.fromkeys((*previous.related, *finding.related)))
            kept[key] = replace(previous, related=related)
        else:
            kept[key] = finding
    return list(kept.values())


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
    if facts:
        from peftlint.analysis.modules import ConstantResolver

        resolver = ConstantResolver(list(files))
        for rule in rules:
            own = [fact for fact in facts if fact.code == rule.code]
            try:
                findings += rule.join(own, resolver) if own else []
            except Exception as error:  # noqa: BLE001 - the other rules' findings still count
                reason = f"internal error in {rule.code} (cross-file pass): {type(error).__name__}: {error}"
                run_errors.append(FileError(own[0].path, reason))
    if settings.per_file_ignores:
        findings = [f for f in findings if f.code not in per_file_ignored(settings, f.path)]
    findings = _Postprocess(contents).run(findings, settings.report_unused_noqa)
    errors = sorted({e for result in results for e in (*result.errors, *run_errors)}, key=lambda e: (e.path, e.reason))
    return LintResult(
        findings=tuple(sorted(_dedupe(findings), key=Finding.sort_key)),
        errors=tuple(errors),
        files_checked=len(files),
        files_parsed=sum(1 for result in results if result.parsed),
        files=tuple(files),
    )


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
        used: dict[str, set[tuple[int, str]]] = {}
        for finding in findings:
            directives = self.suppression(finding.path)
            if directives is not None and directives.is_suppressed(finding.code, finding.start.line):
                used.setdefault(finding.path, set()).add((finding.start.line, finding.code))
            else:
                kept.append(finding)
        if report_unused:
            for path in sorted(set(self.contents) | {f.path for f in findings}):
                kept += self.unused_directives(path, used.get(path, set()))
        return [self.to_cells(finding) for finding in kept]

    def unused_directives(self, path: str, used: set[tuple[int, str]]) -> list[Finding]:
        directives, source = self.suppression(path), self.source(path)
        if directives is None or source is None:
            return []
        lines = source.text.splitlines()
        found = []
        for line, code in directives.unused(used):
            text = lines[line - 1] if line <= len(lines) else ""
            column = text.find("#") + 1 or 1
            what = "any finding" if code == "ALL" else code
            found.append(
                Finding(
                    code=UNUSED_NOQA,
                    name="unused-noqa",
                    message=f"unused suppression: no {what} is reported here; remove it",
                    path=path,
                    start=Position(line, column),
                    end=Position(line, len(text) + 1),
                    severity=Severity.WARNING,
                )
            )
        return found

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
