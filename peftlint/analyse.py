"""One file through the analysis: bytes scan, CPython's pre-screen, libcst's flow analysis.

A file that mentions none of the tokens any enabled rule needs costs one bytes search. A file
that does is parsed by CPython's parser, which reports syntax errors well, tells which calls
occur and splits the file into units (analysis/prescreen.py); libcst then parses the units the
analysis needs and the interpreter walks them (analysis/interpreter.py). A file CPython cannot
parse but libcst can (a newer grammar than the running interpreter's) is analysed whole.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from peftlint.errors import SourceError
from peftlint.findings import FileError, Finding, Severity
from peftlint.results import FileResult
from peftlint.rules.base import Rule, RuleContext, Tokens
from peftlint.sources import load_source

if TYPE_CHECKING:
    from peftlint.analysis.prescreen import Screen


def analyse_bytes(
    path: str,
    data: bytes,
    rules: Sequence[type[Rule]],
    run_files: Sequence[str] = (),
    isolated: bool = False,
    admitted: frozenset[str] = frozenset(),
) -> FileResult:
    """``admitted``: names the file imports from modules of the run that some rule wants, as
    ``"CODE:name"`` (admission.py); a call to one of them gets the file analysed for that rule
    even if it mentions none of the rule's tokens itself."""
    tokens = Tokens(data)
    by_rule: dict[str, frozenset[str]] = {}
    if admitted:
        from peftlint.admission import admitted_codes

        by_rule = admitted_codes(admitted)
    wanted = [rule for rule in rules if rule.code in by_rule or rule.wants(tokens)]
    if not wanted:
        return FileResult(path)
    try:
        source = load_source(path, data)
        text = source.text
        if "\0" in text:
            raise SourceError("source contains a NUL byte")
        screened = _screen(text)
    except SourceError as error:
        return _error(path, str(error))
    if screened is not None:
        # a helper named as a value (``RUNNERS = {"eval": EvalRunner}``) is there to be called
        called = screened.functions | screened.picked | screened.taken | {owner for owner, _ in screened.methods}
        wanted = [rule for rule in wanted if by_rule.get(rule.code, frozenset()) & called or rule.screen(screened)]
        if not wanted:  # the tokens were only in strings or comments
            return _with_problems(FileResult(path), source.problems)
        if screened.depth > _max_depth() and not isolated:
            from peftlint.isolation import analyse_isolated

            return analyse_isolated(path, data, wanted, run_files)
    try:
        result = _run_rules(path, text, wanted, screened, run_files, admitted)
    except RecursionError:
        if isolated:
            return _error(path, "too deeply nested to analyse")
        from peftlint.isolation import analyse_isolated

        return analyse_isolated(path, data, wanted, run_files)
    return _with_problems(result, source.problems)


def _with_problems(result: FileResult, problems: Sequence[str]) -> FileResult:
    """Parts of the file that could not be analysed (a notebook cell that does not parse) are errors
    of the file, beside the findings of the rest of it."""
    if not problems:
        return result
    return replace(result, errors=(*(FileError(result.path, p) for p in problems), *result.errors))


def _max_depth() -> int:
    from peftlint.analysis.prescreen import MAX_DEPTH

    return MAX_DEPTH


