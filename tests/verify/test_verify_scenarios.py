"""The runtime verifier on real torch/transformers/peft models (no mocks).

One ``verify_findings`` run over every finding below is shared by the tests, as the CLI would run
it, so gpt2 is built once and reused by the PEFT001 and PEFT002 findings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from synthetic import finding

from peftlint.verify import Verdict, VerifyOptions, verify_available, verify_findings

SEED_CONFIG = {"task_type": "CAUSAL_LM", "inference_mode": False, "r": 8, "lora_alpha": 32, "lora_dropout": 0.1}
LINEAR_CONFIG = {"r": 4, "lora_alpha": 16, "target_modules": ["linear"]}


FINDINGS = {
    "gpt2": finding(
        "PEFT001",
        model_id="gpt2",
        model_class="transformers.AutoModelForCausalLM",
        peft_config=SEED_CONFIG,
        peft_config_class="LoraConfig",
        wrapped_by="get_peft_model",
    ),
    "linear": finding(
        "PEFT001",
        model_class="LinearModel",
        local_module=True,
        peft_config=LINEAR_CONFIG,
        peft_config_class="LoraConfig",
        wrapped_by="get_peft_model",
    ),
    "linear_loop": finding(
        "PEFT001",
        model_class="LinearModel",
        local_module=True,
        peft_config=LINEAR_CONFIG,
        peft_config_class="LoraConfig",
        wrapped_by="PeftModel.from_pretrained",
    ),
    "unknown_id": finding(
        "PEFT001",
        model_id="acme/internal-llm-7b",
        model_class="transformers.AutoModelForCausalLM",
        peft_config={"task_type": "CAUSAL_LM", "r": 8, "target_modules": ["q_proj", "v_proj"]},
        peft_config_class="LoraConfig",
        wrapped_by="get_peft_model",
    ),
    "pickled_peft": finding(
        "PEFT002",
        path="infer.py",
        model_id="gpt2",
        model_class="transformers.AutoModelForCausalLM",
        peft_config=SEED_CONFIG,
        peft_config_class="LoraConfig",
        saved_kind="peft",
    ),
    "pickled_base": finding("PEFT002", model_class="LinearModel", local_module=True, saved_kind="base"),
    "no_scenario": finding("PEFT100"),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, Verdict]:
    results = verify_findings(list(FINDINGS.values()), VerifyOptions())
    return dict(zip(FINDINGS, results, strict=True))  # one verdict per finding, in order


def test_verify_extra_is_available() -> None:
    assert verify_available() is None


def test_gpt2_seed_figures(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["gpt2"]
    evidence = verdict.evidence
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith("gpt2: AutoModelForCausalLM from transformers.GPT2Config()")
    assert (evidence["trainable_params"], evidence["all_params"]) == (294_912, 124_734_720)
    assert "trainable 294,912 of 124,734,720" in verdict.reason
    assert evidence["flagged_load"]["equals_base"] and not evidence["flagged_load"]["equals_trained"]
    assert evidence["correct_load"]["equals_trained"] and not evidence["correct_load"]["equals_base"]
    assert evidence["first_differing_parameter_names"] == [
        "base_model.model.base_model.model.transformer.wte.weight",
        "base_model.model.transformer.wte.weight",
    ]
    assert evidence["first_differing_adapter_parameter_names"] == [
        "base_model.model.base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight",
        "base_model.model.transformer.h.0.attn.c_attn.lora_A.default.weight",
    ]
    assert set(verdict.versions) == {"torch", "transformers", "peft"}


def test_linear_model_seed_demo(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["linear"]
    evidence = verdict.evidence
    outputs = evidence["first_output_value"]
    assert verdict.status == "confirmed", verdict.reason
    assert "stand-in for LinearModel" in verdict.model and "linear (10->1)" in verdict.model
    # Method 1 gives the original model's output, method 2 the trained one.
    assert outputs["flagged_load"] == pytest.approx(outputs["base"], abs=1e-6)
    assert outputs["correct_load"] == pytest.approx(outputs["trained"], abs=1e-6)
    assert outputs["trained"] != pytest.approx(outputs["base"], abs=1e-3)
    assert evidence["flagged_load"]["max_abs_diff_vs_base"] <= 1e-6
    assert evidence["correct_load"]["max_abs_diff_vs_trained"] <= 1e-6
    assert evidence["first_differing_parameter_names"] == [
        "base_model.model.base_model.model.linear.base_layer.weight",
        "base_model.model.linear.base_layer.weight",
    ]
    assert (evidence["trainable_params"], evidence["all_params"]) == (44, 55)  # 4*10 + 1*4 of 55


def test_peft_warnings_are_quoted(verdicts: dict[str, Verdict]) -> None:
    warnings = verdicts["linear"].evidence["peft_warnings"]
    assert any(w.startswith("Already found a `peft_config` attribute in the model.") for w in warnings)
    assert any(w.startswith("Found missing adapter keys while loading the checkpoint") for w in warnings)


def test_rebinding_loop_loses_the_last_checkpoint(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["linear_loop"]
    flagged = verdict.evidence["flagged_load"]
    assert verdict.status == "confirmed", verdict.reason
    assert flagged["call"].startswith("PeftModel.from_pretrained(PeftModel.from_pretrained(")
    assert not flagged["equals_trained"]
    assert flagged["max_abs_diff_vs_earlier_checkpoint"] > 1e-3


def test_unknown_model_id_uses_embedded_default(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["unknown_id"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model.startswith("embedded default: tiny AutoModelForCausalLM from transformers.LlamaConfig(")
    assert "'acme/internal-llm-7b' is neither a local model nor a known id" in verdict.model
    assert verdict.evidence["all_params"] < 1_000_000


def test_pickled_peft_model_raises_both_errors(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["pickled_peft"]
    default = verdict.evidence["default_weights_only"]
    unsafe = verdict.evidence["weights_only_false"]
    assert verdict.status == "confirmed", verdict.reason
    assert (default["raised_by"], default["exception"]) == ("torch.load", "UnpicklingError")
    assert default["message"].startswith("Weights only load failed.")
    assert default["detail"].startswith("Unsupported global: GLOBAL peft.peft_model.PeftModelForCausalLM")
    assert (unsafe["raised_by"], unsafe["exception"]) == ("load_state_dict", "TypeError")
    assert (
        unsafe["message"] == "Expected state_dict to be dict-like, got <class 'peft.peft_model.PeftModelForCausalLM'>."
    )
    assert verdict.model.startswith("gpt2:")


def test_pickled_plain_module_raises_both_errors(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["pickled_base"]
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.evidence["default_weights_only"]["exception"] == "UnpicklingError"
    assert verdict.evidence["weights_only_false"]["message"].startswith("Expected state_dict to be dict-like")


def test_code_without_scenario_is_skipped(verdicts: dict[str, Verdict]) -> None:
    verdict = verdicts["no_scenario"]
    assert (verdict.status, verdict.reason) == ("skipped", "no runtime scenario for PEFT100")


def test_verdicts_serialise_and_summarise_on_one_line(verdicts: dict[str, Verdict]) -> None:
    for verdict in verdicts.values():
        payload = json.loads(json.dumps(verdict.to_json()))
        assert set(payload) == {"status", "reason", "model", "versions", "evidence", "seconds"}
        assert payload["status"] in {"confirmed", "not_reproduced", "skipped"}
        assert "\n" not in verdict.summary() and verdict.summary().startswith(verdict.status)


def test_local_directory_with_config_is_loaded(tmp_path: Path) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=128)).save_pretrained(tmp_path / "base")
    local = finding(
        "PEFT001",
        path=str(tmp_path / "train.py"),
        model_id="./base",
        model_class="transformers.AutoModelForCausalLM",
        peft_config={"task_type": "CAUSAL_LM", "r": 4},
        local_dirs=["./lora_model", "./base"],
    )
    (verdict,) = verify_findings([local], VerifyOptions(progress=False))
    assert verdict.status == "confirmed", verdict.reason
    assert verdict.model == f"{tmp_path / 'base'}: config.json and safetensors weights from the local directory"


def test_progress_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    verify_findings([finding("PEFT100"), finding("PEFT999")], VerifyOptions())
    captured = capsys.readouterr()
    assert "verifying findings" in captured.err and captured.out == ""


def test_unloadable_verify_model_is_skipped() -> None:
    (verdict,) = verify_findings([FINDINGS["linear"]], VerifyOptions(model="/nonexistent/model-dir", progress=False))
    assert verdict.status == "skipped"
    assert verdict.reason.startswith("--verify-model /nonexistent/model-dir cannot be loaded offline")


def test_flagged_load_that_applies_the_adapter_is_not_reproduced() -> None:
    from peftlint.verify.models import BaseModel, StandIn
    from peftlint.verify.peft001 import Loaded, TrainedAdapter, judge

    base = BaseModel(StandIn(["linear"]).eval(), substitute=True)
    trained = TrainedAdapter(Path("adapter"), base.output + 1.0, trainable_params=44, all_params=55)
    applied = Loaded(trained.output.clone(), names=[], warnings=[])
    outcome = judge(base, [trained], flagged=applied, correct=applied, evidence={})
    assert outcome.status == "not_reproduced"
    assert "applies the adapter" in outcome.reason
