"""Notebooks as one Python flow: cells, IPython syntax neutralised, positions, errors, writing back."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from peftlint.ipython import MAGIC_MARK, PLACEHOLDER
from peftlint.notebooks import (
    UNKNOWN_CODE_LINE,
    UNPARSED_MARK,
    NotebookSource,
    apply_text_to_notebook,
    notebook_source,
)
from peftlint.sources import SourceError

PY_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python", "version": "3.11.7"},
}


def code(source: str | list[str], count: int | None = None, outputs: list[Any] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "id": f"c{count}",
        "metadata": {"tags": ["t"]},
        "outputs": outputs or [],
        "source": source,
    }


def markdown(source: str | list[str]) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def lines(text: str) -> list[str]:
    """Jupyter's list form: each line with its newline, the last one without."""
    return text.splitlines(keepends=True)


def notebook(*cells: dict[str, Any], metadata: dict[str, Any] | None = None, indent: int | None = 1) -> bytes:
    """Serialised as nbformat does (indent 1, sorted keys, UTF-8, trailing newline)."""
    document = {
        "cells": list(cells),
        "metadata": PY_METADATA if metadata is None else metadata,
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return (json.dumps(document, indent=indent, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def flow(*sources: str) -> list[str]:
    """The analysed lines of a notebook made of these code cells."""
    source = notebook_source(notebook(*(code(lines(text)) for text in sources)))
    compile(source.text, "<notebook>", "exec", dont_inherit=True)
    return source.text.splitlines()


# --- cells into one flow -----------------------------------------------------------------------------


def test_code_cells_in_order_form_one_flow_and_markdown_is_skipped() -> None:
    data = notebook(
        markdown(["# Title\n", "prose with `code`"]),
        code(["import torch\n", "x = 1"], 1),
        {"cell_type": "raw", "metadata": {}, "source": "raw text !ls"},
        code("y = 2\nz = 3\n", 2),
        markdown("more"),
        code([], 3),
        code(["w = 4\n", "\n"], 4),
    )
    source = notebook_source(data)
    assert source.text == "import torch\nx = 1\ny = 2\nz = 3\nw = 4\n\n"
    assert source.lines == ((2, 1), (2, 2), (4, 1), (4, 2), (7, 1), (7, 2))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param(["a = 1\n", "b = 2"], ["a = 1", "b = 2"], id="list"),
        pytest.param("a = 1\nb = 2", ["a = 1", "b = 2"], id="string"),
        pytest.param("a = 1\nb = 2\n", ["a = 1", "b = 2"], id="string-trailing-newline"),
        pytest.param(["a = (1,\n", "     2)\n"], ["a = (1,", "     2)"], id="list-trailing-newline"),
        pytest.param(["a = 1\nb", " = 2\n"], ["a = 1", "b = 2"], id="list-items-not-split-by-line"),
        pytest.param("a = 1\r\nb = 2\r\n", ["a = 1", "b = 2"], id="crlf"),
        pytest.param("a = 1\rb = 2", ["a = 1", "b = 2"], id="lone-cr"),
        pytest.param("", [], id="empty-string"),
        pytest.param([], [], id="empty-list"),
        pytest.param("\n\n", ["", ""], id="blank-lines"),
    ],
)
def test_cell_source_forms(source: str | list[str], expected: list[str]) -> None:
    data = notebook(code(source), code("end = 0"))
    result = notebook_source(data)
    assert result.text.splitlines() == [*expected, "end = 0"]
    assert result.lines == (*((1, row) for row in range(1, len(expected) + 1)), (2, 1))


# --- IPython syntax ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("%pip install peft", [PLACEHOLDER], id="line-magic"),
        pytest.param("%matplotlib inline", [PLACEHOLDER], id="line-magic-2"),
        pytest.param("!pip install -q peft", [PLACEHOLDER], id="shell"),
        pytest.param("!!ls", [PLACEHOLDER], id="shell-double"),
        pytest.param("files = !ls *.bin", ["files = None  " + MAGIC_MARK], id="assign-shell"),
        pytest.param("a, b = !ls", ["a, b = None  " + MAGIC_MARK], id="assign-shell-tuple"),
        pytest.param("names = %who_ls", ["names = None  " + MAGIC_MARK], id="assign-magic"),
        pytest.param("x = %time f(1)", ["x =       f(1)"], id="assign-time-keeps-expression"),
        pytest.param("x = %timeit f(1)", ["x = None  " + MAGIC_MARK], id="assign-timeit-is-none"),
        pytest.param("%time y = f(1)", ["if 1: y = f(1)"], id="time-keeps-statement"),
        pytest.param("%timeit f(1)", ["if 1:   f(1)"], id="timeit-keeps-statement"),
        pytest.param("%time  y = 1", ["if 1:  y = 1"], id="time-extra-space"),
        pytest.param("%timeit -n1 -r1 f()", [PLACEHOLDER], id="timeit-options"),
        pytest.param("%time for i in x: f(i)", [PLACEHOLDER], id="time-compound-statement"),
        pytest.param("%time", [PLACEHOLDER], id="time-no-argument"),
        pytest.param("%time f(1,\n      2)\ng = 1", ["if 1: f(1,", "      2)", "g = 1"], id="time-multi-line"),
        pytest.param("torch.save?", [PLACEHOLDER], id="help-end"),
        pytest.param("torch.save??", [PLACEHOLDER], id="help-end-double"),
        pytest.param("?torch.save", [PLACEHOLDER], id="help-start"),
        pytest.param("??torch", [PLACEHOLDER], id="help-start-double"),
        pytest.param("%timeit?", [PLACEHOLDER], id="help-on-magic"),
        pytest.param("/print 1 2", [PLACEHOLDER], id="autocall-paren"),
        pytest.param(",print a b", [PLACEHOLDER], id="autocall-quote"),
        pytest.param(";print a b", [PLACEHOLDER], id="autocall-quote-whole"),
        pytest.param(
            "%pip install \\\n    peft \\\n    torch\nx = 1",
            [PLACEHOLDER, MAGIC_MARK, MAGIC_MARK, "x = 1"],
            id="backslash-continued-magic",
        ),
        pytest.param(
            "if True:\n    %pip install x\n    !ls\nelse:\n    %time f()\n",
            ["if True:", "    " + PLACEHOLDER, "    " + PLACEHOLDER, "else:", "    if 1: f()"],
            id="magic-in-indented-block",
        ),
        pytest.param(
            "for i in range(2):\n    %timeit -n1 f(i)\n",
            ["for i in range(2):", "    " + PLACEHOLDER],
            id="only-statement-of-a-block-stays-valid",
        ),
        pytest.param("def f():\n    x = !ls\n", ["def f():", "    x = None  " + MAGIC_MARK], id="assign-in-block"),
        pytest.param(
            's = """\n!not shell\n%not magic\n"""', ['s = """', "!not shell", "%not magic", '"""'], id="string"
        ),
        pytest.param("s = '''x\n?q'''", ["s = '''x", "?q'''"], id="string-help"),
        pytest.param("y = (10\n% 3)", ["y = (10", "% 3)"], id="modulo-in-brackets"),
        pytest.param("y = 10 \\\n% 3", ["y = 10 \\", "% 3"], id="modulo-after-backslash"),
        pytest.param("x = 1  # %pip in a comment", ["x = 1  # %pip in a comment"], id="comment"),
        pytest.param("# !ls", ["# !ls"], id="comment-line"),
        pytest.param("x = 'what?'", ["x = 'what?'"], id="question-in-string"),
        pytest.param("x != y", ["x != y"], id="not-equal"),
        pytest.param(
            'get_ipython().run_line_magic("pip", "install x")',
            ['get_ipython().run_line_magic("pip", "install x")'],
            id="get-ipython-left-alone",
        ),
    ],
)
def test_ipython_syntax_is_neutralised(cell: str, expected: list[str]) -> None:
    assert flow(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        pytest.param("%%time\nx = f()\ny = 2", [MAGIC_MARK, "x = f()", "y = 2"], id="time-body-is-python"),
        pytest.param("%%timeit -n 10\nf()", [MAGIC_MARK, "f()"], id="timeit-body-is-python"),
        pytest.param("%%capture out\n!ls\nx = 1", [MAGIC_MARK, PLACEHOLDER, "x = 1"], id="capture-body-magics"),
        pytest.param("%%prun\nf()", [MAGIC_MARK, "f()"], id="prun"),
        pytest.param("%%bash\necho hi\n  indented", [MAGIC_MARK] * 3, id="bash-blanked"),
        pytest.param("%%writefile train.py\nimport os\n    bad indent", [MAGIC_MARK] * 3, id="writefile-blanked"),
        pytest.param("\n%%html\n<b>x</b>", ["", MAGIC_MARK, MAGIC_MARK], id="after-leading-blank-line"),
        pytest.param("x = 1\n%%time\ny = 2", ["x = 1", PLACEHOLDER, "y = 2"], id="not-first-line-is-line-magic"),
        pytest.param(
            "%%time\nfor i in x:\n    %time f(i)\n",
            [MAGIC_MARK, "for i in x:", "    if 1: f(i)"],
            id="time-body-with-block",
        ),
    ],
)
def test_cell_magics(cell: str, expected: list[str]) -> None:
    assert flow(cell) == expected


