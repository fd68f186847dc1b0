"""IPython syntax in a notebook cell, neutralised into plain Python of the same shape, never executed:

* a line magic, shell escape or help line at the start of a statement (``%pip install x``, ``!ls``,
  ``?obj``, ``obj??``, ``/f a``, ``,f a``, ``;f a``) becomes ``pass  # peftlint: magic`` at the same
  indentation, and its backslash-continued lines become ``# peftlint: magic`` comment lines;
* ``x = !cmd`` and ``x = %magic ...`` become ``x = None  # peftlint: magic`` (the name is still rebound,
  so an earlier value of ``x`` does not leak past it);
* ``%time stmt`` / ``%timeit stmt`` keep their statement, analysed like any other: the magic word is
  replaced by ``if 1:`` of the same width (``if 1: stmt``), and ``x = %time expr`` by spaces
  (``x =       expr``); when that would not compile (options, a compound statement...) the line is
  neutralised as above;
* a cell magic on the first line of a cell: ``%%time``, ``%%timeit``, ``%%capture`` and ``%%prun`` run
  Python, so only their first line becomes a comment and the body is analysed; any other cell magic
  (``%%bash``, ``%%writefile``...) turns the whole cell into comment lines;
* an automagic line, a line magic typed without ``%`` (``pip install x``, ``cd dir``, ``ls -la ~``),
  is neutralised like ``%pip install x`` when it does not compile as Python on its own;
* ``%run helpers.py`` (a script beside the notebook, without options) becomes ``from helpers import *``:
  IPython runs it and puts its names in the notebook's namespace;
* ``get_ipython()`` calls are Python and are left alone.

``shell_cell`` tells a cell of bare shell lines (``git clone ...`` / ``wget ...``, a ``%%bash`` cell
without its first line): the caller treats it as a shell cell when it does not parse as Python.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, replace

from peftlint.analysis.prescreen import parse_python

# A call to this name is code the analysis cannot see (a notebook cell that does not parse): it may
# have rebound anything, so nothing known before it holds after it. Contract with the analysis.
UNKNOWN_CODE = "__peftlint_unknown_code__"

MAGIC_MARK = "# peftlint: magic"
PLACEHOLDER = "pass  " + MAGIC_MARK

# Cell magics whose body is Python run by IPython (the body is analysed).
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun"})

CELL_MAGIC = re.compile(r"%%([A-Za-z_][\w.]*)")
_HELP_END = re.compile(r"%{0,2}[A-Za-z_*][\w*]*(?:\.[A-Za-z_*][\w*]*|\[-?\d+\])*\?\??")
_ASSIGN = re.compile(r"[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*\s*=\s*(?=!|%%?[A-Za-z_])")
_TIME = re.compile(r"%(time|timeit)(\s+)(?=[^\s-])")
# ``%run helpers.py`` (or ``run utils/helpers.py``) of a script beside the notebook, without options
_RUN = re.compile(r"%?run[ \t]+((?:[A-Za-z_]\w*/)*[A-Za-z_]\w*\.py)")
# Line magics and shell aliases IPython runs without ``%`` (automagic), as notebooks often type them.
AUTOMAGICS = frozenset(
    """aimport alias autoreload bookmark cat cd clear conda config cp debug dhist dirs env gui history
    less load_ext lsmagic ls ll man mamba matplotlib micromamba mkdir more mv pdb pip popd precision
    pushd pwd pylab reload_ext rehashx reset rm rmdir run set_env store sx system tb time timeit
    unalias unload_ext uv who whos xmode""".split()
)
_AUTOMAGIC = re.compile(r"([A-Za-z_]\w*)(?:[ \t]+[^\s=].*)?")
# A shell command line: a command word (not a Python keyword), then arguments that do not assign.
_KEYWORD = "|".join(keyword.kwlist)
_SHELL_LINE = re.compile(
    rf"(?!(?:{_KEYWORD})(?![\w.+/~-]))[A-Za-z_./~][\w.+/~-]*"  # the command
    r"(?:[ \t]+(?!=|:=|[-+*/%&|^<>@]=)\S.*)?"  # its arguments
)


@dataclass(frozen=True)
class Line:
    """One line of a code cell: what the user wrote and what the analysis sees instead."""

    original: str
    rewritten: str
    # "code": unchanged; "whole": the line was replaced; "splice": ``original[column:column + len(old)]``
    # (``old``) was replaced by ``new`` of the same width; "dedent": ``original`` less its first
    # ``column`` characters, the indentation ``old`` (see ``dedented``).
    kind: str = "code"
    column: int = 0
    old: str = ""
    new: str = ""


@dataclass
class _Scan:
    """Where a line leaves Python's tokenizer: inside a string, brackets, a backslash continuation."""

    quote: str | None = None
    depth: int = 0
    continued: bool = False

    @property
    def at_statement_start(self) -> bool:
        return self.quote is None and self.depth == 0 and not self.continued

    def feed(self, line: str) -> None:
        self.continued = False
        index, length = 0, len(line)
        while index < length:
            char = line[index]
            if self.quote is not None:
                if char == "\\":
                    if index == length - 1:  # an escaped newline: the string goes on
                        return
                    index += 2
                    continue
                if line.startswith(self.quote, index):
                    index += len(self.quote)
                    self.quote = None
                    continue
                index += 1
                continue
            if char == "#":
                break
            if char in "\"'":
                self.quote = char * 3 if line.startswith(char * 3, index) else char
                index += len(self.quote)
                continue
            if char in "([{":
                self.depth += 1
            elif char in ")]}":
                self.depth = max(0, self.depth - 1)
            elif char == "\\" and index == length - 1:
                self.continued = True
            index += 1
        if self.quote in ("'", '"'):
            self.quote = None  # an unterminated one-line string ends with its line


