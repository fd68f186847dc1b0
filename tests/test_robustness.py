"""Hostile input (issue 6, item 1): one odd file must never hide the findings of the others.

Every row builds a project holding a good file with a known PEFT001 finding and one hostile entry,
then runs it through the library (``lint_paths``) and through the real CLI in a subprocess. Rows
whose hostile file cannot be analysed expect: the good finding still reported, the bad file named
with a one-line reason on stderr (no traceback), exit code 2. Rows whose hostile file is valid
Python expect its finding at the right line and column, and exit code 1.

Rows that may crash the interpreter (deep nesting) run the library in a subprocess as well, so a
crash fails the test instead of killing pytest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from peftlint import lint_paths
from peftlint.config import DEFAULT_MAX_FILE_BYTES, Settings
from peftlint.discovery import Discovered

SEED = (
    "from peft import PeftModel, get_peft_model\n"
    "from transformers import AutoModelForCausalLM\n"
    "\n"
    'model = AutoModelForCausalLM.from_pretrained("gpt2")\n'
    "model = get_peft_model(model, cfg)\n"
    'model = PeftModel.from_pretrained(model, "x")\n'
)
SEED_LINE, SEED_COLUMN = 6, 9  # where PEFT001 points in SEED: the PeftModel.from_pretrained call
# Admits a file through the prefilter (every trigger token of PEFT001) without a finding of its own.
TRIGGER = b"from peft import PeftModel\n# PeftModel from_pretrained\n"
PROJECT = "proj"
CLI_TIMEOUT = 120
STACK_BYTES = 8 << 20

# One stderr line per problem file: "peftlint: error: PATH: REASON".
ERROR_LINE = re.compile(rb"^peftlint: error: (?P<path>.+?): (?P<reason>\S.*)$")
FINDING_LINE = re.compile(rb"^(?P<path>\S.*?):(?P<line>\d+):(?P<col>\d+): (?P<code>PEFT\d{3}) ", re.M)


# --- building projects -----------------------------------------------------------------------


def _write(project: Path, name: bytes | str, data: bytes) -> bytes:
    raw = name.encode() if isinstance(name, str) else name
    path = os.path.join(os.fsencode(project), raw)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    return raw


def _symlink(project: Path, name: str, target: str) -> bytes:
    try:
        os.symlink(target, project / name)
    except (OSError, NotImplementedError) as error:  # Windows without the privilege
        pytest.skip(f"cannot create symbolic links here: {error}")
    return name.encode()


def _seed_bytes(newline: str = "\n") -> bytes:
    return SEED.replace("\n", newline).encode()


def _big_file(project: Path) -> bytes:
    """3 MiB: mostly comment lines (cheap to parse), then the seed, whose finding must be reported."""
    filler = ("# " + "x" * 97 + "\n") * (3 * 1024 * 1024 // 100 + 1)
    return _write(project, "big.py", (filler + SEED).encode())


BIG_FINDING_LINE = 3 * 1024 * 1024 // 100 + 1 + SEED_LINE


def _non_utf8_name(project: Path) -> bytes:
    if sys.platform in ("win32", "darwin"):
        pytest.skip("the file system of this platform does not allow non-UTF-8 file names")
    try:
        return _write(project, b"caf\xe9.py", _seed_bytes())
    except OSError as error:
        pytest.skip(f"the file system refuses a non-UTF-8 file name: {error}")


def _unreadable(project: Path) -> bytes:
    if not hasattr(os, "geteuid") or os.geteuid() == 0:
        pytest.skip("running as root (or without POSIX permissions): a chmod 000 file is still readable")
    name = _write(project, "locked.py", TRIGGER + b"x = 1\n")
    os.chmod(project / "locked.py", 0)
    return name


def _weird_directory(project: Path) -> bytes:
    """A directory whose name ends in .py is walked like any directory, not read as a file."""
    return _write(project, "weird.py/inner.py", _seed_bytes())


@dataclass(frozen=True)
class Row:
    id: str
    build: Callable[[Path], bytes]  # writes the hostile entry, returns its path relative to the project
    kind: str  # "error": named and not analysed; "valid": analysed, finding at `where`; "clean": no finding
    where: tuple[int, int] | None = None
    reason: str = ""  # a regex the one-line reason must match (error rows)
    isolate: bool = False  # run the library in a subprocess: the row may crash the interpreter
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


ROWS = [
    # --- not analysable: named with a one-line reason, exit 2 -----------------------------------
    Row(
        "syntax-error",
        lambda p: _write(p, "syntax.py", TRIGGER + b"model = PeftModel.from_pretrained(\n"),
        "error",
        reason="syntax error",
    ),
    Row(
        "undecodable-bytes",
        lambda p: _write(p, "undecodable.py", TRIGGER + b"x = '\xff\xfe'\n"),
        "error",
        reason="decode",
    ),
    Row("nul-bytes", lambda p: _write(p, "nul.py", TRIGGER + b"x = 1\x00\ny = 2\n"), "error", reason="NUL"),
    Row(
        "parentheses-5000-deep",
        lambda p: _write(p, "parens.py", TRIGGER + b"x = " + b"(" * 5000 + b")" * 5000 + b"\n"),
        "error",
        isolate=True,
    ),
    Row(
        "brackets-100000-unclosed",
        lambda p: _write(p, "brackets.py", TRIGGER + b"x = " + b"[" * 100000 + b"\n"),
        "error",
        isolate=True,
    ),
    Row(
        "sum-1000-terms",
        lambda p: _write(p, "chain.py", TRIGGER + b"x = " + b" + ".join([b"a"] * 1000) + b"\n"),
        "clean",  # deep but valid: analysed in a child process with a big stack
        isolate=True,
    ),
    Row(
        "and-chain-100000-terms",
        lambda p: _write(p, "and_chain.py", TRIGGER + b"x = " + b" and ".join([b"a"] * 100_000) + b"\n"),
        "error-or-clean",
        isolate=True,
    ),
    Row("dangling-symlink", lambda p: _symlink(p, "dangling.py", "nowhere.py"), "error"),
    Row("symlink-to-itself", lambda p: _symlink(p, "self.py", "self.py"), "error"),
    Row("unreadable-chmod-000", _unreadable, "error", reason="read|denied"),
    # --- valid Python in an unusual form: analysed, finding at the right place, exit 1 -----------
    Row("utf8-bom", lambda p: _write(p, "bom.py", b"\xef\xbb\xbf" + _seed_bytes()), "valid", (SEED_LINE, SEED_COLUMN)),
    Row("crlf", lambda p: _write(p, "crlf.py", _seed_bytes("\r\n")), "valid", (SEED_LINE, SEED_COLUMN)),
    Row("lone-cr", lambda p: _write(p, "cr.py", _seed_bytes("\r")), "valid", (SEED_LINE, SEED_COLUMN)),
    Row(
        "mixed-line-endings",
        lambda p: _write(p, "mixed.py", b"import os\r\nimport sys\r" + _seed_bytes()),
        "valid",
        (SEED_LINE + 2, SEED_COLUMN),
    ),
    Row(
        "tab-indentation",
        lambda p: _write(
            p,
            "tabs.py",
            b"from peft import PeftModel, get_peft_model\nif True:\n"
            b"\tmodel = get_peft_model(model, cfg)\n\tmodel = PeftModel.from_pretrained(model, 'x')\n",
        ),
        "valid",
        (4, 10),
    ),
    # latin-1 cookie, a latin-1 byte in a comment and one in a string before the call: columns count characters
    Row(
        "pep263-latin1-cookie",
        lambda p: _write(
            p,
            "latin1.py",
            b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
            + _seed_bytes().replace(b"model = PeftModel", b's = "\xe9"; model = PeftModel'),
        ),
        "valid",
        (SEED_LINE + 2, SEED_COLUMN + len('s = "e"; ')),
    ),
    Row(
        "no-trailing-newline",
        lambda p: _write(p, "eof.py", _seed_bytes().rstrip(b"\n")),
        "valid",
        (SEED_LINE, SEED_COLUMN),
    ),
    Row("3-mib-file", _big_file, "valid", (BIG_FINDING_LINE, SEED_COLUMN)),
    Row("non-utf8-file-name", _non_utf8_name, "valid", (SEED_LINE, SEED_COLUMN)),
    Row("directory-named-weird.py", _weird_directory, "valid", (SEED_LINE, SEED_COLUMN)),
    # --- nothing to report for the hostile entry, and no error: exit 1 (the good file) -----------
    Row("empty-file", lambda p: _write(p, "empty.py", b""), "clean"),
    Row("bom-only", lambda p: _write(p, "bom_only.py", b"\xef\xbb\xbf"), "clean"),
    Row("symlink-loop-to-ancestor", lambda p: _symlink(p, "loop", "."), "clean"),
]


def _params() -> list[object]:
    return [pytest.param(row, id=row.id, marks=row.marks) for row in ROWS]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / PROJECT
    root.mkdir()
    (root / "good.py").write_text(SEED, encoding="utf-8")
    return root


# --- running the library and the CLI -----------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    findings: list[tuple[bytes, str, int, int]]  # (path relative to the project, code, line, column)
    errors: list[tuple[bytes, str]]  # (path relative to the project, reason)


def _relative(project: Path, path: str) -> bytes:
    return os.fsencode(os.path.relpath(path, project))


def _library_in_process(project: Path, settings: Settings | None = None) -> Outcome:
    result = lint_paths([str(project)], settings)
    return Outcome(
        [(_relative(project, f.path), f.code, f.start.line, f.start.column) for f in result.findings],
        [(_relative(project, e.path), e.reason) for e in result.errors],
    )


_LIBRARY_SCRIPT = """
import json, sys
from peftlint import lint_paths
result = lint_paths([sys.argv[1]])
print(json.dumps({
    "findings": [[f.path, f.code, f.start.line, f.start.column] for f in result.findings],
    "errors": [[e.path, e.reason] for e in result.errors],
}))
"""


def _library_in_subprocess(project: Path) -> Outcome:
    completed = subprocess.run(
        [sys.executable, "-c", _LIBRARY_SCRIPT, str(project)],
        capture_output=True,
        timeout=CLI_TIMEOUT,
        **CHILD_SETUP,  # type: ignore[arg-type]
    )
    assert completed.returncode == 0, f"the library died (exit {completed.returncode}): {completed.stderr[-500:]!r}"
    data = json.loads(completed.stdout)
    return Outcome(
        [(_relative(project, p), c, line, col) for p, c, line, col in data["findings"]],
        [(_relative(project, p), reason) for p, reason in data["errors"]],
    )


def _usual_stack() -> None:  # pragma: no cover - runs in the child
    """The common 8 MiB main-thread stack, so stack-depth crashes reproduce under `ulimit -s unlimited` too."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    if soft == resource.RLIM_INFINITY or soft > STACK_BYTES:
        resource.setrlimit(resource.RLIMIT_STACK, (STACK_BYTES, hard))


