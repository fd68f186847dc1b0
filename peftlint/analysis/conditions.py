"""What a branch may assume about the values its test names.

Two mechanisms, both on libcst's nodes:

* **Refinement.** ``if isinstance(model, PeftModel):``, ``hasattr(m, "peft_config")``,
  ``x is None``, truthiness, ``==`` with a constant, ``and``/``or``/``not`` of those: on each
  branch the values of the names (and attribute paths) the test mentions are filtered to the
  ones that can make it true (or false). A branch whose filter leaves some name with no value
  cannot run. A value the analysis cannot judge (``UNKNOWN`` among them) is always kept, so
  only what is known decides a branch: a default ``None`` in an inlined helper, a module
  constant, an object of a known kind.
* **Guards.** A test the values cannot decide (``if args.resume:``) is remembered by its text:
  values made under it carry ``(text, True)``, so a later ``if not args.resume:`` does not see
  them (values.join_branches).
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from peftlint.analysis import names
from peftlint.analysis.values import NO_CONSTANT, Guard, Kind, Value, Values, literal_text_of, one_constant

# (value, polarity) -> True: the value can make the test that polarity; False: it cannot;
# the test's other names are judged by their own predicates.
Predicate = Callable[[Value], "bool | None"]
Resolve = Callable[[cst.BaseExpression], "tuple[str, ...]"]  # a class expression -> qualnames or class keys


def key_of(node: cst.CSTNode) -> str | None:
    """``model`` -> "model", ``self.model`` -> "self.model", ``models["policy"]`` ->
    "models['policy']"; anything else has no key."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = key_of(node.value)
        return None if inner is None else f"{inner}.{node.attr.value}"
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and index.star is None:
            constant = literal(index.value)
            inner = key_of(node.value)
            if inner is not None and isinstance(constant, (str, int)) and not isinstance(constant, bool):
                return f"{inner}[{constant!r}]"
            if inner is not None and isinstance(index.value, cst.Name) and constant is _UNKNOWN:
                return f"{inner}[{index.value.value}]"  # valid while that name is not rebound
    return None


def index_name(key: str) -> str | None:
    """``bases[i]`` -> "i": the variable a subscript key depends on."""
    if key.endswith("]"):
        inside = key[key.rfind("[") + 1 : -1]
        if inside.isidentifier():
            return inside
    return None


_UNKNOWN = object()


def literal(node: cst.BaseExpression) -> object:
    """The value of a literal: strings, numbers, True/False/None, -x; ``_UNKNOWN`` otherwise."""
    if isinstance(node, cst.SimpleString):
        return string_value(node)
    if isinstance(node, cst.ConcatenatedString):
        value = evaluated(node)
        return value if value is not None else _UNKNOWN
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return evaluated(node)  # a literal such as 00
    if isinstance(node, cst.Float):
        return float(node.value.replace("_", ""))
    if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[node.value]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
        inner = literal(node.expression)
        return -inner if isinstance(inner, (int, float)) and not isinstance(inner, bool) else _UNKNOWN
    return _UNKNOWN


def string_value(node: cst.SimpleString) -> object:
    """A string literal's value; without escapes, read off the quotes (libcst's ``evaluated_value``
    runs ``ast.literal_eval``: on a 26,000-line file that is most of the time spent on strings)."""
    text = node.value
    prefix = node.prefix.lower()
    quote = node.quote
    body = text[len(node.prefix) + len(quote) : -len(quote)]
    if prefix in ("", "u", "r") and ("\\" not in body or prefix == "r"):
        return body
    value = evaluated(node)
    return value if value is not None else _UNKNOWN