def test_cells_are_scanned_separately() -> None:
    # An unterminated bracket in one cell (an error in Jupyter too) does not hide the next cell's magic;
    # the broken cell itself is unknown code (tests/test_notebook_cells.py).
    source = notebook_source(notebook(code("x = (1,"), code("%pip install x")))
    assert source.text.splitlines() == [UNKNOWN_CODE_LINE, PLACEHOLDER]
    assert source.problems == ("cell 1: syntax error at line 1: '(' was never closed",)


def test_neutralised_notebook_compiles_and_keeps_cell_line_counts() -> None:
    cells = [
        "%pip install -q peft\nimport torch\n!nvidia-smi",
        "%%bash\nls -l\n",
        "for step in range(2):\n    %time model = torch.load(p)\n    out = !echo {step}\n    torch.save?",
        "%%capture\nx = %time torch.load(p)\n",
    ]
    data = notebook(*(code(lines(cell), number) for number, cell in enumerate(cells, start=1)))
    source = notebook_source(data)
    compile(source.text, "<notebook>", "exec", dont_inherit=True)
    counts = [sum(1 for cell, _ in source.lines if cell == number) for number in range(1, 5)]
    assert counts == [len(cell.splitlines()) for cell in cells]


# --- positions ---------------------------------------------------------------------------------------