CHILD_SETUP = {"preexec_fn": _usual_stack} if os.name == "posix" else {}


def _cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = CLI_TIMEOUT, **options: object
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "--output-format", "concise", *args],
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        env=env,
        **{**CHILD_SETUP, **options},  # type: ignore[arg-type]
    )


def _assert_one_line(reason: str) -> None:
    assert reason.strip(), "empty reason"
    assert "\n" not in reason and "\r" not in reason, f"reason spans lines: {reason!r}"
    assert "Traceback" not in reason, reason


# --- the table ---------------------------------------------------------------------------------


@pytest.mark.parametrize("row", _params())
def test_hostile_input_through_the_library(row: Row, project: Path) -> None:
    name = row.build(project)
    outcome = _library_in_subprocess(project) if row.isolate else _library_in_process(project)

    assert (b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN) in outcome.findings, "the good file's finding was lost"
    for _, reason in outcome.errors:
        _assert_one_line(reason)
    assert all(path == name for path, _ in outcome.errors), f"errors for other files: {outcome.errors}"
    mine = [reason for path, reason in outcome.errors if path == name]
    if row.kind == "error":
        assert mine, f"{name!r} was neither analysed nor reported: {outcome}"
        assert any(re.search(row.reason, reason, re.I) for reason in mine), mine
    elif row.kind == "error-or-clean":
        assert mine or not [f for f in outcome.findings if f[0] == name]
    else:
        assert not mine, f"a valid file was reported as not analysed: {mine}"
    if row.kind == "valid":
        assert (name, "PEFT001", *row.where) in outcome.findings, outcome.findings
    if row.kind == "clean":
        assert [f for f in outcome.findings if f[0] != b"good.py"] == []
        assert outcome.findings.count((b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN)) == 1, "reported twice"


