"""Sampled mutation testing of peftlint/analysis/ and the PEFT rules, with mutmut's operators.

One command reproduces the run that bench/mutation/README.md reports:

    nice -n 19 .venv/bin/python bench/mutation/run.py            # both samples, 2 workers
    nice -n 19 .venv/bin/python bench/mutation/run.py --report   # re-print the tables from out/

Why a driver and not ``mutmut run``: mutmut 3 runs mutants through per-function trampolines, so
module-level code (the tables of analysis/registry.py, paths.py, strings.py) and decorated functions
(properties, ``functools.cache``) are never mutated, and a full run of its ~thousands of mutants
does not finish on a 2-core machine. This driver takes mutmut's own mutation generator
(``mutmut.mutation.file_mutation.create_mutations`` with ``mutmut.mutation.mutators``: numbers,
strings, names True/False, assignments -> None, argument removal/None, operator swaps, is/in
negation, break/continue, ``not`` removal, if-expression arms, ...) over whole files, takes a
seeded uniform random sample of the mutants, and runs each one as a real edit of the file on disk
in a scratch copy of the repository, with the test command below in a fresh interpreter.

* Every mutant gets one process: ``python -m pytest -x -q -p no:cacheprovider <TESTS>`` with
  ``PYTHONPATH`` = the scratch copy (the venv's editable install of the main checkout is shadowed;
  the driver checks ``peftlint.__file__`` in every copy before the run), cwd = the copy.
* Outcome: exit 0 = survived; any other exit = killed; past ``--timeout`` = killed (timeout,
  counted as killed, reported separately); a mutant that does not compile = incompetent (left out
  of every rate).
* Bytecode: the scratch copy's sources get one fixed old mtime and their .pyc files are written
  once by the baseline run; mutant runs use PYTHONDONTWRITEBYTECODE=1, so a mutated file (new mtime)
  is always compiled from source and a restored file (old mtime again) uses the original .pyc.
* Scratch copies: ``$TMPDIR/peftlint-mutation-<random>/w<N>``, fresh for each invocation and
  removed at its end. Results are appended per mutant to ``bench/mutation/out/*.jsonl``; a run that
  is stopped resumes where it was (delete out/ to start afresh). Two invocations in one checkout
  append to the same out/ files: run one at a time.
* Rates use the Wilson score interval (95 %), without a finite-population correction (so they are
  slightly conservative).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider
from mutmut.mutation import file_mutation
from mutmut.mutation.mutators import mutation_operators
from mutmut.mutation.pragma_handling import IgnoredCode, PragmaVisitor

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "out"
SEED = 20250611
ANALYSIS_SAMPLE = 450
RULES_SAMPLE = 0  # 0 = every mutant of peftlint/rules/peft00*.py
TESTS = [
    "tests/test_fixtures.py",
    "tests/test_reach.py",
    "tests/test_notebook_cells.py",
    "tests/test_rule_examples.py",
    "tests/test_positions.py",
    # test_positions over awkward snippets only; its parametrisation over every fixture, example
    # and analysis source takes ~10 s and would read the mutated file itself as an input
    "-k",
    "not fixtures/ and not examples/ and not analysis/",
]
# The rest of the suite (minus tests/verify, which needs torch and real weights, and test_precommit,
# which needs a git checkout), run on the hand-judged survivors only: which of them does some
# other test (a unit test of internals, the CLI, docs) kill? ~100 s a mutant.
WIDE_TESTS = ["tests", "-m", "not slow", "--ignore=tests/verify", "--ignore=tests/test_precommit.py"]
MTIME = 1_000_000_000  # fixed mtime of every source in a scratch copy (see module docstring)


# --- enumerating mutants ------------------------------------------------------------------------


class _Visitor(file_mutation.MutationVisitor):
    """mutmut's visitor, less the one skip that exists only for its trampolines: the bodies of
    decorated functions (@property, @functools.cache, ...) are mutated too. Decorator expressions,
    annotations, ``len``/``isinstance`` calls and complex parameter defaults stay skipped, as in mutmut."""

    def _skip_node_and_children(self, node: cst.CSTNode) -> bool:
        if isinstance(node, cst.FunctionDef) and node.decorators:
            return False
        return super()._skip_node_and_children(node)


@dataclass
class Mutant:
    id: str  # "<path>#<n>": n-th mutant of the file in mutmut's visiting order
    path: str
    line: int
    col: int
    function: str
    before: str
    after: str


def _function_name(node: cst.CSTNode | None) -> str:
    return node.name.value if isinstance(node, cst.FunctionDef) else "<module>"


def _snippet(module: cst.Module, node: cst.CSTNode) -> str:
    text = module.code_for_node(node).strip()
    text = re.sub(r"\s+", " ", text)
    return text if len(text) <= 160 else text[:157] + "..."


def _mutations(path: Path) -> tuple[cst.Module, list, MetadataWrapper]:
    code = path.read_text(encoding="utf-8")
    module = cst.parse_module(code)
    wrapper = MetadataWrapper(module)
    pragmas = PragmaVisitor(str(path))  # '# pragma: no mutate' (none in peftlint today); no mutmut config
    wrapper.visit(pragmas)
    ignored = IgnoredCode(pragmas.no_mutate_lines, pragmas.ignore_node_lines, set())
    visitor = _Visitor(mutation_operators, ignored, None)
    visited = wrapper.visit(visitor)
    return visited, visitor.mutations, wrapper


class Sources:
    """The whole mutated source of each mutant, made when asked for (deep_replace is slow)."""

    def __init__(self) -> None:
        self._parts: dict[str, tuple[cst.Module, cst.CSTNode, cst.CSTNode]] = {}

    def add(self, mutant_id: str, module: cst.Module, before: cst.CSTNode, after: cst.CSTNode) -> None:
        self._parts[mutant_id] = (module, before, after)

    def update(self, other: Sources) -> None:
        self._parts.update(other._parts)

    def __getitem__(self, mutant_id: str) -> str:
        module, before, after = self._parts[mutant_id]
        return module.deep_replace(before, after).code


def enumerate_mutants(paths: list[Path]) -> tuple[list[Mutant], Sources]:
    """Every mutant of the files, and its whole mutated source (by id)."""
    mutants, sources = [], Sources()
    for path in paths:
        rel = path.relative_to(ROOT).as_posix()
        module, mutations, wrapper = _mutations(path)
        positions = wrapper.resolve(PositionProvider)
        for n, mutation in enumerate(mutations):
            where = positions.get(mutation.original_node)
            mutant = Mutant(
                id=f"{rel}#{n}",
                path=rel,
                line=where.start.line if where else 0,
                col=where.start.column + 1 if where else 0,
                function=_function_name(mutation.contained_by_top_level_function),
                before=_snippet(module, mutation.original_node),
                after=_snippet(module, mutation.mutated_node) if mutation.mutated_node is not None else "",
            )
            mutants.append(mutant)
            sources.add(mutant.id, module, mutation.original_node, mutation.mutated_node)
    return mutants, sources


def analysis_files() -> list[Path]:
    return sorted((ROOT / "peftlint" / "analysis").glob("*.py"))


def rule_files() -> list[Path]:
    return sorted((ROOT / "peftlint" / "rules").glob("peft00*.py"))


def sample(population: list[Mutant], size: int, seed: int) -> list[Mutant]:
    population = sorted(population, key=lambda m: (m.path, int(m.id.rsplit("#", 1)[1])))
    if size <= 0 or size >= len(population):
        return population
    return sorted(random.Random(seed).sample(population, size), key=lambda m: m.id)


# --- running them -------------------------------------------------------------------------------


def _scratch_copy(dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    patterns = shutil.ignore_patterns(".git", ".venv", "out", "__pycache__", "*.egg-info", ".pytest_cache")

    def ignore(folder: str, names: list[str]) -> set[str]:
        # bench/corpus holds the benchmark's and the real-code corpus's trees (gigabytes, gitignored,
        # some with dangling symlinks): no test reads them
        return set(patterns(folder, names)) | ({"corpus"} if Path(folder) == ROOT / "bench" else set())

    shutil.copytree(ROOT, dest, ignore=ignore)
    for source in (dest / "peftlint").rglob("*.py"):
        os.utime(source, (MTIME, MTIME))


def _env(copy: Path, write_bytecode: bool) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(copy)
    env["HYPOTHESIS_PROFILE"] = "ci"
    env.pop("PYTEST_ADDOPTS", None)
    if write_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run_tests(
    copy: Path, timeout: float, write_bytecode: bool = False, tests: list[str] | None = None
) -> tuple[str, float, str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *(tests or TESTS)]
    start = time.monotonic()
    proc = subprocess.Popen(
        command,
        cwd=copy,
        env=_env(copy, write_bytecode),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return "timeout", time.monotonic() - start, ""
    elapsed = time.monotonic() - start
    text = output.decode("utf-8", "replace")
    return ("survived" if proc.returncode == 0 else "killed"), elapsed, text


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line[:200]
    tail = [line for line in output.splitlines() if line.strip()]
    return tail[-1][:200] if tail else ""


def _check_copy(copy: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import peftlint; print(peftlint.__file__)"],
        cwd=copy,
        env=_env(copy, False),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = Path(probe.stdout.strip()).resolve()
    if copy.resolve() not in imported.parents:
        sys.exit(f"tests in {copy} import peftlint from {imported}, not from the mutated copy")


def run(
    mutants: list[Mutant],
    sources: Sources,
    jobs: int,
    timeout: float | None,
    results: Path,
    tests: list[str] | None = None,
) -> None:
    done = {}
    if results.exists():
        for line in results.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            done[record["id"]] = record
    todo = [m for m in mutants if m.id not in done]
    print(f"{len(mutants)} mutants, {len(mutants) - len(todo)} already in {results.name}, {len(todo)} to run")
    if not todo:
        return
    base = Path(tempfile.mkdtemp(prefix="peftlint-mutation-"))  # one per invocation: runs never share copies
    copies = [base / f"w{i}" for i in range(jobs)]
    for copy in copies:
        _scratch_copy(copy)
        _check_copy(copy)
    outcome, seconds, output = _run_tests(copies[0], 900, write_bytecode=True, tests=tests)
    if outcome != "survived":
        sys.exit(f"the unmutated baseline fails:\n{output[-3000:]}")
    for copy in copies[1:]:
        _run_tests(copy, 900, write_bytecode=True, tests=tests)
    if timeout is None:
        timeout = max(30.0, 5 * seconds)
    print(f"baseline {seconds:.1f} s ({_first_failure(output)}); per-mutant timeout {timeout:.0f} s")

    free: queue.Queue[Path] = queue.Queue()
    for copy in copies:
        free.put(copy)
    lock = threading.Lock()
    counts: Counter[str] = Counter()
    OUT.mkdir(parents=True, exist_ok=True)

    def one(mutant: Mutant) -> None:
        copy = free.get()
        try:
            target = copy / mutant.path
            original = target.read_text(encoding="utf-8")
            mutated = sources[mutant.id]
            try:
                compile(mutated, mutant.path, "exec")
            except SyntaxError as error:
                outcome, elapsed, failure = "incompetent", 0.0, f"SyntaxError: {error}"
            else:
                target.write_text(mutated, encoding="utf-8")
                try:
                    outcome, elapsed, text = _run_tests(copy, timeout, tests=tests)
                finally:
                    target.write_text(original, encoding="utf-8")
                    os.utime(target, (MTIME, MTIME))
                failure = _first_failure(text) if outcome == "killed" else ""
        finally:
            free.put(copy)
        record = {**asdict(mutant), "outcome": outcome, "seconds": round(elapsed, 2), "failure": failure}
        with lock:
            with results.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            counts[outcome] += 1
            n = sum(counts.values())
            print(
                f"[{n}/{len(todo)}] {outcome:11} {elapsed:5.1f}s {mutant.id} L{mutant.line}: "
                f"{mutant.before[:50]!r} -> {mutant.after[:50]!r}",
                flush=True,
            )

    threads = []
    pending: queue.Queue[Mutant] = queue.Queue()
    for mutant in todo:
        pending.put(mutant)

    def worker() -> None:
        while True:
            try:
                mutant = pending.get_nowait()
            except queue.Empty:
                return
            one(mutant)

    for _ in copies:
        thread = threading.Thread(target=worker)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    for copy in copies:  # every file was put back: the unmutated tests pass again in each copy
        after, _, output = _run_tests(copy, 900, tests=tests)
        if after != "survived":
            sys.exit(f"{copy} fails unmutated after the run:\n{output[-3000:]}")
    shutil.rmtree(base, ignore_errors=True)
    print(dict(counts))


# --- reporting ----------------------------------------------------------------------------------


def wilson(killed: int, n: int, z: float = 1.959964) -> tuple[float, float, float]:
    if n == 0:
        return (math.nan, math.nan, math.nan)
    p = killed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return p, centre - half, centre + half


def _rate(killed: int, n: int) -> str:
    p, low, high = wilson(killed, n)
    return f"{killed}/{n} = {100 * p:.1f} % [{100 * low:.1f}, {100 * high:.1f}]" if n else "-"


# Which concern a mutant belongs to: by file, and for interpreter.py / values.py by function.
_JOIN = {
    "join_states",
    "_differing_keys",
    "join_branches",
    "add_guard",
    "or_unknown",
    "contained",
    "with_item",
    "if_statement",
    "branch",
    "loop",
    "for_statement",
    "while_statement",
    "try_statement",
    "match_statement",
    "bind_pattern",
    "jump",
}
_GUARD = {"feasible_under", "_other_constant", "_is_constant", "refined", "resolved_constants"}
_BY_FILE = {
    "conditions.py": "guard",
    "callsite.py": "guard",
    "scopes.py": "join",
    "calls.py": "inlining",
    "definitions.py": "inlining",
    "objects.py": "inlining",
    "project.py": "inlining",
    "reach.py": "inlining",
    "frames.py": "inlining",
    "registry.py": "registry",
    "effects.py": "registry",
    "names.py": "registry",
    "paths.py": "paths",
    "strings.py": "strings",
    "units.py": "positions",
    "prescreen.py": "positions",
    "expressions.py": "expressions",
    "peft001_adapter_loaded_onto_peft_model.py": "rule PEFT001",
    "peft002_pickled_module_loaded_as_state_dict.py": "rule PEFT002",
}


def concern(path: str, function: str) -> str:
    name = path.rsplit("/", 1)[-1]
    if name in ("interpreter.py", "values.py"):
        if function in _JOIN:
            return "join"
        if function in _GUARD:
            return "guard"
        return "interpreter (statements)" if name == "interpreter.py" else "values"
    return _BY_FILE.get(name, name)


# Hand verdicts on survivors. S-ids: the seeded random sample of 40 analysis survivors
# (``--verdict-sample``); X-ids: survivors looked at outside that sample. "verified": a snippet
# (README) reports differently under the mutant than under the original.
EQUIVALENT = ("equivalent", "equivalent (performance only)")
VERDICTS: dict[str, tuple[str, str]] = {
    # --- the random sample (S0..S39)
    "peftlint/analysis/calls.py#64": (
        "minor gap",
        "f(**d) with an open dict (after d.update(x)) expanded as if closed",
    ),
    "peftlint/analysis/calls.py#231": (
        "gap, verified",
        "method that rebinds self.model, called on an instance at module level: finding lost",
    ),
    "peftlint/analysis/calls.py#335": (
        "gap",
        "non-reaching defs are never summarised: parsed and inlined (Reach contract; time only on fixtures)",
    ),
    "peftlint/analysis/calls.py#811": (
        "equivalent",
        "whitespace/paren fields hold no Name: _names_in finds the same names",
    ),
    "peftlint/analysis/conditions.py#93": (
        "gap, verified",
        "`checkpoints[-n]` crashes the analysis (unary minus of an unknown)",
    ),
    "peftlint/analysis/conditions.py#116": (
        "minor gap",
        "a literal with escapes (\\t, b'', f'') is no longer known text",
    ),
    "peftlint/analysis/effects.py#115": (
        "equivalent",
        "the 'adapter' fact is written, never read (model_facts ignores it)",
    ),
    "peftlint/analysis/effects.py#131": ("equivalent", "the 'is_trainable' fact is written, never read"),
    "peftlint/analysis/effects.py#145": (
        "gap",
        "get_peft_model on an unknown model no longer binds the name to an injected base",
    ),
    "peftlint/analysis/effects.py#311": ("equivalent", "the 'is_trainable' fact is written, never read"),
    "peftlint/analysis/effects.py#474": (
        "gap",
        "torch.load(CONST) from an imported constant loses its 'constants' (PEFT002 cross-file pairing)",
    ),
    "peftlint/analysis/effects.py#905": ("gap, verified", "kwargs = {...}; kwargs.update(...) crashes the analysis"),
    "peftlint/analysis/effects.py#1018": (
        "gap, verified",
        "models.get('ref') returns every entry: false PEFT001 on the plain reference model",
    ),
    "peftlint/analysis/effects.py#1087": (
        "equivalent",
        "lengths checked equal two lines above: strict=None is the same zip",
    ),
    "peftlint/analysis/effects.py#1138": ("equivalent", "strict=False is zip's default"),
    "peftlint/analysis/expressions.py#4": (
        "gap",
        "`True` read as builtins.True, not a constant (no differing snippet found yet)",
    ),
    "peftlint/analysis/expressions.py#39": (
        "minor gap",
        "calls inside expressions of unhandled kinds (await, slices...) not evaluated",
    ),
    "peftlint/analysis/expressions.py#143": ("equivalent", "split('.')[0] == split('.', 1)[0]"),
    "peftlint/analysis/expressions.py#167": ("gap", "FUNCTION values lose their identity site (not shown observable)"),
    "peftlint/analysis/expressions.py#364": (
        "gap, verified",
        "`for path in ADAPTERS:` over a dict literal crashes the analysis",
    ),
    "peftlint/analysis/expressions.py#518": (
        "minor gap",
        "calls inside dict-display keys not evaluated (verified no crash)",
    ),
    "peftlint/analysis/interpreter.py#294": ("minor gap", "calls inside `raise X(...)` not evaluated; bare raise"),
    "peftlint/analysis/interpreter.py#469": (
        "gap, verified",
        "`if c: ... else: return`: later code not guarded by c: false PEFT001",
    ),
    "peftlint/analysis/interpreter.py#622": ("minor gap", "while/else body dropped"),
    "peftlint/analysis/interpreter.py#687": (
        "gap",
        "match/case bodies are not walked: no fixture has a match statement",
    ),
    "peftlint/analysis/names.py#119": (
        "edge",
        "'pathlib' not a library root: differs only if the run holds a pathlib.py",
    ),
    "peftlint/analysis/names.py#162": ("edge", "'yaml' not a library root: differs only if the run holds a yaml.py"),
    "peftlint/analysis/paths.py#139": ("equivalent", "rsplit('.')[-1] == rsplit('.', 1)[-1]"),
    "peftlint/analysis/prescreen.py#331": (
        "edge",
        "class split decision on `x = f(\n 1); y = 2` in a class body; findings same by design",
    ),
    "peftlint/analysis/project.py#224": (
        "equivalent (performance only)",
        "lazy import binding falls back to evaluating the whole module",
    ),
    "peftlint/analysis/project.py#473": (
        "gap, verified",
        "any unresolved first-party import (`from my_project.data import x`) crashes the analysis",
    ),
    "peftlint/analysis/reach.py#84": (
        "gap",
        "Reach no longer follows Trainer hooks: a def reaching a rule call only via train() is pruned",
    ),
    "peftlint/analysis/registry.py#82": (
        "gap",
        "any non-HF `*Trainer` class (lightning, custom) matches the HF trainer entry",
    ),
    "peftlint/analysis/registry.py#451": (
        "equivalent",
        "model.load's tokens are never read (tokens of reports_at APIs only)",
    ),
    "peftlint/analysis/registry.py#977": ("equivalent", "the fact name 'dict.get' is referenced nowhere"),
    "peftlint/analysis/strings.py#119": (
        "gap, verified",
        "`args.out + '/model.pt'` loses its path shape: PEFT002 message names the raw expression",
    ),
    "peftlint/analysis/strings.py#205": ("minor gap", "arithmetic on known numbers no longer folded"),
    "peftlint/analysis/values.py#5": (
        "equivalent",
        "Kind.CONST's text only orders values; CONST sorts before every kind it meets either way",
    ),
    "peftlint/analysis/values.py#86": (
        "equivalent",
        "type alias, annotations only (from __future__ import annotations)",
    ),
    "peftlint/analysis/values.py#125": (
        "gap",
        "with_attrs drops attributes the value already had (DDP .module, Trainer attrs)",
    ),
    # --- peftlint/rules: the seeded random sample of 30 survivors (R0..R29)
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#7": (
        "metadata",
        "the rule's summary text: docs and `explain` only (test_docs, not fixtures)",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#18": (
        "gap",
        "'peft.PeftModel' dropped from needs: Reach/summaries no longer follow defs that build PeftModel(...)",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#23": (
        "gap",
        "'trainer' dropped from needs: defs that only build a Trainer are summarised, not followed",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#76": (
        "minor gap",
        "message fallback when the model argument has no node (`from_pretrained(**kw)`)",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#83": (
        "equivalent",
        "callees of this API have at most three dotted parts: split and rsplit agree",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#87": (
        "edge",
        "fallback text when the call has no callee name; not reachable from fixtures",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#145": (
        "gap",
        "fix unwrap of `get_peft_model(model=base, ...)` (keyword form) no longer found",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#174": (
        "minor gap",
        "fix on `get_peft_model(**kw)` (no positional argument) raises IndexError",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#175": ("minor gap", "same, at index == len"),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#182": (
        "minor gap",
        "a model expression of exactly 60 characters is shortened",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#195": (
        "metadata",
        "verifier fact adapter_path (tests/verify, not fixtures)",
    ),
    "peftlint/rules/peft001_adapter_loaded_onto_peft_model.py#196": (
        "metadata",
        "verifier fact adapter_path (tests/verify, not fixtures)",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#8": (
        "equivalent",
        "SAVE is only a tag compared with LOAD: None and 'save' both differ from 'load'",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#41": (
        "gap",
        "'peft.get_peft_model' dropped from PEFT002's needs (Reach)",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#93": ("metadata", "verifier fact saved_kind"),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#99": ("metadata", "verifier fact saved_kind"),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#100": ("metadata", "verifier fact saved_kind"),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#115": (
        "gap",
        "save's imported-constant names lost: cross-file pairing by constant untested",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#157": (
        "equivalent",
        "effects.torch_load always sets 'shapes'",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#177": (
        "gap",
        "load's imported-constant names lost: cross-file pairing by constant untested",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#181": (
        "gap",
        "load's imported-constant names lost: cross-file pairing by constant untested",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#222": (
        "gap",
        "one note per save collapses to one note per finding: two saves, one load untested",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#260": (
        "minor gap",
        "`# noqa: PEFT002` on the load of a cross-file finding no longer honoured (test_suppression)",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#270": (
        "metadata",
        "finding.facts (JSON/SARIF output), not in snapshots",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#280": (
        "minor gap",
        "StopIteration when a pairing matched by constant has no identical load shape",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#316": (
        "gap, verified",
        "`torch.save(model, args.checkpoint)` / `torch.load(args.checkpoint)`: PEFT002 lost",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#326": (
        "equivalent",
        "save.data always has 'constants'",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#328": (
        "equivalent",
        "save.data always has 'constants'",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#333": (
        "gap",
        "load's constants never read: pairing by imported constant untested",
    ),
    "peftlint/rules/peft002_pickled_module_loaded_as_state_dict.py#336": (
        "equivalent",
        "load.data always has 'constants'",
    ),
    # --- outside the samples (not used for the extrapolation)
    "peftlint/analysis/calls.py#467": (
        "gap, verified",
        "summarised helper returning its parameter (`def prepare(m): m.eval(); return m`) crashes",
    ),
    "peftlint/analysis/calls.py#596": (
        "gap, verified",
        "`def load(model, **kwargs): PeftModel.from_pretrained(model, **kwargs)` crashes",
    ),
    "peftlint/analysis/calls.py#435": (
        "gap, verified",
        "summarised method setting self attributes (`runner.reset()`) crashes",
    ),
    "peftlint/analysis/conditions.py#564": (
        "gap, verified",
        "`MODE = 'eval'; if MODE == 'train': get_peft_model(...)`: false PEFT001",
    ),
    "peftlint/analysis/definitions.py#246": ("gap, verified", "a class defined inside a function crashes the analysis"),
    "peftlint/analysis/interpreter.py#559": (
        "gap, verified",
        "loop exit skips the join with the zero-iteration and `break` states: finding lost",
    ),
    "peftlint/analysis/conditions.py#50": (
        "equivalent",
        "int(s) raises for every literal int(s, 0) reads differently; the except returns evaluated_value",
    ),
}


def operator_class(before: str, after: str) -> str:
    """mutmut's operator, told back from the two snippets (a heuristic: mutmut does not record it)."""
    if re.fullmatch(r"[rbuRBUfF]*[\"'].*[\"']", before):
        return "string literal"
    if re.fullmatch(r"-?\d+(\.\d+)?", before):
        return "number"
    if before in ("True", "False"):
        return "True/False"
    if " if (" in after and (after.endswith(" else None") or " else " in after):
        return "if-expression arm"
    if before in ("and", "or", "is", "is not", "in", "not in", "break", "continue") or re.match(
        r"(==|!=|<=|>=|<|>|\+|-|\*|/|%|&|\||\^)\s", before
    ):
        return "operator / keyword"
    if after.endswith("None") and "=" in before and not before.endswith(")"):
        return "assignment -> None"
    if "(" in before and "(" in after:
        return "call: argument removed / None"
    return "other"


