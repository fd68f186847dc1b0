"""PEFT012: ``pm.disable_adapter()`` called bare: peft's is a context manager, nothing is disabled.

The scenario trains an adapter, calls ``pm.disable_adapter()`` as an expression statement and runs
a forward (flagged), then runs the forward inside ``with pm.disable_adapter():`` (control) and once
more after the block.
"""

from __future__ import annotations

import copy
import warnings
from typing import Any

import peft

from peftlint.findings import Finding
from peftlint.verify.adapters import NOISE_STD, build_peft_config, simulate_training
from peftlint.verify.measure import clip, max_abs_diff, number, qualified_name, same
from peftlint.verify.models import BaseModel, forward
from peftlint.verify.scenario import Outcome

FLAGGED_CALL = "pm.disable_adapter(); pm(**inputs)"
CORRECT_CALL = "with pm.disable_adapter(): pm(**inputs)"


def run(finding: Finding, base: BaseModel) -> Outcome:
    config = build_peft_config(finding.fact_map, base, inference_mode=False)
    model = peft.get_peft_model(base.fresh_copy(), copy.deepcopy(config.config))
    simulate_training(model, seed=1)
    model.eval()
    trained = forward(model, base.inputs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # deliberate: the scenario reproduces the mistake it verifies
        model.disable_adapter()  # noqa: PEFT012
    bare = forward(model, base.inputs)
    returned = type(model.disable_adapter())  # what the bare call gave back (never entered either)
    with model.disable_adapter():
        disabled = forward(model, base.inputs)
    after = forward(model, base.inputs)
    evidence: dict[str, Any] = {
        "peft_config": config.text,
        "adapter": f"training simulated: N(0, {NOISE_STD}^2) noise added to every trainable parameter",
        "trained_max_abs_diff_vs_base": max_abs_diff(trained, base.output),
        "flagged": {
            "call": FLAGGED_CALL,
            "returned": qualified_name(returned),
            "warnings": [clip(str(warning.message)) for warning in caught],
            "max_abs_diff_vs_base": max_abs_diff(bare, base.output),
            "max_abs_diff_vs_trained": max_abs_diff(bare, trained),
            "equals_base": same(bare, base.output),
            "equals_trained": same(bare, trained),
        },
        "control": {
            "call": CORRECT_CALL,
            "max_abs_diff_vs_base": max_abs_diff(disabled, base.output),
            "max_abs_diff_vs_trained": max_abs_diff(disabled, trained),
            "equals_base": same(disabled, base.output),
            "after_block_max_abs_diff_vs_trained": max_abs_diff(after, trained),
        },
    }
    if same(trained, base.output):
        return Outcome("skipped", "inconclusive: the simulated training did not change the outputs", evidence)
    flagged, control = evidence["flagged"], evidence["control"]
    if not control["equals_base"]:
        return Outcome("skipped", f"inconclusive: {CORRECT_CALL} does not give the base outputs", evidence)
    if flagged["equals_base"]:
        return Outcome("not_reproduced", f"peft {peft.__version__}: the bare call disables the adapter", evidence)
    return Outcome(
        "confirmed",
        f"the bare call returns a {flagged['returned']} that is never entered, {len(flagged['warnings'])} warnings; "
        f"the adapter stays active: outputs max |diff| {number(flagged['max_abs_diff_vs_base'])} vs base, "
        f"{number(flagged['max_abs_diff_vs_trained'])} vs trained; control `{CORRECT_CALL}`: "
        f"max |diff| {number(control['max_abs_diff_vs_base'])} vs base",
        evidence,
    )