@pytest.mark.parametrize("row", _params())
def test_hostile_input_through_the_cli(row: Row, project: Path) -> None:
    name = row.build(project)
    completed = _cli(project.parent, PROJECT)
    # a name that is not UTF-8 is shown with U+FFFD so every report stays valid UTF-8
    shown = PROJECT.encode() + b"/" + name.decode("utf-8", "replace").encode()

    assert completed.returncode in (0, 1, 2), f"the CLI died (exit {completed.returncode}): {completed.stderr[-800:]!r}"
    assert b"Traceback" not in completed.stderr, completed.stderr.decode(errors="replace")
    findings = {(m["path"], m["code"], int(m["line"]), int(m["col"])) for m in FINDING_LINE.finditer(completed.stdout)}
    assert (PROJECT.encode() + b"/good.py", b"PEFT001", SEED_LINE, SEED_COLUMN) in findings, completed.stdout
    error_lines = [line for line in completed.stderr.splitlines() if line.strip()]
    for line in error_lines:
        assert ERROR_LINE.match(line), f"not a one-line 'peftlint: error: PATH: REASON': {line!r}"
    named = [line for line in error_lines if ERROR_LINE.match(line)["path"] == shown]  # type: ignore[index]
    if row.kind == "error" or (row.kind == "error-or-clean" and named):
        assert named, f"{shown!r} is not named on stderr: {completed.stderr!r}"
        assert len(error_lines) == len(named), "another file was reported"
        assert completed.returncode == 2
        assert b"could not be analysed" in completed.stdout, "the summary claims success"
    else:
        assert error_lines == [], completed.stderr
        assert completed.returncode == 1
    if row.kind == "valid":
        assert (shown, b"PEFT001", *row.where) in findings, completed.stdout


