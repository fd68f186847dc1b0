"""One verification run: the heavy libraries imported once, base models built once and reused."""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import pkgutil
import re
import time
import warnings
from types import ModuleType

import torch
import transformers

from peftlint.findings import Finding
from peftlint.verify.models import BaseModel, build_base, model_plans
from peftlint.verify.scenario import CannotRebuild, Outcome, first_line
from peftlint.verify.verdicts import REQUIRED_LIBRARIES, Verdict, VerifyOptions


def discover_scenarios() -> dict[str, ModuleType]:
    """Scenario modules by rule code: ``peftlint/verify/peft001.py`` verifies PEFT001."""
    names = (info.name for info in pkgutil.iter_modules([os.path.dirname(__file__)]))
    return {
        name.upper(): importlib.import_module(f"peftlint.verify.{name}")
        for name in names
        if re.fullmatch(r"peft\d{3}", name)
    }


SCENARIOS = discover_scenarios()


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in REQUIRED_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


class Session:
    def __init__(self, options: VerifyOptions) -> None:
        self.options = options
        torch.set_num_threads(1)  # tiny models run ~18x faster single-threaded on a loaded 2-core machine
        self.versions = library_versions()
        self._models: dict[tuple[str, ...], BaseModel] = {}
        self._failures: dict[tuple[str, ...], str] = {}  # plans that could not build, and why
        # The verifier reports its own progress and evidence; library chatter would drown it.
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

    def verify(self, finding: Finding) -> Verdict:
        started = time.perf_counter()
        model = "none"
        scenario = SCENARIOS.get(finding.code)
        if scenario is None:
            outcome = Outcome("skipped", f"no runtime scenario for {finding.code}")
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # scenarios record the warnings they report
                    base, model = self.base_model(finding)
                    outcome = scenario.run(finding, base)
            except CannotRebuild as error:
                outcome = Outcome("skipped", str(error))
            except Exception as error:  # one finding that cannot be rebuilt must not stop the run
                outcome = Outcome("skipped", f"the scenario failed: {type(error).__name__}: {first_line(error)}")
        seconds = time.perf_counter() - started
        return Verdict(outcome.status, outcome.reason, model, dict(self.versions), outcome.evidence, seconds)

    def base_model(self, finding: Finding) -> tuple[BaseModel, str]:
        """The first plan that builds (built once per run), and how the model was obtained."""
        failures: list[str] = []
        for plan in model_plans(finding, self.options.model, self.options.allow_network, self.options.small):
            if plan.key not in self._models and plan.key not in self._failures:
                try:
                    self._models[plan.key] = build_base(plan)
                except Exception as error:  # a plan that cannot build falls through to the next
                    self._failures[plan.key] = f"{plan.description}: {type(error).__name__}: {first_line(error)}"
            if plan.key in self._failures:
                failures.append(self._failures[plan.key])
                continue
            how = plan.description + (f" (after failing: {'; '.join(failures)})" if failures else "")
            return self._models[plan.key], how
        where = "" if self.options.allow_network else " offline"
        subject = f"--verify-model {self.options.model}" if self.options.model else "the model"
        raise CannotRebuild(f"{subject} cannot be loaded{where}: " + ("; ".join(failures) or "nothing matched"))