def evaluated(node: cst.BaseExpression) -> Any:
    """libcst's ``evaluated_value`` (``ast.literal_eval`` of the literal), without the
    SyntaxWarnings an invalid escape such as ``"D:\\logs"`` gives: those are the user's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return node.evaluated_value  # type: ignore[attr-defined]


def is_literal(value: object) -> bool:
    return value is not _UNKNOWN


UNKNOWN_LITERAL = _UNKNOWN


# ----------------------------------------------------------------- condition identity
_COMPARISONS: dict[type, str] = {
    cst.Equal: "==", cst.NotEqual: "!=", cst.LessThan: "<", cst.GreaterThan: ">", cst.LessThanEqual: "<=",
    cst.GreaterThanEqual: ">=", cst.In: "in", cst.NotIn: "not in", cst.Is: "is", cst.IsNot: "is not",
}  # fmt: skip


def condition_text(node: cst.BaseExpression, code: Callable[[cst.CSTNode], str]) -> str:
    """A test's identity: the same for the same expression however it is spaced or
    parenthesised; built from the tree for the usual shapes, from its code for the rest."""
    text = _text(node)
    return text if text is not None else " ".join(code(node).split())


def _text(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        inner = _text(node.value)
        return None if inner is None else f"{inner}.{node.attr.value}"
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)):
        value = literal(node)
        return repr(value) if value is not _UNKNOWN else None
    if isinstance(node, cst.Subscript):
        inner, parts = _text(node.value), []
        for element in node.slice:
            index = element.slice
            parts.append(_text(index.value) if isinstance(index, cst.Index) else None)
        return None if inner is None or None in parts else f"{inner}[{', '.join(parts)}]"  # type: ignore[arg-type]
    if isinstance(node, cst.Call):
        func = _text(node.func)
        shown = []
        for arg in node.args:
            if arg.star:
                return None
            value = _text(arg.value)
            shown.append(None if value is None else (f"{arg.keyword.value}={value}" if arg.keyword else value))
        if func is None or None in shown:
            return None
        return f"{func}({', '.join(shown)})"  # type: ignore[arg-type]
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        inner = _text(node.expression)
        return None if inner is None else f"not ({inner})"
    if isinstance(node, cst.BooleanOperation):
        left, right = _text(node.left), _text(node.right)
        word = "and" if isinstance(node.operator, cst.And) else "or"
        return None if left is None or right is None else f"({left}) {word} ({right})"
    if isinstance(node, cst.Comparison):
        if len(node.comparisons) == 1:
            left, operator, right = _oriented(node.left, node.comparisons[0])
            pieces = [_text(left), operator, _text(right)]
            return None if None in pieces else " ".join(pieces)  # type: ignore[arg-type]
        pieces = [_text(node.left)]
        for target in node.comparisons:
            pieces += [_COMPARISONS.get(type(target.operator)), _text(target.comparator)]
        return None if None in pieces else " ".join(pieces)  # type: ignore[arg-type]
    return None


_MIRRORED = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _oriented(
    left: cst.BaseExpression, target: cst.ComparisonTarget
) -> tuple[cst.BaseExpression, str | None, cst.BaseExpression]:
    """A comparison with its literal on the right: ``"train" == args.mode`` is the test
    ``args.mode == "train"``, so both spellings are one guard."""
    operator = _COMPARISONS.get(type(target.operator))
    right = target.comparator
    flipped = _MIRRORED.get(operator, operator) if operator not in ("in", "not in") else None  # type: ignore[arg-type]
    if flipped is not None and literal(left) is not _UNKNOWN and literal(right) is _UNKNOWN:
        return right, flipped, left
    return left, operator, right


def guards(test: cst.BaseExpression, polarity: bool, code: Callable[[cst.CSTNode], str]) -> list[Guard]:
    """The facts a branch may assume: ``if not a and b`` (true) gives (a, False), (b, True).

    The first guard always stands for the whole test, so joins can tag values with it.
    """
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, polarity = test.expression, not polarity
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        flips = {cst.IsNot: "is", cst.NotEqual: "==", cst.NotIn: "in"}
        positive = flips.get(type(test.comparisons[0].operator))
        if positive is not None:
            subject, _, other = _oriented(test.left, test.comparisons[0])
            left, right = condition_text(subject, code), condition_text(other, code)
            return [(f"{left} {positive} {right}", not polarity)]
    found: list[Guard] = [(condition_text(test, code), polarity)]
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And) == polarity:
        found += guards(test.left, polarity, code)  # conjunctive: every part holds
        found += guards(test.right, polarity, code)
    if isinstance(test, cst.BooleanOperation):
        # De Morgan: ``not a or not b`` is the test ``a and b`` come out the other way
        dual = _negated_parts(test, type(test.operator))
        if dual is not None:
            found.append((dual, not polarity))
    return found


def _negated_parts(node: cst.BaseExpression, operator: type) -> str | None:
    """``not a or not b`` (``operator`` Or) as the text of ``a and b``; None unless every part is
    negated."""
    if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, operator):
        left, right = _negated_parts(node.left, operator), _negated_parts(node.right, operator)
        word = "or" if operator is cst.And else "and"
        return None if left is None or right is None else f"({left}) {word} ({right})"
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Not):
        return _text(node.expression)
    return None


def option_test(test: cst.BaseExpression, polarity: bool) -> tuple[cst.BaseExpression, bool]:
    """What a test is about and whether, coming out ``polarity``, it says that value is set (not
    None): ``x``, ``x is not None`` and ``not x is None`` true, ``x is None`` false."""
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, polarity = test.expression, not polarity
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if not (isinstance(target.comparator, cst.Name) and target.comparator.value == "None"):
            return test, False
        if isinstance(target.operator, cst.IsNot):
            return test.left, polarity
        if isinstance(target.operator, cst.Is):
            return test.left, not polarity
        return test, False
    return test, polarity


# ----------------------------------------------------------------- refinement
@dataclass(frozen=True)
class Refinement:
    key: str
    keep: Predicate  # True: keep; False: drop; None: cannot tell (kept)
    node: cst.BaseExpression  # the expression the key names
    # what a kept value becomes on the branch: a torch.load result that is not an nn.Module
    narrow: Callable[[Value], Value] | None = None


def refinements(test: cst.BaseExpression, polarity: bool, resolve: Resolve) -> list[Refinement]:
    """What each name of ``test`` must satisfy for ``test`` to have truth value ``polarity``."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return refinements(test.expression, not polarity, resolve)
    if isinstance(test, cst.BooleanOperation):
        conjunctive = isinstance(test.operator, cst.And) == polarity
        left = refinements(test.left, polarity, resolve)
        right = refinements(test.right, polarity, resolve)
        if conjunctive:  # `a and b` true, `a or b` false: both parts hold
            return left + right
        return _either(left, right)
    if isinstance(test, cst.Call):
        return _call_refinements(test, polarity, resolve)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        return _comparison_refinements(test, polarity)
    key = key_of(test)
    if key is not None:
        return [Refinement(key, lambda v: _truth(v) is polarity if _truth(v) is not None else None, test)]
    return []


