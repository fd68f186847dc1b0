"""Where each node of a unit's libcst tree is: the syntactic range libcst's ``PositionProvider``
gives, from one code-generation pass with a lighter state.

libcst's provider records a ``CodeRange`` of two ``CodePosition`` objects per node through a
generator-based context manager, and runs behind a ``MetadataWrapper`` that walks the tree once
more; on a trainer's methods that cost more than parsing them. This state keeps plain tuples and a
slotted context manager, and is held to the provider's answers node for node by
``tests/test_positions.py``; where libcst's code-generation hooks are not what it expects, the
provider itself is used.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

Range = tuple[int, int, int, int]  # start line (1-based), start column (0-based), end line, end column
_NEWLINE = re.compile(r"\r\n?|\n")  # libcst's own NEWLINE_RE

try:  # the base of libcst's position-providing states; not part of its public API
    from libcst._nodes.internal import CodegenState as _CodegenState
except ImportError:  # pragma: no cover - a libcst that moved it: its provider is used
    _CodegenState = None  # type: ignore[assignment,misc]


def positions_of(module: cst.Module) -> dict[cst.CSTNode, Range]:
    """Every node's range, as ``PositionProvider`` would give it."""
    if _CodegenState is None:  # pragma: no cover
        return _from_provider(module)
    state = _PositionState(module)
    module._codegen(state)
    return state.found


def _from_provider(module: cst.Module) -> dict[cst.CSTNode, Range]:
    from libcst.metadata import MetadataWrapper, PositionProvider

    computed = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    return {
        node: (where.start.line, where.start.column, where.end.line, where.end.column)
        for node, where in computed.items()
    }


if _CodegenState is not None:

    class _PositionState(_CodegenState):  # type: ignore[valid-type,misc]
        """libcst's code generation, counting lines and columns as the tokens go by."""

        def __init__(self, module: cst.Module) -> None:
            super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
            self.line = 1
            self.column = 0
            self.starts: list[tuple[int, int]] = []
            self.found: dict[cst.CSTNode, Range] = {}

        def add_indent_tokens(self) -> None:
            for token in self.indent_tokens:
                self.add_token(token)

        def add_token(self, value: str) -> None:
            self.tokens.append(value)  # the module's end reads them (a trailing newline or not)
            if "\n" in value or "\r" in value:
                segments = _NEWLINE.split(value)
                self.line += len(segments) - 1
                self.column = len(segments[-1])
            else:
                self.column += len(value)

        def before_codegen(self, node: cst.CSTNode) -> None:
            self.starts.append((self.line, self.column))

        def after_codegen(self, node: cst.CSTNode) -> None:
            line, column = self.starts.pop()
            if node not in self.found:  # a syntactic position recorded inside wins
                self.found[node] = (line, column, self.line, self.column)

        def record_syntactic_position(  # type: ignore[override]
            self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
        ) -> _Syntactic:
            return _Syntactic(self, node, start_node, end_node)

    class _Syntactic:
        """``with state.record_syntactic_position(node):`` around the node's own tokens."""

        __slots__ = ("state", "node", "start_node", "end_node", "line", "column")

        def __init__(self, state: Any, node: cst.CSTNode, start_node: Any, end_node: Any) -> None:
            self.state = state
            self.node = node
            self.start_node = start_node
            self.end_node = end_node

        def __enter__(self) -> None:
            self.line = self.state.line
            self.column = self.state.column

        def __exit__(self, *exc: object) -> None:
            state = self.state
            found = state.found
            start = found[self.start_node][:2] if self.start_node is not None else (self.line, self.column)
            end = found[self.end_node][2:] if self.end_node is not None else (state.line, state.column)
            found[self.node] = (*start, *end)
