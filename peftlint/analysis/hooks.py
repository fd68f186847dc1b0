"""The events trainers fire on the analysed code, as data: which methods of a Trainer subclass,
a LightningModule or a callback run when ``train()``, ``fit()`` or ``save_model()`` is called, in
the order of a run, and what they are passed (effects.py, lightning.py and Reach read these)."""

from __future__ import annotations

from peftlint.analysis import names
from peftlint.analysis.values import Kind

# The hooks each Lightning Trainer method runs, in order, each once (what one run of a hook does, a
# save of the best model, is what the analysis needs to see): the LightningModule's, and but for the
# ``*_step`` ones the Callbacks' (``(trainer, pl_module, ...)``), callbacks first.
LIGHTNING_HOOKS: dict[str, tuple[str, ...]] = {
    "fit": (
        "setup", "on_fit_start", "on_train_start", "on_train_epoch_start", "on_train_batch_start", "training_step",
        "on_train_batch_end", "on_train_epoch_end", "on_validation_start", "on_validation_epoch_start",
        "validation_step", "on_validation_batch_end", "on_validation_epoch_end", "on_validation_end",
        "on_save_checkpoint", "on_train_end", "on_fit_end", "teardown",
    ),
    "validate": (
        "setup", "on_validation_start", "on_validation_epoch_start", "validation_step", "on_validation_batch_end",
        "on_validation_epoch_end", "on_validation_end", "teardown",
    ),
    "test": ("setup", "on_test_start", "on_test_epoch_start", "test_step", "on_test_epoch_end", "on_test_end"),
}  # fmt: skip
# Library classmethods that build an instance of the class they are called on, ``cls(**saved)``:
# ``LitModel.load_from_checkpoint(path)`` runs LitModel's ``__init__`` with the hyperparameters
# the checkpoint saved (any of its parameters may have been given).
CONSTRUCTORS: dict[str, tuple[str, ...]] = {base: ("load_from_checkpoint",) for base in names.LIGHTNING_MODULES}
# What transformers' Trainer calls on itself: an override of these in a subclass runs when the
# method on the left is called. ``train(resume_from_checkpoint=...)`` first loads the checkpoint
# with ``_load_from_checkpoint(dir)``, then writes checkpoints with ``_save(dir)``; ``save_model(dir)``
# writes with ``_save(dir)``.
TRAINER_HOOKS: dict[str, tuple[str, ...]] = {"train": ("_load_from_checkpoint", "_save"), "save_model": ("_save",)}
# A trainer's attributes holding another's (``model_wrapped``: ``model`` in its DDP/DeepSpeed wrapper
# once train() runs, the same module on one device), and the library objects it keeps.
TRAINER_ALIASES: dict[str, str] = {"model_wrapped": "model"}
TRAINER_OBJECTS: dict[str, Kind] = {"accelerator": Kind.ACCELERATOR}
# The TrainerCallback events ``train()`` fires, in the order of a run (each once), on every callback
# the trainer holds (``callbacks=[...]``, ``add_callback``): ``(args, state, control, model=..., **kwargs)``
CALLBACK_HOOKS: tuple[str, ...] = (
    "on_init_end", "on_train_begin", "on_epoch_begin", "on_step_begin", "on_pre_optimizer_step", "on_optimizer_step",
    "on_substep_end", "on_step_end", "on_evaluate", "on_log", "on_save", "on_epoch_end", "on_train_end",
)  # fmt: skip


# What transformers' CallbackHandler passes every event besides ``model`` (objects the analysis
# does not follow), and what some events add: ``on_evaluate(..., metrics=...)``.
CALLBACK_KEYWORDS: tuple[str, ...] = (
    "processing_class", "optimizer", "lr_scheduler", "train_dataloader", "eval_dataloader",
)  # fmt: skip
CALLBACK_EVENT_KEYWORDS: dict[str, tuple[str, ...]] = {"on_evaluate": ("metrics",), "on_log": ("logs",)}


def hooks_run_by(method: str) -> tuple[str, ...]:
    """The methods of the analysed code a trainer's ``method`` can run: its subclass's overrides
    (TRAINER_HOOKS) and, for ``train``, its callbacks' events."""
    return (*TRAINER_HOOKS.get(method, ()), *(CALLBACK_HOOKS if method == "train" else ()))