def test_line_to_cell_mapping_is_exact() -> None:
    data = notebook(
        markdown("# intro"),
        code(["import torch\n", "\n", "model = torch.load(p)"], 1),
        markdown(["## next\n", "text"]),
        markdown("again"),
        code("%pip install x\n    \nbad = 1", 2),
    )
    source = notebook_source(data)
    assert source.lines == ((2, 1), (2, 2), (2, 3), (5, 1), (5, 2), (5, 3))
    expected = {1: (2, 1), 3: (2, 3), 4: (5, 1), 6: (5, 3)}
    for line, (cell, row) in expected.items():
        assert source.to_cell(line, 9) == (cell, row, 9)
    text_lines = source.text.splitlines()
    assert text_lines[2].index("torch.load") == "model = torch.load(p)".index("torch.load")


def test_to_cell_past_the_end_and_invalid_lines() -> None:
    source = NotebookSource("a\nb\n", ((2, 1), (2, 2)))
    assert source.to_cell(3, 1) == (2, 3, 1)
    assert NotebookSource("", ()).to_cell(1, 1) == (1, 1, 1)
    with pytest.raises(ValueError, match="1-based"):
        source.to_cell(0, 1)


def test_column_of_a_kept_time_statement_is_unchanged() -> None:
    source = notebook_source(notebook(code("x = %time torch.load(p)\n%time y = torch.load(p)")))
    first, second = source.text.splitlines()
    assert first.index("torch") == "x = %time torch.load(p)".index("torch")
    assert second.index("torch") == "%time y = torch.load(p)".index("torch")


