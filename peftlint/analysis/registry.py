"""What the ecosystem's APIs do to a model, as data.

Each ``Api`` names a library call (a function or class by its canonical qualified name, see
names.py, or a method on values of given kinds), the ``fact`` rules know it by, its arguments by
role (position and keyword), and its ``effect``: the verb the interpreter (effects.py) carries
out. Rules declare the facts they report at; their prefilter tokens and the calls Reach follows
come from these entries, so a rule cannot be pruned by a screen it forgot to declare.

Adding an API is adding an entry here. A verb the interpreter does not have yet is added once in
effects.py, never as an if-ladder in the walker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from peftlint.analysis import names
from peftlint.analysis.values import MODEL_KINDS, Kind

if TYPE_CHECKING:
    from peftlint.analysis.prescreen import Screen

Role = tuple[int | None, str | None]  # (position, keyword) of an argument
ANY = frozenset(Kind)  # a method recognised on any receiver, an unknown one included


@dataclass(frozen=True)
class Api:
    fact: str  # what rules know the call by: "peft.get_peft_model", "torch.save"...
    effect: str  # the verb effects.py carries out
    functions: tuple[str, ...] = ()  # canonical qualnames; a trailing "*" matches a prefix
    match: Callable[[str], bool] | None = None  # or a predicate on the canonical qualname...
    calls: tuple[str, ...] = ()  # ...and the names such calls are made by (``f`` of ``x.f(...)``)
    methods: tuple[str, ...] = ()  # method names...
    receivers: frozenset[Kind] = frozenset()  # ...on receivers of these kinds
    roles: tuple[tuple[str, Role], ...] = ()
    kind: Kind | None = None  # what "new" makes
    tokens: tuple[tuple[bytes, ...], ...] = ()  # every group must occur in a file that can make this call
    note: str = ""  # said of the call's location in related notes
    # On the pre-screen's call shapes, whether a file can make this call; by default, some call
    # has one of its names.
    screen: Callable[[Screen], bool] | None = None

    def occurs_in(self, screened: Screen) -> bool:
        return self.screen(screened) if self.screen is not None else screened.calls_named(self.call_names)

    def role(self, name: str) -> Role | None:
        return next((where for role, where in self.roles if role == name), None)

    @property
    def call_names(self) -> frozenset[str]:
        """The ``f`` of ``f(...)`` or ``x.f(...)`` for this API (what Reach looks for); a wildcard's
        (``torch.optim.*``) are its ``calls``."""
        found = {qualname.rsplit(".", 1)[-1] for qualname in self.functions if not qualname.endswith("*")}
        return frozenset(found | set(self.methods) | set(self.calls))


MODEL = frozenset(MODEL_KINDS)
PEFT = frozenset({Kind.PEFT_MODEL})
_ACCELERATOR = frozenset({Kind.ACCELERATOR})  # accelerate's Accelerator, Lightning's Fabric
_MODEL_OR_WRAPPER = MODEL | {Kind.DISTRIBUTED}  # a DDP/DataParallel/FSDP wrapper's parameters are its module's


def _is_model_loader(qualname: str) -> bool:
    """``AutoModelForCausalLM.from_pretrained``, ``GPT2LMHeadModel.from_config``, ``._from_config``
    (what ``from_config`` calls, used directly), diffusers' ``ControlNetModel.from_unet(unet)``..."""
    owner, _, method = qualname.rpartition(".")
    return method in _MODEL_LOADERS and names.is_model_class(owner)


_MODEL_LOADERS = ("from_pretrained", "from_config", "_from_config", "from_single_file", "from_unet")


def _is_config_loader(qualname: str) -> bool:
    owner, _, method = qualname.rpartition(".")
    return method == "from_pretrained" and names.is_peft_config_class(owner)


def _is_adapter_loader(qualname: str) -> bool:
    return names.peft_adapter_loader(qualname) is not None


def _is_auto_peft_loader(qualname: str) -> bool:
    owner, _, method = qualname.rpartition(".")
    return method == "from_pretrained" and names.is_auto_peft_class(owner)


