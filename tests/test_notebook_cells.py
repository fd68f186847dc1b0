"""Resilient notebooks: a cell that does not parse is reported by number and reason, the other cells
are still analysed, and no finding depends on what happened before the broken cell. Shell lines and
cell magics never make a cell fail.

The real case is trl's SFT LoRA/QLoRA notebook with a missing comma (tests/data/README.md says
what was changed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from peftlint import lint_paths, lint_source
from peftlint.notebooks import UNKNOWN_CODE_LINE, UNPARSED_MARK, notebook_source
from peftlint.sources import load_source

DATA = Path(__file__).resolve().parent / "data"
TRL = DATA / "trl_sft_lora_qlora_broken_cell.ipynb"
BROKEN_CELL = 43
MISSING_COMMA = (b"responding simply \\\\'No\\\\''\\n\",", b"responding simply \\\\'No\\\\'',\\n\",")
TRL_REASON = "cell 43: syntax error at line 4: "

IMPORTS = "from peft import LoraConfig, PeftModel, get_peft_model\n"
WRAP = "model = get_peft_model(base, LoraConfig(r=8))\n"
LOAD = "model = PeftModel.from_pretrained(model, 'out')\n"


def notebook(*cells: str | tuple[str, str]) -> bytes:
    document = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": cell}
            if isinstance(cell, str)
            else {"cell_type": cell[0], "metadata": {}, "source": cell[1]}
            for cell in cells
        ],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1).encode("utf-8")


def places(source: bytes) -> list[tuple[int | None, int]]:
    return [(f.start.cell, f.start.line) for f in lint_source(source, "nb.ipynb").findings]


# --- the real notebook ---------------------------------------------------------------------------


def test_real_notebook_broken_cell_is_reported_and_the_rest_analysed() -> None:
    result = lint_paths([str(TRL)])
    (error,) = result.errors
    assert error.path == str(TRL) and error.reason.startswith(TRL_REASON)
    (finding,) = result.findings
    assert (finding.code, finding.start.cell, finding.start.line) == ("PEFT001", 53, 4), "the later misuse is found"
    assert [(r.start.cell, r.start.line) for r in finding.related] == [(53, 3)]


def test_real_notebook_without_the_typo_also_reports_the_load_whose_cause_precedes_it() -> None:
    """The control: cell 47's load onto cell 41's wrapped model is PEFT001 when cell 43 parses, so
    its absence above is the broken cell's doing, not a blind spot of the analysis."""
    data = TRL.read_bytes()
    assert data.count(MISSING_COMMA[0]) == 1
    intact = lint_source(data.replace(*MISSING_COMMA), "nb.ipynb")
    assert intact.errors == ()
    assert [(f.code, f.start.cell, f.start.line) for f in intact.findings] == [("PEFT001", 47, 1), ("PEFT001", 53, 4)]
    assert [(r.start.cell, r.start.line) for r in intact.findings[0].related] == [(41, 7)]


def test_real_notebook_through_the_cli_exits_2_naming_the_cell() -> None:
    process = subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "--output-format", "concise", TRL.name],
        cwd=DATA,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2, "something was not analysed"
    (line,) = process.stderr.splitlines()
    assert line.startswith(f"peftlint: error: {TRL.name}: {TRL_REASON}")
    assert process.stdout.splitlines()[0].startswith(f"{TRL.name}:cell 53:4:11: PEFT001 ")
    assert process.stdout.splitlines()[-1] == (
        "Found 1 problem, but 1 file could not be analysed in full (reasons on stderr)."
    )


# --- the contract with the analysis --------------------------------------------------------------


def test_broken_cell_becomes_one_marker_call_and_comments_of_the_same_length() -> None:
    source = notebook(IMPORTS, "x = 1\ny = (\n\nz = 3", LOAD)
    flow = notebook_source(source)
    lines = flow.text.splitlines()
    assert lines[1:5] == [UNKNOWN_CODE_LINE, UNPARSED_MARK, UNPARSED_MARK, UNPARSED_MARK]
    assert UNKNOWN_CODE_LINE == "__peftlint_unknown_code__()  # peftlint: unparsed cell"
    assert flow.lines[1:5] == ((2, 1), (2, 2), (2, 3), (2, 4))
    assert flow.problems == ("cell 2: syntax error at line 2: '(' was never closed",)
    assert load_source("nb.ipynb", source).problems == flow.problems
    assert load_source("a.py", b"x = 1\n").problems == ()


def test_the_marker_forgets_every_binding_even_in_plain_python() -> None:
    before = IMPORTS + WRAP + "__peftlint_unknown_code__()\n" + LOAD
    assert lint_source(before, "a.py").findings == ()
    again = IMPORTS + WRAP + "__peftlint_unknown_code__()\n" + IMPORTS + WRAP + LOAD
    assert [f.start.line for f in lint_source(again, "a.py").findings] == [6]
    inside = IMPORTS + "def resume(base):\n    " + WRAP + "    __peftlint_unknown_code__()\n    " + LOAD
    assert lint_source(inside, "a.py").findings == ()
    assert lint_source("from peft import *\n__peftlint_unknown_code__()\n" + WRAP + LOAD, "a.py").findings == ()