def _either(left: list[Refinement], right: list[Refinement]) -> list[Refinement]:
    """`a and b` false, `a or b` true: one part holds. Only a name both parts speak of is
    refined: a value is dropped when it can satisfy neither (``hasattr(m, "peft_config") and
    hasattr(m, "load_adapter")`` false: no PeftModel gets past it)."""
    found = []
    for key in dict.fromkeys(r.key for r in left):
        mine = [r for r in left if r.key == key]
        theirs = [r for r in right if r.key == key]
        if theirs:
            found.append(Refinement(key, _any_of(_all_of(mine), _all_of(theirs)), mine[0].node))
    return found


def _all_of(parts: list[Refinement]) -> Predicate:
    def keep(value: Value) -> bool | None:
        answers = [part.keep(value) for part in parts]
        return False if False in answers else True if all(a is True for a in answers) else None

    return keep


def _any_of(*predicates: Predicate) -> Predicate:
    def keep(value: Value) -> bool | None:
        answers = [predicate(value) for predicate in predicates]
        return True if True in answers else False if all(a is False for a in answers) else None

    return keep


def _call_refinements(test: cst.Call, polarity: bool, resolve: Resolve) -> list[Refinement]:
    func = key_of(test.func)
    args = [a for a in test.args if not a.keyword and not a.star]
    if func not in ("isinstance", "hasattr") or len(args) != 2:
        return []
    subject = args[0].value
    key = key_of(subject)
    if key is None:
        return []
    if func == "hasattr":
        attribute = literal(args[1].value)
        if not isinstance(attribute, str):
            return []
        return [Refinement(key, lambda v: _flip(_has_attribute(v, attribute), polarity), subject)]
    classes = resolve(args[1].value)
    if not classes:
        return []
    not_module = any(cls in _MAPPINGS for cls in classes) if polarity else "torch.nn.Module" in classes
    narrow = _not_a_module if not_module else None
    return [Refinement(key, lambda v: _flip(_any_instance(v, classes), polarity), subject, narrow)]