# --- formats and errors ------------------------------------------------------------------------------


def test_nbformat_3_worksheets() -> None:
    document = {
        "metadata": {"name": "old"},
        "nbformat": 3,
        "nbformat_minor": 0,
        "worksheets": [
            {
                "cells": [
                    {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Title"]},
                    {"cell_type": "code", "collapsed": False, "input": ["!ls\n", "a = 1"], "language": "python"},
                    {"cell_type": "markdown", "metadata": {}, "source": ["x"]},
                ]
            },
            {"cells": [{"cell_type": "code", "input": "b = 2", "language": "python", "outputs": []}]},
        ],
    }
    data = json.dumps(document, indent=1).encode()
    source = notebook_source(data)
    assert source.text == f"{PLACEHOLDER}\na = 1\nb = 2\n"
    assert source.lines == ((2, 1), (2, 2), (4, 1))
    fixed = apply_text_to_notebook(data, source.text.replace("b = 2", "b = 3"), source)
    assert json.loads(fixed)["worksheets"][1]["cells"][0]["input"] == "b = 3"
    assert json.loads(fixed)["worksheets"][0] == document["worksheets"][0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"{not json", "notebook is not valid JSON: Expecting property name", id="invalid-json"),
        pytest.param(b"", "notebook is not valid JSON: Expecting value at line 1 column 1", id="empty-file"),
        pytest.param(b'{"cells": [\xff]}', "notebook is not valid JSON: cannot decode as utf-8", id="bad-bytes"),
        pytest.param(b"[1, 2]", "not a notebook: the JSON top level is an array, not an object", id="array"),
        pytest.param(b'{"metadata": {}, "nbformat": 4}', "notebook has no cells", id="no-cells"),
        pytest.param(b'{"cells": {"a": 1}}', "not a notebook: 'cells' is not a list", id="cells-not-list"),
        pytest.param(
            notebook(code("x"), metadata={"kernelspec": {"language": "R", "name": "ir"}}),
            "not a Python notebook (kernel language: r)",
            id="r-kernelspec",
        ),
        pytest.param(
            notebook(code("x"), metadata={"language_info": {"name": "julia"}}),
            "not a Python notebook (kernel language: julia)",
            id="julia-language-info",
        ),
        pytest.param(
            notebook(code("x"), metadata={"kernelspec": {"language": "python"}, "language_info": {"name": "scala"}}),
            "not a Python notebook (kernel language: scala)",
            id="disagreeing-metadata",
        ),
        pytest.param(notebook(markdown("m"), code(42)), "cell 2: source is neither a string nor a list", id="int"),
        pytest.param(notebook(code(["a\n", 3])), "cell 1: source is neither a string nor a list", id="list-of-int"),
        pytest.param(notebook(code(None)), "cell 1: source is neither a string nor a list", id="null-source"),
        pytest.param(notebook(code("a"), "not a cell"), "cell 2: not a JSON object", id="cell-not-object"),  # type: ignore[arg-type]
    ],
)
def test_errors_are_one_line_reasons(data: bytes, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        notebook_source(data)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"kernelspec": {"language": "python", "name": "python3"}},
        {"language_info": {"name": "python"}},
        {"kernelspec": {"name": "python3"}},
        {"kernelspec": {"language": "Python 3"}},
        {"language_info": "not an object"},
    ],
)
def test_python_or_unknown_kernels_are_accepted(metadata: dict[str, Any]) -> None:
    assert notebook_source(notebook(code("x = 1"), metadata=metadata)).text == "x = 1\n"


