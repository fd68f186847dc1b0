from __future__ import annotations

from typing import TYPE_CHECKING

from peftlint.analysis import registry
from peftlint.analysis.values import NONE, Kind, Values, is_none, known, stable_key
from peftlint.rules.base import Rule

if TYPE_CHECKING:
    import libcst as cst

    from peftlint.analysis.callsite import CallSite
    from peftlint.findings import Related

# list methods that change the list in place and return None
IN_PLACE = frozenset({"append", "extend", "insert", "sort", "reverse", "remove", "clear"})


class ModulesToSaveMisuse(Rule):
    """
    ## What it does
    Finds a peft config whose `modules_to_save` is the result of an in-place list method
    (`modules_to_save=names.append("lm_head")`, `.extend(...)`, `.sort()`...), or names a module
    that `target_modules` also names.

    ## Why is this bad?
    An in-place list method returns `None`: the config gets `modules_to_save=None`, so the modules
    meant to be trained and saved in full stay frozen and are missing from the saved adapter.
    A module in both lists is asked to be adapted by LoRA and copied whole at once: peft either
    rejects the config or adapts one and saves the other, never what the author meant.

    ## Example
    ```python
    from peft import LoraConfig

    extra = ["embed_tokens"]
    config = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], modules_to_save=extra.append("lm_head"))
    ```

    ## Fix
    Build the list first, and keep the two lists apart:
    ```python
    from peft import LoraConfig

    extra = ["embed_tokens"]
    extra.append("lm_head")
    config = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], modules_to_save=extra)
    ```

    ## References
    - huggingface/peft#577, huggingface/peft#1689
    """

    code = "PEFT014"
    name = "modules-to-save-misuse"
    summary = "modules_to_save is None (an in-place list method's result) or overlaps target_modules."
    reports_at = frozenset({"peft.config"})
    requires = ((b"modules_to_save",), *registry.PEFT_TOKENS)  # about a config, not a model

    def on_call(self, site: CallSite) -> None:
        node = site.arg_node(None, "modules_to_save")
        if node is None:
            return
        saved = site.kwargs.get("modules_to_save", NONE)
        in_place = _in_place_call(node)
        if (
            in_place is not None
            and (
                all(v.kind is Kind.UNKNOWN or is_none(v) for v in saved)
                # ``lst.append(x) if flag else lst``: the in-place arm gives None on its path
                or (in_place is not node and any(is_none(v) for v in saved))
            )
            and not _head_kept_by_task(site, in_place)
        ):
            method = in_place.func.attr.value  # type: ignore[attr-defined]
            node = in_place
            self.context.report(
                self,
                site,
                f"`.{method}()` changes the list in place and returns None, so `modules_to_save=None`: the "
                "modules meant to be trained and saved in full stay frozen and are not saved; build the list "
                "first and pass the list",
                related=self._config(site),
                facts={"misuse": "in_place_list_method"},
                node=node,
            )
            return
        targets = _name_sets(site.resolved(site.kwargs.get("target_modules", frozenset())))
        kept = _name_sets(site.resolved(saved))
        pairs = [(t, k) for t in targets for k in kept]
        if not pairs or any(t <= k for t, k in pairs):
            return  # unknown; or nothing left to adapt on some path: peft raises (NoMatchingPeftModuleError), loudly
        # an overlap on every path, though maybe of another module on each (the targets of a branch per model)
        overlaps = [t & k for t, k in pairs]
        if all(overlaps):
            both = sorted(set().union(*overlaps))
            shown = (" or " if len({frozenset(o) for o in overlaps}) > 1 else ", ").join(f"`{name}`" for name in both)
            self.context.report(
                self,
                site,
                f"{shown} is in both `target_modules` and `modules_to_save`: a module cannot be adapted by the "
                "adapter and saved in full at once; list it in one of them",
                related=self._config(site),
                facts={"misuse": "overlap", "overlap": both},
                node=node,
            )

    def _config(self, site: CallSite) -> list[Related]:
        return self.context.at_call(site, "the peft config is built here")


def _in_place_call(node: cst.BaseExpression) -> cst.Call | None:
    """``lst.append(x)``, also as an arm of a conditional expression; not ``lst.append(x) or lst``,
    which gives the list back."""
    import libcst as cst

    if isinstance(node, cst.IfExp):
        return _in_place_call(node.body) or _in_place_call(node.orelse)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in IN_PLACE:
        return node
    return None


def _head_kept_by_task(site: CallSite, node: cst.Call) -> bool:
    """``task_type="SEQ_CLS"`` makes peft save the usual heads itself: losing ``"classifier"`` changes nothing."""
    import libcst as cst

    from peftlint.analysis import conditions

    task = site.arg_node(None, "task_type")
    given = conditions.literal(task) if task is not None else None
    if isinstance(task, cst.Attribute):
        given = task.attr.value  # TaskType.SEQ_CLS
    names = [conditions.literal(arg.value) for arg in node.args]
    return given in registry.HEAD_TASKS and bool(names) and all(name in registry.TASK_HEADS for name in names)


def _name_sets(values: Values | None) -> list[set[str]]:
    """The module names a list (or tuple) of literal strings holds, one set per value it can be;
    none if any is unknown."""
    if not values or not known(values):
        return []
    found: list[set[str]] = []
    for value in sorted(values, key=stable_key):
        if value.kind not in (Kind.LIST, Kind.TUPLE) or value.fact("open"):
            return []
        names = set()
        for item in value.fact("items", ()):
            if not known(item) or any(v.kind is not Kind.STRING or v.fact("text") is None for v in item):
                return []
            names |= {v.fact("text") for v in item}
        found.append(names)
    return found