def _is_trainer(qualname: str) -> bool:
    root, _, leaf = qualname.partition(".")
    return root in ("transformers", "trl") and "." not in leaf and leaf.endswith("Trainer")


def _is_pipeline_loader(qualname: str) -> bool:
    owner, _, method = qualname.rpartition(".")
    return owner.startswith("diffusers.") and owner.endswith("Pipeline") and method == "from_pretrained"


_FABRIC = ("lightning.Fabric", "lightning.fabric.Fabric", "lightning_fabric.Fabric", "lightning.fabric.fabric.Fabric")
UNSLOTH_LOADERS = ("FastLanguageModel", "FastModel", "FastVisionModel")
_PEFT_TOKENS = ((b"peft", b"Peft"),)
# what ``load_state_dict`` may be given from a file or an adapter: bytes, then the calls' names
_STATE_DICT_TOKENS = (b"load(", b"torch.load", b"load_file", b"get_peft_model_state_dict", b"load_peft_weights")
_STATE_DICT_MAKERS = frozenset({"load", "load_file", "get_peft_model_state_dict", "load_peft_weights", "partial"})
PEFT_TOKENS = _PEFT_TOKENS
# Where SageMaker puts a training job's model: ``SM_MODEL_DIR`` while it trains, and the folder
# the inference toolkit passes to a handler's ``model_fn(model_dir)``
SAGEMAKER_MODEL_DIR = "/opt/ml/model"
# An import from peft (or unsloth, whose FastLanguageModel.get_peft_model wraps with peft), as the
# bytes stage of the pre-screen's ``peft_names``/``unsloth`` can see it: ``from peft.x import``,
# ``import peft``, ``import torch, peft``. A docstring that mentions peft does not match.
PEFT_IMPORT = re.compile(rb"\b(?:from|import)[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*(?:peft|unsloth)\b")
# What a file that makes a model carry PEFT layers itself must contain (the bytes stage of
# rules.base.makes_peft_models)
PEFT_MAKER_TOKENS = (
    (b"get_peft_model", b"PeftModel", b"PeftMixedModel", b"AutoPeftModel", b"inject_adapter_in_model", b"peft_config"),
)
# Calls that make a model carry PEFT layers: a helper of another module that makes one is worth
# following from a file that mentions no peft name itself (``from modeling import load_policy``;
# ``PeftModel.from_pretrained(...)`` counts through PEFT001's ``from_pretrained``; a task's
# ``PeftModelForCausalLM(model, config)`` as much as ``PeftModel(model, config)``)
# A model's own modules, by method or attribute (a task's head, the embeddings): an nn.Module each
# (``torch.save(model.get_input_embeddings(), f)`` pickles that module whole)
SUBMODULE_METHODS = ("get_input_embeddings", "get_output_embeddings", "get_encoder", "get_decoder")
PEFT_HELPER_CALLS = frozenset(
    {"get_peft_model", "inject_adapter_in_model", *(c.rsplit(".", 1)[-1] for c in names.PEFT_MODEL_CLASSES)}
)
_TORCH = (b"torch",)

