"""PEFT015: the base ``b`` used after ``pm = get_peft_model(b, ...)`` carries the adapter (in place).

The scenario wraps ``b`` (with ``get_peft_model``, or ``PeftModel.from_pretrained`` when the code
does), makes the adapter non-trivial, and compares ``b``'s outputs with the wrapper's and the original
base's; for ``b.save_pretrained`` it also saves ``b`` and reloads it as a plain model. The control wraps
``copy.deepcopy(b)`` instead, so ``b`` stays the plain base.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import peft
import transformers
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config, simulate_training
from peftlint.verify.measure import max_abs_diff, same, seeded_peft_model
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

USE_CALLS = {"forward": "b(...)", "generate": "b.generate(...)", "save_pretrained": "b.save_pretrained(dir)"}
SEED = 1


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    use = str(facts["use"]) if facts.get("use") in USE_CALLS else "forward"
    from_pretrained = facts.get("wrapped_by") == "PeftModel.from_pretrained"
    rebuilt = build_peft_config(facts, base, inference_mode=False)
    wrap = "PeftModel.from_pretrained(b, adapter_dir)" if from_pretrained else "get_peft_model(b, config)"
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        adapter = Path(tmp, "adapter")
        if from_pretrained:
            trained = seeded_peft_model(base.fresh_copy(), rebuilt.config, SEED)
            simulate_training(trained, SEED)
            trained.save_pretrained(str(adapter))
        flagged_base = base.fresh_copy()
        flagged = figures(flagged_base, wrapped(flagged_base, rebuilt.config, adapter, from_pretrained), base)
        control_base = base.fresh_copy()
        control_model = wrapped(copy.deepcopy(control_base), rebuilt.config, adapter, from_pretrained)
        control = figures(control_base, control_model, base)
        for name, b, found in (("flagged", flagged_base, flagged), ("control", control_base, control)):
            if use == "save_pretrained" and isinstance(b, transformers.PreTrainedModel):
                found.update(reload_figures(b, Path(tmp, name), base))
    evidence: dict[str, Any] = {
        "peft_config": rebuilt.text,
        "use": use,
        "flagged": {"code": f"pm = {wrap}; {USE_CALLS[use]}", **flagged},
        "control": {"code": f"pm = {wrap.replace('(b,', '(copy.deepcopy(b),')}; {USE_CALLS[use]}", **control},
    }
    if use == "generate":
        evidence["note"] = "b.generate decodes from the logits compared here"
    elif use == "save_pretrained" and "reload_missing_keys" not in flagged:
        evidence["note"] = f"a {type(base.module).__name__} has no save_pretrained: only the outputs are compared"
    shows = flagged["b_equals_peft_model"] and not flagged["b_equals_original_base"]
    control_clean = control["b_equals_original_base"] and not control["b_equals_peft_model"]
    if use == "save_pretrained" and "reload_missing_keys" in flagged:
        shows = shows and flagged["reload_missing_keys"] > 0 and not flagged["reload_equals_original_base"]
        control_clean = control_clean and control["reload_missing_keys"] == 0 and control["reload_equals_original_base"]
    if shows and control_clean:
        return Outcome("confirmed", confirmed_reason(flagged, control), evidence)
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: after the wrap b's outputs differ from the PEFT model's by "
        f"{flagged['b_max_abs_diff_vs_peft_model']:.3g} and from the original base's by "
        f"{flagged['b_max_abs_diff_vs_original_base']:.3g}",
        evidence,
    )


def wrapped(module: nn.Module, config: peft.PeftConfig, adapter: Path, from_pretrained: bool) -> nn.Module:
    if from_pretrained:
        return peft.PeftModel.from_pretrained(module, str(adapter))
    model = seeded_peft_model(module, config, SEED)
    simulate_training(model, SEED)
    return model.eval()


def figures(b: nn.Module, model: nn.Module, base: BaseModel) -> dict[str, Any]:
    b_output, model_output = forward(b, base.inputs), forward(model, base.inputs)
    return {
        "b_max_abs_diff_vs_peft_model": max_abs_diff(b_output, model_output),
        "b_max_abs_diff_vs_original_base": max_abs_diff(b_output, base.output),
        "b_equals_peft_model": same(b_output, model_output),
        "b_equals_original_base": same(b_output, base.output),
        "peft_model_equals_original_base": same(model_output, base.output),
        "lora_layers_in_b": sum(1 for name, _ in b.named_modules() if name.endswith(".lora_A")),
    }


def reload_figures(b: transformers.PreTrainedModel, path: Path, base: BaseModel) -> dict[str, Any]:
    """``b.save_pretrained(dir)`` then a plain ``from_pretrained(dir)``: what comes back."""
    b.save_pretrained(str(path))
    loaded: Any = type(b).from_pretrained(str(path), output_loading_info=True)  # (model, loading info)
    reloaded, info = loaded
    output = forward(reloaded.eval(), base.inputs)
    return {
        "reload_missing_keys": len(info["missing_keys"]),
        "reload_unexpected_keys": len(info["unexpected_keys"]),
        "reload_first_missing_key": sorted(info["missing_keys"])[0] if info["missing_keys"] else None,
        "reload_max_abs_diff_vs_original_base": max_abs_diff(output, base.output),
        "reload_equals_original_base": same(output, base.output),
    }


def confirmed_reason(flagged: dict[str, Any], control: dict[str, Any]) -> str:
    parts = [
        f"after the wrap b carries {flagged['lora_layers_in_b']} LoRA layer(s): its outputs equal the PEFT "
        f"model's (max |diff| {flagged['b_max_abs_diff_vs_peft_model']:.3g}), not the original base's "
        f"(max |diff| {flagged['b_max_abs_diff_vs_original_base']:.3g})"
    ]
    if "reload_missing_keys" in flagged:
        parts.append(
            f"b.save_pretrained reloads with {flagged['reload_missing_keys']} newly initialised weights and "
            f"{flagged['reload_unexpected_keys']} dropped ones (max |diff| vs the original base "
            f"{flagged['reload_max_abs_diff_vs_original_base']:.3g})"
        )
    parts.append(
        f"wrapping copy.deepcopy(b) leaves b equal to the original base "
        f"(max |diff| {control['b_max_abs_diff_vs_original_base']:.3g})"
    )
    return "; ".join(parts)
