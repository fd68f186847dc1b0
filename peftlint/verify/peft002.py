"""PEFT002: a module pickled with ``torch.save(model, p)`` read back as ``load_state_dict(torch.load(p))``.

The scenario pickles a module of its own into its own temporary directory (the user's files are
never unpickled) and replays the user's read-back with the default ``weights_only`` and with
``weights_only=False``.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import peft
import torch
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config
from peftlint.verify.measure import qualified_name
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome, first_line

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # torch highlights part of its message


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    kind = facts.get("saved_kind") or ("peft" if facts.get("peft_config") else "base")
    config_text = None
    module = base.module
    if kind == "peft":
        rebuilt = build_peft_config(facts, base)
        config_text = rebuilt.text
        module = peft.get_peft_model(base.fresh_copy(), rebuilt.config)
    module = submodule_of(module, str(facts.get("submodule") or ""))
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        path = Path(tmp, "model.pt")
        torch.save(module, path)
        default = replay(module, lambda: torch.load(path))
        # Safe to unpickle: the verifier wrote this file a line above; a user's file is never read.
        unsafe = replay(module, lambda: torch.load(path, weights_only=False))
    evidence = {
        "saved": f"torch.save(<{qualified_name(type(module))}>, path)",
        "peft_config": config_text,
        "default_weights_only": {"call": "model.load_state_dict(torch.load(path))", **default},
        "weights_only_false": {
            "call": "model.load_state_dict(torch.load(path, weights_only=False))",
            **unsafe,
        },
    }
    if default["exception"] and unsafe["exception"]:
        return Outcome("confirmed", confirmed_reason(default, unsafe), evidence)
    return Outcome(
        "not_reproduced",
        f"torch {torch.__version__} reads the pickled module back into load_state_dict without "
        "an error in at least one of the two ways",
        evidence,
    )


def submodule_of(model: nn.Module, name: str) -> nn.Module:
    """The module of the model the code saved (``get_input_embeddings``, ``score``), where the
    stand-in model has it; the model itself otherwise."""
    if not name:
        return model
    part = getattr(model, name, None)
    part = part() if callable(part) and not isinstance(part, nn.Module) else part
    return part if isinstance(part, nn.Module) else model


def replay(target: nn.Module, read: Callable[[], Any]) -> dict[str, str | None]:
    """``target.load_state_dict(read())``: which call raised, what, and its message."""
    try:
        loaded = read()
    except Exception as error:
        return describe("torch.load", error)
    try:
        target.load_state_dict(loaded)
    except Exception as error:
        return describe("load_state_dict", error)
    return {"raised_by": None, "exception": None, "message": None, "detail": None}


def describe(call: str, error: Exception) -> dict[str, str | None]:
    text = ANSI_ESCAPE.sub("", str(error))
    detail = next((line.strip() for line in text.splitlines() if "Unsupported global" in line), None)
    if detail:
        # Keep "Unsupported global: GLOBAL x.Y was not an allowed global by default."
        detail = detail.split(" Please use", 1)[0].removeprefix("WeightsUnpickler error: ")
    return {
        "raised_by": call,
        "exception": type(error).__name__,
        "message": first_line(Exception(text)),
        "detail": detail,
    }


def confirmed_reason(default: dict[str, str | None], unsafe: dict[str, str | None]) -> str:
    default_text = default["detail"] or default["message"]
    return (
        f"{default['raised_by']} raises {default['exception']} ({default_text}); "
        f"with weights_only=False, {unsafe['raised_by']} raises {unsafe['exception']}: "
        f"{unsafe['message']}"
    )
