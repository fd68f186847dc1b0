"""PEFT013: every parameter of a PEFT-wrapped model made trainable.

The scenario wraps the base, makes every parameter trainable the code's way (a loop setting
``p.requires_grad = True``, or ``model.requires_grad_(True)``), runs one backward pass and saves
the adapter (flagged); the control does the same with the loop guarded by ``"lora_" in name``.
Figures: trainable parameters, the AdamW state they need, base tensors that get a gradient (an
optimizer step updates them), and how much of what is trained ``save_pretrained`` keeps.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peft
import safetensors.torch
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config, simulate_training
from peftlint.verify.measure import training_loss
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome

ADAMW_MOMENTS = 2  # exp_avg and exp_avg_sq, each the size of its parameter


def unfreeze_in_loop(model: nn.Module) -> None:
    # deliberate: the scenario reproduces the mistake it verifies
    for parameter in model.parameters():
        parameter.requires_grad = True  # noqa: PEFT013


def unfreeze_whole_model(model: nn.Module) -> None:
    model.requires_grad_(True)  # noqa: PEFT013 - deliberate: the mistake the scenario verifies


def unfreeze_adapter_only(model: nn.Module) -> None:
    for name, parameter in model.named_parameters():
        if "lora_" in name:
            parameter.requires_grad = True


FORMS: dict[str, tuple[str, Callable[[nn.Module], None]]] = {
    "loop": ("for p in model.parameters(): p.requires_grad = True", unfreeze_in_loop),
    "whole_model": ("model.requires_grad_(True)", unfreeze_whole_model),
}
CONTROL = ('for name, p in model.named_parameters(): if "lora_" in name: p.requires_grad = True', unfreeze_adapter_only)


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    form = facts.get("form")
    forms = [form] if form in FORMS else list(FORMS)
    config = build_peft_config(facts, base, inference_mode=False)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        flagged = {name: measure(base, config.config, FORMS[name], Path(tmp, name)) for name in forms}
        control = measure(base, config.config, CONTROL, Path(tmp, "control"))
    evidence: dict[str, Any] = {
        "peft_config": config.text,
        "backward": "one backward pass of mean(output ** 2), after simulated adapter training",
        "flagged": flagged,
        "control": control,
    }
    if control["newly_trainable_params"] or control["base_tensors_with_gradient"]:
        return Outcome("skipped", "inconclusive: the guarded control trains base parameters too", evidence)
    if control["trainable_params"] == 0:
        return Outcome("skipped", "inconclusive: the control has no trainable parameter", evidence)
    unfrozen = {name: figures for name, figures in flagged.items() if figures["newly_trainable_params"]}
    if len(unfrozen) < len(flagged):
        return Outcome(
            "not_reproduced",
            f"peft {peft.__version__} keeps the base frozen after "
            + ", ".join(flagged[name]["call"] for name in flagged if name not in unfrozen),
            evidence,
        )
    parts = [
        f"{figures['call']}: trainable {figures['trainable_params']:,} of {figures['all_params']:,} params "
        f"(AdamW state {mebibytes(figures['adamw_state_bytes'])}), {figures['base_tensors_with_gradient']} base "
        f"tensors get a gradient, save_pretrained keeps {figures['saved_params']:,} "
        f"of the {figures['trainable_params']:,} trained params"
        for figures in flagged.values()
    ]
    parts.append(
        f"control (guarded): trainable {control['trainable_params']:,} of {control['all_params']:,} "
        f"(AdamW state {mebibytes(control['adamw_state_bytes'])}), {control['base_tensors_with_gradient']} base "
        f"tensors get a gradient, {control['saved_params']:,} params saved"
    )
    return Outcome("confirmed", "full fine-tuning under a LoRA wrapper: " + "; ".join(parts), evidence)


def measure(
    base: BaseModel, config: peft.PeftConfig, form: tuple[str, Callable[[nn.Module], None]], path: Path
) -> dict[str, Any]:
    call, unfreeze = form
    model = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config))
    adapter = {name for name, parameter in model.named_parameters() if parameter.requires_grad}
    simulate_training(model, seed=1)  # a fresh lora_B == 0 would leave lora_A without a gradient
    unfreeze(model)
    model.eval()  # no dropout: the gradients are deterministic
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    with_gradient = gradient_names(model, base)
    model.save_pretrained(str(path))
    saved = safetensors.torch.load_file(str(path / "adapter_model.safetensors"))
    return {
        "call": call,
        "trainable_params": sum(p.numel() for _, p in trainable),
        "all_params": sum(p.numel() for p in model.parameters()),
        "trainable_tensors": len(trainable),
        "adapter_params": sum(p.numel() for name, p in trainable if name in adapter),
        "newly_trainable_params": sum(p.numel() for name, p in trainable if name not in adapter),
        "adamw_state_bytes": ADAMW_MOMENTS * sum(p.numel() * p.element_size() for _, p in trainable),
        "base_tensors_with_gradient": sum(1 for name in with_gradient if name not in adapter),
        "adapter_tensors_with_gradient": sum(1 for name in with_gradient if name in adapter),
        "saved_tensors": len(saved),
        "saved_params": sum(tensor.numel() for tensor in saved.values()),
    }


def gradient_names(model: nn.Module, base: BaseModel) -> list[str]:
    """Parameters one backward pass gives a nonzero gradient: those an optimizer step updates."""
    training_loss(model, base.inputs).backward()
    return [
        name
        for name, parameter in model.named_parameters()
        if parameter.grad is not None and bool(parameter.grad.abs().max() > 0)
    ]


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.3g} MiB"
