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
