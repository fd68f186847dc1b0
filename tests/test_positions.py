"""Positions computed per unit (a module-level statement, or a method of a module-level class:
the cheap path) agree with libcst's PositionProvider over the whole file, for every node, on
real and awkward sources."""

from __future__ import annotations

import ast
from pathlib import Path

import libcst as cst
import pytest

from peftlint.rules.base import RuleContext

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
}


def _sources() -> list[tuple[str, str]]:
    files = sorted(ROOT.glob("fixtures/**/*.py")) + sorted(ROOT.glob("examples/*.py"))
    files += [ROOT / "peftlint/analysis/flow.py", ROOT / "peftlint/rules/base.py"]
    return [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files] + sorted(AWKWARD.items())


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[name for name, _ in _sources()])
def test_unit_positions_match_whole_file_positions(name: str, text: str) -> None:
    module = cst.parse_module(text)
    context = RuleContext(name, module, ast.parse(text))
    assert [v[0] for v in context._tops().values()] == [v[0] for v in context._offsets_from_codegen().values()]
    for unit in [*module.body, *context._methods()]:
        stack: list[cst.CSTNode] = [unit]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            assert context.span(node, unit) == context._whole_file_span(node), (name, module.code_for_node(node)[:60])
        assert context._locate(unit) is not None, name
