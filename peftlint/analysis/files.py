"""torch.save and torch.load as the flow sees them: what a flow last wrote to a file.

``torch.save(model.state_dict(), p)`` followed, in the same flow, by ``torch.load(p)`` reads that
state dict back, whatever another def of the run writes to ``p`` (a quiz's never-called answer
key, an export that pickles the whole module elsewhere).

The mark is a binding of the flow's state under a key no Python name has, so branches join it
as any name (a path written one way on one branch only is unknown after the join) and a callee
does not see its caller's. Only a definite write counts: one path, and objects that are surely
not modules."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from peftlint.analysis import paths
from peftlint.analysis.values import NONE, Kind, Value, Values

if TYPE_CHECKING:
    from peftlint.analysis import registry
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.interpreter import Interpreter

_STATE = "state"  # the file holds a state dict (or a dict of them)
_STATE_KINDS = frozenset({Kind.STATE_DICT, Kind.DICT})


def _key(shape: paths.Shape) -> str:
    """A state key for the file (a digest: a path's dots and brackets would read as attributes)."""
    return f"<file {hashlib.blake2s(paths.render(paths.identity(shape)).encode(), digest_size=8).hexdigest()}>"


def torch_save(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """Marks what this flow now holds in the one file the save names: a state dict, or other."""
    shapes = site.shapes(api, "path") if site.has_role(api, "path") else []
    if len(shapes) != 1 or interpreter.frame.state is None:
        return NONE
    saved = site.role(api, "obj") if site.has_role(api, "obj") else frozenset()
    state = bool(saved) and all(v.kind in _STATE_KINDS for v in saved)
    marked = _STATE if state else "other"
    interpreter.bind(_key(shapes[0]), frozenset({Value(Kind.CONST, site=("file", marked), facts=(("value", marked),))}))
    return NONE


def torch_load(interpreter: Interpreter, api: registry.Api, site: CallSite) -> Values:
    """What ``torch.load`` gives back: its paths; no module where this flow just wrote a state dict there."""
    shapes, constants = tuple(site.shapes(api, "path")), site.constants(api, "path")
    module = False if holds_state_dict(interpreter, shapes) else None
    made = interpreter.new_value(
        Kind.TORCH_LOADED, site.node, None, shapes=shapes, constants=constants or None, module=module
    )
    return frozenset({made})


def holds_state_dict(interpreter: Interpreter, shapes: tuple[paths.Shape, ...]) -> bool:
    """This flow's last write to the one file ``shapes`` names saved a state dict, on every path."""
    if len(shapes) != 1 or interpreter.frame.state is None:
        return False
    marks = interpreter.frame.state.get(_key(shapes[0]))
    return bool(marks) and all(v.kind is Kind.CONST and v.fact("value") == _STATE for v in marks)
