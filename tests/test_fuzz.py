"""Fuzzing (issue 6, item 2): the analysis never raises, never hangs, and is deterministic.

Generated programs (hypothesmith) and mutated fixtures go through ``lint_source``. Every run is
derandomized so CI sees the same examples each time, and sized to finish well within a minute.
A crash inside one rule must be reported as an internal error for that file and rule while the
other rules still report.
"""

from __future__ import annotations

import ast
import warnings
from datetime import timedelta
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from peftlint import lint_paths, lint_source
from peftlint.engine import LintResult
from peftlint.rules import rule_by_code

# hypothesmith compiles what it generates; its SyntaxWarnings ("'str' object is not callable") are noise
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted(p for p in (ROOT / "fixtures").rglob("*.py") if p.is_file())

# Every trigger token of both rules, so the prefilter admits the file and the full analysis runs.
PREFIX = "import torch\nfrom peft import PeftModel, get_peft_model\nfrom transformers import AutoModelForCausalLM\n"
# A seed flow with a finding of each rule, appended after generated code at module level.
SEED_FLOW = (
    "\n"
    "import torch\n"
    "from peft import PeftModel, get_peft_model\n"
    "from transformers import AutoModelForCausalLM\n"
    'model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), cfg)\n'
    'model = PeftModel.from_pretrained(model, "x")\n'
    'torch.save(model, "model.pt")\n'
    'model.load_state_dict(torch.load("model.pt"))\n'
)

FUZZ = settings(
    derandomize=True,
    deadline=timedelta(seconds=5),  # the per-file time budget: an example over it fails the test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    database=None,
)


def _check(source: str | bytes, path: str = "fuzz.py") -> LintResult:
    """Never raises; deterministic; every error is a one-line reason for this file."""
    first = lint_source(source, path)
    second = lint_source(source, path)
    assert first == second, "the same source gave different results"
    assert [f.sort_key() for f in first.findings] == sorted(f.sort_key() for f in first.findings)
    for error in first.errors:
        assert error.path == path
        assert error.reason.strip()
        assert "\n" not in error.reason and "\r" not in error.reason, repr(error.reason)
        assert "Traceback" not in error.reason
    return first


def _no_internal_errors(result: LintResult) -> None:
    internal = [e.reason for e in result.errors if "internal error" in e.reason]
    assert internal == [], internal


def _compiles(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "<fuzz>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


# --- (a) generated programs --------------------------------------------------------------------


@settings(FUZZ, max_examples=200)
@given(hypothesmith.from_grammar())
def test_grammar_programs_after_peft_imports(program: str) -> None:
    source = PREFIX + program
    result = _check(source)
    if _compiles(source):
        _no_internal_errors(result)


@settings(FUZZ, max_examples=200)
@given(hypothesmith.from_grammar())
def test_grammar_programs_followed_by_a_seed_flow(program: str) -> None:
    source = program + SEED_FLOW
    result = _check(source)
    if _compiles(source):
        _no_internal_errors(result)


@settings(FUZZ, max_examples=40)
@given(hypothesmith.from_node())
def test_libcst_node_programs_after_peft_imports(program: str) -> None:
    source = PREFIX + program
    result = _check(source)
    if _compiles(source):
        _no_internal_errors(result)


# --- (b) mutated fixtures ----------------------------------------------------------------------

GARBAGE = [
    ")(",
    "lambda",
    "\x00",
    "'",
    '"',
    '"""',
    "\\",
    "(",
    "]",
    "}",
    ":",
    "@",
    "if x:",
    "else:",
    "def f(",
    "class C:",
    "return",
    "yield",
    "await",
    "async def g():",
    "*",
    "**",
    ":=",
    "#",
    "\t",
    "\x0c",
    "\ufeff",
    "\r",
    "\udcff",
    "é",
    "global model",
    "del model",
    "model = PeftModel.from_pretrained(model, 'y')",
    "torch.save(model, 'model.pt')",
    "model.load_state_dict(torch.load('model.pt'))",
    "model = get_peft_model(model, cfg)",
]


@st.composite
def mutated_fixture(draw: st.DrawFn) -> tuple[str, str]:
    path = draw(st.sampled_from(FIXTURES))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) or ["\n"]
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["delete", "swap", "duplicate", "insert", "splice", "indent", "dedent"]))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(GARBAGE)) + "\n")
        elif op == "splice":  # garbage inside a line, at any column
            column = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:column] + draw(st.sampled_from(GARBAGE)) + lines[i][column:]
        elif op == "indent":
            lines[i] = draw(st.sampled_from(["    ", "\t", " ", "        "])) + lines[i]
        else:  # dedent by up to four columns (or one tab)
            stripped = lines[i].lstrip(" \t")
            lines[i] = lines[i][: len(lines[i]) - len(stripped)][:-4] + stripped
    return path.name, "".join(lines)