APIS: tuple[Api, ...] = (
    # ---- peft
    Api(
        "peft.get_peft_model", "wrap",
        # unsloth's FastLanguageModel.get_peft_model(model, r=16, ...) wraps the model with peft's
        functions=("peft.get_peft_model", *(f"unsloth.{c}.get_peft_model" for c in UNSLOTH_LOADERS)),
        roles=(("model", (0, "model")), ("config", (1, "peft_config"))),
        tokens=((b"get_peft_model",),), note="get_peft_model",
    ),
    Api(
        "peft.PeftModel", "wrap", match=names.is_peft_model_class, calls=("PeftModel", "PeftMixedModel"),
        roles=(("model", (0, "model")), ("config", (1, "peft_config"))),
        tokens=((b"PeftModel", b"PeftMixedModel"),),
    ),
    Api(
        "peft.load_adapter_model", "wrap", match=_is_adapter_loader, calls=("from_pretrained",),
        screen=lambda screened: screened.peft_method("from_pretrained"),
        roles=(("model", (0, "model")), ("path", (1, "model_id")), ("is_trainable", (3, "is_trainable"))),
        tokens=((b"PeftModel", b"PeftMixedModel"), (b"from_pretrained",)),
    ),
    Api(
        "peft.auto_load", "new", match=_is_auto_peft_loader, kind=Kind.PEFT_MODEL, calls=("from_pretrained",),
        roles=(("path", (0, "pretrained_model_name_or_path")), ("is_trainable", (2, "is_trainable"))),
        tokens=((b"AutoPeftModel",),),
    ),
    Api(
        "peft.inject_adapter_in_model", "inject", functions=("peft.inject_adapter_in_model",),
        roles=(("config", (0, "peft_config")), ("model", (1, "model"))), tokens=((b"inject_adapter_in_model",),),
    ),
    Api(
        "peft.prepare_model_for_kbit_training", "same", functions=("peft.prepare_model_for_kbit_training",),
        roles=(("model", (0, "model")),), tokens=((b"prepare_model_for_kbit_training",),),
    ),
    Api(
        "peft.config", "config", match=names.is_peft_config_class, kind=Kind.PEFT_CONFIG, tokens=_PEFT_TOKENS,
        calls=("LoraConfig",), screen=lambda screened: screened.peft_call(lambda name: name.endswith("Config")),
    ),
    Api(
        "peft.config_from_pretrained", "new", match=_is_config_loader, kind=Kind.PEFT_CONFIG,
        calls=("from_pretrained",), roles=(("path", (0, "pretrained_model_name_or_path")),), tokens=_PEFT_TOKENS,
    ),
    Api(
        "peft.get_peft_model_state_dict", "new", functions=("peft.get_peft_model_state_dict",),
        kind=Kind.STATE_DICT, roles=(("model", (0, "model")),), tokens=((b"get_peft_model_state_dict",),),
    ),  # and the adapter file of a directory, read as saved (``load_peft_weights(adapter_dir)``):
    Api("peft.load_peft_weights", "new", functions=("peft.load_peft_weights",), kind=Kind.STATE_DICT),
    Api("peft.merge_and_unload", "merge", methods=("merge_and_unload", "unload"), receivers=PEFT),
    Api(
        "peft.load_adapter", "load_adapter", methods=("load_adapter",), receivers=PEFT,
        roles=(("path", (0, "model_id")), ("adapter_name", (1, "adapter_name"))),
    ),
    Api(
        "peft.set_adapter", "set_adapter", methods=("set_adapter", "enable_adapter_layers"), receivers=MODEL,
        roles=(("adapter_name", (0, "adapter_name")),),
    ),
    Api(
        "peft.add_weighted_adapter", "add_weighted_adapter", methods=("add_weighted_adapter",), receivers=PEFT,
        roles=(("adapters", (0, "adapters")),),
    ),
    Api("peft.disable_adapter", "disable_adapter", methods=("disable_adapter",), receivers=PEFT),
    Api("peft.delete_adapter", "delete_adapter", methods=("delete_adapter", "delete_adapters"), receivers=MODEL),
    Api("peft.get_base_model", "base_of", methods=("get_base_model",), receivers=PEFT),
    # ---- models
    Api(
        "model.load", "new", match=_is_model_loader, kind=Kind.BASE_MODEL,
        calls=_MODEL_LOADERS,
        roles=(("path", (0, "pretrained_model_name_or_path")),), tokens=((b"from_pretrained", b"from_config"),),
    ),
    Api("model.create", "new", match=names.is_model_class, kind=Kind.BASE_MODEL),
    Api(
        "model.same", "same",
        methods=(
            "to", "cuda", "cpu", "eval", "train", "half", "float", "double", "bfloat16", "to_empty",
        ),
        receivers=MODEL,
    ),
    Api(
        "model.requires_grad", "requires_grad", methods=("requires_grad_",), receivers=MODEL,
        roles=(("requires_grad", (0, "requires_grad")),),
    ),
    Api("model.generate", "output", methods=("generate",), receivers=MODEL),
    # calling a model value itself (``model(**batch)``): the interpreter names such calls this fact
    # (a file can make one wherever it injects adapters into a model it may call afterwards)
    Api(
        "model.forward", "forward", tokens=_PEFT_TOKENS,
        screen=lambda screened: screened.calls_named(frozenset({"get_peft_model", "inject_adapter_in_model"}))
        or screened.peft_method("from_pretrained"),
    ),
    Api("model.state_dict", "state_dict", methods=("state_dict",), receivers=MODEL),
    Api("model.submodule", "submodule", methods=SUBMODULE_METHODS, receivers=MODEL),
    Api("model.parameters", "parameters", methods=("parameters", "named_parameters"), receivers=_MODEL_OR_WRAPPER),
    Api(
        "model.load_state_dict", "none", methods=("load_state_dict",), receivers=ANY,
        roles=(("state_dict", (0, "state_dict")), ("strict", (1, "strict"))),
        # a torch.load (called, or handed to functools.partial), a safetensors load or
        # get_peft_model_state_dict somewhere feeds it; a plain ``load_state_dict(f)`` is a
        # function of its own (a bound method kept in a variable was taken as ``x.load_state_dict``)
        tokens=((b"load_state_dict",), _STATE_DICT_TOKENS),
        screen=lambda screened: screened.calls_method("load_state_dict") and screened.calls_named(_STATE_DICT_MAKERS),
    ),
    Api("model.save_pretrained", "none", methods=("save_pretrained", "push_to_hub"), receivers=MODEL),
    # ---- torch
    Api(
        "torch.save", "torch_save", functions=("torch.save",), roles=(("obj", (0, "obj")), ("path", (1, "f"))),
        tokens=((b"save(",), _TORCH), screen=lambda screened: screened.saves_whole,
    ),
    # ``accelerator.save(obj, f)`` is torch.save unless ``safe_serialization=True`` (safetensors)
    Api(
        "torch.save", "none", methods=("save",), receivers=frozenset({Kind.ACCELERATOR}),
        roles=(("obj", (0, "obj")), ("path", (1, "f")), ("safe", (2, "safe_serialization"))),
        tokens=((b"save(",), (b"ccelerat",)), screen=lambda screened: screened.saves_whole,
    ),
    Api(
        "torch.load", "torch_load", functions=("torch.load",), roles=(("path", (0, "f")),),
        tokens=(_TORCH, (b"load",)),
    ),
    Api("torch.compile", "same", functions=("torch.compile",), roles=(("model", (0, "model")),)),
    Api(
        "torch.distributed", "distributed",
        functions=(
            "torch.nn.parallel.DistributedDataParallel", "torch.nn.DataParallel", "torch.nn.parallel.DataParallel",
            "torch.distributed.fsdp.FullyShardedDataParallel",
        ),
        roles=(("model", (0, "module")),),
    ),
    # ``engine, optimizer, loader, scheduler = deepspeed.initialize(args=args, model=model, ...)``
    Api(
        "deepspeed.initialize", "deepspeed_engine", functions=("deepspeed.initialize",),
        roles=(("model", (1, "model")),),
    ),
    # an average of the model's weights over training, kept in a deep copy of it as ``.module``
    Api(
        "torch.averaged_model", "averaged",
        functions=(
            "torch.optim.swa_utils.AveragedModel", "timm.utils.ModelEma", "timm.utils.ModelEmaV2",
            "timm.utils.ModelEmaV3", "timm.utils.model_ema.ModelEmaV2", "timm.utils.model_ema.ModelEmaV3",
        ),
        roles=(("model", (0, "model")),),
    ),
    Api(
        "torch.optimizer", "new",
        functions=(
            "torch.optim.*", "bitsandbytes.optim.*", "transformers.AdamW", "transformers.Adafactor",
            "transformers.optimization.Adafactor",
        ),
        kind=Kind.OPTIMIZER, roles=(("params", (0, "params")),), note="the optimizer was built here",
        calls=("AdamW", "Adam", "SGD", "Adafactor", "RMSprop", "Adagrad", "AdamW8bit", "PagedAdamW8bit", "Lion"),
        tokens=((b"optim", b"AdamW", b"SGD", b"Adam", b"Adafactor"),),
    ),
    Api("optimizer.step", "output", methods=("step",), receivers=frozenset({Kind.OPTIMIZER})),
    # a loss computed from a forward pass: the same graph after these; ``backward()`` trains through it
    Api(
        "output.same", "same_output", receivers=frozenset({Kind.OUTPUT}),
        methods=("mean", "sum", "float", "to", "squeeze", "contiguous", "__call__"),
    ),
    # ``F.cross_entropy(out.logits, labels)``: a loss of the forward pass's graph
    Api("output.function", "outputs_among_arguments", functions=("torch.nn.functional.*",)),
    Api("torch.backward", "output", methods=("backward",), receivers=frozenset({Kind.OUTPUT})),
    Api(
        "accelerate.backward", "output", methods=("backward",), receivers=frozenset({Kind.ACCELERATOR}),
        roles=(("loss", (0, "loss")),),
    ),
    Api(
        "hub.download", "hub_download", functions=("huggingface_hub.hf_hub_download",),
        roles=(("repo", (0, "repo_id")), ("filename", (1, "filename"))),
    ),
    Api(
        "safetensors.load_file", "load_file", functions=("safetensors.torch.load_file", "safetensors.torch.load"),
        roles=(("path", (0, "filename")),), tokens=((b"load_file", b"safetensors"),),
    ),
    Api("copy.deepcopy", "copy", functions=("copy.deepcopy", "copy.copy"), roles=(("model", (0, "x")),)),
    # ---- the ways out of a program
    Api(
        "never_returns", "never_returns",
        functions=("sys.exit", "os._exit", "os.abort", "builtins.exit", "builtins.quit"),
    ),
    # ---- transformers, trl, accelerate, diffusers
    Api(
        "trainer", "trainer", match=_is_trainer, kind=Kind.TRAINER, calls=("Trainer", "SFTTrainer", "DPOTrainer"),
        roles=(
            ("model", (0, "model")), ("ref_model", (None, "ref_model")), ("peft_config", (None, "peft_config")),
            ("optimizers", (None, "optimizers")), ("args", (None, "args")), ("callbacks", (None, "callbacks")),
        ),
    ),
    # ``TrainingArguments(output_dir="runs/x", ...)``: the settings a trainer (and its callbacks,
    # as ``args``) read, each keyword an attribute (``args.output_dir`` is "runs/x")
    Api(
        "trainer.settings", "settings",
        functions=(
            "transformers.TrainingArguments", "transformers.Seq2SeqTrainingArguments", "trl.SFTConfig",
            "trl.DPOConfig", "trl.KTOConfig", "trl.ORPOConfig", "trl.CPOConfig", "trl.GRPOConfig", "trl.RewardConfig",
        ),
        roles=(("output_dir", (0, "output_dir")),),
    ),
    # PyTorch Lightning: ``trainer.fit(module)`` runs the LightningModule's hooks (registry.LIGHTNING_HOOKS)
    Api(
        "lightning.Trainer", "lightning_trainer", kind=Kind.TRAINER,
        functions=("pytorch_lightning.Trainer", "lightning.Trainer", "lightning.pytorch.Trainer"),
        roles=(("callbacks", (None, "callbacks")),),
    ),
    Api(
        "lightning.save_hyperparameters", "save_hyperparameters", methods=("save_hyperparameters",),
        receivers=frozenset({Kind.BASE_MODEL, Kind.INSTANCE}),
    ),
    Api(
        "lightning.fit", "lightning_fit", methods=("fit", "validate", "test"), receivers=frozenset({Kind.TRAINER}),
        roles=(("model", (0, "model")),),
    ),
    Api(
        "trainer.train", "train", methods=("train",), receivers=frozenset({Kind.TRAINER}),
        roles=(("resume", (0, "resume_from_checkpoint")),),
    ),
    Api("trainer.evaluate", "output", methods=("evaluate", "predict"), receivers=frozenset({Kind.TRAINER})),
    Api("trainer.add_callback", "add_callback", methods=("add_callback",), receivers=frozenset({Kind.TRAINER})),
    Api(
        "trainer.save_model", "save_model", methods=("save_model",), receivers=frozenset({Kind.TRAINER}),
        roles=(("output_dir", (0, "output_dir")),),
    ),
    Api("accelerate.Accelerator", "new", functions=("accelerate.Accelerator",), kind=Kind.ACCELERATOR),
    Api(
        "accelerate.prepare", "arguments", methods=("prepare", "prepare_model", "prepare_optimizer"),
        receivers=frozenset({Kind.ACCELERATOR}),
    ),
    # Lightning Fabric: ``model, optimizer = fabric.setup(model, optimizer)`` wraps the module
    # (``model.module`` is the one given) and hands the optimizers back
    Api("lightning.Fabric", "new", functions=_FABRIC, kind=Kind.ACCELERATOR),
    Api("lightning.fabric_setup", "fabric_setup", methods=("setup", "setup_module"), receivers=_ACCELERATOR),
    Api(
        "accelerate.unwrap_model", "unwrap", methods=("unwrap_model",), receivers=frozenset({Kind.ACCELERATOR}),
        roles=(("model", (0, "model")),),
    ),
    Api("diffusers.pipeline", "new", match=_is_pipeline_loader, kind=Kind.PIPELINE, calls=("from_pretrained",)),
    # ---- the standard library
    Api("functools.partial", "partial", functions=("functools.partial",)),
    Api(
        "builtins.getattr", "getattr", functions=("builtins.getattr",),
        roles=(("object", (0, None)), ("name", (1, None)), ("default", (2, None))),
    ),
    # ``Setup = namedtuple("Setup", ["model", "tokenizer"])``: a class whose fields are its arguments;
    # ``setup._replace(model=m)``, ``dataclasses.replace(setup, model=m)``: a copy, those fields changed
    Api("dataclasses.field", "field_default", functions=("dataclasses.field",)),
    Api("collections.namedtuple", "named_tuple", functions=("collections.namedtuple", "typing.NamedTuple")),
    Api("record.replace", "replaced", functions=("dataclasses.replace",), methods=("_replace",),
        receivers=frozenset({Kind.INSTANCE}), roles=(("record", (0, "obj")),)),  # fmt: skip
    Api("list.append", "append", methods=("append", "extend", "insert"), receivers=frozenset({Kind.LIST})),
    Api("dict.update", "update", methods=("update", "setdefault"), receivers=frozenset({Kind.DICT})),
    Api("dict.view", "view", methods=("items", "values", "keys"), receivers=frozenset({Kind.DICT})),
    Api("dict.get", "get", methods=("get", "pop"), receivers=frozenset({Kind.DICT})),
    Api("dict.copy", "dict_copy", methods=("copy",), receivers=frozenset({Kind.DICT})),
    Api(
        "path.join", "path", functions=("os.path.join", "pathlib.Path", "builtins.str", "os.fspath", "os.path.abspath",
                                        "os.path.expanduser", "os.path.normpath", "os.path.realpath"),
    ),
    Api("path.joinpath", "joinpath", methods=("joinpath",), receivers=frozenset({Kind.STRING})),
    Api(
        "path.with_suffix", "with_suffix", methods=("with_suffix", "with_name"), receivers=frozenset({Kind.STRING}),
        roles=(("text", (0, None)),),
    ),
    Api("path.dirname", "dirname", functions=("os.path.dirname",)),
    Api(
        "os.getenv", "getenv", functions=("os.getenv", "os.environ.get"),
        roles=(("name", (0, "key")), ("default", (1, "default"))),
    ),
    # the file at ``src`` is at ``dst`` afterwards (a save to a temporary name, then moved in place)
    Api(
        "path.move", "move", functions=("shutil.move", "os.replace", "os.rename"),
        roles=(("src", (0, "src")), ("dst", (1, "dst"))),
    ),
    Api(
        "path.rename", "move", methods=("rename", "replace"), receivers=frozenset({Kind.STRING}),
        roles=(("dst", (0, "target")),),
    ),
    Api("glob.glob", "glob", functions=("glob.glob", "glob.iglob"), roles=(("pattern", (0, "pathname")),)),
    Api(
        "path.glob", "glob", methods=("glob", "rglob"), receivers=frozenset({Kind.STRING}),
        roles=(("pattern", (0, "pattern")),),
    ),
    Api("path.resolve", "same_path", methods=("resolve", "absolute", "expanduser"), receivers=frozenset({Kind.STRING})),
    Api("str.format", "format", methods=("format",), receivers=frozenset({Kind.STRING})),
    Api(
        "str.methods", "string_method", methods=("split", "strip", "lstrip", "rstrip", "lower", "upper"),
        receivers=frozenset({Kind.STRING}),
    ),
    Api("argparse.ArgumentParser", "new", functions=("argparse.ArgumentParser",), kind=Kind.ARG_PARSER),
    Api("argparse.add_argument", "add_argument", methods=("add_argument",), receivers=frozenset({Kind.ARG_PARSER})),
    Api(
        "argparse.argument_group", "argument_group", methods=("add_mutually_exclusive_group", "add_argument_group"),
        receivers=frozenset({Kind.ARG_PARSER}),
    ),
    Api(
        "argparse.parse_args", "parse_args", methods=("parse_args", "parse_known_args"),
        receivers=frozenset({Kind.ARG_PARSER}),
    ),
    # ``HfArgumentParser((ModelArguments, TrainingArguments)).parse_args_into_dataclasses()``
    Api(
        "transformers.HfArgumentParser", "hf_argument_parser", functions=("transformers.HfArgumentParser",),
        roles=(("types", (0, "dataclass_types")),),
    ),
    Api(
        "hf.parse_args_into_dataclasses", "parse_into_dataclasses", methods=("parse_args_into_dataclasses",),
        receivers=frozenset({Kind.ARG_PARSER}), roles=(("remaining", (1, "return_remaining_strings")),),
    ),
    Api("builtins.super", "super", functions=("builtins.super",)),
    Api("builtins.open", "open_file", functions=("builtins.open", "io.open"), roles=(("path", (0, "file")),)),
    # ``cfg_path.read_text()``, ``with cfg_path.open() as f:``: that file, as ``open(cfg_path)``
    Api(
        "path.read_text", "read_file", methods=("read_text", "read_bytes", "open"), receivers=frozenset({Kind.STRING})
    ),
    # what these parse is an open file or its text (a string given is the text itself, not a path)...
    Api(
        "config.load", "config_file",
        functions=("yaml.safe_load", "yaml.load", "yaml.full_load", "json.load", "json.loads", "tomllib.load",
                   "tomllib.loads", "toml.loads"),
        roles=(("file", (0, None)),),
    ),
    # ...while these also open a path they are given
    Api(
        "config.load_path", "config_file", functions=("toml.load", "omegaconf.OmegaConf.load"),
        roles=(("path", (0, None)),),
    ),
    # ``filter(lambda p: p.requires_grad, m.parameters())`` and ``list(m.parameters())`` are m's parameters
    Api("builtins.filter", "parameters_of", functions=("builtins.filter",), roles=(("iterable", (1, None)),)),
    Api(
        "builtins.list", "parameters_of", functions=("builtins.list", "builtins.tuple"),
        roles=(("iterable", (0, None)),),
    ),
    # ``sorted(found)``, ``reversed(found)``: the same items, in an order not followed;
    # ``max(found, key=os.path.getmtime)``: one of them
    Api(
        "builtins.sorted", "same_items", functions=("builtins.sorted", "builtins.reversed"),
        roles=(("iterable", (0, None)),),
    ),
    Api("builtins.max", "one_item", functions=("builtins.max", "builtins.min"), roles=(("iterable", (0, None)),)),
    Api("builtins.len", "length", functions=("builtins.len",), roles=(("iterable", (0, None)),)),
    Api("builtins.enumerate", "pairs", functions=("builtins.enumerate", "builtins.zip")),
    Api("builtins.dict", "new_dict", functions=("builtins.dict", "collections.OrderedDict")),
    Api("collections.defaultdict", "new_defaultdict", functions=("collections.defaultdict",)),
    Api("types.SimpleNamespace", "namespace", functions=("types.SimpleNamespace", "argparse.Namespace")),
    Api("heapq.heappush", "heap_push", functions=("heapq.heappush",)),
    Api("heapq.heappop", "one_item", functions=("heapq.heappop",), roles=(("iterable", (0, None)),)),
)  # fmt: skip

