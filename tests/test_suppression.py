"""noqa comments with ruff's semantics, file-level ``# peftlint: noqa``, statements, unused directives.

A finding's line-level directives are the comments of the statement around it in libcst's tree
(rules/base.py ``statement_noqa``); ``suppressed`` below finds that statement the way the
interpreter walks to it (the innermost statement holding the line) and asks the same function.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings

import hypothesmith
import libcst as cst
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from peftlint import lint_source
from peftlint.analysis.units import Source
from peftlint.notebooks import notebook_source
from peftlint.rules.base import statement_noqa
from peftlint.suppression import ALL, Suppressions, parse_suppressions

CALL = "model = PeftModel.from_pretrained(model, path)"


def _statement_at(parsed: object, line: int) -> cst.CSTNode | None:
    """The innermost statement whose lines hold ``line`` (a compound statement's body first)."""
    found = None
    stack: list[cst.CSTNode] = list(parsed.statements())  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if isinstance(
            node, (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.Decorator, cst.ExceptHandler, cst.MatchCase)
        ):
            start, end = parsed.range(node)  # type: ignore[attr-defined]
            if start.line - len(getattr(node, "leading_lines", ())) <= line <= end.line:
                if start.line <= line:
                    found = node
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement, cst.BaseSuite)) or isinstance(
            node, (cst.Else, cst.ExceptHandler, cst.Finally, cst.MatchCase)
        ):
            stack.extend(node.children)
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            stack.extend(node.decorators)
    return found


def suppressed(text: str, code: str, line: int) -> bool:
    """Whether a finding ``code`` on ``line`` is suppressed, by its statement or the whole file."""
    code = code.upper()
    if any(code in codes or ALL in codes for _, codes in parse_suppressions(text).file_directives):
        return True
    try:
        parsed = Source("<test>", text, None).whole()
    except Exception:  # noqa: BLE001 - a text libcst refuses has no findings to suppress
        return False
    statement = _statement_at(parsed, line)
    return any(code in codes or ALL in codes for _, codes in statement_noqa(parsed, statement))


# --- line level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "peft001", "peft002"),
    [
        pytest.param("# noqa", True, True, id="bare"),
        pytest.param("#noqa", True, True, id="bare-no-space"),
        pytest.param("# NOQA", True, True, id="bare-upper"),
        pytest.param("# NoQa", True, True, id="bare-mixed-case"),
        pytest.param("# noqa: PEFT001", True, False, id="one-code"),
        pytest.param("# noqa:PEFT001", True, False, id="one-code-no-space"),
        pytest.param("# noqa : PEFT001", True, False, id="space-before-colon"),
        pytest.param("# NOQA: peft001", True, False, id="lower-code-upper-noqa"),
        pytest.param("# noqa: PEFT001, PEFT002", True, True, id="comma-space"),
        pytest.param("# noqa: PEFT001,PEFT002", True, True, id="comma"),
        pytest.param("# noqa:PEFT001 PEFT002", True, True, id="space"),
        pytest.param("# noqa: PEFT002,  E501", False, True, id="with-foreign-code"),
        pytest.param("# noqa: PEFT001, ", True, False, id="trailing-comma"),
        pytest.param("# noqa: PEFT001 the base model is reloaded", True, False, id="explanation-after-codes"),
        pytest.param("# type: ignore # noqa: PEFT001", True, False, id="after-type-ignore"),
        pytest.param("# noqa: PEFT002 # type: ignore[arg-type]", False, True, id="before-type-ignore"),
        pytest.param("# pragma: no cover  # noqa", True, True, id="bare-after-other-comment"),
        pytest.param("# noqa PEFT002", True, True, id="no-colon-is-blanket-like-ruff"),
        pytest.param("# noqa:", False, False, id="colon-without-codes-is-ignored"),
        pytest.param("# noqa: because", False, False, id="colon-without-valid-codes"),
        pytest.param("# noqa123", False, False, id="not-a-directive"),
        pytest.param("# noqa-ish", False, False, id="not-a-directive-2"),
        pytest.param("# see noqa docs", False, False, id="noqa-not-after-hash"),
        pytest.param("# PEFT001", False, False, id="code-alone"),
        pytest.param("# peftlint: noqa", False, False, id="file-level-after-code-is-not-line-level"),
    ],
)
def test_line_level_comment_forms(comment: str, peft001: bool, peft002: bool) -> None:
    text = f"x = 1\n{CALL}  {comment}\ny = 2\n"
    assert suppressed(text, "PEFT001", 2) is peft001
    assert suppressed(text, "PEFT002", 2) is peft002
    assert not suppressed(text, "PEFT001", 1)
    assert not suppressed(text, "PEFT001", 3)


