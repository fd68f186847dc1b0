"""What the registry says some library calls do, checked on the real libraries (no mocks): if
accelerate or transformers change behaviour, a test here says so.

- ``accelerator.save(obj, f)`` is ``torch.save`` (a pickle, which PEFT002 pairs with a
  ``load_state_dict(torch.load(f))``) unless ``safe_serialization=True``, which writes tensors only;
- ``HfArgumentParser(types).parse_args_into_dataclasses()`` gives one instance per dataclass, each
  field its default when the command line says nothing (PEFT002 reads paths from those defaults).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
accelerate = pytest.importorskip("accelerate")
transformers = pytest.importorskip("transformers")


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)


def test_accelerator_save_pickles_the_whole_module_by_default(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    accelerate.Accelerator(cpu=True).save(Tiny(), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # torch >= 2.6 refuses to unpickle a module by default
    loaded = torch.load(path, weights_only=False)
    assert isinstance(loaded, torch.nn.Module)
    with pytest.raises(TypeError):
        Tiny().load_state_dict(loaded)  # what PEFT002 reports


def test_accelerator_save_with_safe_serialization_writes_no_pickle(tmp_path: Path) -> None:
    path = tmp_path / "model.safetensors"
    accelerate.Accelerator(cpu=True).save(Tiny().state_dict(), path, safe_serialization=True)
    from safetensors.torch import load_file

    assert set(load_file(path)) == {"linear.weight", "linear.bias"}


@dataclass
class RunArguments:
    snapshot_dir: str = field(default="snapshots")
    restore: bool = field(default=True)


def test_hf_argument_parser_gives_each_dataclass_its_defaults() -> None:
    parser = transformers.HfArgumentParser((RunArguments,))
    (parsed,) = parser.parse_args_into_dataclasses(args=[])
    assert parsed == RunArguments()
    (given,) = parser.parse_args_into_dataclasses(args=["--snapshot_dir", "elsewhere"])
    assert given.snapshot_dir == "elsewhere"  # the command line can say otherwise: not a constant


def test_delete_adapter_on_the_wrapper_empties_the_base_it_injected_into() -> None:
    """PEFT010 stays silent on ``draft = get_peft_model(base, c1); draft.delete_adapter("default");
    get_peft_model(base, c2)``: the wrapper's adapter lived in LoRA layers injected into ``base``
    itself, deleting it empties those shared layers, and the second wrap adds its adapter to them.
    Nothing stacks or nests: the parameter names are those of a fresh wrap."""
    peft = pytest.importorskip("peft")

    def tiny() -> torch.nn.Module:
        config = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100)
        return transformers.GPT2LMHeadModel(config)

    def lora() -> object:
        return peft.LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True)

    base = tiny()
    draft = peft.get_peft_model(base, lora())
    draft.delete_adapter("default")
    assert not any("lora_" in name for name, _ in base.named_parameters())  # gone from the base too
    again = peft.get_peft_model(base, lora())
    fresh = peft.get_peft_model(tiny(), lora())
    assert [n for n, _ in again.named_parameters()] == [n for n, _ in fresh.named_parameters()]
    assert not any("base_layer.base_layer" in name for name, _ in again.named_parameters())


def test_a_frozen_load_around_a_trainable_adapter_leaves_it_trainable(tmp_path: Path) -> None:
    """PEFT003 stays silent on ``PeftModel.from_pretrained(policy, dir)`` (no ``is_trainable``)
    when ``policy`` was itself loaded with ``is_trainable=True``: the nested load freezes only its
    own adapter, the inner one keeps training (PEFT001 reports the nesting). Around an inner
    adapter loaded frozen too, nothing is trainable, as PEFT003 says. And a LoRA PeftModel's
    ``base_model`` is its tuner, which holds the LoRA layers (PEFT001 reports a load onto it)."""
    peft = pytest.importorskip("peft")

    def tiny() -> torch.nn.Module:
        config = transformers.GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100)
        return transformers.GPT2LMHeadModel(config)

    lora = peft.LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True)
    peft.get_peft_model(tiny(), lora).save_pretrained(str(tmp_path))

    def trainable(model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters() if p.requires_grad)

    with pytest.warns(UserWarning):  # peft warns of the nesting ("Already found a `peft_config`")
        policy = peft.PeftModel.from_pretrained(tiny(), str(tmp_path), is_trainable=True, adapter_name="policy")
        nested = peft.PeftModel.from_pretrained(policy, str(tmp_path), adapter_name="reference")
        assert trainable(nested) == trainable(policy) > 0
        frozen = peft.PeftModel.from_pretrained(tiny(), str(tmp_path), adapter_name="policy")
        assert trainable(peft.PeftModel.from_pretrained(frozen, str(tmp_path), adapter_name="reference")) == 0
    wrapper = peft.get_peft_model(tiny(), lora)
    assert type(wrapper.base_model).__name__ == "LoraModel"
    assert any("lora_" in name for name, _ in wrapper.base_model.named_parameters())