# A torch.load result tested to be one of these holds no module: a state dict, or a checkpoint dict.
_MAPPINGS = frozenset({"builtins.dict", "collections.OrderedDict", "collections.abc.Mapping", "typing.Mapping"})


def _not_a_module(value: Value) -> Value:
    """``if not isinstance(obj, nn.Module)`` / ``if isinstance(obj, dict)``: whatever file the
    branch reads, it does not hold a pickled module."""
    return value.updated(module=False) if value.kind is Kind.TORCH_LOADED else value


def _comparison_refinements(test: cst.Comparison, polarity: bool) -> list[Refinement]:
    target = test.comparisons[0]
    operator = target.operator
    right = literal(target.comparator)
    subject = test.left
    key = key_of(subject)
    if key is None or right is _UNKNOWN:
        subject = target.comparator
        reversed_key = key_of(subject)
        left = literal(test.left)
        if reversed_key is None or left is _UNKNOWN or not isinstance(operator, (cst.Equal, cst.NotEqual)):
            return []
        key, right = reversed_key, left
    if isinstance(operator, (cst.Is, cst.IsNot)) and right is None:
        positive = isinstance(operator, cst.Is) == polarity
        return [Refinement(key, lambda v: _flip(_is_none(v), positive), subject)]
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        positive = isinstance(operator, cst.Equal) == polarity
        return [Refinement(key, lambda v: _flip(_equals(v, right), positive), subject)]
    return []


def named_equality(
    test: cst.BaseExpression, polarity: bool
) -> tuple[cst.Comparison, cst.ComparisonTarget, bool] | None:
    """``a == b`` or ``a != b`` (under any ``not``) with no literal on either side: the comparison,
    its one target and the polarity it holds with; None for any other test."""
    while isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        test, polarity = test.expression, not polarity
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return None
    target = test.comparisons[0]
    if not isinstance(target.operator, (cst.Equal, cst.NotEqual)):
        return None
    if literal(test.left) is not _UNKNOWN or literal(target.comparator) is not _UNKNOWN:
        return None
    return test, target, polarity


def named_comparison_refinements(
    test: cst.BaseExpression, polarity: bool, constant_of: Callable[[cst.BaseExpression], object]
) -> list[Refinement]:
    """``if name != DEFAULT:`` where one side holds a single known constant here (``DEFAULT =
    "support"``, the element of a known list): refined as ``name != "support"``, each side by
    the other's constant (``constant_of`` gives it, or UNKNOWN_LITERAL)."""
    named = named_equality(test, polarity)
    if named is None:
        return []  # (a literal side: _comparison_refinements)
    test, target, polarity = named
    positive = isinstance(target.operator, cst.Equal) == polarity
    found = []
    for subject, other in ((test.left, target.comparator), (target.comparator, test.left)):
        key = key_of(subject)
        if key is None or key_of(other) is None:
            continue
        constant = constant_of(other)
        if constant is not _UNKNOWN:
            found.append(Refinement(key, lambda v, c=constant: _flip(_equals(v, c), positive), subject))
    return found


def _flip(answer: bool | None, polarity: bool) -> bool | None:
    return None if answer is None else answer is polarity