def test_codes_are_matched_case_insensitively() -> None:
    assert suppressed(f"{CALL}  # noqa: PEFT001\n", "peft001", 1)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('x = "# noqa"\n', id="string"),
        pytest.param("x = '# noqa: PEFT001'\n", id="single-quoted"),
        pytest.param('x = f"{y} # noqa"\n', id="f-string"),
        pytest.param('x = """\n# noqa\n"""\n', id="triple-quoted-line"),
        pytest.param('def f():\n    """Docs.\n\n    # peftlint: noqa\n    """\n', id="docstring-file-level"),
    ],
)
def test_noqa_inside_strings_does_not_count(text: str) -> None:
    result = parse_suppressions(text)
    assert result.line_directives == () and result.file_directives == ()
    assert not any(suppressed(text, "PEFT001", line) for line in range(1, 6))


def test_real_comment_after_a_string_with_noqa_counts() -> None:
    text = 'x = "# noqa: PEFT002"  # noqa: PEFT001\n'
    assert suppressed(text, "PEFT001", 1)
    assert not suppressed(text, "PEFT002", 1)


# --- multi-line statements ---------------------------------------------------------------------------

SPREAD = """\
model = PeftModel.from_pretrained(
    get_peft_model(base, config),
    "adapter",
){closing}
after = 1
"""


@pytest.mark.parametrize("finding_line", [1, 2, 3, 4])
@pytest.mark.parametrize("noqa_line", [1, 2, 3, 4])
def test_noqa_on_any_line_of_a_multi_line_statement(noqa_line: int, finding_line: int) -> None:
    lines = SPREAD.format(closing="").splitlines()
    lines[noqa_line - 1] += "  # noqa: PEFT001"
    text = "\n".join(lines) + "\n"
    assert suppressed(text, "PEFT001", finding_line)
    assert not suppressed(text, "PEFT002", finding_line)
    assert not suppressed(text, "PEFT001", 5)


@pytest.mark.parametrize(
    ("text", "finding_line", "expected"),
    [
        pytest.param(
            "with open(\n    path,\n) as handle:  # noqa: PEFT002\n    data = torch.load(handle)\n",
            2,
            True,
            id="with-header-closing-line",
        ),
        pytest.param(
            "with open(\n    path,\n) as handle:  # noqa: PEFT002\n    data = torch.load(handle)\n",
            4,
            False,
            id="header-noqa-does-not-cover-body",
        ),
        pytest.param(
            "if check(  # noqa\n    a,\n):\n    pass\n",
            3,
            True,
            id="if-header-first-line",
        ),
        pytest.param(
            "def load(\n    path,\n):  # noqa: PEFT002\n    return torch.load(path)\n",
            2,
            True,
            id="def-header",
        ),
        pytest.param(
            "def load(\n    path,\n): return torch.load(path)  # noqa: PEFT002\n",
            1,
            True,
            id="def-header-and-body-on-one-line",
        ),
        pytest.param(
            "for x in (\n    a,\n    b,\n):\n    # noqa: PEFT002\n    f(x)\n",
            2,
            False,
            id="comment-line-between-header-and-body-is-not-header",
        ),
        pytest.param(
            "@decorate(\n    torch.load(p),\n)  # noqa: PEFT002\ndef f():\n    pass\n",
            2,
            True,
            id="decorator",
        ),
        pytest.param(
            "@decorate(\n    torch.load(p),\n)  # noqa: PEFT002\ndef f():\n    pass\n",
            4,
            False,
            id="decorator-noqa-not-for-def",
        ),
        pytest.param(
            "try:\n    pass\nexcept (\n    ValueError,\n):  # noqa: PEFT002\n    pass\n",
            3,
            True,
            id="except-header",
        ),
        pytest.param(
            "match x:\n    case Point(\n        x=0,\n    ) if check(x):  # noqa\n        pass\n",
            3,
            True,
            id="match-case-header",
        ),
        pytest.param(
            "x = 1; y = torch.load(p)  # noqa: PEFT002\n",
            1,
            True,
            id="semicolon-statements",
        ),
        pytest.param(
            'text = """\nline\n"""  # noqa: PEFT002\n',
            2,
            True,
            id="multi-line-string-statement",
        ),
        pytest.param(
            "a = f(\n    1,\n)\nb = g(\n    2,\n)  # noqa\n",
            2,
            False,
            id="next-statement-does-not-count",
        ),
    ],
)
def test_statement_ranges(text: str, finding_line: int, expected: bool) -> None:
    assert suppressed(text, "PEFT002", finding_line) is expected


