"""Analysing a pathological file in a child process: libcst's parser and the flow analysis recurse
through expressions, so a chain thousands deep (``a + b + ...``, ``a and b and ...``) needs a
recursion limit and a stack far beyond the defaults (libcst's native parser would otherwise crash
the whole process); if even that overflows, the crash costs that one file, not the run. The
pre-screen measures the nesting on CPython's tree and sends such files here.

The child gets a big thread stack and recursion limit; the parent gets the file's result as JSON
(the cache's format), or a one-line reason when the child died or ran out of time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from peftlint.findings import FileError
from peftlint.results import FileResult

if TYPE_CHECKING:
    from peftlint.rules.base import Rule

TIME_BUDGET_SECONDS = 120


def analyse_isolated(path: str, data: bytes, rules: Sequence[type[Rule]], run_files: Sequence[str] = ()) -> FileResult:
    from peftlint.cache import result_from_json

    job = {"path": path, "codes": [rule.code for rule in rules], "run_files": list(run_files)}
    header = json.dumps(job).encode() + b"\n"
    try:
        child = subprocess.run(
            [sys.executable, "-m", "peftlint.analyse"],
            input=header + data,
            capture_output=True,
            timeout=TIME_BUDGET_SECONDS,
        )
    except subprocess.TimeoutExpired:
        return FileResult(path, errors=(FileError(path, f"not analysed: took longer than {TIME_BUDGET_SECONDS} s"),))
    if child.returncode != 0:
        reason = "not analysed: the analysis crashed on this file (an expression nested or chained too deeply)"
        return FileResult(path, errors=(FileError(path, reason),))
    raw = json.loads(child.stdout)
    errors = tuple(FileError(path, reason) for reason in raw.pop("errors"))
    return FileResult(**{**result_from_json(raw), "errors": errors})
