"""The library API, the facts findings carry for the verifier, and what the linter must never import."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from peftlint import lint_paths, lint_source
from peftlint.config import Settings

ROOT = Path(__file__).resolve().parent.parent

SEED_RESUME = """
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained("gpt2")
config = LoraConfig(task_type=TaskType.CAUSAL_LM, inference_mode=False, r=8, lora_alpha=32, lora_dropout=0.1)
model = get_peft_model(model, config)
model = PeftModel.from_pretrained(model, "./lora_model")
"""


def test_lint_source_reports_position_related_and_verifier_facts() -> None:
    result = lint_source(SEED_RESUME, "train.py")
    (finding,) = result.findings
    assert (finding.code, finding.path, finding.start.line, finding.start.column) == ("PEFT001", "train.py", 8, 9)
    assert finding.end.line == 8 and finding.end.column == len(SEED_RESUME.splitlines()[7]) + 1
    (related,) = finding.related
    assert (related.start.line, related.start.column) == (7, 9)
    assert "get_peft_model" in related.message
    assert finding.fact_map == {
        "model_id": "gpt2",
        "model_class": "transformers.AutoModelForCausalLM",
        "peft_config": {
            "task_type": "CAUSAL_LM",
            "inference_mode": False,
            "r": 8,
            "lora_alpha": 32,
            "lora_dropout": 0.1,
        },
        "peft_config_class": "LoraConfig",
        "wrapped_by": "get_peft_model",
        "adapter_path": "lora_model",
    }


def test_verifier_facts_name_a_literal_adapter_without_its_quotes() -> None:
    """The verifier loads the adapter under the name the code gives, not its source text."""
    source = (
        "from peft import LoraConfig, get_peft_model\n"
        "from transformers import AutoModelForCausalLM\n"
        "policy = get_peft_model(AutoModelForCausalLM.from_pretrained('gpt2'), LoraConfig(task_type='CAUSAL_LM'))\n"
        "policy.load_adapter('out/dpo', adapter_name='dpo')\n"
        "policy.generate(max_new_tokens=5)\n"
    )
    (finding,) = lint_source(source, "align.py").findings
    assert finding.code == "PEFT011" and "adapter 'dpo' is loaded" in finding.message
    assert finding.fact_map["adapter_name"] == "dpo"


def test_select_and_ignore_by_prefix() -> None:
    assert lint_source(SEED_RESUME, settings=Settings(ignore=("PEFT001",))).findings == ()
    assert lint_source(SEED_RESUME, settings=Settings(select=("PEFT00",))).findings
    assert lint_source(SEED_RESUME, settings=Settings(select=("PEFT002",))).findings == ()


def test_output_is_deterministic_across_runs() -> None:
    first = lint_paths([str(ROOT / "fixtures")])
    second = lint_paths([str(ROOT / "fixtures")])
    assert first == second
    assert list(first.findings) == sorted(first.findings, key=lambda f: f.sort_key())


def test_findings_and_their_facts_do_not_depend_on_the_hash_seed() -> None:
    """What a finding says and carries (its message, its notes, the model's class and peft config
    for the verifier) is the same in every process, over every fixture: when two models or configs
    can reach one call, the one named must not follow set order or memory layout."""
    script = (
        "import json; from peftlint import lint_paths; from peftlint.config import Settings;"
        "from peftlint.rules import all_rules; every = tuple(x.code for x in all_rules());"
        f"r = lint_paths([{str(ROOT / 'fixtures')!r}], Settings(cache=False, select=every));"
        "rows = [(f.code, f.path, f.start.line, f.message, [(x.path, x.start.line, x.message) for x in f.related],"
        " f.fact_map) for f in r.findings];"
        "print(json.dumps(rows, sort_keys=True, default=str))"
    )

    def run(seed: str) -> str:
        env = {**os.environ, "PYTHONHASHSEED": seed}
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
        ).stdout

    assert run("1") == run("2") == run("3")


def test_notes_of_one_file_do_not_depend_on_the_hash_seed() -> None:
    """One file alone, in six processes: an optimizer made stale by two wraps (a wrapper class and
    a wrapper function picked from a dict) names both in one order (it followed set order)."""
    fixture = ROOT / "fixtures" / "peft005" / "fire_optimizer_before_wrap_picked_from_dict_of_wrappers.py"
    outputs = {
        subprocess.run(
            [sys.executable, "-m", "peftlint", "check", "--no-cache", "--output-format", "json", str(fixture)],
            capture_output=True, text=True, check=False, env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in range(6)
    }  # fmt: skip
    assert len(outputs) == 1, outputs


def test_linter_imports_neither_torch_nor_user_code(tmp_path: Path) -> None:
    marker = tmp_path / "imported.marker"
    (tmp_path / "train.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n" + SEED_RESUME, encoding="utf-8")
    (tmp_path / "plain.py").write_text("print('no peft here')\n", encoding="utf-8")
    script = (
        "import sys, json; from peftlint import lint_paths;"
        f"r = lint_paths([{str(tmp_path)!r}]);"
        "print(json.dumps([len(r.findings), sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules)]))"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert json.loads(output) == [1, []]
    assert not marker.exists()


def test_libcst_is_imported_only_when_a_file_needs_the_analysis(tmp_path: Path) -> None:
    """A file without PEFT code costs a bytes scan: libcst (the analysis' tree) is not even
    imported; a file that needs the analysis is walked on libcst's tree and gets its fix."""
    (tmp_path / "plain.py").write_text("import os\nprint(os.getcwd())\n", encoding="utf-8")
    script = (
        "import sys; from peftlint import lint_paths;"
        f"r = lint_paths([{str(tmp_path)!r}]);"
        "print(r.files_checked, r.files_analysed, len([f for f in r.findings if f.fix]), 'libcst' in sys.modules)"
    )

    def run() -> list[str]:
        return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split()

    assert run() == ["1", "0", "0", "False"]
    (tmp_path / "bad.py").write_text(
        "from peft import PeftModel, get_peft_model\n"
        "model = PeftModel.from_pretrained(get_peft_model(base, cfg), 'out')\n",
        encoding="utf-8",
    )
    assert run() == ["2", "1", "1", "True"]


def test_readme_sample_output_is_what_the_examples_give() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = re.search(r"Sample output of the first command:\n\n```\n(.*?)```", readme, re.S)
    assert sample is not None
    actual = subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "examples/"], cwd=ROOT, capture_output=True, text=True
    )
    assert actual.returncode == 1
    assert actual.stdout == sample.group(1)