def test_no_finding_depends_on_a_cell_before_the_broken_one() -> None:
    assert places(notebook(IMPORTS + WRAP, LOAD)) == [(2, 1)]
    assert places(notebook(IMPORTS + WRAP, "print('unclosed'", LOAD)) == []
    assert places(notebook(IMPORTS + WRAP, "print('unclosed'", IMPORTS + WRAP + LOAD)) == [(3, 3)]
    assert places(notebook(IMPORTS, WRAP + LOAD + "oops oops")) == [], "nor inside the broken cell"


def test_every_broken_cell_is_reported_once_in_cell_order() -> None:
    result = lint_source(notebook(("markdown", "# t"), IMPORTS + WRAP, "a = (", "def f(:\n  pass", LOAD), "nb.ipynb")
    assert [e.reason for e in result.errors] == [
        "cell 3: syntax error at line 1: '(' was never closed",
        "cell 4: syntax error at line 1: invalid syntax",
    ]


def test_fix_in_a_notebook_with_a_broken_cell_keeps_that_cell_as_written(tmp_path: Path) -> None:
    broken = "messages = [\n  {'role': 'system'\n   'content': 'x'},\n]"
    nested = IMPORTS + "model = PeftModel.from_pretrained(get_peft_model(base, LoraConfig(r=8)), 'out')\n"
    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook(broken, nested))
    process = subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "--fix", "--no-cache", "nb.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert process.returncode == 2 and "cell 1: syntax error" in process.stderr
    cells = [cell["source"] for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert cells[0] == broken
    assert "model = PeftModel.from_pretrained(base, 'out')" in cells[1]


# --- IPython syntax never fails a cell ------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "pip install -q peft\ncd /content/work",
        "cd ..\nls -la\npip install 'peft[torch]' \\\n    accelerate",
        "git clone https://github.com/huggingface/peft\ncd peft\nwget https://x.y/z.bin -O z.bin",
        "apt-get install -y git-lfs \\\n  curl\n# set up\n./setup.sh --fast",
        "%%bash\nset -e\nfor f in *.py; do echo $f; done",
        "%%writefile train.py\nthis is ( not python",
        "!nvidia-smi\n%load_ext autoreload\n%autoreload 2\nx = !ls\n%time y = 1",
    ],
    ids=["automagic", "automagic-continued", "bare-shell-cell", "bare-shell-continued", "bash", "writefile", "magics"],
)
def test_shell_lines_and_magics_are_not_syntax_errors(cell: str) -> None:
    result = lint_source(notebook(IMPORTS + WRAP, cell, LOAD), "nb.ipynb")
    assert result.errors == ()
    assert [(f.start.cell, f.start.line) for f in result.findings] == [(3, 1)], "the flow goes through the cell"


def test_automagic_lines_that_are_python_stay_python() -> None:
    lines = notebook_source(notebook("cd = 'x'\nls -la\npip(1)\ncd dir")).text.splitlines()
    assert lines == ["cd = 'x'", "ls -la", "pip(1)", "pass  # peftlint: magic"]
    assert notebook_source(notebook("model = foo(\nprint 'x'")).problems, "not every failing cell is shell"


# --- a cell IPython dedents -----------------------------------------------------------------------

INDENTED = "  model = get_peft_model(base, LoraConfig(r=8))\n  model = PeftModel.from_pretrained(model, 'out')\n"


def test_an_indented_cell_runs_as_ipython_dedents_it() -> None:
    """IPython removes a cell's leading indentation from every line that has it (a block pasted from
    inside a function runs): no syntax error, and positions keep the user's columns."""
    result = lint_source(notebook(IMPORTS + "base = None", INDENTED, "\n    x = 1\n  # note\n    y = 2"), "nb.ipynb")
    assert result.errors == ()
    (finding,) = result.findings
    assert (finding.code, finding.start.cell, finding.start.line, finding.start.column) == ("PEFT001", 2, 2, 11)
    assert [(r.start.cell, r.start.line, r.start.column) for r in finding.related] == [(2, 1, 11)]
    source = notebook_source(notebook(INDENTED, "x = 1\n  y = 2"))
    assert source.text.splitlines()[:2] == [line[2:] for line in INDENTED.splitlines()]
    assert source.problems == ("cell 2: syntax error at line 2: unexpected indent",), "only a first line's indent"


def test_a_fix_in_an_indented_cell_keeps_its_indentation(tmp_path: Path) -> None:
    merged = (
        "    merged = get_peft_model(base, LoraConfig(r=8))\n"
        "    merged.merge_and_unload()\n"
        "    merged.save_pretrained('out')"
    )
    path = tmp_path / "nb.ipynb"
    path.write_bytes(notebook(IMPORTS + "base = None", merged))
    process = subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "--fix", "--no-cache", "nb.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    cells = [cell["source"] for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]]
    assert "    merged = merged.merge_and_unload()\n" in cells[1], process.stdout + process.stderr
    assert cells[1].startswith("    merged = get_peft_model") and cells[1].endswith("    merged.save_pretrained('out')")
