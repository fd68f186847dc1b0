"""PEFT001: an adapter loaded onto a model that already carries PEFT layers is silently unused
(or, where peft saved modules beside the adapter, a task's head or ``modules_to_save``, the load
raises ``KeyError``: the nested wrapper looks for them one level too deep).

The scenario saves a trained adapter, then loads it the flagged way (onto ``get_peft_model(base)``,
or onto an earlier ``PeftModel.from_pretrained`` result when the code rebinds in a loop) and the
correct way (onto a fresh copy of the base), and compares outputs and parameter names.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peft
import torch
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import NOISE_STD, build_peft_config, simulate_training
from peftlint.verify.measure import ADAPTER_NAME, ATOL, RTOL, clip, comparison, max_abs_diff, number, same
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome, first_line

FLAGGED_CALLS = {
    False: "PeftModel.from_pretrained(get_peft_model(copy_of_base, config), adapter_dir)",
    True: "PeftModel.from_pretrained(PeftModel.from_pretrained(copy_of_base, earlier_dir), adapter_dir)",
}
# onto the wrapper's ``base_model``, its tuner (a ``LoraModel``), taken for an unwrapped model
ONTO_TUNER = "PeftModel.from_pretrained(get_peft_model(copy_of_base, config).base_model, adapter_dir)"
CORRECT_CALL = "PeftModel.from_pretrained(copy_of_base, adapter_dir)"


@dataclass(frozen=True)
class TrainedAdapter:
    path: Path
    output: torch.Tensor
    trainable_params: int
    all_params: int


@dataclass(frozen=True)
class Loaded:
    output: torch.Tensor
    names: list[str]
    warnings: list[str]


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    rebinds = facts.get("wrapped_by") == "PeftModel.from_pretrained"
    config = build_peft_config(facts, base)
    # The adapter is trained in the code, so its parameters are trainable there (and perturbable here).
    training_config = build_peft_config(facts, base, inference_mode=False)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        seeds = (1, 2) if rebinds else (1,)
        adapters = [train_adapter(base, training_config.config, seed, Path(tmp, f"adapter-{seed}")) for seed in seeds]
        trained = adapters[-1]
        if rebinds:
            holder = peft.PeftModel.from_pretrained(base.fresh_copy(), adapters[0].path)
        else:
            holder = peft.get_peft_model(base.fresh_copy(), config.config)
            if facts.get("tuner"):
                holder = holder.base_model
        try:
            flagged = load_onto(holder, trained.path, base)
        except Exception as error:  # a peft that refuses the mistake no longer fails silently
            saved_beside = sorted(getattr(holder, "modules_to_save", None) or ())
            if isinstance(error, KeyError) and saved_beside:
                # What the finding's message says for a config that saves modules beside the
                # adapter (a task's head, ``modules_to_save``): the nested wrapper looks for them
                # one level too deep.
                correct = load_onto(base.fresh_copy(), trained.path, base)
                if not same(correct.output, trained.output):
                    return Outcome(
                        "skipped",
                        "inconclusive: the flagged load raises KeyError, but even loading onto a fresh base "
                        "does not reproduce the trained outputs",
                        {"peft_config": config.text, "modules_to_save": saved_beside},
                    )
                return Outcome(
                    "confirmed",
                    f"the flagged load fails: peft {peft.__version__} raises KeyError: {first_line(error)} "
                    f"(the adapter saved {', '.join(saved_beside)} beside its weights, and the nested "
                    "wrapper looks for them one level too deep); loading onto a fresh base reproduces the "
                    f"trained outputs (max |diff| {number(max_abs_diff(correct.output, trained.output))})",
                    {
                        "peft_config": config.text,
                        "modules_to_save": saved_beside,
                        "flagged_load": {"call": flagged_call(facts), "raises": f"KeyError: {first_line(error)}"},
                        "correct_load": {
                            "call": CORRECT_CALL,
                            **comparison(correct.output, base.output, trained.output),
                        },
                    },
                )
            return Outcome(
                "not_reproduced",
                f"peft {peft.__version__} raises on the flagged load instead of ignoring the adapter: "
                f"{type(error).__name__}: {first_line(error)}",
                {"peft_config": config.text, "flagged_load": {"call": flagged_call(facts)}},
            )
        correct = load_onto(base.fresh_copy(), trained.path, base)
    evidence = gather_evidence(base, adapters, flagged, correct, config.text, rebinds)
    evidence["flagged_load"]["call"] = flagged_call(facts)
    return judge(base, adapters, flagged, correct, evidence)


def flagged_call(facts: dict[str, Any]) -> str:
    if facts.get("tuner") and facts.get("wrapped_by") != "PeftModel.from_pretrained":
        return ONTO_TUNER
    return FLAGGED_CALLS[facts.get("wrapped_by") == "PeftModel.from_pretrained"]


def train_adapter(base: BaseModel, config: peft.PeftConfig, seed: int, path: Path) -> TrainedAdapter:
    model = peft.get_peft_model(base.fresh_copy(), config)
    simulate_training(model, seed)
    trainable, total = model.get_nb_trainable_parameters()
    model.save_pretrained(str(path))
    model.eval()
    return TrainedAdapter(path, forward(model, base.inputs), int(trainable), int(total))


def load_onto(model: nn.Module, adapter: Path, base: BaseModel) -> Loaded:
    """``PeftModel.from_pretrained(model, adapter)``, recording the warnings it emits."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies (peftlint finds it here too)
        loaded = peft.PeftModel.from_pretrained(model, str(adapter))  # noqa: PEFT001
    messages = list(dict.fromkeys(str(warning.message) for warning in caught))
    names = [name for name, _ in loaded.named_parameters()]
    return Loaded(forward(loaded, base.inputs), names, messages)