def test_empty_notebook_is_empty_source_and_bom_is_accepted() -> None:
    assert notebook_source(notebook()) == NotebookSource("", ())
    assert notebook_source(b"\xef\xbb\xbf" + notebook(code("x = 1"))).text == "x = 1\n"


def test_markdown_cell_with_odd_source_is_not_an_error() -> None:
    assert notebook_source(notebook(markdown(7), code("x = 1"))).text == "x = 1\n"  # type: ignore[arg-type]


# --- writing back ------------------------------------------------------------------------------------

OUTPUTS = [
    {"name": "stdout", "output_type": "stream", "text": ["loaded\n"]},
    {"data": {"text/plain": ["42"]}, "execution_count": 3, "metadata": {}, "output_type": "execute_result"},
]


def sample(indent: int | None = 1) -> bytes:
    return notebook(
        markdown(["# Fine-tune\n", "Résumé ✓"]),
        code(["%pip install -q peft\n", "import torch\n", "from peft import PeftModel"], 1, OUTPUTS),
        code("%%bash\nls -l\n", 2),
        code(
            ["for p in paths:\n", "    model = torch.load(p)\n", "    !echo {p}\n", "torch.save(model, out)"],
            3,
            OUTPUTS,
        ),
        code("x = %time torch.load(p)\n%time torch.save(model, out)", 4),
        indent=indent,
    )


def test_unchanged_text_gives_identical_bytes() -> None:
    for data in (sample(), sample(2), sample(None)):
        source = notebook_source(data)
        assert apply_text_to_notebook(data, source.text, source) is data


def changed_lines(before: bytes, after: bytes) -> list[tuple[str, str]]:
    old, new = before.decode().splitlines(), after.decode().splitlines()
    assert len(old) == len(new)
    return [(a, b) for a, b in zip(old, new, strict=True) if a != b]


@pytest.mark.parametrize("indent", [1, 2])
def test_edit_lands_in_its_cell_and_nothing_else_changes(indent: int) -> None:
    data = sample(indent)
    source = notebook_source(data)
    new_text = source.text.replace("torch.save(model, out)\n", "torch.save(model.state_dict(), out)\n", 1)
    fixed = apply_text_to_notebook(data, new_text, source)
    assert changed_lines(data, fixed) == [
        (line, line.replace("torch.save(model, out)", "torch.save(model.state_dict(), out)"))
        for line in data.decode().splitlines()
        if '"torch.save(model, out)"' in line
    ]
    before, after = json.loads(data), json.loads(fixed)
    assert after["cells"][3]["source"][-1] == "torch.save(model.state_dict(), out)"
    assert after["cells"][3]["source"][2] == "    !echo {p}\n"  # the shell line comes back as written
    assert after["cells"][3]["outputs"] == before["cells"][3]["outputs"]
    assert after["metadata"] == before["metadata"]
    for index in (0, 1, 2, 4):
        assert after["cells"][index] == before["cells"][index]
    assert fixed.endswith(b"}\n")
    assert notebook_source(fixed).text == new_text


def test_edits_inside_kept_time_statements_restore_the_magic() -> None:
    data = sample()
    source = notebook_source(data)
    new_text = source.text.replace("x =       torch.load(p)\n", "x =       torch.load(p, weights_only=True)\n")
    new_text = new_text.replace("if 1: torch.save(model, out)", "if 1: torch.save(model.state_dict(), out)")
    fixed = apply_text_to_notebook(data, new_text, source)
    cells = json.loads(fixed)["cells"]
    assert cells[4]["source"] == "x = %time torch.load(p, weights_only=True)\n%time torch.save(model.state_dict(), out)"
    assert cells[3]["source"][1] == "    model = torch.load(p)\n"
    assert cells[3]["source"][3] == "torch.save(model, out)"
    assert cells[2]["source"] == "%%bash\nls -l\n"
    assert notebook_source(fixed).text == new_text