# --- beyond the table ----------------------------------------------------------------------------


def test_three_mib_is_under_the_default_size_limit() -> None:
    """The documented behaviour the 3 MiB row relies on: files up to 10 MiB are analysed."""
    assert 3 * 1024 * 1024 < DEFAULT_MAX_FILE_BYTES == Settings().max_file_bytes


def test_file_over_max_file_bytes_is_skipped_with_a_message(project: Path) -> None:
    _write(project, "huge.py", _seed_bytes() + b"# padding\n" * 200)
    limit = len(SEED.encode()) + 10
    outcome = _library_in_process(project, Settings(max_file_bytes=limit))
    assert outcome.findings == [(b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN)]
    ((path, reason),) = outcome.errors
    assert path == b"huge.py"
    _assert_one_line(reason)
    assert "skipped" in reason and "limit" in reason


def test_file_over_max_file_size_via_the_cli(project: Path) -> None:
    _write(project, "huge.py", _seed_bytes() + b"# padding\n" * 200)
    completed = _cli(project.parent, "--max-file-size", str(len(SEED.encode()) + 10), PROJECT)
    assert completed.returncode == 2
    assert re.search(rb"^peftlint: error: proj/huge\.py: .*limit", completed.stderr, re.M), completed.stderr


def test_symlink_loop_through_a_subdirectory_finishes_and_reports_once(project: Path) -> None:
    (project / "sub").mkdir()
    _symlink(project, "sub/up", "..")
    _write(project, "sub/inner.py", _seed_bytes())
    outcome = _library_in_process(project)
    assert sorted(outcome.findings) == [
        (b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN),
        (b"sub/inner.py", "PEFT001", SEED_LINE, SEED_COLUMN),
    ]
    assert outcome.errors == []


def test_directory_named_like_a_source_file_given_explicitly_is_walked(project: Path) -> None:
    _weird_directory(project)
    result = lint_paths([str(project / "weird.py")])
    assert [(os.path.basename(f.path), f.start.line) for f in result.findings] == [("inner.py", SEED_LINE)]
    assert result.errors == ()


