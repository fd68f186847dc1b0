"""Prefilter, parse once, run every enabled rule in one pass, join cross-file facts.

libcst is imported only when a file passes the prefilter: a file that mentions none of the
tokens any enabled rule needs costs one bytes search.
"""

from __future__ import annotations

import ast
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from peftlint.cache import ResultCache, content_hash
from peftlint.config import Settings, per_file_ignored
from peftlint.discovery import discover
from peftlint.findings import FileError, Finding
from peftlint.rules import all_rules, select_rules
from peftlint.rules.base import CrossFileFact, Rule, RuleContext
from peftlint.sources import SourceError, decode

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
    files_parsed: int
    files: tuple[str, ...] = field(default=(), repr=False)


def lint_source(source: str | bytes, path: str = "<stdin>", settings: Settings | None = None) -> LintResult:
    """Lint one in-memory source as a run of its own."""
    settings = settings or Settings()
    rules = select_rules(settings.select, settings.ignore)
    data = source.encode("utf-8") if isinstance(source, str) else source
    result = analyse_bytes(path, data, rules)
    return _finish([result], rules, [path], settings)


def lint_paths(paths: Sequence[str], settings: Settings | None = None, cache_dir: str | None = None) -> LintResult:
    """Lint files and directories as one run; ``cache_dir`` enables the results cache."""
    settings = settings or Settings()
    rules = select_rules(settings.select, settings.ignore)
    found = discover(paths, settings)
    cache = ResultCache(cache_dir, rules) if cache_dir and settings.cache else None
    results: dict[str, FileResult] = {}
    todo: list[tuple[str, bytes, str]] = []
    for path in found.files:
        data = _read(path, settings)
        if isinstance(data, FileResult):
            results[path] = data
        elif not any(rule.wants(data) for rule in rules):
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
    return _finish(ordered, rules, found.files, settings)


def _read(path: str, settings: Settings) -> bytes | FileResult:
    try:
        size = os.path.getsize(path)
        if size > settings.max_file_bytes:
            limit = settings.max_file_bytes / (1024 * 1024)
            return _error(path, f"skipped: file is {size / 1024 / 1024:.1f} MiB, over the {limit:g} MiB limit")
        with open(path, "rb") as handle:
            return handle.read()
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
    chunk = max(1, len(todo) // (workers * 4))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_analyse_in_worker, [(p, d, codes) for p, d, _ in todo], chunksize=chunk))


def _analyse_in_worker(job: tuple[str, bytes, list[str]]) -> FileResult:
    path, data, codes = job
    rules = [rule for rule in all_rules() if rule.code in codes]
    return analyse_bytes(path, data, rules)


def analyse_bytes(path: str, data: bytes, rules: Sequence[type[Rule]]) -> FileResult:
    wanted = [rule for rule in rules if rule.wants(data)]
    if not wanted:
        return FileResult(path)
    try:
        source = decode(path, data)
        module = _parse(source.text)
    except SourceError as error:
        return _error(path, str(error))
    return _run_rules(path, module, wanted)


def _parse(text: str) -> object:
    """Screen with CPython's own parser first: it reports syntax errors well and nesting safely."""
    if "\0" in text:
        raise SourceError("source contains a NUL byte")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(text, "<peftlint>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as error:
        raise SourceError(f"syntax error at line {error.lineno}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None
    import libcst

    try:
        return libcst.parse_module(text)
    except libcst.ParserSyntaxError as error:
        raise SourceError(f"syntax error at line {error.raw_line}: {error.message}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None


def _run_rules(path: str, module: object, rules: Sequence[type[Rule]]) -> FileResult:
    from peftlint.analysis.flow import CallSite, FileAnalysis

    context = RuleContext(path, module)  # type: ignore[arg-type]
    instances = [rule(context) for rule in rules]
    failed: dict[str, str] = {}

    def dispatch(site: CallSite) -> None:
        for instance in instances:
            if instance.code in failed:
                continue
            try:
                instance.on_call(site)
            except Exception as error:  # noqa: BLE001 - one broken rule must not hide the others
                failed[instance.code] = f"internal error in {instance.code}: {type(error).__name__}: {error}"

    errors: list[FileError] = []
    try:
        FileAnalysis(module, dispatch).run()  # type: ignore[arg-type]
    except RecursionError:
        errors.append(FileError(path, "too deeply nested to analyse"))
    except Exception as error:  # noqa: BLE001
        errors.append(FileError(path, f"internal error in the analysis: {type(error).__name__}: {error}"))
    errors += [FileError(path, reason) for reason in failed.values()]
    findings = _dedupe(context.findings)
    return FileResult(path, tuple(findings), tuple(context.facts), tuple(errors), parsed=True)


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
    results: Sequence[FileResult], rules: Sequence[type[Rule]], files: Sequence[str], settings: Settings
) -> LintResult:
    findings = [f for result in results for f in result.findings]
    facts = [fact for result in results for fact in result.facts]
    if facts:
        from peftlint.analysis.modules import ConstantResolver

        resolver = ConstantResolver(list(files))
        for rule in rules:
            own = [fact for fact in facts if fact.code == rule.code]
            if own:
                findings += rule.join(own, resolver)
    if settings.per_file_ignores:
        findings = [f for f in findings if f.code not in per_file_ignored(settings, f.path)]
    errors = sorted({e for result in results for e in result.errors}, key=lambda e: (e.path, e.reason))
    return LintResult(
        findings=tuple(sorted(_dedupe(findings), key=Finding.sort_key)),
        errors=tuple(errors),
        files_checked=len(files),
        files_parsed=sum(1 for result in results if result.parsed),
        files=tuple(files),
    )


def _error(path: str, reason: str) -> FileResult:
    return FileResult(path, errors=(FileError(path, reason),))
