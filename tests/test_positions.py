"""Positions of nodes parsed one unit at a time (analysis/units.py) on real and awkward sources:
every call's span and text, from a def or class member parsed on its own, is what libcst's
PositionProvider gives on the whole file."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from peftlint.analysis.prescreen import CLASS, parse_python, screen
from peftlint.analysis.units import Source

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
    "class-header-over-lines": "class A(\n    B,\n    metaclass=M,\n):\n    def f(self):\n        return g(1)\n",
    "member-on-colon-line": "class A(\n    B\n): x = f(1)\n",
    "tab-indented-methods": "class A:\n\tdef f(self):\n\t\treturn g(1)\n",
    "non-ascii": "s = 'é' + f('ü', x)  # ñ\nt = '日本'; u = g('語', h(1))\nπ = k(π)\n",
    "astral": "s = '😀😀'; t = f('😀', g(1))\n",
    "cr-only": "x = f(1)\ry = g(\r    2)\rz = h(3)\r",
    "form-feed": "x = f(1)\n\x0c\ny = g(2)\n",
    "multiline-call-non-ascii": "x = f(\n    'é',\n    g('ü'),\n)\n",
    "nested-class-members": (
        "class A:\n    class B:\n        def f(self):\n            return g(1)\n    def h(self):\n        return k(2)\n"
    ),
}


def _sources() -> list[tuple[str, str]]:
    """Every file split into units: a fixture only a newer grammar than this interpreter's parses
    (Python 3.12's ``type`` statement) has no units; libcst parses it whole."""
    files = sorted(ROOT.glob("fixtures/**/*.py")) + sorted(ROOT.glob("examples/*.py"))
    files += sorted((ROOT / "peftlint" / "analysis").glob("*.py"))
    texts = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8")) for p in files]
    return [(name, text) for name, text in texts if _cpython_parses(text)] + sorted(AWKWARD.items())


def _cpython_parses(text: str) -> bool:
    try:
        parse_python(text)
    except SyntaxError:
        return False
    return True


def _whole_file_calls(text: str) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    module = cst.parse_module(text)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return sorted(
        ((r.start.line, r.start.column + 1), (r.end.line, r.end.column + 1), module.code_for_node(node))
        for node, r in positions.items()
        if isinstance(node, cst.Call)
    )


def _unit_calls(text: str) -> list[tuple[tuple[int, int], tuple[int, int], str]]:
    units = screen(parse_python(text), text.splitlines()).units
    source = Source("<test>", text, units)
    found = []
    pending = list(units)
    while pending:
        unit = pending.pop()
        pending += unit.members
        parsed = source.parse(unit)
        stack: list[cst.CSTNode] = list(parsed.statements())
        while stack:
            node = stack.pop()
            if unit.kind == CLASS and unit.members and isinstance(node, cst.IndentedBlock):
                continue  # a split class's header unit: its body is the members'
            if isinstance(node, cst.Call):
                start, end = parsed.range(node)
                found.append(((start.line, start.column), (end.line, end.column), parsed.module.code_for_node(node)))
            stack.extend(node.children)
    return sorted(found)


@pytest.mark.parametrize(("name", "text"), _sources(), ids=[name for name, _ in _sources()])
def test_calls_in_units_are_where_the_whole_file_has_them(name: str, text: str) -> None:
    assert _unit_calls(text) == _whole_file_calls(text), name


def test_classes_are_split_into_members_only_when_each_starts_its_own_line() -> None:
    text = AWKWARD["member-on-colon-line"] + AWKWARD["methods"]
    units = screen(parse_python(text), text.splitlines()).units
    classes = [unit for unit in units if unit.kind == CLASS]
    assert [bool(unit.members) for unit in classes] == [False, True, False]


def test_units_parse_to_the_tree_libcst_checks_node_by_node() -> None:
    """Units are parsed with libcst's node checks left out (its parser only builds valid nodes):
    the tree is the same as a checked parse of the same text, the checks are back afterwards,
    and the shortcut applies to the libcst installed (were it to change, this says so)."""
    from peftlint.analysis import units

    post_init = cst.CSTNode.__dict__["__post_init__"]
    assert post_init.__code__.co_names == ("_validate",), "libcst's __post_init__ changed: re-check _unvalidated"
    root = Path(__file__).resolve().parent.parent
    for path in (
        sorted((root / "peftlint" / "analysis").glob("*.py"))[:8] + sorted((root / "fixtures").rglob("*.py"))[:40]
    ):
        text = path.read_text(encoding="utf-8")
        assert units._parse(text).deep_equals(cst.parse_module(text)), path
    assert cst.CSTNode.__dict__["__post_init__"] is post_init
    with pytest.raises(cst.CSTValidationError):
        cst.Name("not a name")  # checks are on again outside the parse


def test_every_node_is_where_libcsts_position_provider_puts_it() -> None:
    """positions.py computes the ranges of libcst's PositionProvider in a lighter code-generation
    pass: the same range for every node of the awkward sources, of every fixture and of a few of
    the analysis's own modules (and libcst's private code-generation state is where it expects)."""
    from peftlint.analysis import positions

    assert positions._CodegenState is not None, "libcst moved CodegenState: positions.py uses the provider"
    sources = [text for _, text in _sources()]
    own = sorted((ROOT / "peftlint" / "analysis").glob("*.py"))[:6]
    for path in [*sorted((ROOT / "fixtures").rglob("*.py")), *own]:
        sources.append(path.read_text(encoding="utf-8"))
    for text in sources:
        module = cst.parse_module(text)
        assert positions.positions_of(module) == positions._from_provider(module), text[:200]