def test_string_source_stays_a_string_and_list_source_a_list() -> None:
    data = notebook(code("a = 1\nb = 2\n"), code(["c = 3\n", "d = 4"]))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, "a = 10\nb = 2\nc = 30\nd = 4\n", source)
    cells = json.loads(fixed)["cells"]
    assert cells[0]["source"] == "a = 10\nb = 2\n"  # trailing newline kept
    assert cells[1]["source"] == ["c = 30\n", "d = 4"]  # no trailing newline, as before


@pytest.mark.parametrize(
    ("old_cells", "new_text", "new_cells"),
    [
        pytest.param(["a = f(\n    1)", "b = 2"], "a = f(1)\nb = 2\n", ["a = f(1)", "b = 2"], id="fewer-lines"),
        pytest.param(["a = f(1)", "b = 2"], "a = f(\n    1)\nb = 2\n", ["a = f(\n    1)", "b = 2"], id="more-lines"),
        pytest.param(
            ["a = 1", "b = 2"], "a = 1\nimport os\nb = 2\n", ["a = 1", "import os\nb = 2"], id="insert-at-boundary"
        ),
        pytest.param(["a = 1", "b = 2"], "a = 1\nb = 2\nc = 3\n", ["a = 1", "b = 2\nc = 3"], id="append-at-end"),
        pytest.param(["a = 1\nx = 0", "b = 2"], "a = 1\nb = 2\n", ["a = 1", "b = 2"], id="delete-line"),
        pytest.param(["a = 1", "b = 2"], "a = 10\nb = 20\n", ["a = 10", "b = 20"], id="both-cells-same-count"),
        pytest.param(["a = 1", "", "b = 2"], "a = 1\nb = 3\n", ["a = 1", "", "b = 3"], id="empty-cell-kept"),
        pytest.param(["a = 1", "b = 2"], "a = 1\r\nb = 9\r\n", ["a = 1", "b = 9"], id="crlf-new-text"),
    ],
)
def test_line_count_changes_are_mapped_by_cell(old_cells: list[str], new_text: str, new_cells: list[str]) -> None:
    data = notebook(*(code(lines(cell), number) for number, cell in enumerate(old_cells)))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, new_text, source)
    assert ["".join(cell["source"]) for cell in json.loads(fixed)["cells"]] == new_cells
    assert notebook_source(fixed).text == new_text.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("old_cells", "edit", "message"),
    [
        pytest.param(["a = 1", "b = 2"], lambda text: "a = 1 + \\\n  0\nb = 20\n", "spans more than one", id="span"),
        pytest.param(["!ls", "b = 2"], lambda text: text.replace(PLACEHOLDER, "pass"), "IPython", id="edit-magic"),
        pytest.param(["!ls", "b = 2"], lambda text: text.replace(PLACEHOLDER + "\n", ""), "IPython", id="delete-magic"),
        pytest.param(
            ["%time f(x)"], lambda text: text.replace("if 1: f(x)", "f(x)"), "IPython part", id="edit-time-prefix"
        ),
        pytest.param(
            ["!ls\nb = 2"],
            lambda text: text.replace(PLACEHOLDER + "\nb = 2", "c = 1\nd = 2\ne = 3"),
            "IPython",
            id="grow",
        ),
    ],
)
def test_edits_that_cannot_be_written_back_raise(old_cells: list[str], edit: Any, message: str) -> None:
    data = notebook(*(code(lines(cell)) for cell in old_cells))
    source = notebook_source(data)
    with pytest.raises(ValueError, match=message):
        apply_text_to_notebook(data, edit(source.text), source)