def _survivor_sample(records: list[dict], size: int = 40, seed: int = SEED) -> list[dict]:
    survivors = sorted(
        (r for r in records if r["outcome"] == "survived"), key=lambda r: (r["path"], int(r["id"].rsplit("#", 1)[1]))
    )
    if len(survivors) <= size:
        return survivors
    return sorted(
        random.Random(seed).sample(survivors, size), key=lambda r: (r["path"], int(r["id"].rsplit("#", 1)[1]))
    )


def _table(rows: dict[str, Counter[str]], label: str) -> Counter[str]:
    print(f"| {label} | mutants | killed (timeouts) | survived (judged equivalent) | raw kill rate, 95 % Wilson |")
    print("| --- | ---: | ---: | ---: | --- |")
    total: Counter[str] = Counter()
    for key in sorted(rows):
        c = rows[key]
        total.update(c)
        killed = c["killed"] + c["timeout"]
        n = killed + c["survived"]
        print(f"| {key} | {n} | {killed} ({c['timeout']}) | {c['survived']} ({c['equivalent']}) | {_rate(killed, n)} |")
    killed = total["killed"] + total["timeout"]
    n = killed + total["survived"]
    survived = f"{total['survived']} ({total['equivalent']})"
    print(f"| **all** | {n} | {killed} ({total['timeout']}) | {survived} | {_rate(killed, n)} |")
    return total


