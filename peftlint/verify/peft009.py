"""PEFT009: an adapter state dict loaded with ``load_state_dict(sd, strict=False)`` is dropped.

The scenario trains an adapter, takes its state dict both ways the code can (from
``get_peft_model_state_dict`` and from the saved ``adapter_model.safetensors``), loads it the
flagged way into a fresh ``get_peft_model`` wrapper and the correct way with
``set_peft_model_state_dict``, and compares keys and outputs.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from pathlib import Path
from typing import Any

import peft
import safetensors.torch
import torch

from peftlint.findings import Finding
from peftlint.verify.adapters import NOISE_STD, build_peft_config, simulate_training
from peftlint.verify.measure import ADAPTER_NAME, clip, comparison, max_abs_diff, number, same
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

SOURCES = {
    "get_peft_model_state_dict": "sd = get_peft_model_state_dict(trained)",
    "file": 'sd = safetensors.torch.load_file("adapter_model.safetensors")',
    "load_peft_weights": "sd = load_peft_weights(adapter_dir)",
}
FLAGGED_CALL = "fresh.load_state_dict(sd, strict=False)"
CORRECT_CALL = "set_peft_model_state_dict(fresh, sd)"


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    source = facts.get("state_dict_source")
    sources = [source] if source in SOURCES else list(SOURCES)
    # The adapter is trained in the code (its state dict is what gets loaded), so it is trainable here.
    config = build_peft_config(facts, base, inference_mode=False)
    trained = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config.config))
    simulate_training(trained, seed=1)
    trained.eval()
    trained_output = forward(trained, base.inputs)
    state_dicts = {"get_peft_model_state_dict": peft.get_peft_model_state_dict(trained)}
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        trained.save_pretrained(tmp)
        state_dicts["file"] = safetensors.torch.load_file(str(Path(tmp, "adapter_model.safetensors")))
        state_dicts["load_peft_weights"] = peft.load_peft_weights(tmp)
    flagged = {name: load_non_strict(base, config.config, state_dicts[name], trained_output) for name in sources}
    control = {name: load_correctly(base, config.config, state_dicts[name], trained_output) for name in sources}
    evidence: dict[str, Any] = {
        "peft_config": config.text,
        "adapter": f"training simulated: N(0, {NOISE_STD}^2) noise added to every trainable parameter",
        "trained_max_abs_diff_vs_base": max_abs_diff(trained_output, base.output),
        "state_dict_sources": {name: SOURCES[name] for name in sources},
        "flagged": flagged,
        "control": control,
    }
    if same(trained_output, base.output):
        return Outcome("skipped", "inconclusive: the simulated training did not change the outputs", evidence)
    broken = [name for name in sources if not control[name]["equals_trained"]]
    if broken:
        return Outcome(
            "skipped",
            f"inconclusive: {CORRECT_CALL} does not reproduce the trained outputs for {', '.join(broken)}",
            evidence,
        )
    dropped = [name for name in sources if dropped_all(flagged[name])]
    if len(dropped) < len(sources):
        kept = ", ".join(name for name in sources if name not in dropped)
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__}: {FLAGGED_CALL} loads the adapter state dict ({kept})",
            evidence,
        )
    return Outcome("confirmed", confirmed_reason(flagged, control), evidence)


def dropped_all(figures: dict[str, Any]) -> bool:
    return figures["loaded_keys"] == 0 and not figures["equals_trained"]


def load_non_strict(
    base: BaseModel, config: peft.PeftConfig, state_dict: dict[str, torch.Tensor], trained: torch.Tensor
) -> dict[str, Any]:
    fresh = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies
        result = fresh.load_state_dict(state_dict, strict=False)
    fresh.eval()
    output = forward(fresh, base.inputs)
    unexpected = list(result.unexpected_keys)
    adapter_names = [name for name, _ in fresh.named_parameters() if f".{ADAPTER_NAME}." in name]
    return {
        "call": FLAGGED_CALL,
        "state_dict_keys": len(state_dict),
        "unexpected_keys": len(unexpected),
        "loaded_keys": len(state_dict) - len(unexpected),
        "missing_keys": len(result.missing_keys),
        "missing_adapter_keys": sum(1 for key in result.missing_keys if key in adapter_names),
        "first_unexpected_key": unexpected[0] if unexpected else None,
        "where_it_belongs": where_it_belongs(unexpected[0], adapter_names) if unexpected else None,
        "warnings": [clip(str(warning.message)) for warning in caught],
        **comparison(output, base.output, trained),
    }


def load_correctly(
    base: BaseModel, config: peft.PeftConfig, state_dict: dict[str, torch.Tensor], trained: torch.Tensor
) -> dict[str, Any]:
    fresh = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    result = peft.set_peft_model_state_dict(fresh, state_dict)
    fresh.eval()
    output = forward(fresh, base.inputs)
    return {
        "call": CORRECT_CALL,
        "state_dict_keys": len(state_dict),
        "unexpected_keys": len(result.unexpected_keys),  # type: ignore[attr-defined]  # peft's annotation is bare
        **comparison(output, base.output, trained),
    }


def where_it_belongs(key: str, adapter_names: list[str]) -> str | None:
    """The wrapper's parameter a saved key is meant for: the same name without the adapter segments."""
    plain = {
        name.replace(f".modules_to_save.{ADAPTER_NAME}.", ".").replace(f".{ADAPTER_NAME}.", "."): name
        for name in adapter_names
    }
    return plain.get(key)


def confirmed_reason(flagged: dict[str, dict[str, Any]], control: dict[str, dict[str, Any]]) -> str:
    parts = []
    for name, figures in flagged.items():
        outputs = "equal the base's" if figures["equals_base"] else "are not the trained ones"
        parts.append(
            f"sd from {name}: {figures['unexpected_keys']} of {figures['state_dict_keys']} keys unexpected, "
            f"{len(figures['warnings'])} warnings, outputs {outputs} "
            f"(max |diff| {number(figures['max_abs_diff_vs_base'])} vs base, "
            f"{number(figures['max_abs_diff_vs_trained'])} vs trained)"
        )
    example = next(iter(flagged.values()))
    parts.append(f"e.g. {example['first_unexpected_key']} belongs at {example['where_it_belongs']}")
    correct = ", ".join(number(figures["max_abs_diff_vs_trained"]) for figures in control.values())
    parts.append(f"control {CORRECT_CALL} gives the trained outputs (max |diff| {correct})")
    return f"{FLAGGED_CALL} silently drops the adapter: " + "; ".join(parts)
