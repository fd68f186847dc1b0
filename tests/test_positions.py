"""Positions and source text of CPython AST nodes (analysis/segments.py) on real and awkward
sources: every node's text is what ``ast.get_source_segment`` gives, and every call's span (in
characters, 1-based) is the one libcst's PositionProvider computes independently."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from peftlint.analysis.segments import Segments

ROOT = Path(__file__).resolve().parent.parent
AWKWARD = {
    "header-comments": "#!/usr/bin/env python\n# coding: utf-8\n\n\nimport os\n\n# lead\nx = f(1)\n",
    "decorators": "import functools\n\n\n@functools.cache\n@other(\n    1,\n)\ndef g(a):\n    return h(a)\n",
    "semicolons": "a = f(1); b = g(2)\nc = h(3)\n",
    "crlf": "import os\r\n\r\nx = f(\r\n    1,\r\n)\r\ny = g(2)\r\n",
    "no-trailing-newline": "x = 1\ny = f(2)",
    "footer-comments": "x = f(1)\n\n# trailing comment\n",
    "tabs": "if x:\n\ty = f(1)\n\tif y:\n\t\tz = g(2)\n",
    "multiline-strings": 'doc = """\na\nb\n"""\nx = f("""\n""")\n',
    "decorated-class-with-comments": "\n\n# lead\n@dec\n# between\n\n@dec2(f(1))\nclass C:\n    x = g(2)\n",
    "three-per-line": "a = f(1); b = g(2); c = h(3)\n# end\n",
    "continuation": "x = 1 + \\\n    f(2)\ny = g(3)\n",
    "methods": (
        "class A(B):  # note\n    'doc'\n\n    # lead\n    @staticmethod\n    def f(x):\n"
        "        return g(x)\n    a = 1; b = 2\n    def h(self):\n        s = '''\nx'''.strip()\n"
        "        return s\n\n\nclass C: pass\n"
    ),
    "tab-indented-methods": "class A:\n\tdef f(self):\n\t\treturn g(1)\n",
    "non-ascii": "s = 'é' + f('ü', x)  # ñ\nt = '日本'; u = g('語', h(1))\nπ = k(π)\n",
    "astral": "s = '😀😀'; t = f('😀', g(1))\n",
    "cr-only": "x = f(1)\ry = g(\r    2)\rz = h(3)\r",
    "form-feed": "x = f(1)\n\x0c\ny = g(2)\n",
    "multiline-call-non-ascii": "x = f(\n    'é',\n    g('ü'),\n)\n",
}


def _sources() -> list[tuple[str, str]]:
    files = sorted(ROOT.glob("fixtures/**/*.py")) + sorted(ROOT.glob("examples/*.py"))
    files += [ROOT / "peftlint/analysis/flow.py", ROOT / "peftlint/rules/base.py"]
    return [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files] + sorted(AWKWARD.items())


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[name for name, _ in _sources()])
def test_node_text_is_the_source_segment(name: str, text: str) -> None:
    segments = Segments(text)
    for node in ast.walk(ast.parse(text)):
        if getattr(node, "end_col_offset", None) is None:
            continue
        assert segments.code(node) == ast.get_source_segment(text, node), (name, ast.dump(node)[:80])


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[name for name, _ in _sources()])
def test_call_spans_match_libcst(name: str, text: str) -> None:
    """libcst counts columns in characters and includes a node's own parentheses; calls written
    without parentheses around them must get the same span from both."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    wrapper = MetadataWrapper(cst.parse_module(text), unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    expected = sorted(
        ((r.start.line, r.start.column + 1), (r.end.line, r.end.column + 1))
        for node, r in positions.items()
        if isinstance(node, cst.Call) and not node.lpar
    )
    segments = Segments(text)
    spans = sorted(
        ((start.line, start.column), (end.line, end.column))
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call)
        for start, end in [segments.span(node)]
    )
    parenthesised = sum(1 for node in positions if isinstance(node, cst.Call) and node.lpar)
    if parenthesised:
        assert set(expected) <= set(spans), name
    else:
        assert spans == expected, name