def test_injection_into_an_unknown_object_is_tracked_by_name() -> None:
    """``get_peft_model(model, cfg)`` on a parameter makes ``model`` itself carry LoRA layers (not a
    PeftModel): loading onto it is PEFT015 territory, not PEFT001; loading onto the result is PEFT001."""
    source = """
from peft import LoraConfig, PeftModel, get_peft_model

def resume(model, path):
    peft_model = get_peft_model(model, LoraConfig(r=8))
    injected = PeftModel.from_pretrained(model, path)
    return PeftModel.from_pretrained(peft_model, path)
"""
    (finding,) = lint_source(source, "resume.py").findings
    assert finding.start.line == 7


def test_second_stage_screen_parses_only_files_whose_calls_can_match(tmp_path: Path) -> None:
    """Tokens in docstrings admit a file past the bytes scan; CPython's AST shows no such call, so
    the flow analysis never runs on it. Aliased imports still reach the analysis."""
    (tmp_path / "docs_only.py").write_text(
        '"""Use PeftModel.from_pretrained(base, path); never torch.save(model, p)."""\nimport torch\nx = 1\n',
        encoding="utf-8",
    )
    (tmp_path / "aliased.py").write_text(
        "from peft import get_peft_model as wrap, LoraConfig, PeftModel as PM\n"
        "model = wrap(model, LoraConfig())\n"
        "model = PM.from_pretrained(model, 'x')\n",
        encoding="utf-8",
    )
    result = lint_paths([str(tmp_path)])
    assert result.files_analysed == 1
    assert [(Path(f.path).name, f.start.line) for f in result.findings] == [("aliased.py", 3)]