_OBJECT_KINDS = frozenset(
    {
        Kind.BASE_MODEL, Kind.PEFT_MODEL, Kind.INJECTED_BASE, Kind.PEFT_CONFIG, Kind.TRAINER, Kind.OPTIMIZER,
        Kind.ACCELERATOR, Kind.PIPELINE, Kind.DISTRIBUTED, Kind.ARG_PARSER, Kind.NAMESPACE, Kind.INSTANCE,
        Kind.FUNCTION, Kind.CLASS, Kind.IMPORT, Kind.PARAMETERS,
    }
)  # fmt: skip


def truth_of(values: frozenset[Value]) -> bool | None:
    """Whether every value the expression can have is true (True), every one false (False), or
    either (None)."""
    answers = {_truth(value) for value in values}
    return answers.pop() if len(answers) == 1 and None not in answers else None


def may_be(value: Value, truth: bool) -> bool:
    """Whether the value can test ``truth`` (an unknown one can test either way)."""
    return _truth(value) is not (not truth)


def _truth(value: Value) -> bool | None:
    if value.kind is Kind.CONST:
        return bool(value.fact("value"))
    if value.kind is Kind.STRING:
        text = value.fact("text")
        return bool(text) if text is not None else None
    if value.kind is Kind.TUPLE:
        return bool(value.fact("items"))
    if value.kind in _OBJECT_KINDS:
        return True  # modules, configs, trainers... define neither __bool__ nor __len__
    return None


def _is_none(value: Value) -> bool | None:
    if value.kind in (Kind.UNKNOWN, Kind.SYMBOL):
        return None
    if value.kind is Kind.CONST:
        return value.fact("value") is None
    return False


def _equals(value: Value, constant: object) -> bool | None:
    if value.kind is Kind.CONST:
        return bool(value.fact("value") == constant)
    if value.kind is Kind.STRING:
        text = value.fact("text")
        return None if text is None else text == constant
    if value.kind in _OBJECT_KINDS:
        return False
    return None


def _has_attribute(value: Value, attribute: str) -> bool | None:
    if value.kind is Kind.CONST:
        return hasattr(value.fact("value"), attribute)
    if attribute == "peft_config":
        # get_peft_model copies its config onto the model it injects into, so both carry it
        if value.kind in (Kind.PEFT_MODEL, Kind.INJECTED_BASE):
            return True
        if value.kind is Kind.BASE_MODEL and not value.fact("local_module"):
            return False
    if value.kind is Kind.PEFT_MODEL and attribute in _PEFT_MODEL_ATTRIBUTES:
        return True
    if value.attr(attribute) is not None:
        return True
    return None


# What every PeftModel has (peft.PeftModel's own methods and properties), for duck-typed routing
# such as ``hasattr(model, "load_adapter")``. A PeftModel forwards other names to its base model.
_PEFT_MODEL_ATTRIBUTES = frozenset(
    {
        "active_adapter", "active_adapters", "add_adapter", "base_model", "delete_adapter", "disable_adapter",
        "get_base_model", "load_adapter", "peft_config", "print_trainable_parameters", "save_pretrained",
        "set_adapter",
    }
)  # fmt: skip


_BUILTIN_TYPES = {
    "builtins.str": (Kind.STRING,), "builtins.dict": (Kind.DICT,), "builtins.list": (Kind.LIST,),
    "builtins.tuple": (Kind.TUPLE,),
}  # fmt: skip


def _any_instance(value: Value, classes: tuple[str, ...]) -> bool | None:
    answers = [_instance(value, cls) for cls in classes]
    if True in answers:
        return True
    return False if all(answer is False for answer in answers) else None


