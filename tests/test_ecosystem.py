"""Suppressions, autofix, notebooks, stdin, rules/explain: through the library and the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peftlint import lint_paths, lint_source
from peftlint.rules import all_rules

SEED = """from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("gpt2")
model = get_peft_model(model, LoraConfig(r=8))
model = PeftModel.from_pretrained(model, "./lora"){comment}
"""
NESTED = """import copy

from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

original = AutoModelForCausalLM.from_pretrained("gpt2")
config = LoraConfig(r=4, lora_alpha=16)
method1 = PeftModel.from_pretrained(get_peft_model(copy.deepcopy(original), config), "./lora")
"""
PICKLE = """import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
torch.save(model, "model.pt")
model.load_state_dict(torch.load("model.pt"))
"""


def peftlint(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "peftlint", *args], cwd=cwd, input=stdin, capture_output=True)


@pytest.mark.parametrize(
    ("comment", "suppressed"),
    [
        ("  # noqa: PEFT001", True),
        ("  # NOQA:peft001", True),
        ("  # noqa: PEFT002, PEFT001", True),
        ("  # noqa", True),
        ("  # noqa: PEFT002", False),
        ("  # type: ignore  # noqa: PEFT001", True),
        ("", False),
    ],
)
def test_line_suppressions(comment: str, suppressed: bool) -> None:
    result = lint_source(SEED.format(comment=comment), "train.py")
    assert (not result.findings) == suppressed


def test_file_level_and_multiline_suppressions() -> None:
    assert not lint_source("# peftlint: noqa\n" + SEED.format(comment=""), "t.py").findings
    assert not lint_source("# peftlint: noqa: PEFT001\n" + SEED.format(comment=""), "t.py").findings
    assert lint_source("# peftlint: noqa: PEFT002\n" + SEED.format(comment=""), "t.py").findings
    multiline = SEED.format(comment="").replace(
        'PeftModel.from_pretrained(model, "./lora")',
        'PeftModel.from_pretrained(\n    model,\n    "./lora",\n)  # noqa: PEFT001',
    )
    assert not lint_source(multiline, "t.py").findings


def test_report_unused_noqa(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SEED.format(comment="  # noqa: PEFT001"), encoding="utf-8")
    (tmp_path / "b.py").write_text("x = 1  # noqa: PEFT002\n", encoding="utf-8")
    quiet = peftlint("check", ".", "--no-cache", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stdout
    loud = peftlint("check", ".", "--no-cache", "--report-unused-noqa", "--output-format", "concise", cwd=tmp_path)
    assert loud.returncode == 1
    assert loud.stdout.decode().splitlines()[0].startswith("b.py:1:8: PEFT100 unused suppression: no PEFT002")


def _fix_round_trip(tmp_path: Path, name: str, source: str, *flags: str) -> tuple[str, str]:
    path = tmp_path / name
    path.write_text(source, encoding="utf-8")
    before = lint_paths([str(path)])
    first = peftlint("check", name, "--no-cache", *flags, cwd=tmp_path)
    fixed = path.read_text(encoding="utf-8")
    compile(fixed, name, "exec")  # fixed code parses
    after = lint_paths([str(path)])
    assert len(after.findings) < len(before.findings)
    second = peftlint("check", name, "--no-cache", *flags, cwd=tmp_path)
    assert path.read_text(encoding="utf-8") == fixed, "a second --fix changes nothing"
    assert b"Fixed" not in second.stdout
    return fixed, first.stdout.decode()


def test_fix_unwraps_nested_get_peft_model(tmp_path: Path) -> None:
    fixed, output = _fix_round_trip(tmp_path, "demo.py", NESTED, "--fix")
    assert 'method1 = PeftModel.from_pretrained(copy.deepcopy(original), "./lora")' in fixed
    assert "Fixed 1 problem, 0 remaining." in output


def test_unsafe_fix_saves_the_state_dict_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "seed.py"
    path.write_text(PICKLE, encoding="utf-8")
    safe_only = peftlint("check", "seed.py", "--no-cache", "--fix", cwd=tmp_path)
    assert path.read_text(encoding="utf-8") == PICKLE and safe_only.returncode == 1
    fixed, _ = _fix_round_trip(tmp_path, "seed.py", PICKLE, "--fix", "--unsafe-fixes")
    assert 'torch.save(model.state_dict(), "model.pt")' in fixed


def test_diff_writes_nothing_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "demo.py"
    path.write_text(NESTED, encoding="utf-8")
    run = peftlint("check", "demo.py", "--no-cache", "--diff", cwd=tmp_path)
    assert run.returncode == 1
    assert b"-method1 = PeftModel.from_pretrained(get_peft_model(" in run.stdout
    assert b"+method1 = PeftModel.from_pretrained(copy.deepcopy(original)" in run.stdout
    assert path.read_text(encoding="utf-8") == NESTED
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n", encoding="utf-8")
    assert peftlint("check", "clean.py", "--diff", cwd=tmp_path).returncode == 0


def test_fix_keeps_crlf_bom_and_latin1(tmp_path: Path) -> None:
    source = "# -*- coding: latin-1 -*-\n# caf\xe9\n" + NESTED
    raw = source.replace("\n", "\r\n").encode("latin-1")
    path = tmp_path / "legacy.py"
    path.write_bytes(raw)
    assert peftlint("check", "legacy.py", "--no-cache", "--fix", cwd=tmp_path).returncode == 0
    fixed = path.read_bytes()
    assert b"\r\n" in fixed and b"\n" not in fixed.replace(b"\r\n", b"")
    assert b"caf\xe9" in fixed
    assert b"from_pretrained(copy.deepcopy(original)" in fixed
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + NESTED.encode())
    peftlint("check", "bom.py", "--no-cache", "--fix", cwd=tmp_path)
    assert bom.read_bytes().startswith(b"\xef\xbb\xbf")


def _notebook(cells: list[str]) -> dict[str, object]:
    return {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": ["# Demo\n"]},
            *(
                {
                    "cell_type": "code",
                    "metadata": {"tags": ["keep"]},
                    "execution_count": i,
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": [f"out {i}\n"]}],
                    "source": source,
                }
                for i, source in enumerate(cells, start=1)
            ),
        ],
        "metadata": {"kernelspec": {"language": "python", "name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_notebook_findings_in_every_format_and_fix_keeps_outputs(tmp_path: Path) -> None:
    head, body = NESTED.split("original = ")
    notebook = _notebook(["%pip install peft\n" + head.strip(), "!ls\noriginal = " + body.rstrip("\n")])
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    text = peftlint("check", "nb.ipynb", "--no-cache", "--output-format", "concise", cwd=tmp_path).stdout.decode()
    assert text.startswith("nb.ipynb:cell 3:4:11: PEFT001 ")
    full = peftlint("check", "nb.ipynb", "--no-cache", cwd=tmp_path).stdout.decode()
    assert "\n --> nb.ipynb:cell 3:4:11\n" in full
    (item,) = json.loads(peftlint("check", "nb.ipynb", "--no-cache", "--format", "json", cwd=tmp_path).stdout)
    assert (item["cell"], item["location"], item["noqa_row"]) == (3, {"row": 4, "column": 11}, 4)
    github = peftlint("check", "nb.ipynb", "--no-cache", "--format", "github", cwd=tmp_path).stdout.decode()
    assert "cell 3:4:11" in github
    sarif = json.loads(peftlint("check", "nb.ipynb", "--no-cache", "--format", "sarif", cwd=tmp_path).stdout)
    assert sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert peftlint("check", "nb.ipynb", "--no-cache", "--fix", cwd=tmp_path).returncode == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    assert [c.get("outputs") for c in after["cells"]] == [c.get("outputs") for c in notebook["cells"]]
    assert after["metadata"] == notebook["metadata"]
    fixed_cell = after["cells"][2]["source"]
    fixed_cell = fixed_cell if isinstance(fixed_cell, str) else "".join(fixed_cell)
    assert fixed_cell.startswith("!ls\n")  # the shell line comes back as written
    assert 'PeftModel.from_pretrained(copy.deepcopy(original), "./lora")' in fixed_cell


def test_broken_notebook_is_a_per_file_error(tmp_path: Path) -> None:
    (tmp_path / "broken.ipynb").write_text('{"cells": [PeftModel from_pretrained', encoding="utf-8")
    (tmp_path / "train.py").write_text(SEED.format(comment=""), encoding="utf-8")
    run = peftlint("check", ".", "--no-cache", "--output-format", "concise", cwd=tmp_path)
    assert run.returncode == 2
    assert b"train.py:6:9: PEFT001" in run.stdout
    assert run.stderr.decode().count("\n") == 1 and b"broken.ipynb: notebook is not valid JSON" in run.stderr


def test_stdin(tmp_path: Path) -> None:
    source = SEED.format(comment="").encode()
    run = peftlint("check", "-", "--stdin-filename", "src/train.py", "--format", "concise", cwd=tmp_path, stdin=source)
    assert run.returncode == 1
    assert run.stdout.decode().startswith("src/train.py:6:9: PEFT001")
    full = peftlint("check", "-", "--stdin-filename", "src/train.py", cwd=tmp_path, stdin=source).stdout.decode()
    assert " --> src/train.py:6:9\n  |\n5 | model = get_peft_model(model, LoraConfig(r=8))\n6 | model = Peft" in full
    fixed = peftlint("check", "-", "--stdin-filename", "x.py", "--fix", cwd=tmp_path, stdin=NESTED.encode())
    assert b"from_pretrained(copy.deepcopy(original)" in fixed.stdout
    assert fixed.returncode == 0
    zero = peftlint("check", "-", "--exit-zero", "--format", "concise", cwd=tmp_path, stdin=source)
    assert zero.returncode == 0, "--exit-zero holds on stdin too"
    assert zero.stdout.decode().startswith("-:6:9: PEFT001")


def test_rules_and_explain(tmp_path: Path) -> None:
    listed = json.loads(peftlint("rules", "--format", "json", cwd=tmp_path).stdout)
    assert [r["code"] for r in listed] == [r.code for r in all_rules()]
    for rule in all_rules():
        text = peftlint("explain", rule.code.lower(), cwd=tmp_path).stdout.decode()
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Fix", "## References"):
            assert heading in text, (rule.code, heading)
    assert peftlint("explain", "PEFT999", cwd=tmp_path).returncode == 2


def test_readme_rule_table_matches_the_catalog() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for rule in all_rules():
        assert f"| {rule.code} | {rule.name} |" in readme


def test_statistics_and_output_file(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SEED.format(comment=""), encoding="utf-8")
    (tmp_path / "b.py").write_text(PICKLE, encoding="utf-8")
    (tmp_path / "c.py").write_text(NESTED, encoding="utf-8")
    stats = peftlint("check", ".", "--no-cache", "--statistics", cwd=tmp_path)
    assert stats.returncode == 1
    assert stats.stdout.decode().splitlines() == [
        "2  PEFT001  adapter-loaded-onto-peft-model",
        "1  PEFT002  pickled-module-loaded-as-state-dict",
    ]
    as_json = json.loads(peftlint("check", ".", "--no-cache", "--statistics", "--format", "json", cwd=tmp_path).stdout)
    assert as_json[0] == {"code": "PEFT001", "name": "adapter-loaded-onto-peft-model", "count": 2}
    written = peftlint("check", ".", "--no-cache", "--format", "json", "-o", "report.json", cwd=tmp_path)
    assert written.stdout == b"" and written.returncode == 1
    assert len(json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))) == 3


def test_a_fix_that_would_not_parse_is_refused_and_the_file_untouched(tmp_path: Path) -> None:
    from peftlint.findings import Edit, Finding, Fix, Position
    from peftlint.fix import plan_fixes

    path = tmp_path / "t.py"
    path.write_text("x = f(1)\n", encoding="utf-8")
    broken = Fix("breaks the code", (Edit(str(path), Position(1, 5), Position(1, 9), "f(("),))
    finding = Finding("PEFT001", "n", "m", str(path), Position(1, 5), Position(1, 9), fix=broken)
    planned, failed = plan_fixes([finding], unsafe=False)
    assert planned == [] and len(failed) == 1 and "would not parse" in failed[0][1]
    assert path.read_text(encoding="utf-8") == "x = f(1)\n"


def test_a_fix_whose_code_changed_since_the_lint_is_refused(tmp_path: Path) -> None:
    """Fixes are node replacements in libcst's tree: an edit that no longer spans a whole
    expression (the file was edited between the lint and the fix) is refused, file untouched."""
    from peftlint.fix import plan_fixes

    path = tmp_path / "demo.py"
    path.write_text(NESTED, encoding="utf-8")
    findings = lint_paths([str(path)]).findings
    assert any(f.fix for f in findings)
    shifted = NESTED.replace("import copy", "import copy  # an edit made after the lint", 1)
    assert shifted != NESTED
    edited = "x = 1\n" + shifted.replace("get_peft_model(", "get_peft_model( ", 1)
    path.write_text(edited, encoding="utf-8")
    planned, failed = plan_fixes(findings, unsafe=False)
    assert planned == [] and "no whole expression" in failed[0][1]
    assert path.read_text(encoding="utf-8") == edited


def test_a_fix_keeps_comments_inside_the_expression_it_moves(tmp_path: Path) -> None:
    source = (
        "from peft import PeftModel, get_peft_model\n"
        "model = PeftModel.from_pretrained(get_peft_model(\n"
        "    load(\n"
        "        'gpt2',  # the base\n"
        "    ),\n"
        "    cfg), './lora')\n"
    )
    fixed, _ = _fix_round_trip(tmp_path, "multi.py", source, "--fix")
    assert fixed == (
        "from peft import PeftModel, get_peft_model\n"
        "model = PeftModel.from_pretrained(load(\n"
        "        'gpt2',  # the base\n"
        "    ), './lora')\n"
    )