def test_stale_source_raises() -> None:
    source = notebook_source(notebook(code("a = 1")))
    with pytest.raises(ValueError, match="no longer matches"):
        apply_text_to_notebook(notebook(code("a = 2")), "a = 3\n", source)
    with pytest.raises(ValueError, match="cannot read the notebook back"):
        apply_text_to_notebook(b"{", "a = 3\n", source)


def test_layout_is_kept_compact_ascii_crlf_and_no_trailing_newline() -> None:
    cells = [code(["x = 'é'\n", "y = 1"]), code("z = 1")]
    compact = json.dumps({"cells": cells, "metadata": {}}, separators=(",", ":"), ensure_ascii=False)
    ascii_two = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}, indent=2, ensure_ascii=True)
    crlf = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}, indent=1).replace("\n", "\r\n") + "\r\n"
    for text in (compact, ascii_two, crlf):
        data = text.encode()
        source = notebook_source(data)
        new_text = source.text.replace("y = 1", "y = 2").replace("z = 1", "z = 2")
        fixed = apply_text_to_notebook(data, new_text, source)
        assert fixed.decode() == text.replace("y = 1", "y = 2").replace("z = 1", "z = 2")


def test_empty_list_source_gains_lines_in_the_document_layout() -> None:
    data = notebook(code([]), code("b = 1"))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, "import os\nb = 1\n", source)  # inserted before b: goes to cell 2
    assert json.loads(fixed)["cells"][1]["source"] == "import os\nb = 1"
    data = notebook(code(["a = 1"]), code([]))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, "a = 1\nb = 2\n", source)  # appended: goes to the last code line's cell
    assert json.loads(fixed)["cells"][0]["source"] == ["a = 1\n", "b = 2"]
    data = notebook(code([]), markdown("m"))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, "a = 1\nb = 2\n", source)  # no code line at all: the first code cell
    assert b'   "source": [\n    "a = 1\\n",\n    "b = 2"\n   ]' in fixed
    assert json.loads(fixed)["cells"][1] == json.loads(data)["cells"][1]


def test_duplicate_keys_write_to_the_value_json_reads() -> None:
    text = '{"cells": [{"cell_type": "code", "source": "old = 0", "source": "a = 1", "outputs": []}], "metadata": {}}'
    source = notebook_source(text.encode())
    assert source.text == "a = 1\n"
    fixed = apply_text_to_notebook(text.encode(), "a = 2\n", source)
    assert fixed.decode() == text.replace('"a = 1"', '"a = 2"')


# --- properties --------------------------------------------------------------------------------------

UNITS = [
    "x = 1",
    "",
    "# comment",
    "%pip install -q peft",
    "!ls -l",
    "out = !ls",
    "%time y = 1",
    "z = %time f(1)",
    "%timeit -n1 f()",
    "torch.load?",
    "%%time",
    "if x:\n    %ls\n    x = 1",
    's = """\n!x\n%y\n"""',
    "%pip install \\\n  peft",
    "f(1,\n  2)",
]
FIRST_LINES = ["", "%%time", "%%capture out", "%%bash", "%%writefile a.py"]


@st.composite
def cells(draw: st.DrawFn) -> list[str]:
    result = []
    for _ in range(draw(st.integers(0, 5))):
        units = draw(st.lists(st.sampled_from(UNITS), max_size=6))
        first = draw(st.sampled_from(FIRST_LINES))
        result.append("\n".join(([first] if first else []) + units) + draw(st.sampled_from(["", "\n"])))
    return result