def neutralise(lines: list[str]) -> tuple[Line, ...]:
    out: list[Line] = []
    start = 0
    while start < len(lines) and not lines[start].strip():
        out.append(Line(lines[start], lines[start]))
        start += 1
    if start < len(lines):
        magic = CELL_MAGIC.match(lines[start].lstrip())
        if magic:
            if magic.group(1) not in PYTHON_CELL_MAGICS:
                return tuple(out) + tuple(Line(line, MAGIC_MARK, "whole") for line in lines[start:])
            out.append(Line(lines[start], MAGIC_MARK, "whole"))
            start += 1
    scan = _Scan()
    index = start
    while index < len(lines):
        line = lines[index]
        if scan.at_statement_start:
            replaced = _escape(lines, index)
            if replaced is not None:
                out.extend(replaced)
                index += len(replaced)
                continue
        scan.feed(line)
        out.append(Line(line, line))
        index += 1
    return tuple(out)


def dedented(lines: list[str]) -> tuple[Line, ...]:
    """``neutralise`` after IPython's own first clean-up of a cell: when its first line that is not
    blank is indented, that indentation is removed from every line that starts with it (IPython's
    ``leading_indent``: a cell pasted from inside a function runs). A line so shortened is a
    ``"dedent"`` line: ``old`` is the removed indentation, ``column`` its width."""
    first = next((line for line in lines if line.strip()), "")
    prefix = first[: len(first) - len(first.lstrip(" \t"))]
    if not prefix:
        return neutralise(lines)
    out = []
    for line, made in zip(
        lines, neutralise([x[len(prefix) :] if x.startswith(prefix) else x for x in lines]), strict=True
    ):
        if not line.startswith(prefix):
            out.append(replace(made, original=line))
        elif made.kind == "code":
            out.append(Line(line, made.rewritten, "dedent", len(prefix), prefix))
        else:  # a magic in the indented cell: its line comes back whole
            out.append(Line(line, made.rewritten, "whole"))
    return tuple(out)


def _escape(lines: list[str], index: int) -> list[Line] | None:
    """The rewritten lines of an IPython construct starting at ``lines[index]``, or None for Python."""
    line = lines[index]
    body = line.lstrip()
    indent = line[: len(line) - len(body)]
    if not body or body.startswith("#"):
        return None
    code = body.rstrip()
    if code.startswith("?") or _HELP_END.fullmatch(code):
        return _replace(lines, index, indent + PLACEHOLDER)
    run = _RUN.fullmatch(code)
    if run is not None:  # ``%run helpers.py``: its names are the notebook's, as a star import gives them
        module = run.group(1).removesuffix(".py").replace("/", ".")
        return _replace(lines, index, f"{indent}from {module} import *  {MAGIC_MARK}")
    if body[0] in "%!/,;":
        timed = _TIME.match(body)
        if timed:
            width = timed.end()
            unwrapped = _splice(lines, index, len(indent), body[:width], "if 1:".ljust(width))
            if unwrapped is not None:
                return unwrapped
        return _replace(lines, index, indent + PLACEHOLDER)
    assign = _ASSIGN.match(body)
    if assign:
        head = indent + body[: assign.end()]
        rest = line[len(head) :]
        timed = _TIME.match(rest)
        if timed and timed.group(1) == "time":
            width = timed.end()
            unwrapped = _splice(lines, index, len(head), rest[:width], " " * width)
            if unwrapped is not None:
                return unwrapped
        return _replace(lines, index, head + "None  " + MAGIC_MARK)
    automagic = _AUTOMAGIC.fullmatch(code.rstrip("\\").rstrip())
    if automagic and automagic.group(1) in AUTOMAGICS and _balanced(code) and not _compiles(code):
        return _replace(lines, index, indent + PLACEHOLDER)
    return None


def _balanced(line: str) -> bool:
    """No bracket or string left open at the end of ``line`` (a backslash continuation is fine)."""
    scan = _Scan()
    scan.feed(line)
    return scan.quote is None and scan.depth == 0


def _compiles(line: str) -> bool:
    try:
        parse_python(line.rstrip("\\") + "\n", "<line>")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def shell_cell(lines: list[str]) -> bool:
    """Every line is blank, a comment, or shaped like a shell command (``git clone URL``, ``cd ..``),
    with backslash continuations; and there is at least one command."""
    commands = 0
    continued = False
    for line in lines:
        code = line.strip()
        if continued or not code or code.startswith("#"):
            continued = continued and code.endswith("\\")
            continue
        if not _SHELL_LINE.fullmatch(code):
            return False
        commands += 1
        continued = code.endswith("\\")
    return commands > 0


def _replace(lines: list[str], index: int, first: str) -> list[Line]:
    """The whole line replaced; lines it continues onto with a trailing backslash become comments."""
    out = [Line(lines[index], first, "whole")]
    while lines[index].endswith("\\") and index + 1 < len(lines):
        index += 1
        out.append(Line(lines[index], MAGIC_MARK, "whole"))
    return out


def _splice(lines: list[str], index: int, column: int, old: str, new: str) -> list[Line] | None:
    """Replace ``old`` at ``column`` by ``new`` (same width) if the logical line then compiles."""
    first = lines[index][:column] + new + lines[index][column + len(old) :]
    out = [Line(lines[index], first, "splice", column, old, new)]
    scan = _Scan()
    scan.feed(first)
    end = index + 1
    while not scan.at_statement_start and end < len(lines):
        scan.feed(lines[end])
        out.append(Line(lines[end], lines[end]))
        end += 1
    snippet = "\n".join([first.lstrip()] + [line.original for line in out[1:]]) + "\n"
    try:
        parse_python(snippet, "<cell>")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return out
