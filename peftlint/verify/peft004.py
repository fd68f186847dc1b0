"""PEFT004: a bare ``x.merge_and_unload()`` / ``x.unload()`` leaves ``x`` a PeftModel that saves nothing.

The scenario trains an adapter, calls the method and drops its result (the flagged form), then saves
``x`` and counts the tensors in the adapter file. Controls: the same adapter saved before the call
(what the adapter holds) and the result rebound, ``x = x.merge_and_unload()``, saved and reloaded.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import peft
import transformers
from torch import nn

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config, simulate_training
from peftlint.verify.measure import max_abs_diff, same, saved_tensor_names, seeded_peft_model
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

METHODS = ("merge_and_unload", "unload")
SEED = 1


def run(finding: Finding, base: BaseModel) -> Outcome:
    facts = finding.fact_map
    method = str(facts["method"]) if facts.get("method") in METHODS else METHODS[0]
    rebuilt = build_peft_config(facts, base, inference_mode=False)
    with tempfile.TemporaryDirectory(prefix="peftlint-verify-") as tmp:
        model = trained_model(base, rebuilt.config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(model, method)()  # the flagged form: the result is dropped
            model.save_pretrained(str(Path(tmp, "flagged")))
        flagged: dict[str, Any] = {
            "call": f"x.{method}(); x.save_pretrained(dir)",
            "type_after_call": type(model).__name__,
            "still_peft_model": isinstance(model, peft.PeftModel),
            "saved_tensors": len(saved_tensor_names(Path(tmp, "flagged"))),
            "warnings": sorted({str(warning.message) for warning in caught}),
        }
        control = corrected(base, rebuilt.config, method, Path(tmp))
    evidence = {
        "peft_config": rebuilt.text,
        "method": method,
        "saved_after_in_code": facts.get("saved_after"),
        "flagged": flagged,
        "control": control,
    }
    before = control["saved_before_call"]["saved_tensors"]
    rebound = control["rebound"]
    if flagged["still_peft_model"] and flagged["saved_tensors"] == 0 and before > 0 and not rebound["still_peft_model"]:
        saved = ""
        if "saved_tensors" in rebound:
            equal = "equal" if rebound["reloaded_equal"] else "differ from"
            saved = (
                f", whose save_pretrained writes {rebound['saved_tensors']} tensors that reload to "
                f"outputs that {equal} the {rebound['reloaded_compared_with']} model's"
            )
        return Outcome(
            "confirmed",
            f"after a bare x.{method}(), x is still a {flagged['type_after_call']} and x.save_pretrained() "
            f"writes an adapter file with 0 tensors and {len(flagged['warnings'])} warning(s); the same "
            f"adapter saved before the call holds {before} tensors, and x = x.{method}() gives a "
            f"{rebound['type']}{saved}",
            evidence,
        )
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: after a bare x.{method}() x is a {flagged['type_after_call']} and its "
        f"saved adapter holds {flagged['saved_tensors']} tensors",
        evidence,
    )


def trained_model(base: BaseModel, config: peft.PeftConfig) -> peft.PeftModel:
    """The same trained adapter on every call, so the controls save what the flagged form dropped."""
    model = seeded_peft_model(base.fresh_copy(), config, SEED)
    simulate_training(model, seed=SEED)
    return model.eval()


def corrected(base: BaseModel, config: peft.PeftConfig, method: str, tmp: Path) -> dict[str, Any]:
    model = trained_model(base, config)
    trained_output = forward(model, base.inputs)
    model.save_pretrained(str(tmp / "before"))
    result: nn.Module = getattr(model, method)()
    rebound: dict[str, Any] = {
        "call": f"x = x.{method}()",
        "type": type(result).__name__,
        "still_peft_model": isinstance(result, peft.PeftModel),
    }
    if isinstance(result, transformers.PreTrainedModel):
        # The corrected save writes the whole model; reloading it shows what the save carries.
        result.save_pretrained(str(tmp / "rebound"))
        rebound["saved_tensors"] = len(saved_tensor_names(tmp / "rebound"))
        reloaded = type(result).from_pretrained(str(tmp / "rebound")).eval()
        output = forward(reloaded, base.inputs)
        # merge_and_unload keeps the training in the weights; unload drops it by design.
        merged = method == "merge_and_unload"
        expected = trained_output if merged else base.output
        rebound["reloaded_compared_with"] = "trained" if merged else "base"
        rebound["reloaded_max_abs_diff"] = max_abs_diff(output, expected)
        rebound["reloaded_equal"] = same(output, expected)
    return {
        "saved_before_call": {
            "call": "x.save_pretrained(dir) before the call",
            "saved_tensors": len(saved_tensor_names(tmp / "before")),
        },
        "rebound": rebound,
    }