# Two wraps of one base kept in a dict (a mutant of a fixture): the order of the load's notes once
# followed memory layout, so two lints of it in one process differed.
TWO_WRAPS_IN_A_DICT = (
    "from peft import LoraConfig, PeftModel, get_peft_model\n"
    "# items and loads each saved adapter onto the wrapper it holds: nested, silently unused. Fires.\n"
    "# The per-language experts are get_peft_model wrappers kept in a dict; resuming walks the dict's\n"
    "from transformers import AutoModelForCausalLM\n"
    "\n"
    'LANGS = ["de", "fr", "it"]\n'
    "experts = {}\n"
    "for lang in LANGS:\n"
    '    base = AutoModelForCausalLM.from_pretrained("HuggingFaceTB/SmolLM2-135M")\n'
    '    experts[lang] = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM"))\n'
    '    experts[lang] = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, task_type="CAUSAL_LM"))\n'
    "\n"
    "for lang, expert in experts.items():\n"
    '    experts[lang] = PeftModel.from_pretrained(expert, f"runs/{lang}/adapter", is_trainable=True)'
    "  # expect: PEFT001\n"
)


@settings(FUZZ, max_examples=1200)
@given(mutated_fixture())
@example(case=("fire_container_dict_items_resume.py", TWO_WRAPS_IN_A_DICT))
def test_mutated_fixtures_never_crash(case: tuple[str, str]) -> None:
    name, source = case
    data = source.encode("utf-8", errors="surrogateescape")  # "\udcff" becomes an undecodable byte
    result = _check(data, name)
    if _compiles(source) and "\udcff" not in source:
        _no_internal_errors(result)


def test_every_fixture_lints_cleanly_and_deterministically() -> None:
    """The unmutated baseline the mutations start from."""
    assert len(FIXTURES) >= 10
    for path in FIXTURES:
        result = _check(path.read_bytes(), path.name)
        assert result.errors == (), (path.name, result.errors)


# --- (c) a crash inside one rule ---------------------------------------------------------------

BOTH_RULES = (
    "import torch\n"
    "from peft import PeftModel, get_peft_model\n"
    "from transformers import AutoModelForCausalLM\n"
    "\n"
    'model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), cfg)\n'
    'model = PeftModel.from_pretrained(model, "x")\n'
    'torch.save(model, "model.pt")\n'
    'model.load_state_dict(torch.load("model.pt"))\n'
)


def _boom(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("planted failure")


def test_baseline_both_rules_fire() -> None:
    result = lint_source(BOTH_RULES, "both.py")
    assert {f.code for f in result.findings} == {"PEFT001", "PEFT002"}
    assert result.errors == ()


@pytest.mark.parametrize(("broken", "survivor"), [("PEFT001", "PEFT002"), ("PEFT002", "PEFT001")])
def test_a_crash_in_one_rule_is_an_internal_error_and_the_other_rule_still_reports(
    broken: str, survivor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = rule_by_code(broken)
    assert rule is not None
    monkeypatch.setattr(rule, "on_call", _boom)
    result = lint_source(BOTH_RULES, "both.py")
    assert {f.code for f in result.findings} == {survivor}
    (error,) = result.errors
    assert error.path == "both.py"
    assert broken in error.reason and "internal error" in error.reason
    assert "ZeroDivisionError" in error.reason and "\n" not in error.reason


def test_a_crash_in_one_rule_does_not_hide_other_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rule = rule_by_code("PEFT001")
    assert rule is not None
    (tmp_path / "both.py").write_text(BOTH_RULES, encoding="utf-8")
    (tmp_path / "other.py").write_text(BOTH_RULES, encoding="utf-8")
    monkeypatch.setattr(rule, "on_call", _boom)
    result = lint_paths([str(tmp_path)])
    assert sorted((f.path, f.code) for f in result.findings) == [
        (str(tmp_path / "both.py"), "PEFT002"),
        (str(tmp_path / "other.py"), "PEFT002"),
    ]
    assert sorted(e.path for e in result.errors) == [str(tmp_path / "both.py"), str(tmp_path / "other.py")]


def test_a_crash_in_a_rule_join_is_an_internal_error(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = rule_by_code("PEFT002")
    assert rule is not None
    monkeypatch.setattr(rule, "join", classmethod(_boom))
    result = lint_source(BOTH_RULES, "both.py")
    assert {f.code for f in result.findings} == {"PEFT001"}
    assert any("PEFT002" in e.reason and "internal error" in e.reason for e in result.errors)