FORWARD = next(api for api in APIS if api.fact == "model.forward")
PEFT_CALL_NAMES = frozenset().union(*(api.call_names for api in APIS if api.fact.startswith("peft.")))

# Tasks whose PeftModelFor* class puts the model's head in ``modules_to_save``: peft trains and
# saves it with the adapter (what the head is called, for messages)
HEAD_TASKS = {"SEQ_CLS": "a classification head", "TOKEN_CLS": "a classification head", "QUESTION_ANS": "a QA head"}
# ...and the head modules it adds there, by their usual names
TASK_HEADS = frozenset({"classifier", "score", "qa_outputs"})
SUBMODULE_ATTRIBUTES = TASK_HEADS | {"lm_head"}
# Loaders whose path argument must name a file or directory for the call to return at all
PATH_LOADERS = frozenset({"peft.load_adapter_model", "peft.auto_load", "peft.load_adapter"})

PIPELINE_COMPONENTS = frozenset(
    {"unet", "text_encoder", "text_encoder_2", "text_encoder_3", "transformer", "vae", "prior", "decoder"}
)
# Peft configs whose ``inference_mode=True`` freezes the adapter get_peft_model adds (the tuners
# built on BaseTuner); prompt-learning configs keep their prompt trainable whatever it says.
FREEZING_CONFIGS = frozenset(
    {
        "LoraConfig", "AdaLoraConfig", "IA3Config", "LoHaConfig", "LoKrConfig", "OFTConfig", "BOFTConfig",
        "VeraConfig", "FourierFTConfig", "VBLoRAConfig", "HRAConfig", "RandLoraConfig",
    }
)  # fmt: skip
# Prompt-learning configs: get_peft_model adds a prompt encoder to the wrapper and injects nothing
# into the model it is given
PROMPT_LEARNING_CONFIGS = frozenset(
    {
        "PromptTuningConfig", "PrefixTuningConfig", "PromptEncoderConfig", "MultitaskPromptTuningConfig",
        "CPTConfig", "CartridgeConfig", "PromptLearningConfig",
    }
)  # fmt: skip
# Module-level constants of libraries, as values the analysis can decide branches on.
CONSTANTS = {"typing.TYPE_CHECKING": False}


