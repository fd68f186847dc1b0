"""Which defs are analysed on their own (analysis/reach.py): only those that can reach a call
some rule needs; the others are never parsed by libcst. Skipping must never lose a finding:
every case here is linted with the pruning on and off, and both must report the same thing."""

from __future__ import annotations

import textwrap

import pytest

from peftlint import lint_source
from peftlint.analysis.frames import ModuleScope
from peftlint.analysis.interpreter import Interpreter
from peftlint.analysis.prescreen import parse_python, screen
from peftlint.analysis.project import Project
from peftlint.analysis.reach import Reach
from peftlint.analysis.units import Source
from peftlint.rules import all_rules

HEADER = "from peft import LoraConfig, PeftModel, get_peft_model\nfrom transformers import AutoModelForCausalLM\n"

CASES = {
    "nested-def": (
        """
        def outer(base):
            def inner(model, path):
                return PeftModel.from_pretrained(model, path)  # expect
            return inner(get_peft_model(base, LoraConfig()), "out")
        """
    ),
    "helper-chain": (
        """
        def load(model, path):
            return PeftModel.from_pretrained(model, path)  # expect
        def middle(model):
            return load(model, "out")
        def top():
            model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig())
            return middle(model)
        """
    ),
    "method-by-name": (
        """
        class Runner:
            def __init__(self):
                self.model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig())
            def resume(self):
                return self._load("out")
            def _load(self, path):
                return PeftModel.from_pretrained(self.model, path)  # expect
        """
    ),
    "annotated-parameter-and-aliased-helper": (
        """
        def helper(model, path):
            return PeftModel.from_pretrained(model, path)  # expect
        def main(model: PeftModel):
            f = helper
            return f(model, "out")
        """
    ),
    "loop-re-walk": (
        """
        def train(base, paths):
            model = get_peft_model(base, LoraConfig())
            for path in paths:
                for _ in range(3):
                    model = PeftModel.from_pretrained(model, path)  # expect
        """
    ),
}


def _source(body: str) -> str:
    return HEADER + textwrap.dedent(body)


def _expected_lines(source: str) -> list[int]:
    return [number for number, line in enumerate(source.splitlines(), start=1) if line.endswith("# expect")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_findings_reached_through_calls_are_kept(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = _source(CASES[name])
    pruned = [(f.code, f.start.line) for f in lint_source(source, f"{name}.py").findings]
    assert pruned == [("PEFT001", line) for line in _expected_lines(source)]
    monkeypatch.setattr("peftlint.analysis.reach.Reach.unit_reaches", lambda self, unit: True)
    monkeypatch.setattr("peftlint.analysis.reach.Reach.node_reaches", lambda self, node, parsed: True)
    assert [(f.code, f.start.line) for f in lint_source(source, f"{name}.py").findings] == pruned


def test_functions_that_cannot_reach_a_rule_call_are_not_parsed() -> None:
    source = _source(
        """
        def unrelated(x):
            return print(len(x))
        def chain_without_trigger():
            return unrelated([1])
        def reaches():
            return helper()
        def helper():
            return PeftModel.from_pretrained(None, "out")
        """
    )
    screened = screen(parse_python(source), source.splitlines())
    triggers = frozenset().union(*(rule.triggers() for rule in all_rules()))
    parsed = Source("<test>", source, screened.units)
    Interpreter(Project(), lambda site: None, Reach(screened, triggers)).run(ModuleScope("<test>", parsed, "__main__"))
    walked = {unit.unit.name for unit in parsed.parsed_units() if unit.unit is not None and unit.unit.name}
    assert walked == {"reaches", "helper"}  # unrelated() and its caller were never parsed
    everything = Source("<test>", source, screened.units)
    Interpreter(Project(), lambda site: None, None).run(ModuleScope("<test>", everything, "__main__"))
    assert {unit.unit.name for unit in everything.parsed_units() if unit.unit and unit.unit.name} == {
        "unrelated",
        "chain_without_trigger",
        "reaches",
        "helper",
    }


# The bytes stage and the pre-screen must keep every file a rule can report in: each spelling of
# an import from peft keeps a peft rule's file; a docstring's mention does not.
@pytest.mark.parametrize(
    ("header", "wanted"),
    [
        ("from peft import get_peft_model", True),
        ("from peft.mapping import get_peft_model", True),
        ("import peft", True),
        ("import torch, peft", True),
        ("import peft as p", True),
        ("from unsloth import FastLanguageModel", True),
        ("def f():\n    from  peft import get_peft_model", True),
        ('"""Wrap the model with get_peft_model from the peft library."""', False),
        ("import peft_utils", False),
    ],
)
def test_peft_rules_want_files_that_import_peft(header: str, wanted: bool) -> None:
    from peftlint.rules.base import Tokens

    rule = next(r for r in all_rules() if r.code == "PEFT010")
    text = f"{header}\nmodel = get_peft_model(model, config)\nmodel = get_peft_model(model, config)\n"
    assert rule.wants(Tokens(text.encode())) is wanted
    lint = lint_source(text)
    if not wanted:  # what the bytes stage drops, the pre-screen would have dropped too
        assert not [f for f in lint.findings if f.code == "PEFT010"]


@pytest.mark.parametrize(
    ("call", "non_strict"),
    [
        ("model.load_state_dict(sd)", False),
        ("model.load_state_dict(sd, strict=True)", False),
        ("model.load_state_dict(sd, True)", False),
        ("model.load_state_dict(sd, strict=False)", True),
        ("model.load_state_dict(sd, False)", True),
        ("model.load_state_dict(sd, strict=STRICT)", True),
        ("model.load_state_dict(sd, **options)", True),
        ("model.load_state_dict(*args)", True),
        ("restore = model.load_state_dict", True),
        ("partial(model.load_state_dict, strict=False)", True),
    ],
)
def test_screen_tells_strict_loads(call: str, non_strict: bool) -> None:
    assert screen(parse_python(call), [call]).loads_non_strict is non_strict


@pytest.mark.parametrize(
    ("call", "whole"),
    [
        ("torch.save(model, path)", True),
        ("torch.save(model, f=path)", True),
        ("torch.save(obj=model, f=path)", True),
        ("torch.save(*args)", True),
        ("torch.save(model.state_dict(), path)", False),
        ("torch.save({'model': model.state_dict()}, path)", False),
        ("card.save(path)", False),  # torch.save needs the file: a one-argument save is another save
        ("tokenizer.model.save(save_directory, name=prefix)", False),
    ],
)
def test_screen_tells_saves_of_whole_objects(call: str, whole: bool) -> None:
    assert screen(parse_python(call), [call]).saves_whole is whole