def _screen(text: str) -> Screen | None:
    """CPython's parser first; if it refuses the file, libcst's (newer grammar): None means the
    file is analysed whole, without pre-screen. (Imported here: a file no rule wants never is.)"""
    from peftlint.analysis.prescreen import MAX_DEPTH, libcst_accepts, parse_python, screen

    try:
        tree = parse_python(text)
    except SyntaxError as error:
        if libcst_accepts(text, MAX_DEPTH):
            return None
        raise SourceError(f"syntax error at line {error.lineno}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError("too deeply nested to analyse") from None
    return screen(tree, text.splitlines())


def _run_rules(
    path: str,
    text: str,
    rules: Sequence[type[Rule]],
    screened: Screen | None,
    run_files: Sequence[str],
    admitted: frozenset[str] = frozenset(),
) -> FileResult:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.frames import ModuleScope
    from peftlint.analysis.interpreter import Interpreter
    from peftlint.analysis.project import Project
    from peftlint.analysis.reach import Reach
    from peftlint.analysis.units import Source, UnitParseError
    from peftlint.cache import content_hash

    context = RuleContext(path)
    instances = [rule(context) for rule in rules]
    by_fact: dict[str, list[Rule]] = {}
    for instance in instances:
        for fact in sorted(instance.reports_at | instance.observes):
            by_fact.setdefault(fact, []).append(instance)
    failed: dict[str, str] = {}

    def dispatch(site: CallSite) -> None:
        for instance in by_fact.get(site.fact or "", ()):
            if instance.code in failed:
                continue
            try:
                instance.on_call(site)
            except RecursionError:
                raise  # the file is too deep, not the rule broken: analysed again in a child process
            except Exception as error:  # noqa: BLE001 - one broken rule must not hide the others
                if os.environ.get("PEFTLINT_DEBUG"):
                    raise
                failed[instance.code] = f"internal error in {instance.code}: {type(error).__name__}: {error}"

    triggers = frozenset().union(*(rule.triggers() for rule in rules))
    producers = frozenset().union(*(rule.producers() for rule in rules))
    project = Project(run_files)
    members = frozenset().union(*(rule.member_triggers() for rule in rules))
    # a def that calls a helper imported from another module of the run that reaches a call some
    # rule needs (admission.py: ``registry = AdapterRegistry(...)``) is worth analysing on its own
    helpers = frozenset(entry.partition(":")[2] for entry in admitted)
    reach = Reach(screened, triggers, producers, members, helpers) if screened is not None else None
    interpreter = Interpreter(project, dispatch, reach)
    scope = ModuleScope(path=path, source=Source(path, text, screened.units if screened else None), name="__main__")
    errors: list[FileError] = []
    try:
        interpreter.run(scope)
    except RecursionError:
        raise  # too deep for this process's recursion limit: the caller isolates the file
    except UnitParseError as error:
        errors.append(FileError(path, f"libcst cannot parse this file ({error}); not analysed"))
    except Exception as error:  # noqa: BLE001
        if os.environ.get("PEFTLINT_DEBUG"):
            raise
        errors.append(FileError(path, f"internal error in the analysis: {type(error).__name__}: {error}"))
    errors += [FileError(path, reason) for reason in failed.values()]
    dependencies = tuple(sorted((other, content_hash(data)) for other, data in project.read.items() if other != path))
    return FileResult(path, tuple(dedupe(context.findings)), tuple(context.facts), tuple(errors), True, dependencies)


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def dedupe(findings: Sequence[Finding]) -> list[Finding]:
    """The same call is met once per context it is analysed in; keep one finding per place."""
    kept: dict[tuple[str, int | None, int, int, str], Finding] = {}
    for finding in findings:
        key = (finding.path, finding.start.cell, finding.start.line, finding.start.column, finding.code)
        if key in kept:
            previous = kept[key]
            related = tuple(dict.fromkeys((*previous.related, *finding.related)))
            # a context that shows more damage (a discarded merge later saved) decides the severity
            stronger = _SEVERITY_ORDER[finding.severity] < _SEVERITY_ORDER[previous.severity]
            kept[key] = replace(finding if stronger else previous, related=related)
        else:
            kept[key] = finding
    return list(kept.values())


def _error(path: str, reason: str) -> FileResult:
    return FileResult(path, errors=(FileError(path, reason),))


# The child process isolation.py starts for a file too deep for this process's stacks: a thread
# with a big stack and recursion limit, the result back as the cache's JSON on stdout.
_STACK_BYTES = 512 * 1024 * 1024
_RECURSION_LIMIT = 200_000


def _isolated_child() -> None:
    import json
    import sys
    import threading

    from peftlint.cache import result_to_json
    from peftlint.rules import all_rules

    header, data = sys.stdin.buffer.read().split(b"\n", 1)
    job = json.loads(header)
    rules = [rule for rule in all_rules() if rule.code in job["codes"]]
    outcome: list[FileResult] = []
    sys.setrecursionlimit(_RECURSION_LIMIT)
    threading.stack_size(_STACK_BYTES)
    worker = threading.Thread(
        target=lambda: outcome.append(analyse_bytes(job["path"], data, rules, job["run_files"], isolated=True))
    )
    worker.start()
    worker.join()
    result = outcome[0]
    raw = result_to_json(result)
    raw["errors"] = [error.reason for error in result.errors]
    sys.stdout.write(json.dumps(raw))


if __name__ == "__main__":
    _isolated_child()