@dataclass
class _Index:
    exact: dict[str, Api] = field(default_factory=dict)
    prefixes: list[tuple[str, Api]] = field(default_factory=list)
    predicates: list[Api] = field(default_factory=list)
    methods: dict[str, list[Api]] = field(default_factory=dict)


def _index() -> _Index:
    index = _Index()
    for api in APIS:
        for qualname in api.functions:
            if qualname.endswith("*"):
                index.prefixes.append((qualname[:-1], api))
            else:
                index.exact[qualname] = api
        if api.match is not None:
            index.predicates.append(api)
        for method in api.methods:
            index.methods.setdefault(method, []).append(api)
    return index


_INDEX = _index()


def function_api(qualname: str | None) -> Api | None:
    """The API a call to ``qualname`` (canonical) is, if the registry knows it."""
    if qualname is None:
        return None
    found = _INDEX.exact.get(qualname)
    if found is not None:
        return found
    for prefix, api in _INDEX.prefixes:
        if qualname.startswith(prefix):
            return api
    for api in _INDEX.predicates:
        if api.match(qualname):  # type: ignore[misc]
            return api
    return None


@lru_cache(maxsize=4096)
def method_api(method: str, receiver_kinds: frozenset[Kind]) -> Api | None:
    """The API ``x.method(...)`` is when ``x`` can be of ``receiver_kinds`` (known kinds only)."""
    for api in _INDEX.methods.get(method, ()):
        if api.receivers is ANY or receiver_kinds & api.receivers:
            return api
    return None


def apis_for(facts: frozenset[str]) -> list[Api]:
    return [api for api in APIS if api.fact in facts]


def call_names(facts: frozenset[str]) -> frozenset[str]:
    return frozenset().union(*(api.call_names for api in apis_for(facts)))