def report(results: Path, title: str, sample_size: int = 40) -> None:
    if not results.exists():
        print(f"\n{title}: no results yet ({results.name})")
        return
    records = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines()]
    equivalent = {k for k, (verdict, _) in VERDICTS.items() if verdict in EQUIVALENT}
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    per_concern: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        for table, key in ((per_file, record["path"]), (per_concern, concern(record["path"], record["function"]))):
            table[key][record["outcome"]] += 1
            if record["outcome"] == "survived" and record["id"] in equivalent:
                table[key]["equivalent"] += 1
    print(f"\n## {title}\n")
    total = _table(per_file, "file")
    print()
    _table(per_concern, "concern")
    per_operator: dict[str, Counter[str]] = defaultdict(Counter)
    for record in records:
        per_operator[operator_class(record["before"], record["after"])][record["outcome"]] += 1
    print()
    _table(per_operator, "mutation (heuristic class)")
    killed = total["killed"] + total["timeout"]
    n = killed + total["survived"]
    print(f"\nincompetent (did not compile, left out): {total['incompetent']}")
    print(f"raw: {_rate(killed, n)}")
    judged = _survivor_sample(records, sample_size)
    verdicts = Counter(VERDICTS.get(r["id"], ("not judged", ""))[0].split(",")[0] for r in judged)
    eq = sum(verdicts[v] for v in EQUIVALENT)
    print(f"hand-judged random sample of survivors: {len(judged)}: {dict(sorted(verdicts.items()))}")
    if judged and "not judged" not in verdicts:
        share, low, high = wilson(eq, len(judged))
        print(f"  equivalent share among survivors: {_rate(eq, len(judged))}")
        print(f"excluding the judged-equivalent survivors only: {_rate(killed, n - total['equivalent'])}")
        for label, q in (("point", share), ("low", low), ("high", high)):
            expected = total["survived"] * q
            print(
                f"  extrapolated ({label} equivalent share {100 * q:.1f} %): {killed}/{n - expected:.0f} = "
                f"{100 * killed / (n - expected):.1f} %"
            )