@settings(max_examples=150, deadline=None)
@given(cells(), st.booleans())
def test_any_mix_of_cells_compiles_keeps_line_counts_and_writes_back(sources: list[str], as_list: bool) -> None:
    data = notebook(*(code(lines(text) if as_list else text, number) for number, text in enumerate(sources)))
    source = notebook_source(data)
    compile(source.text, "<notebook>", "exec", dont_inherit=True)
    for number, text in enumerate(sources, start=1):
        assert sum(1 for cell, _ in source.lines if cell == number) == len(text.splitlines())
    assert apply_text_to_notebook(data, source.text, source) is data
    new_text = source.text.replace("x = 1\n", "x = 22\n").replace("if 1: y = 1", "if 1: y = 2")
    fixed = apply_text_to_notebook(data, new_text, source)
    assert notebook_source(fixed).text == new_text
    expected = [
        text
        if text.startswith(("%%bash", "%%writefile"))
        else text.replace("x = 1", "x = 22").replace("y = 1", "y = 2")
        for text in sources
    ]
    assert ["".join(cell["source"]) for cell in json.loads(fixed)["cells"]] == expected


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_give_a_source_or_a_source_error(data: bytes) -> None:
    try:
        notebook_source(data)
    except SourceError as error:
        assert "\n" not in str(error)


def test_insertion_before_a_cell_magic_goes_to_the_previous_cell() -> None:
    data = notebook(code("a = 1"), code("%%time\nb = 2"))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, source.text.replace("a = 1\n", "a = 1\nimport os\n"), source)
    assert ["".join(cell["source"]) for cell in json.loads(fixed)["cells"]] == ["a = 1\nimport os", "%%time\nb = 2"]
    data = notebook(code("%%time\nb = 2"))
    source = notebook_source(data)
    with pytest.raises(ValueError, match="before the cell magic of cell 1"):
        apply_text_to_notebook(data, "import os\n" + source.text, source)


def test_repeated_lines_do_not_move_edits_between_cells() -> None:
    # difflib would align the repeated neutralised lines across cells and delete a shell line.
    sources = ['x\n!ls\n"""doc"""', 'xx\n!ls\n"""doc"""', 'xx\n!ls\n"""doc"""']
    data = notebook(*(code(text) for text in sources))
    source = notebook_source(data)
    text_lines = source.text.splitlines()
    text_lines.insert(4, "zzz = 1")
    fixed = apply_text_to_notebook(data, "\n".join(text_lines) + "\n", source)
    assert [cell["source"] for cell in json.loads(fixed)["cells"]] == [
        sources[0],
        'xx\nzzz = 1\n!ls\n"""doc"""',
        sources[2],
    ]


def test_a_cell_ending_in_an_empty_line_keeps_it() -> None:
    data = notebook(code("x = 1\n\ny = 2"), code("z = 3"))
    source = notebook_source(data)
    fixed = apply_text_to_notebook(data, source.text.replace("y = 2\n", ""), source)
    assert json.loads(fixed)["cells"][0]["source"] == "x = 1\n\n"
    assert notebook_source(fixed).text == "x = 1\n\nz = 3\n"


def test_an_edit_that_changes_how_later_lines_read_is_refused() -> None:
    data = notebook(code('x = """\n!ls\n"""'))  # "!ls" is inside a string: Python, not a shell line
    source = notebook_source(data)
    with pytest.raises(ValueError, match="would not read back"):
        apply_text_to_notebook(data, source.text.replace('x = """\n', ""), source)


def test_an_edit_inside_a_cell_that_does_not_parse_is_refused() -> None:
    data = notebook(code("x = (1,\ny = 2"), code("z = 3"))
    source = notebook_source(data)
    with pytest.raises(ValueError):
        apply_text_to_notebook(data, source.text.replace(UNPARSED_MARK, "y = 3"), source)
    fixed = apply_text_to_notebook(data, source.text.replace("z = 3", "z = 4"), source)
    assert [cell["source"] for cell in json.loads(fixed)["cells"]] == ["x = (1,\ny = 2", "z = 4"]


def test_notebook_source_survives_pickling() -> None:
    import pickle

    source = notebook_source(notebook(markdown("m"), code("!ls\nx = 1")))
    assert pickle.loads(pickle.dumps(source)) == source