def test_file_replaced_by_a_directory_after_discovery(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery and reading race with the file system: a path that became a directory is named."""
    (project / "gone.py").mkdir()
    found = Discovered([str(project / "gone.py"), str(project / "good.py")])
    monkeypatch.setattr("peftlint.engine.discover", lambda paths, settings: found)
    outcome = _library_in_process(project)
    assert outcome.findings == [(b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN)]
    ((path, reason),) = outcome.errors
    assert path == b"gone.py"
    _assert_one_line(reason)


def test_file_deleted_after_discovery(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = Discovered([str(project / "deleted.py"), str(project / "good.py")])
    monkeypatch.setattr("peftlint.engine.discover", lambda paths, settings: found)
    outcome = _library_in_process(project)
    assert outcome.findings == [(b"good.py", "PEFT001", SEED_LINE, SEED_COLUMN)]
    ((path, reason),) = outcome.errors
    assert path == b"deleted.py"
    _assert_one_line(reason)


def test_deep_but_valid_nesting_is_analysed_not_blamed_on_a_rule(project: Path) -> None:
    """A 1000-term sum (nested 1000 deep in CPython's AST) is deeper than the analysis recurses
    in-process: the RecursionError sends the file to a
    child process with a big stack and is analysed there, its finding reported like any other."""
    _write(project, "chain.py", _seed_bytes() + b"x = " + b" + ".join([b"a"] * 1000) + b"\n")
    outcome = _library_in_subprocess(project)
    assert outcome.errors == []
    assert (b"chain.py", "PEFT001", SEED_LINE, SEED_COLUMN) in outcome.findings


def test_a_crashing_parse_in_a_worker_does_not_take_down_the_run(project: Path) -> None:
    for i in range(17):
        (project / f"good_{i:02}.py").write_text(SEED, encoding="utf-8")
    _write(project, "and_chain.py", TRIGGER + b"x = " + b" and ".join([b"a"] * 100_000) + b"\n")
    completed = _cli(project.parent, "--jobs", "2", PROJECT)
    assert b"Traceback" not in completed.stderr, completed.stderr[-800:]
    assert completed.returncode in (1, 2)
    assert len(FINDING_LINE.findall(completed.stdout)) == 18


def _assert_named_and_others_reported(completed: subprocess.CompletedProcess[bytes], name: bytes) -> None:
    assert b"Traceback" not in completed.stderr, completed.stderr[-600:]
    assert completed.returncode == 2
    assert b"proj/good.py:6:9: PEFT001" in completed.stdout
    (line,) = completed.stderr.splitlines()
    match = ERROR_LINE.match(line)
    assert match and match["path"] == b"proj/" + name, line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_fifo_named_like_a_source_file_does_not_hang(project: Path) -> None:
    os.mkfifo(project / "pipe.py")
    try:
        completed = _cli(project.parent, PROJECT, timeout=10)
    except subprocess.TimeoutExpired:
        pytest.fail("the run hung on a FIFO named pipe.py (killed after 10 s)")
    _assert_named_and_others_reported(completed, b"pipe.py")


def _limit_memory() -> None:  # pragma: no cover - runs in the child
    import resource

    _usual_stack()
    resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.path.exists("/dev/zero"), reason="Linux only")
def test_symlink_to_a_device_is_not_read_without_bound(project: Path) -> None:
    _symlink(project, "zero.py", "/dev/zero")
    completed = _cli(project.parent, PROJECT, timeout=60, preexec_fn=_limit_memory)
    _assert_named_and_others_reported(completed, b"zero.py")


# --- a corrupt or planted results cache ---------------------------------------------------------


def _cache_cases() -> list[object]:
    from peftlint import __version__
    from peftlint.cache import content_hash

    digest = content_hash(SEED.encode())  # good.py's: the planted entries are looked up, not skipped as stale

    def entries(files: object) -> bytes:
        return json.dumps({"version": __version__, "files": files}).encode()

    return [
        pytest.param(b"\x00\xff not json", id="binary-garbage"),
        pytest.param(b'{"version": ', id="truncated-json"),
        pytest.param(b"[1, 2]", id="top-level-list"),
        pytest.param(entries({"proj/good.py": "abc"}), id="entry-is-a-string"),
        pytest.param(entries({"proj/good.py": [digest]}), id="entry-without-result"),
        pytest.param(entries({"proj/good.py": [digest, {"path": 1}]}), id="result-missing-fields"),
        pytest.param(entries({"proj/good.py": [digest, {"findings": None}]}), id="findings-is-null"),
        pytest.param(
            entries([]),
            id="files-is-a-list",
        ),
        pytest.param(
            entries({"proj/good.py": 5}),
            id="entry-is-a-number",
        ),
    ]


@pytest.mark.parametrize("content", _cache_cases())
def test_corrupt_results_cache_does_not_crash_the_run(
    project: Path, content: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.parent)  # cache keys are the paths as given: "proj/good.py"
    settings, cache_dir = Settings(), ".peftlint_cache"
    lint_paths([PROJECT], settings, cache_dir=cache_dir)  # writes the cache file, whatever its key
    (path,) = Path(cache_dir).glob("results-*.json")
    path.write_bytes(content)
    result = lint_paths([PROJECT], settings, cache_dir=cache_dir)
    assert [(f.path, f.start.line, f.start.column) for f in result.findings] == [
        (os.path.join(PROJECT, "good.py"), SEED_LINE, SEED_COLUMN)
    ]
    assert result.errors == ()


# --- a file name that is not UTF-8, in every report format and output route ----------------------

_ROUTES = {
    "stdout": (None, []),
    "strict-utf8-stdout": ({"PYTHONIOENCODING": "utf-8"}, []),  # what an en_US.UTF-8 locale gives
    "output-file": (None, ["--output-file", "report.out"]),
}


def _route_params() -> list[object]:
    params = []
    for output_format in ("text", "json", "sarif", "github"):
        for route in _ROUTES:
            params.append(pytest.param(output_format, route, id=f"{output_format}-{route}"))
    return params


@pytest.mark.parametrize(("output_format", "route"), _route_params())
def test_non_utf8_file_name_in_every_report(project: Path, output_format: str, route: str) -> None:
    _non_utf8_name(project)
    extra_env, args = _ROUTES[route]
    env = {**os.environ, **extra_env} if extra_env else None
    completed = _cli(project.parent, "--format", output_format, *args, PROJECT, env=env)
    assert b"Traceback" not in completed.stderr, completed.stderr[-600:]
    assert completed.returncode == 1
    output = (project.parent / "report.out").read_bytes() if args else completed.stdout
    if output_format in ("json", "sarif"):
        document = json.loads(output)
        text = json.dumps(document)
        assert "caf" in text and "good.py" in text
    else:
        assert re.search(rb"proj/caf.{1,12}\.py", output), output
        assert b"proj/good.py" in output


def test_an_invalid_escape_in_a_path_literal_warns_nobody() -> None:
    """``"D:\\lora\\model.pt"`` holds invalid escapes: reading its value (libcst's literal_eval)
    must not print the user's SyntaxWarning/DeprecationWarning, nor fail where warnings are errors."""
    import warnings

    from peftlint import lint_source

    source = (
        "import torch\n"
        "from transformers import AutoModelForCausalLM\n"
        'm = AutoModelForCausalLM.from_pretrained("gpt2")\n'
        'torch.save(m, "D:\\lora\\model.pt")\n'
        'm.load_state_dict(torch.load("D:\\lora\\model.pt"))\n'
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = lint_source(source)
    assert result.errors == ()
    assert [(f.code, f.start.line) for f in result.findings] == [("PEFT002", 5)]


def test_an_imported_module_no_grammar_accepts_is_its_own_error(project: Path) -> None:
    """A helper module with a syntax error is reported as itself; the scripts that import it are
    still analysed (what they take from it is unknown), and their own findings stand."""
    (project / "helpers.py").write_text(
        "from peft import LoraConfig, get_peft_model\n\n\ndef wrap(model):\n"
        "    return get_peft_model(model, LoraConfig(r=8))\n\n\ndef broken(:\n    pass\n"
    )
    (project / "train.py").write_text(
        "from peft import LoraConfig, PeftModel, get_peft_model\nfrom transformers import AutoModelForCausalLM\n\n"
        "import helpers\nfrom helpers import wrap\n\n"
        "model = get_peft_model(AutoModelForCausalLM.from_pretrained('gpt2'), LoraConfig(r=8))\n"
        "model = PeftModel.from_pretrained(model, 'out')\n"
        "other = PeftModel.from_pretrained(wrap(AutoModelForCausalLM.from_pretrained('gpt2')), 'out')\n"
    )
    result = lint_paths([str(project / "helpers.py"), str(project / "train.py")], Settings(cache=False))
    assert [(Path(f.path).name, f.code, f.start.line) for f in result.findings] == [("train.py", "PEFT001", 8)]
    errors = [(Path(e.path).name, e.reason) for e in result.errors]
    assert errors == [("helpers.py", "syntax error at line 8: invalid syntax")]