def _report_wide() -> None:
    path = OUT / "wide-suite-on-judged-survivors.jsonl"
    if not path.exists():
        return
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    print("\n## The judged analysis survivors against the rest of the suite\n")
    for record in records:
        verdict = VERDICTS.get(record["id"], ("?", ""))[0]
        where = record["failure"].split("::")[0].removeprefix("FAILED ") if record["outcome"] == "killed" else ""
        print(f"| {record['id']} | {verdict} | {record['outcome']} | {where} |")
    killed = sum(r["outcome"] != "survived" for r in records)
    print(f"\nkilled by some other test: {killed}/{len(records)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--analysis-sample", type=int, default=ANALYSIS_SAMPLE)
    parser.add_argument("--rules-sample", type=int, default=RULES_SAMPLE, help="0 = all")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=None, help="seconds; default max(30, 5 x baseline)")
    parser.add_argument("--only", nargs="*", help="run just these mutant ids (results to out/only.jsonl)")
    parser.add_argument("--list", action="store_true", help="count the mutants per file and stop")
    parser.add_argument("--show", help="print one mutant's diff and stop")
    parser.add_argument("--report", action="store_true", help="print the tables from out/ and stop")
    parser.add_argument("--skip-analysis", action="store_true")
    parser.add_argument("--skip-rules", action="store_true")
    parser.add_argument(
        "--wide", action="store_true", help="run the hand-judged analysis survivors against the rest of the suite"
    )
    args = parser.parse_args()
    try:
        os.nice(19 - os.nice(0))
    except OSError:
        pass

    analysis_results = OUT / f"analysis-seed{args.seed}-n{args.analysis_sample}.jsonl"
    rules_results = OUT / f"rules-seed{args.seed}-n{args.rules_sample or 'all'}.jsonl"
    if args.report:
        report(analysis_results, "peftlint/analysis/*.py (sample)")
        report(rules_results, "peftlint/rules/peft00*.py", 30)
        _report_wide()
        return

    analysis, analysis_sources = enumerate_mutants(analysis_files())
    rules, rules_sources = enumerate_mutants(rule_files())
    sources = analysis_sources
    sources.update(rules_sources)
    if args.list:
        for name, population in (("analysis", analysis), ("rules", rules)):
            by_file = Counter(m.path for m in population)
            for path, count in sorted(by_file.items()):
                print(f"{count:6}  {path}")
            print(f"{len(population):6}  {name} total\n")
        return
    if args.show:
        import difflib

        mutant = next(m for m in analysis + rules if m.id == args.show)
        original = (ROOT / mutant.path).read_text(encoding="utf-8")
        sys.stdout.writelines(
            difflib.unified_diff(
                original.splitlines(True), sources[mutant.id].splitlines(True), mutant.path, mutant.path + " (mutant)"
            )
        )
        return
    if args.only:
        chosen = [m for m in analysis + rules if m.id in set(args.only)]
        only = OUT / "only.jsonl"
        if only.exists():
            only.unlink()
        run(chosen, sources, min(args.jobs, len(chosen)), args.timeout, only)
        for line in only.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            print(record["id"], record["outcome"], record["failure"])
        return
    OUT.mkdir(parents=True, exist_ok=True)
    if args.wide:
        records = [json.loads(line) for line in analysis_results.read_text(encoding="utf-8").splitlines()]
        judged = {r["id"] for r in _survivor_sample(records)}
        chosen = [m for m in analysis if m.id in judged]
        run(chosen, sources, args.jobs, args.timeout or 600, OUT / "wide-suite-on-judged-survivors.jsonl", WIDE_TESTS)
        return
    if not args.skip_analysis:
        run(sample(analysis, args.analysis_sample, args.seed), sources, args.jobs, args.timeout, analysis_results)
    if not args.skip_rules:
        run(sample(rules, args.rules_sample, args.seed), sources, args.jobs, args.timeout, rules_results)
    report(analysis_results, "peftlint/analysis/*.py (sample)")
    report(rules_results, "peftlint/rules/peft00*.py", 30)


if __name__ == "__main__":
    main()