def gather_evidence(
    base: BaseModel,
    adapters: list[TrainedAdapter],
    flagged: Loaded,
    correct: Loaded,
    config_text: str,
    rebinds: bool,
) -> dict[str, Any]:
    trained = adapters[-1]
    flagged_load = comparison(flagged.output, base.output, trained.output)
    if rebinds:
        flagged_load["max_abs_diff_vs_earlier_checkpoint"] = max_abs_diff(flagged.output, adapters[0].output)
    return {
        "peft_config": config_text,
        "adapter": f"training simulated: N(0, {NOISE_STD}^2) noise added to every trainable "
        "parameter (a fresh LoRA has lora_B == 0)",
        "trainable_params": trained.trainable_params,
        "all_params": trained.all_params,
        "trained_max_abs_diff_vs_base": max_abs_diff(trained.output, base.output),
        "flagged_load": {"call": FLAGGED_CALLS[rebinds], **flagged_load},
        "correct_load": {
            "call": CORRECT_CALL,
            **comparison(correct.output, base.output, trained.output),
        },
        "first_output_value": {
            "base": first_value(base.output),
            "trained": first_value(trained.output),
            "flagged_load": first_value(flagged.output),
            "correct_load": first_value(correct.output),
        },
        "first_differing_parameter_names": first_difference(flagged.names, correct.names),
        # Where the saved adapter weights should have landed, and where peft looked for them.
        "first_differing_adapter_parameter_names": first_difference(
            adapter_names(flagged.names), adapter_names(correct.names)
        ),
        # Only what the mistake adds: warnings the correct load emits too are noise.
        "peft_warnings": [clip(message) for message in flagged.warnings if message not in correct.warnings],
        "equal_means": f"torch.allclose(a, b, rtol={RTOL}, atol={ATOL})",
    }


def judge(
    base: BaseModel,
    adapters: list[TrainedAdapter],
    flagged: Loaded,
    correct: Loaded,
    evidence: dict[str, Any],
) -> Outcome:
    trained = adapters[-1]
    if same(trained.output, base.output):
        return Outcome("skipped", "inconclusive: the simulated training did not change the outputs", evidence)
    if not same(correct.output, trained.output):
        return Outcome(
            "skipped",
            "inconclusive: even loading onto a fresh base does not reproduce the trained outputs "
            f"(max |diff| {number(max_abs_diff(correct.output, trained.output))})",
            evidence,
        )
    if same(flagged.output, trained.output):
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} applies the adapter despite the PEFT layers already present: "
            f"the flagged load equals the trained outputs "
            f"(max |diff| {number(max_abs_diff(flagged.output, trained.output))})",
            evidence,
        )
    return Outcome("confirmed", confirmed_reason(base, adapters, flagged, correct, evidence), evidence)


def confirmed_reason(
    base: BaseModel,
    adapters: list[TrainedAdapter],
    flagged: Loaded,
    correct: Loaded,
    evidence: dict[str, Any],
) -> str:
    trained = adapters[-1]
    vs_base = f"max |diff| {number(max_abs_diff(flagged.output, base.output))}"
    vs_trained = f"max |diff| {number(max_abs_diff(flagged.output, trained.output))}"
    if same(flagged.output, base.output):
        outputs = f"equal the base model's ({vs_base}), not the trained adapter's ({vs_trained})"
    elif len(adapters) > 1 and same(flagged.output, adapters[0].output):
        outputs = f"equal the earlier checkpoint's, not the trained adapter's ({vs_trained})"
    else:
        outputs = f"equal neither the base model's ({vs_base}) nor the trained adapter's ({vs_trained})"
    parts = [
        f"the flagged load ignores the trained adapter: its outputs {outputs}",
        "loading onto a fresh base reproduces the trained outputs "
        f"(max |diff| {number(max_abs_diff(correct.output, trained.output))})",
    ]
    names = evidence["first_differing_parameter_names"]
    if names:
        parts.append(f"parameter names {names[0]} vs {names[1]}")
    parts.append(f"trainable {trained.trainable_params:,} of {trained.all_params:,} params")
    parts.append(f"{len(evidence['peft_warnings'])} peft warning(s)")
    return "; ".join(parts)


def first_value(output: torch.Tensor) -> float:
    return float(output.flatten()[0])


def first_difference(flagged: list[str], correct: list[str]) -> list[str | None] | None:
    """The first position where the two parameter-name lists disagree, as [flagged, correct]."""
    for index in range(max(len(flagged), len(correct))):
        left = flagged[index] if index < len(flagged) else None
        right = correct[index] if index < len(correct) else None
        if left != right:
            return [left, right]
    return None


def adapter_names(names: list[str]) -> list[str]:
    return [name for name in names if f".{ADAPTER_NAME}." in name]