def test_admission_resolves_an_import_as_python_would_whatever_the_order(tmp_path: Path) -> None:
    """Two sibling projects each hold a ``utils.py``: ``from utils import build`` in a train.py
    means the one beside it, as for a script run from its directory, whatever order the run lists
    the files in (it once depended on set order, so the analysed count of a run varied)."""
    from peftlint.admission import admitted_by_imports
    from peftlint.rules import all_rules

    for name, body in (
        (
            "lora_proj/utils.py",
            "from peft import LoraConfig, get_peft_model\n\n"
            "def build(base):\n    return get_peft_model(base, LoraConfig())\n",
        ),
        (
            "plain_proj/utils.py",
            "import torch\n\ndef build(base):\n    return base\n\n"
            "def keep(model, p):\n    torch.save(model.state_dict(), p)\n",
        ),
        ("lora_proj/train.py", "from utils import build\n\nmodel = build(load())\n"),
        ("plain_proj/train.py", "from utils import build\n\nmodel = build(load())\n"),
    ):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    contents = {str(p): p.read_bytes() for p in sorted(tmp_path.rglob("*.py"))}
    wanted = [path for path in contents if path.endswith("utils.py")]
    rules = [rule for rule in all_rules() if rule.analysed]
    orders = [admitted_by_imports(contents, rules, order) for order in (wanted, wanted[::-1])]
    assert orders[0] == orders[1]
    assert list(orders[0]) == [str(tmp_path / "lora_proj" / "train.py")]
    entries = next(iter(orders[0].values()))
    assert {entry.partition(":")[2] for entry in entries} == {"build"}
    # admitted for the rules about PEFT models (build makes one), not for the one about saves
    codes = {entry.partition(":")[0] for entry in entries}
    assert {"PEFT003", "PEFT013"} <= codes and "PEFT002" not in codes


def test_a_library_class_inheriting_a_helper_does_not_admit_its_importers(tmp_path: Path) -> None:
    """An admitted module's small class that inherits a helper is a helper too (``class
    Runner(AdapterMixin)``: its instances have the mixin's methods), so its importers are
    analysed. A library's class of thousands of lines that inherits one (``class
    PreTrainedModel(nn.Module, PeftAdapterMixin)``) is not: its importers are every model file of
    transformers, and admitting them made ``--select PEFT004`` ten times slower than every rule."""
    from peftlint.admission import admitted_by_imports
    from peftlint.rules import all_rules

    mixin = (
        "from peft import get_peft_model\n\n"
        "class AdapterMixin:\n    def add_adapter(self, cfg):\n        return get_peft_model(self, cfg)\n"
    )
    methods = "".join(f"    def method_{i}(self, x):\n        return x * {i} + self.offset\n\n" for i in range(400))
    files = {
        "pkg/mixin.py": mixin,
        "pkg/small.py": "from pkg.mixin import AdapterMixin\n\nclass Runner(AdapterMixin):\n    pass\n",
        "pkg/big.py": "from pkg.mixin import AdapterMixin\n\nclass Library(AdapterMixin):\n" + methods,
        "use_small.py": "from pkg.small import Runner\n\nRunner().add_adapter(cfg)\n",
        "use_big.py": "from pkg.big import Library\n\nLibrary().method_1(2)\n",
    }
    assert len(files["pkg/big.py"]) > 16_000
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    contents = {str(tmp_path / name): (tmp_path / name).read_bytes() for name in files}
    wanted = [str(tmp_path / "pkg" / "mixin.py")]
    for rules in ([r for r in all_rules() if r.analysed], [r for r in all_rules() if r.code == "PEFT004"]):
        admitted = admitted_by_imports(contents, rules, wanted)
        assert str(tmp_path / "use_small.py") in admitted
        assert "Runner" in {entry.partition(":")[2] for entry in admitted[str(tmp_path / "use_small.py")]}
        assert str(tmp_path / "use_big.py") not in admitted


