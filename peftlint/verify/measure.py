"""The measurements scenario modules share: outputs compared, parameters counted, saved tensors listed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import peft
import torch
from safetensors import safe_open
from torch import nn

RTOL, ATOL = 1e-4, 1e-5  # float32 noise of identical computations stays far below these
WARNING_LIMIT = 200  # peft's missing-keys warning lists every key; the start says enough
ADAPTER_NAME = "default"  # peft's adapter name when the code gives none
LEARNING_RATE = 1e-3


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=RTOL, atol=ATOL)


def max_abs_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max())


def comparison(output: torch.Tensor, base: torch.Tensor, trained: torch.Tensor) -> dict[str, Any]:
    return {
        "max_abs_diff_vs_base": max_abs_diff(output, base),
        "max_abs_diff_vs_trained": max_abs_diff(output, trained),
        "equals_base": same(output, base),
        "equals_trained": same(output, trained),
    }


def number(value: float) -> str:
    return f"{value:.3g}"


def clip(message: str) -> str:
    return message if len(message) <= WARNING_LIMIT else message[: WARNING_LIMIT - 1] + "…"


def qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def seeded_peft_model(module: nn.Module, config: peft.PeftConfig, seed: int) -> peft.PeftModel:
    """``get_peft_model`` with the same adapter initialisation in every run (lora_A draws from the global
    generator)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return peft.get_peft_model(module, config)


def trainable_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def training_loss(model: nn.Module, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
    """A scalar loss from the model's main output: enough to drive one backward pass."""
    output = model(**inputs)
    if not isinstance(output, torch.Tensor):
        logits = getattr(output, "logits", None)
        output = logits if logits is not None else output[0]
    return output.float().pow(2).mean()


def saved_tensor_names(directory: Path) -> list[str]:
    """The tensor names in a saved directory's safetensors files (shards too; no tensor is loaded)."""
    names: list[str] = []
    for path in sorted(directory.glob("*.safetensors")):
        with safe_open(str(path), framework="pt") as handle:
            names.extend(handle.keys())
    return names
