"""Callback objects a trainer fires its events on: transformers' ``TrainerCallback`` given to a
``Trainer`` (effects.py), a Lightning ``Callback`` given to ``lightning.Trainer`` (lightning.py).

Each callback of the run's own classes is one object through the run: an event runs its method on
it, what the method sets on ``self`` a later event reads (``self.best_path`` set in ``on_evaluate``,
saved to in ``on_train_end``), and the caller reads it after the run (``saver.path``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from peftlint.analysis.values import Kind, Value, Values, stable_key

if TYPE_CHECKING:
    from peftlint.analysis.callsite import CallSite
    from peftlint.analysis.frames import ClassInfo
    from peftlint.analysis.interpreter import Interpreter

_KEY = "<callback>"  # where a callback object is held while its events run (not a Python name)


class CallbackRun:
    """The callbacks of one run of a trainer: ``event`` fires one event on each, in order;
    ``finish`` hands what the events set on them back to every name that holds them."""

    def __init__(self, interpreter: Interpreter, held: Values) -> None:
        """``held``: what the trainer was given as callbacks (a list of them, or several)."""
        self.interpreter = interpreter
        self.objects: list[tuple[Value, ClassInfo, str]] = []
        depth = len(interpreter.inlining)
        for callbacks in sorted(held, key=stable_key):
            for callback in sorted(interpreter.iterate(frozenset({callbacks})), key=stable_key):
                info = callback.fact("class") if callback.kind in (Kind.INSTANCE, Kind.CLASS) else None
                if info is None:
                    continue
                if callback.kind is Kind.CLASS:  # ``callbacks=[SaveCallback]``: the trainer makes one
                    callback = interpreter.instance_value(info, site=("callback", callback.site), attrs={})
                self.objects.append((callback, info, f"{_KEY}{depth}_{len(self.objects)}"))

    def event(self, hook: str, site: CallSite) -> None:
        """Run ``hook`` on each callback that defines it (inherited methods included), called as
        ``site`` says (its arguments: what the trainer passes)."""
        for callback, info, key in self.objects:
            method = info.lookup(hook)
            if method is not None:
                self.interpreter.inline(method, replace(site, method=hook), frozenset({callback}), key, True)

    def finish(self) -> None:
        state = self.interpreter.frame.state or {}
        for callback, _, key in self.objects:
            kept = {n[len(key) + 1 :]: state.pop(n) for n in [n for n in state if n.startswith(key + ".")]}
            carried = {name: values for name, values in kept.items() if "." not in name and "[" not in name}
            self.interpreter.set_attributes_everywhere({callback.site}, carried)  # read after the run
