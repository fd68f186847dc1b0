"""PEFT010: ``get_peft_model`` applied to a model that already carries PEFT layers.

The scenario gives the first wrap a trained adapter (``get_peft_model`` plus simulated training,
or ``PeftModel.from_pretrained`` of a saved one, as the code's first wrap), wraps again with the
same config, trains and saves the second wrap and loads that save onto a fresh base. Flagged forms:
``get_peft_model(first_wrap, config)`` (a wrapped result, e.g. a loop-carried
``model = get_peft_model(model, config)``) and, when the first wrap is ``get_peft_model``,
``get_peft_model(base, config)`` on a base already passed to ``get_peft_model``. The control wraps
once, trains, saves and reloads.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import peft
import safetensors.torch
import torch
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import NOISE_STD, build_peft_config, simulate_training
from peftlint.verify.measure import clip, max_abs_diff, number, same
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

LOADERS = ("PeftModel.from_pretrained", "AutoPeftModel")
FORMS = {
    "wrapped": "second = get_peft_model(first, config)",
    "same_base": "second = get_peft_model(base, config) on the base that first wraps",
}
FIRST_WRAPS = {
    "get_peft_model": "first = get_peft_model(base, config); <training>",
    "PeftModel.from_pretrained": "first = PeftModel.from_pretrained(base, trained_adapter_dir)",
}
CONTROL_CALL = "model = get_peft_model(base, config) (once); <training>; model.save_pretrained(dir)"


@dataclass(frozen=True)
class Wrapped:
    model: peft.PeftModel
    output: torch.Tensor  # the trained (or loaded) adapter's outputs


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    first_wrap = facts.get("first_wrap") or "get_peft_model"
    loaded = first_wrap.startswith(LOADERS)
    forms = ["wrapped"] if loaded else list(FORMS)
    config = build_peft_config(facts, base, inference_mode=False)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        control = wrap_once(base, config.config, Path(tmp, "control"))
        flagged = {form: wrap_twice(base, config.config, form, loaded, Path(tmp, form)) for form in forms}
    evidence: dict[str, Any] = {
        "peft_config": config.text + " (the same config for both wraps)",
        "adapter": f"training simulated: N(0, {NOISE_STD}^2) noise added to every trainable parameter",
        "first_wrap": FIRST_WRAPS["PeftModel.from_pretrained" if loaded else "get_peft_model"],
        "flagged": flagged,
        "control": control,
    }
    for figures in flagged.values():  # only what the second wrap adds: warnings of one wrap are noise
        figures["warnings"] = [message for message in figures["warnings"] if message not in control["warnings"]]
    if control["trained_equals_base"] or not control["reload_equals_trained"]:
        return Outcome(
            "skipped",
            "inconclusive: the control (one wrap, trained, saved, reloaded) does not keep the trained outputs"
            + (f" (its reload raises {control['reload_error']})" if control["reload_error"] else ""),
            evidence,
        )
    effects = {form: effects_of(figures) for form, figures in flagged.items()}
    if not any(effects.values()):
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} keeps the first adapter and saves a loadable second one "
            f"({'; '.join(f'{form}: {summary(figures)}' for form, figures in flagged.items())})",
            evidence,
        )
    parts = [f"{FORMS[form]}: {'; '.join(found)} ({summary(flagged[form])})" for form, found in effects.items()]
    parts.append(
        f"control (one wrap): trainable {control['trainable_params']:,} of {control['all_params']:,}, "
        f"reload max |diff| {number(control['reload_max_abs_diff_vs_trained'])} vs trained"
    )
    return Outcome("confirmed", " | ".join(parts), evidence)


def wrap_once(base: BaseModel, config: peft.PeftConfig, path: Path) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    trainable, total = model.get_nb_trainable_parameters()
    simulate_training(model, seed=1)
    model.eval()
    output = forward(model, base.inputs)
    return {
        "call": CONTROL_CALL,
        "warnings": [clip(str(warning.message)) for warning in caught],
        "trainable_params": int(trainable),
        "all_params": int(total),
        "first_adapter_parameter": first_adapter_parameter(model),
        "trained_max_abs_diff_vs_base": max_abs_diff(output, base.output),
        "trained_equals_base": same(output, base.output),
        **saved_and_reloaded(model, output, base, path),
    }


def wrap_twice(base: BaseModel, config: peft.PeftConfig, form: str, loaded: bool, path: Path) -> dict[str, Any]:
    module = base.fresh_copy()
    first = first_wrap(module, base, config, loaded, path / "first")
    target = first.model if form == "wrapped" else module
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies
        second = peft.get_peft_model(target, copy.deepcopy(config))  # noqa: PEFT010
    first.model.eval()
    after = forward(first.model, base.inputs)
    trainable, total = second.get_nb_trainable_parameters()
    figures: dict[str, Any] = {
        "call": FORMS[form],
        "warnings": list(dict.fromkeys(clip(str(warning.message)) for warning in caught)),
        "trainable_params": int(trainable),
        "all_params": int(total),
        "adapters": list(second.peft_config),
        "first_adapter_parameter": first_adapter_parameter(second),
        # The first adapter's trained (or loaded) weights, measured through the first wrap.
        "first_adapter_max_abs_diff_vs_base_before": max_abs_diff(first.output, base.output),
        "first_adapter_max_abs_diff_vs_base_after": max_abs_diff(after, base.output),
        "first_adapter_max_abs_diff_before_vs_after": max_abs_diff(after, first.output),
        "first_adapter_changed": not same(after, first.output),
        "first_adapter_equals_base_after": same(after, base.output),
    }
    simulate_training(second, seed=2)
    second.eval()
    output = forward(second, base.inputs)
    figures.update(saved_and_reloaded(second, output, base, path / "second"))
    return figures


def first_wrap(module: nn.Module, base: BaseModel, config: peft.PeftConfig, loaded: bool, path: Path) -> Wrapped:
    if not loaded:
        model = peft.get_peft_model(module, copy.deepcopy(config))
        simulate_training(model, seed=1)
        model.eval()
        return Wrapped(model, forward(model, base.inputs))
    trained = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    simulate_training(trained, seed=1)
    trained.save_pretrained(str(path))
    loaded_model = peft.PeftModel.from_pretrained(module, str(path))
    return Wrapped(loaded_model, forward(loaded_model, base.inputs))


def saved_and_reloaded(model: peft.PeftModel, output: torch.Tensor, base: BaseModel, path: Path) -> dict[str, Any]:
    """``model.save_pretrained(path)``, the saved keys, and ``PeftModel.from_pretrained`` on a fresh base."""
    model.save_pretrained(str(path))
    keys = list(safetensors.torch.load_file(str(path / "adapter_model.safetensors")))
    figures: dict[str, Any] = {"saved_tensors": len(keys), "first_saved_key": keys[0] if keys else None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            reloaded = peft.PeftModel.from_pretrained(base.fresh_copy(), str(path))
        except (KeyError, RuntimeError, ValueError) as error:
            # a nested save names its modules_to_save copies (a classifier) one level deeper than a
            # fresh wrap looks for them: the load fails outright, which is the effect itself
            return {**figures, "reload_error": f"{type(error).__name__}: {clip(str(error))}",
                    "reload_warnings": [], "reload_equals_trained": False}  # fmt: skip
    reloaded_output = forward(reloaded, base.inputs)
    return {
        **figures,
        "reload_error": None,
        "reload_warnings": [clip(str(w.message)) for w in caught if "adapter keys" in str(w.message)],
        "reload_max_abs_diff_vs_trained": max_abs_diff(reloaded_output, output),
        "reload_max_abs_diff_vs_base": max_abs_diff(reloaded_output, base.output),
        "reload_equals_trained": same(reloaded_output, output),
    }


def first_adapter_parameter(model: nn.Module) -> str | None:
    return next((name for name, _ in model.named_parameters() if "lora_" in name or ".default." in name), None)


def effects_of(figures: dict[str, Any]) -> list[str]:
    found = []
    if figures["first_adapter_changed"]:
        how = "re-initialised" if figures["first_adapter_equals_base_after"] else "changed"
        found.append(
            f"the first adapter is {how}: its outputs went from max |diff| "
            f"{number(figures['first_adapter_max_abs_diff_vs_base_before'])} to "
            f"{number(figures['first_adapter_max_abs_diff_vs_base_after'])} vs base"
        )
    if figures["reload_error"]:
        found.append(
            f"the saved adapter does not load back onto a fresh base: PeftModel.from_pretrained raises "
            f"{figures['reload_error']} (keys like {figures['first_saved_key']})"
        )
    elif not figures["reload_equals_trained"]:
        found.append(
            f"the saved adapter does not load back (keys like {figures['first_saved_key']}; reloaded max |diff| "
            f"{number(figures['reload_max_abs_diff_vs_trained'])} vs trained, "
            f"{number(figures['reload_max_abs_diff_vs_base'])} vs base)"
        )
    return found


def summary(figures: dict[str, Any]) -> str:
    return (
        f"trainable {figures['trainable_params']:,} of {figures['all_params']:,}, "
        f"adapters {figures['adapters']}, {len(figures['warnings'])} peft warnings"
    )
