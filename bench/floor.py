#!/usr/bin/env python
"""How much of a cold run is parsing alone: the floor the design puts under the cold ratio.

peftlint's design parses every file a rule wants with CPython's parser (the pre-screen) and the
units the analysis needs with libcst (the detector). This script runs one cold analysis of the
bench corpus in this process (``--jobs 1``, no cache) with a timer around each of those two
parsers, and one ruff run on the same files, then says what the two parsers alone would cost if
they were spread perfectly over the cores ``bench/run.py`` uses: no interpretation, no reading,
no start-up. A cold ratio under that figure needs fewer files or units parsed, not a faster
analysis.

    python bench/floor.py             # the bench corpus (bench/run.py installs it)
    python bench/floor.py --jobs 2    # the cores to divide by (default: this machine's)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "bench" / "corpus"
ROOTS = ("site/transformers", "site/peft", "site/trl", "site/accelerate")


class Timer:
    """Wraps a function; adds up the wall time and the calls (outermost only)."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function
        self.seconds = 0.0
        self.calls = 0
        self.depth = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.depth += 1
        start = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.depth -= 1
            if not self.depth:
                self.seconds += time.perf_counter() - start
                self.calls += 1


def measure(paths: list[str]) -> dict[str, Any]:
    sys.path.insert(0, str(REPO))
    from peftlint.analysis import prescreen, units
    from peftlint.config import Settings
    from peftlint.engine import lint_paths

    cpython = prescreen.parse_python = Timer(prescreen.parse_python)  # imported at call time
    libcst = units._parse = Timer(units._parse)
    settings = dataclasses.replace(Settings(), jobs=1, cache=False, respect_gitignore=False)
    start = time.perf_counter()
    result = lint_paths(paths, settings)
    total = time.perf_counter() - start
    return {
        "files_analysed": result.files_analysed,
        "findings": len(result.findings),
        "total_s": round(total, 2),
        "cpython_parse_s": round(cpython.seconds, 2),
        "cpython_parses": cpython.calls,
        "libcst_parse_s": round(libcst.seconds, 2),
        "libcst_parses": libcst.calls,
    }


def ruff_seconds(paths: list[str]) -> float | None:
    ruff = CORPUS / "tools-venv" / "bin" / "ruff"
    if not ruff.exists():
        return None
    start = time.perf_counter()
    subprocess.run([str(ruff), "check", "--no-cache", "--isolated", "--exit-zero", *paths], capture_output=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    os.chdir(CORPUS)
    paths = [root for root in ROOTS if Path(root).is_dir()]
    if not paths:
        print("no bench corpus: run `python bench/run.py --quick` once to install it", file=sys.stderr)
        return 1
    out = measure(paths)
    ruff = ruff_seconds(paths)
    parsing = out["cpython_parse_s"] + out["libcst_parse_s"]
    out["jobs"] = args.jobs
    out["parsing_per_core_s"] = round(parsing / args.jobs, 2)
    if ruff:
        out["ruff_s"] = round(ruff, 2)
        out["parsing_floor_ratio"] = round(parsing / args.jobs / ruff, 2)
        out["libcst_floor_ratio"] = round(out["libcst_parse_s"] / args.jobs / ruff, 2)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
