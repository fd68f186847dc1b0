"""The report formats of issue 12: ruff-shaped JSON and JSON lines, GitLab Code Quality, JUnit XML,
the ``full`` text format with source snippets, and colour. Each machine format is read back with a
real parser or validated against a schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml

from peftlint import LintResult, lint_paths
from peftlint.cli import use_color
from peftlint.docs import rule_url
from peftlint.findings import Edit, FileError, Finding, Fix, Position, Related
from peftlint.report.full import render_full
from peftlint.report.gitlab import render_gitlab
from peftlint.report.json import render_json, render_json_lines
from peftlint.report.junit import render_junit
from peftlint.snippets import read_sources

ROOT = Path(__file__).resolve().parent.parent
GITLAB_SCHEMA = ROOT / "tests" / "data" / "gitlab-codequality.schema.json"
ANSI = "\x1b["
# The keys of one message of ruff's JSON output (ruff 0.17: `ruff check --output-format json`).
RUFF_KEYS = {"cell", "code", "end_location", "filename", "fix", "location", "message", "name", "noqa_row"}
RUFF_KEYS |= {"severity", "url"}

NESTED = """\
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

base = AutoModelForCausalLM.from_pretrained("gpt2")
model = PeftModel.from_pretrained(get_peft_model(base, LoraConfig(r=8)), "./lora")
"""

NOTEBOOK_CELLS = [
    ("markdown", "# Resume training\n"),
    ("code", "import os\nfrom peft import LoraConfig, PeftModel, get_peft_model\n"),
    ("code", "model = get_peft_model(base, LoraConfig(r=8))\n"),
    ("markdown", "Load the adapter:\n"),
    ("code", "import sys\n\nmodel = PeftModel.from_pretrained(model, 'out')\n"),
]


def peftlint(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peftlint", *args], cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    document = {
        "cells": [
            {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
            | ({"execution_count": None, "outputs": []} if kind == "code" else {})
            for kind, text in cells
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


@cache
def examples() -> LintResult:
    return lint_paths([str(ROOT / "examples")])


# --- JSON ----------------------------------------------------------------------------------------


def test_json_notebook_cell_is_top_level_and_rows_are_inside_the_cell(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", NOTEBOOK_CELLS)
    process = peftlint(tmp_path, "check", "--output-format", "json", "nb.ipynb")
    (item,) = json.loads(process.stdout)
    assert list(item) == sorted(item) and RUFF_KEYS <= set(item)
    assert item["cell"] == 5  # every cell counts, markdown too, as Jupyter and ruff number them
    assert item["location"] == {"column": 9, "row": 3} and item["end_location"]["row"] == 3
    assert item["noqa_row"] == 3
    assert item["url"] == "https://github.com/peftlint/peftlint/blob/main/docs/rules/PEFT001.md"
    (related,) = item["related"]
    assert (related["cell"], related["location"]) == (3, {"column": 9, "row": 1})


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_json_cells_count_as_ruff_counts_them(tmp_path: Path) -> None:
    """ruff itself, on the same notebook: its F401 for `import sys` is in the cell peftlint's finding is in."""
    write_notebook(tmp_path / "nb.ipynb", NOTEBOOK_CELLS)
    ruff = subprocess.run(
        ["ruff", "check", "--isolated", "--select", "F401", "--output-format", "json", "nb.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    ruff_items = {item["message"].split("`")[1]: item for item in json.loads(ruff.stdout)}
    (ours,) = json.loads(peftlint(tmp_path, "check", "--output-format", "json", "nb.ipynb").stdout)
    assert ruff_items["sys"]["cell"] == ours["cell"] == 5
    assert ruff_items["os"]["cell"] == ours["related"][0]["cell"] - 1 == 2
    assert ruff_items["sys"]["location"]["row"] == 1 and ruff_items["sys"]["noqa_row"] == 1
    assert set(ruff_items["sys"]) <= set(ours), "every key ruff writes, peftlint writes too"


def test_json_lines_is_the_json_report_one_object_a_line() -> None:
    result = examples()
    lines = render_json_lines(result).splitlines()
    assert len(lines) == len(result.findings) == 3
    assert [json.loads(line) for line in lines] == json.loads(render_json(result))
    assert all(line.startswith('{"cell":null,"code":"PEFT') for line in lines)
    assert render_json_lines(LintResult((), (), 1, 0)) == ""


def test_format_is_an_alias_of_output_format() -> None:
    long = peftlint(ROOT, "check", "--output-format", "json-lines", "examples/")
    short = peftlint(ROOT, "check", "--format", "json-lines", "examples/")
    assert long.returncode == short.returncode == 1
    assert long.stdout == short.stdout and len(long.stdout.splitlines()) == 3
    assert "--output-format" in peftlint(ROOT, "check", "--help").stdout


def test_json_fix_edits_name_their_file() -> None:
    (peft002,) = [f for f in json.loads(render_json(examples())) if f["code"] == "PEFT002"]
    (edit,) = peft002["fix"]["edits"]
    assert peft002["filename"].endswith("infer.py") and edit["filename"].endswith("train.py")
    assert edit["cell"] is None and edit["content"] == "model.state_dict()"


# --- GitLab Code Quality -------------------------------------------------------------------------


def gitlab(result: LintResult, root: Path) -> list[dict]:
    report = json.loads(render_gitlab(result, read_sources(result.findings), root=str(root)))
    schema = json.loads(GITLAB_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(report)]
    assert errors == []
    return report


def test_gitlab_report_is_valid_and_exact() -> None:
    report = gitlab(examples(), ROOT)
    assert len(report) == 3
    peft002 = report[0]
    assert peft002["check_name"] == "PEFT002" and peft002["severity"] == "major"
    assert peft002["description"].startswith("PEFT002: `load_state_dict(torch.load(...))` reads `lora_model.pt`")
    assert peft002["location"] == {
        "path": "examples/infer.py",
        "positions": {"begin": {"line": 12, "column": 1}, "end": {"line": 12, "column": 46}},
    }
    assert len({issue["fingerprint"] for issue in report}) == 3


def test_gitlab_fingerprints_ignore_unrelated_lines_moving(tmp_path: Path) -> None:
    source = (ROOT / "examples" / "resume_lora.py").read_text(encoding="utf-8")
    target = tmp_path / "resume_lora.py"

    def prints(text: str) -> list[tuple[int, str]]:
        target.write_text(text, encoding="utf-8")
        report = gitlab(lint_paths([str(target)]), tmp_path)
        return [(issue["location"]["positions"]["begin"]["line"], issue["fingerprint"]) for issue in report]

    before = prints(source)
    moved = prints("# a new first line\n\n" + source.replace("if resume:", "if resume:  # still resuming"))
    assert [line + 2 for line, _ in before] == [line for line, _ in moved]
    assert [p for _, p in before] == [p for _, p in moved] and len({p for _, p in before}) == 2
    reindented = prints(source.replace('os.path.join(model_path, "unet")', 'os.path.join(model_path,  "unet")'))
    assert [p for _, p in reindented] == [p for _, p in before], "whitespace inside the span does not count"
    changed = prints(source.replace('"unet"))', '"unet-v2"))'))
    assert changed[0][1] == before[0][1] and changed[1][1] != before[1][1], "the flagged text does"


def test_gitlab_identical_findings_differ_by_occurrence_and_notebooks_name_the_cell() -> None:
    twins = tuple(
        Finding("PEFT001", "n", "same", "nb.ipynb", Position(1, 1, cell=c), Position(1, 5, cell=c)) for c in (2, 7)
    )
    error = FileError("other.py", "syntax error at line 3: invalid syntax")
    report = json.loads(render_gitlab(LintResult(twins, (error,), 2, 1), root="."))
    first, second, failed = report
    assert first["fingerprint"] != second["fingerprint"]
    assert first["description"] == "PEFT001: cell 2:1:1: same"
    assert first["location"]["positions"]["begin"] == {"line": 1, "column": 1}
    assert failed["check_name"] == "peftlint/file-error" and failed["location"] == {
        "path": "other.py",
        "lines": {"begin": 1},
    }
    assert "syntax error at line 3" in failed["description"]


# --- JUnit ---------------------------------------------------------------------------------------


def test_junit_one_suite_per_file_one_case_per_finding(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("from peft import PeftModel\nmodel = PeftModel.from_pretrained(\n")
    result = lint_paths([str(ROOT / "examples"), str(tmp_path)])
    text = render_junit(result, root=str(ROOT))
    report = JUnitXml.fromstring(text)
    assert (report.tests, report.failures, report.errors) == (4, 3, 1)
    suites = {suite.name: suite for suite in report}
    broken = str(tmp_path / "broken.py")  # outside the root: left as given
    assert set(suites) == {"examples/infer.py", "examples/resume_lora.py", broken}
    cases = list(suites["examples/resume_lora.py"])
    assert [case.name for case in cases] == [
        "PEFT001 adapter-loaded-onto-peft-model at 24:20",
        "PEFT001 adapter-loaded-onto-peft-model at 25:12",
    ]
    assert {case.classname for case in cases} == {"examples/resume_lora"}
    (failure,) = cases[0].result
    assert isinstance(failure, Failure) and failure.type == "PEFT001"
    assert failure.message.startswith("`PeftModel.from_pretrained` loads the adapter onto `text_encoder`")
    assert "examples/resume_lora.py:21:16: note: the model got PEFT layers here" in failure.text
    (error_case,) = list(suites[broken])
    (error,) = error_case.result
    assert isinstance(error, Error) and "syntax error" in error.message
    # What readers such as Jenkins rely on, checked on the raw XML too.
    top = ET.fromstring(text.encode("utf-8"))
    assert top.tag == "testsuites" and top.get("tests") == "4"
    for suite in top.iter("testsuite"):
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase"))
        assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
        for case in suite.iter("testcase"):
            assert case.get("name") and case.get("classname") and case.get("file") == suite.get("name")
    assert text == render_junit(lint_paths([str(ROOT / "examples"), str(tmp_path)]), root=str(ROOT))


def test_junit_clean_run_is_one_passing_case_and_odd_text_stays_xml() -> None:
    clean = JUnitXml.fromstring(render_junit(LintResult((), (), 4, 0)))
    assert (clean.tests, clean.failures, clean.errors) == (1, 0, 0)
    (suite,) = list(clean)
    (case,) = list(suite)
    assert case.name == "no problems found in 4 files" and case.is_passed
    odd = Finding("PEFT001", "n", "bell \x07 and <tag> & \ud800", "a\x1b.py", Position(1, 1), Position(1, 2))
    parsed = JUnitXml.fromstring(render_junit(LintResult((odd,), (), 1, 1)))
    (failure,) = list(list(parsed)[0])[0].result
    assert failure.message == "bell \ufffd and <tag> & \ufffd"


# --- full ----------------------------------------------------------------------------------------


def full(result: LintResult) -> str:
    return render_full(result, read_sources(result.findings))


def test_full_underlines_the_span_and_each_related_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = lint_paths(["examples/resume_lora.py"])
    lines = full(result).splitlines()
    source = (ROOT / "examples" / "resume_lora.py").read_text(encoding="utf-8").splitlines()
    first = result.findings[0]
    assert lines[0] == f"PEFT001 {first.message}"
    assert lines[1] == "  --> examples/resume_lora.py:24:20"
    assert lines[2] == "   |"
    assert lines[3] == f"23 | {source[22]}"  # one line of context
    assert lines[4] == f"24 | {source[23]}"
    carets = lines[5][len("   | ") :]
    assert carets == " " * 19 + "^" * (first.end.column - first.start.column)
    assert source[23][19 : first.end.column - 1].startswith("PeftModel.from_pretrained(text_encoder")
    related = lines.index("  ::: examples/resume_lora.py:21:16")
    assert lines[related + 2] == f"21 | {source[20]}"
    assert (
        lines[related + 3]
        == "   |" + " " * 16 + "^" * len("get_peft_model") + " the model got PEFT layers here (get_peft_model)"
    )
    assert lines[-1] == "Found 2 problems in 1 file."


def test_full_shows_the_fix_as_removed_and_added_lines(tmp_path: Path) -> None:
    (tmp_path / "nested.py").write_text(NESTED, encoding="utf-8")
    out = full(lint_paths([str(tmp_path / "nested.py")]))
    assert out.startswith("PEFT001 [*] ")
    assert "help: load the adapter onto `base` itself, not onto a new PEFT wrapper of it\n" in out
    assert '5 - model = PeftModel.from_pretrained(get_peft_model(base, LoraConfig(r=8)), "./lora")\n' in out
    assert '5 + model = PeftModel.from_pretrained(base, "./lora")\n' in out
    assert out.endswith("Found 1 problem in 1 file.\n[*] 1 fixable with the --fix option.\n")
    cross = full(examples())
    assert "(unsafe fix: --unsafe-fixes applies it)" in cross
    assert f" ::: {ROOT / 'examples' / 'train.py'}\n" in cross.replace("  ::: ", " ::: ")


def test_full_in_notebooks_names_the_cell_and_quotes_what_the_user_wrote(tmp_path: Path) -> None:
    cells = [*NOTEBOOK_CELLS[:4], ("code", "!pip install peft\nmodel = PeftModel.from_pretrained(model, 'out')\n")]
    write_notebook(tmp_path / "nb.ipynb", cells)
    out = peftlint(tmp_path, "check", "nb.ipynb").stdout
    assert " --> nb.ipynb:cell 5:2:9\n" in out
    assert " ::: nb.ipynb:cell 3:1:9\n" in out
    assert "1 | !pip install peft\n2 | model = PeftModel" in out, "the shell line as written, not neutralised"


def test_full_keeps_carets_aligned_and_the_terminal_safe() -> None:
    line = "\tx = «wide» 模型 = PeftModel.from_pretrained(m, '\x1b[31m')"
    start = line.index("PeftModel") + 1
    finding = Finding("PEFT001", "n", "msg", "t.py", Position(1, start), Position(1, start + len("PeftModel")))
    from peftlint.snippets import SourceLines

    out = render_full(LintResult((finding,), (), 1, 1), {"t.py": SourceLines({None: (line,)})})
    code_line, caret_line = out.splitlines()[3:5]
    assert "\x1b" not in out and "\t" not in out
    shown = code_line[len("1 | ") :]
    caret_start = caret_line.index("^") - len("  | ")
    # columns on screen: the tab is 4 wide, each CJK character 2
    width = sum(2 if ch in "模型" else 1 for ch in shown[: shown.index("PeftModel")])
    assert caret_start == width and caret_line.count("^") == len("PeftModel")


def test_full_without_the_source_still_names_every_location() -> None:
    finding = Finding(
        "PEFT001",
        "n",
        "msg",
        "gone.py",
        Position(3, 1),
        Position(3, 9),
        related=(Related("gone.py", Position(1, 1), "wrapped here"),),
        fix=Fix("fix it", (Edit("gone.py", Position(3, 1), Position(3, 2), "y"),)),
    )
    out = render_full(LintResult((finding,), (), 1, 1), {})
    assert out.splitlines()[:4] == [
        "PEFT001 [*] msg",
        " --> gone.py:3:1",
        " ::: gone.py:1:1: note: wrapped here",
        "help: fix it",
    ]


# --- colour --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("isatty", "environ", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (True, {"NO_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (False, {"FORCE_COLOR": ""}, False),
        (True, {"NO_COLOR": ""}, True),
    ],
)
def test_colour_choice(isatty: bool, environ: dict[str, str], expected: bool) -> None:
    assert use_color(isatty, environ) is expected


def test_force_color_colours_a_pipe_and_no_color_wins() -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    forced = peftlint(ROOT, "check", "examples/", env={**base, "FORCE_COLOR": "1"})
    plain = peftlint(ROOT, "check", "examples/", env=base)
    both = peftlint(ROOT, "check", "examples/", env={**base, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert ANSI in forced.stdout and ANSI not in plain.stdout and both.stdout == plain.stdout
    concise = peftlint(ROOT, "check", "--output-format", "concise", "examples/", env={**base, "FORCE_COLOR": "1"})
    assert ANSI in concise.stdout
    written = peftlint(ROOT, "check", "examples/", "-o", os.devnull, env={**base, "FORCE_COLOR": "1"})
    assert written.returncode == 1 and written.stdout == ""


def test_docs_links_point_at_pages_that_exist() -> None:
    from peftlint.rules import all_rules

    for rule in all_rules():
        url = rule_url(rule.code)
        assert url.endswith(f"/docs/rules/{rule.code}.md")
        assert (ROOT / "docs" / "rules" / f"{rule.code}.md").is_file()