def test_lone_cr_and_crlf_line_endings() -> None:
    for newline in ("\r", "\r\n"):
        text = newline.join(["x = 1", "y = f(", "  a,", ")  # noqa: PEFT001", ""])
        assert suppressed(text, "PEFT001", 2)
        assert not suppressed(text, "PEFT001", 1)


def test_regex_fallback_when_tokenize_fails() -> None:
    text = 'x = (\n    "a"  # noqa: PEFT001\ns = "unterminated\n# peftlint: noqa: PEFT002\n'
    result = parse_suppressions(text)
    assert result.line_directives == ((2, frozenset({"PEFT001"})),)
    assert result.file_level("PEFT002") == [(4, "PEFT002")]


# --- file level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "peft001", "peft002"),
    [
        pytest.param("# peftlint: noqa", True, True, id="blanket"),
        pytest.param("#peftlint:noqa", True, True, id="blanket-no-spaces"),
        pytest.param("# PEFTLINT: NOQA", True, True, id="blanket-upper"),
        pytest.param("    # peftlint: noqa", True, True, id="indented-own-line"),
        pytest.param("# peftlint: noqa: PEFT002", False, True, id="codes"),
        pytest.param("# peftlint: noqa:PEFT001,PEFT002", True, True, id="two-codes"),
        pytest.param("# peftlint: noqa: peft001 E501", True, False, id="lower-code-and-foreign"),
        pytest.param("# peftlint: noqa:", False, False, id="colon-without-codes"),
        pytest.param("# peftlint: noqa-ish", False, False, id="not-a-directive"),
        pytest.param("# peftlint: check this", False, False, id="other-peftlint-comment"),
        pytest.param("# peftlint: magic", False, False, id="notebook-placeholder"),
        pytest.param("x = 1  # peftlint: noqa", False, False, id="not-on-its-own-line"),
    ],
)
def test_file_level_forms(line: str, peft001: bool, peft002: bool) -> None:
    body = "if True:\n" + line + "\n    pass\n" if line.startswith(" ") else line + "\n"
    text = f"import torch\n{body}{CALL}\ntorch.load(p)\n"
    last = len(text.splitlines())
    assert suppressed(text, "PEFT001", last - 1) is peft001
    assert suppressed(text, "PEFT002", last) is peft002


def test_file_level_anywhere_in_the_file() -> None:
    text = f"{CALL}\nx = 1\n# peftlint: noqa: PEFT001\n"
    assert suppressed(text, "PEFT001", 1)


# --- unused ------------------------------------------------------------------------------------------

UNUSED = """\
# peftlint: noqa: PEFT002
a = f()  # noqa: PEFT001
b = g()  # noqa: PEFT001, PEFT002, E501
c = h(
    1,
)  # noqa
d = 1  # noqa
e = 2  # noqa: F401
"""


@pytest.mark.parametrize(
    ("matched", "expected"),
    [
        pytest.param(
            set(),
            [(1, "PEFT002"), (2, "PEFT001"), (3, "PEFT001"), (3, "PEFT002"), (6, ALL), (7, ALL)],
            id="nothing-matched",
        ),
        pytest.param(
            {(2, "PEFT001"), (1, "PEFT002"), (6, ALL)},
            [(3, "PEFT001"), (3, "PEFT002"), (7, ALL)],
            id="some-matched",
        ),
        pytest.param(
            {(3, "PEFT002"), (1, "PEFT002")},
            [(2, "PEFT001"), (3, "PEFT001"), (6, ALL), (7, ALL)],
            id="file-and-line-directive-both-matched",
        ),
    ],
)
def test_unused_directives(matched: set[tuple[int, str]], expected: list[tuple[int, str]]) -> None:
    assert parse_suppressions(UNUSED).unused(matched) == expected


def test_unused_options() -> None:
    result = parse_suppressions(UNUSED)
    assert (3, "E501") in result.unused(set(), prefix=None)
    assert (8, "F401") in result.unused(set(), prefix=None)
    assert all(code != ALL for _, code in result.unused(set(), blanket=False))
    blanket_file = parse_suppressions("# peftlint: noqa\nx = 1\n")
    assert blanket_file.unused(set(), blanket=False) == [(1, ALL)]
    assert blanket_file.unused({(1, ALL)}) == []


