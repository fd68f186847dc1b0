"""PEFT006: ``prepare_model_for_kbit_training`` on an already wrapped model freezes the adapter too.

The scenario wraps a copy of the base, counts its trainable parameters, calls
``prepare_model_for_kbit_training`` on the wrapped model (the flagged order) and counts again.
The control prepares the base first and wraps it afterwards. The base is not quantized here: the
freezing loop at the top of the function runs for every model, quantized or not.
"""

from __future__ import annotations

import warnings

import peft

from peftlint.findings import Finding
from peftlint.verify.adapters import build_peft_config
from peftlint.verify.measure import trainable_count
from peftlint.verify.models import BaseModel
from peftlint.verify.scenario import Outcome


def run(finding: Finding, base: BaseModel) -> Outcome:
    rebuilt = build_peft_config(finding.fact_map, base)

    model = peft.get_peft_model(base.fresh_copy(), rebuilt.config)
    before = trainable_count(model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies (peftlint finds it here too)
        peft.prepare_model_for_kbit_training(model)  # noqa: PEFT006
    after = trainable_count(model)

    control = trainable_count(
        peft.get_peft_model(peft.prepare_model_for_kbit_training(base.fresh_copy()), rebuilt.config)
    )
    messages = sorted({str(warning.message) for warning in caught})
    evidence = {
        "peft_config": rebuilt.text,
        "quantized": False,
        "all_params": sum(parameter.numel() for parameter in model.parameters()),
        "flagged": {
            "order": "model = get_peft_model(base, config); prepare_model_for_kbit_training(model)",
            "trainable_params_before_prepare": before,
            "trainable_params_after_prepare": after,
            "warnings": messages,
        },
        "control": {
            "order": "get_peft_model(prepare_model_for_kbit_training(base), config)",
            "trainable_params": control,
        },
    }
    if before > 0 and after == 0 and control > 0:
        return Outcome(
            "confirmed",
            f"prepare_model_for_kbit_training on the wrapped model freezes every parameter: trainable "
            f"{before:,} -> 0, with {len(messages)} warning(s); prepared before the "
            f"wrap, {control:,} stay trainable",
            evidence,
        )
    return Outcome(
        "not_reproduced",
        f"peft {peft.__version__}: trainable {before:,} -> {after:,} after preparing the wrapped model "
        "(unquantized base)",
        evidence,
    )