def test_admission_finds_defs_and_calls_as_a_regex_over_each_line_would() -> None:
    """Admission finds top-level defs and helper calls with ``bytes.find`` (a regex over every
    line of the run's wanted modules cost more than the rest of admission). Its answers are those
    of the regexes it replaced, on the awkward spellings: a def on the first line, ``async def``,
    CRLF endings, a space or a newline before the bracket, a longer word, a peft class's own
    ``from_pretrained``, indented (not top-level) defs."""
    import re

    from peftlint.admission import _Calls, _definitions

    source = (
        b"def first(model):\r\n    return get_peft_model (model, cfg)\r\n"
        b"async  def later(m):\n    m.save(\n  p)\n    my_save(m)\n"
        b"class Wrapper(Base):\n    def inner(self):\n        AutoPeftModelForCausalLM.from_pretrained(d)\n"
        b"    def other(self):\n        Model.from_pretrained(d)\n"
        b"default = 3\nclassy = 4\ndef\tlast():\n    x.PeftModel(\n    )\n    resave(1)\n"
    )
    old_defs = re.compile(rb"^(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.MULTILINE)
    expected = [(m.start(), m.group(1), m.group(2).decode()) for m in old_defs.finditer(source)]
    assert _definitions(source) == expected
    assert [name for _, _, name in expected] == ["first", "later", "Wrapper", "last"]
    for names, loaders in (
        (frozenset({"save", "load_state_dict"}), b""),
        (frozenset({"get_peft_model", "PeftModel"}), rb"|\w*Peft\w*\.from_pretrained"),
    ):
        alternatives = b"|".join(re.escape(n.encode()) for n in sorted(names)) + loaders
        old_calls = re.compile(rb"\b(?:" + alternatives + rb")\s*\(")
        ends = [start for start, _, _ in expected[1:]] + [len(source)]
        old = [bool(old_calls.search(source, start, end)) for (start, _, _), end in zip(expected, ends, strict=True)]
        found = _Calls(names).positions(source)
        new = [any(start <= at < end for at in found) for (start, _, _), end in zip(expected, ends, strict=True)]
        assert new == old
    assert new == [True, False, True, True]  # the peft makers: not ``later``, which only saves


BASE_RUNNER = """from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForSequenceClassification


class BaseRunner:
    def __init__(self, cfg):
        self.cfg = cfg
        self.model = None

    def setup_model(self):
        base = AutoModelForSequenceClassification.from_pretrained(self.cfg.model_name)
        self.model = get_peft_model(base, LoraConfig(r=8))
"""
SUB_RUNNER = """from peft import PeftModel

from base import BaseRunner


def go(cfg):
    runner = BaseRunner(cfg)
    runner.setup_model()
    return runner


class Sub(BaseRunner):
    def go(self):
        self.setup_model()
        return PeftModel.from_pretrained(self.model, "x")
"""


def test_a_finding_in_an_imported_module_of_the_run_is_reported_once_as_the_run_names_it(tmp_path: Path) -> None:
    """base.py's PEFT008 is met twice: by its own analysis and while sub.py follows the import
    (which finds the file by an absolute path). One finding, named as the run names the file."""
    project = tmp_path / "proj"
    project.mkdir()
    (project / "base.py").write_text(BASE_RUNNER, encoding="utf-8")
    (project / "sub.py").write_text(SUB_RUNNER, encoding="utf-8")
    command = [sys.executable, "-m", "peftlint", "check", "--isolated", "--no-cache", "--output-format", "concise"]
    done = subprocess.run([*command, "proj"], cwd=tmp_path, capture_output=True, text=True, check=False)
    found = [line.split(": ")[0:2] for line in done.stdout.splitlines() if ": PEFT" in line and "note:" not in line]
    assert found == [
        [
            os.path.join("proj", "base.py") + ":12:22",
            "PEFT008 `AutoModelForSequenceClassification` gets a new, random head, and the peft config has "
            "neither `task_type` nor `modules_to_save`",
        ],
        [
            os.path.join("proj", "sub.py") + ":15:16",
            "PEFT001 `PeftModel.from_pretrained` loads the adapter onto `self.model`, which already has PEFT layers",
        ],
    ], done.stdout


def test_save_met_from_two_files_is_one_note_and_one_edit_with_relative_paths(monkeypatch) -> None:
    """A save in module.py is met from module.py's own run and from train.py's (fit inlines the
    hook), where the module is read by its absolute path: one note and one edit, whatever the run's
    paths look like."""
    run = ROOT / "fixtures" / "peft002" / "fire_cross_file_lightning_hparams_saved_whole"
    monkeypatch.chdir(run)
    (finding,) = lint_paths(["."], Settings(jobs=1, cache=False)).findings
    assert [(r.start.line, os.path.basename(r.path)) for r in finding.related] == [(23, "module.py")]
    assert finding.fix is not None and len(finding.fix.edits) == 1