def test_a_finding_records_the_directives_of_its_statement_and_the_run_uses_them() -> None:
    source = (
        "from peft import PeftModel, get_peft_model\n"
        "model = get_peft_model(base, cfg)\n"
        "model = PeftModel.from_pretrained(  # noqa: PEFT001 resumed on purpose\n"
        "    model,\n"
        "    path,\n"
        ")\n"
        "again = PeftModel.from_pretrained(model, path)\n"
    )
    (finding,) = lint_source(source, "resume.py").findings
    assert finding.start.line == 7
    raw = lint_source(source.replace("  # noqa: PEFT001 resumed on purpose", ""), "resume.py").findings
    assert [f.start.line for f in raw] == [3, 7]
    assert raw[0].noqa == ()


# --- structure and notebooks -------------------------------------------------------------------------


def test_suppressions_are_frozen_and_hashable() -> None:
    result = parse_suppressions(f"{CALL}  # noqa: PEFT001\n")
    assert result == parse_suppressions(f"{CALL}  # noqa: PEFT001\n")
    assert hash(result) == hash(parse_suppressions(f"{CALL}  # noqa: PEFT001\n"))
    assert result.line_directives == ((1, frozenset({"PEFT001"})),)
    assert Suppressions().file_level("PEFT001") == []
    with pytest.raises(AttributeError):
        result.file_directives = ()  # type: ignore[misc]


def test_empty_and_comment_free_text() -> None:
    assert parse_suppressions("") == Suppressions()
    assert parse_suppressions("x = 1\n") == Suppressions()


def test_deeply_nested_text_does_not_crash() -> None:
    text = "x = " + "(" * 5000 + "1" + ")" * 5000 + "  # noqa\n"
    assert parse_suppressions(text).line_directives == ((1, frozenset({ALL})),)


def test_notebook_flow_lines() -> None:
    import json

    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# peftlint: noqa\n"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["!ls  # noqa\n", "x = 1"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "source": ["y = f(\n", "  2,\n", ")  # noqa: PEFT001"]},
    ]
    source = notebook_source(json.dumps({"cells": cells, "metadata": {}}).encode())
    result = parse_suppressions(source.text)
    assert result.file_directives == ()  # the markdown cell is not code
    assert not suppressed(source.text, "PEFT001", 1)  # the shell line and its comment are neutralised
    assert suppressed(source.text, "PEFT001", 3) and source.to_cell(3, 1) == (3, 1, 1)


# --- properties --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("x =(){}[]'\"#\\\n\r\t:,noqaNOQApeftlint0123 ")), max_size=120))
def test_any_text_parses_without_raising(text: str) -> None:
    result = parse_suppressions(text)
    for line in range(1, text.count("\n") + 3):
        suppressed(text, "PEFT001", line)
    result.unused({(1, "PEFT001")})


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(hypothesmith.from_grammar())
def test_a_noqa_at_the_end_of_each_line_covers_every_line_of_every_statement(program: str) -> None:
    # Put the comment where the tokenizer ends each physical line, so never inside a string.
    program = program.replace("\r\n", "\n").replace("\r", "\n")
    ends = [
        token.start
        for token in tokenize.generate_tokens(io.StringIO(program).readline)
        if token.type in (tokenize.NEWLINE, tokenize.NL)
    ]
    rows = re.findall(r"[^\n]*\n|[^\n]+", program)  # not str.splitlines: it also splits at \x0c
    for row, column in reversed(ends):
        if row <= len(rows):  # a backslash-continued line has no NEWLINE/NL token
            rows[row - 1] = rows[row - 1][:column] + "  # noqa" + rows[row - 1][column:]
    marked = "".join(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree = ast.parse(marked)
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not hasattr(node, "body"):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                assert suppressed(marked, "PEFT001", line), (marked, line)


def test_suppressions_survive_pickling_for_worker_processes() -> None:
    import pickle

    result = parse_suppressions("y = f(\n    1,\n)  # noqa: PEFT001\n# peftlint: noqa: PEFT002\n")
    copy = pickle.loads(pickle.dumps(result))
    assert copy == result
    assert copy.line_directives == ((3, frozenset({"PEFT001"})),) and copy.file_level("PEFT002") == [(4, "PEFT002")]