def _instance(value: Value, cls: str) -> bool | None:
    """Whether ``value`` is an instance of ``cls`` (a canonical qualname, or ``class:<key>``)."""
    kind = value.kind
    if kind in (Kind.UNKNOWN, Kind.SYMBOL):
        return None
    if cls.startswith("class:"):
        if kind is Kind.INSTANCE or value.fact("class_key") is not None:
            mro = value.fact("mro", ())  # an object of a class of the run: its classes are known
            return (cls in mro) if mro else None
        return False if kind in (Kind.CONST, Kind.STRING, Kind.PEFT_MODEL) else None
    if names.is_peft_model_class(cls):
        if kind is Kind.PEFT_MODEL:
            return True if cls in ("peft.PeftModel", "peft.PeftMixedModel") else None
        return False if kind is not Kind.INSTANCE else None
    if cls == "torch.nn.Module":
        return True if kind in (Kind.BASE_MODEL, Kind.PEFT_MODEL, Kind.INJECTED_BASE) else None
    if cls in _BUILTIN_TYPES:
        return (
            kind in _BUILTIN_TYPES[cls] if kind in (Kind.CONST, Kind.STRING, Kind.TUPLE, Kind.LIST, Kind.DICT) else None
        )
    if kind is Kind.CONST:
        # None, a bool, a number, bytes: its class is a builtin one, known exactly; of another
        # class only through an abstract base registering it (``numbers.Number``), never of a
        # library's or the run's own class (``isinstance(adapter, os.PathLike)`` with adapter None)
        if cls.startswith("builtins."):
            target = getattr(builtins, cls[len("builtins.") :], None)
            return isinstance(value.fact("value"), target) if isinstance(target, type) else None
        return None if cls.split(".")[0] in _ABSTRACT_ROOTS else False
    return None


# modules whose classes may count a constant as an instance by registration or a subclass hook
_ABSTRACT_ROOTS = frozenset({"numbers", "collections", "typing", "typing_extensions", "abc"})


def refine(values: frozenset[Value], refinement: Refinement) -> frozenset[Value]:
    kept = (value for value in values if refinement.keep(value) is not False)
    narrow = refinement.narrow
    return frozenset(narrow(value) for value in kept) if narrow is not None else frozenset(kept)


def reads_unknown_slot(node: cst.CSTNode | None) -> bool:
    """``models[i]`` (also ``ensembles[lang][i]``): a container read by an index that is not a
    literal, so which slot is not known."""
    while isinstance(node, cst.Subscript):
        for element in node.slice:
            if not isinstance(element.slice, cst.Index) or literal(element.slice.value) is UNKNOWN_LITERAL:
                return True
        node = node.value
    return False


def rebase(text: str, old: str, new: str) -> str:
    """A condition's text with its subject's root name ``old`` read as ``new`` (``self.cfg['mode']
    == 'train'`` as ``mgr.cfg['mode'] == 'train'``); other texts unchanged."""
    if text.startswith(old) and text[len(old) : len(old) + 1] in (".", "["):
        return new + text[len(old) :]
    return text


_NOT_LITERAL = object()


def compared(operator: cst.BaseCompOp, left: Values, right: Values) -> bool | None:
    """``a == b``, ``a != b``, ``a in b``, ``a not in b`` where each side is one literal (``b`` of
    ``in`` also a string, or a list or tuple known item by item, each one literal); None else."""
    first = _literal(left)
    if first is _NOT_LITERAL:
        return None
    if isinstance(operator, (cst.Equal, cst.NotEqual)):
        second = _literal(right)
        if second is _NOT_LITERAL:
            return None
        return (first == second) == isinstance(operator, cst.Equal)
    if not isinstance(operator, (cst.In, cst.NotIn)) or len(right) != 1:
        return None
    (container,) = right
    if container.kind is Kind.STRING:
        text = container.fact("text")
        if not isinstance(text, str) or not isinstance(first, str):
            return None
        found = first in text
    elif container.kind in (Kind.LIST, Kind.TUPLE) and not container.fact("open"):
        items = [_literal(item) for item in container.fact("items", ())]
        if any(item is _NOT_LITERAL for item in items):
            return None
        found = first in items
    else:
        return None
    return found == isinstance(operator, cst.In)


def is_one_literal(values: Values) -> bool:
    return _literal(values) is not _NOT_LITERAL


def _literal(values: Values) -> object:
    """The one literal (a constant, or a string whose text is known) the values are."""
    constant = one_constant(values)
    if constant is not NO_CONSTANT:
        return constant
    text = literal_text_of(values)
    return _NOT_LITERAL if text is None else text
