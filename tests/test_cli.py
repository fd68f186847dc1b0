"""The real console script, run in a subprocess on small projects built in tmp_path.

Each project holds the two seed bugs (PEFT002 in ``bug1.py``, PEFT001 twice in ``bug2.py``) and a
clean file. Positions are computed from the sources written here, never typed in by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import peftlint

SEED_BUG_1 = """\
import torch
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForCausalLM

config = LoraConfig(task_type=TaskType.CAUSAL_LM, inference_mode=False, r=8, lora_alpha=32, lora_dropout=0.1)
model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), config)
torch.save(model, "model.pt")

other = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), config)
other.load_state_dict(torch.load("model.pt"))
"""

SEED_BUG_2 = """\
import os

from diffusers import UNet2DConditionModel
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import CLIPTextModel

model_path, resume = "./checkpoints/lora", True
text_encoder = CLIPTextModel.from_pretrained("runwayml/stable-diffusion-v1-5", subfolder="text_encoder")
unet = UNet2DConditionModel.from_pretrained("runwayml/stable-diffusion-v1-5", subfolder="unet")
lora_config = LoraConfig(r=8, lora_alpha=32, target_modules=["to_q", "to_v", "q_proj", "v_proj"])

text_encoder = get_peft_model(text_encoder, lora_config)
unet = get_peft_model(unet, lora_config)
if resume:
    text_encoder = PeftModel.from_pretrained(text_encoder, os.path.join(model_path, "text_encoder"))
    unet = PeftModel.from_pretrained(unet, os.path.join(model_path, "unet"))
"""

CLEAN = """\
import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

base = AutoModelForCausalLM.from_pretrained("gpt2")
model = PeftModel.from_pretrained(base, "./lora_model")
torch.save(model.state_dict(), "weights.pt")
model.load_state_dict(torch.load("weights.pt"))
"""

# One PEFT001 finding per file: what the directory walk uses to show which files were linted.
ONE_FINDING = """\
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8))
model = PeftModel.from_pretrained(model, "./lora_model")
"""

UNPARSABLE = """\
from peft import PeftModel

model = PeftModel.from_pretrained(base, "./lora_model"
"""

TRAIN = """\
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM


def main():
    model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8, lora_alpha=32))
    torch.save(model, "model.pt")


if __name__ == "__main__":
    main()
"""

INFER = """\
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM

model = get_peft_model(AutoModelForCausalLM.from_pretrained("gpt2"), LoraConfig(r=8, lora_alpha=32))
model.load_state_dict(torch.load("model.pt"))
model.eval()
"""

FINDING_LINE = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<row>\d+):(?P<column>\d+): (?P<code>PEFT\d{3}) (?P<message>\S.*)$"
)
NOTE_LINE = re.compile(r"^  (?P<path>[^\s:][^:]*):(?P<row>\d+):(?P<column>\d+): note: (?P<message>\S.*)$")
ANSI = "\x1b["


def at(source: str, needle: str, occurrence: int = 0) -> tuple[int, int]:
    """The 1-based (row, column) where the ``occurrence``-th ``needle`` starts in ``source``."""
    matches = [(row, line.index(needle) + 1) for row, line in enumerate(source.splitlines(), 1) if needle in line]
    return matches[occurrence]


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "peftlint", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def findings(process: subprocess.CompletedProcess[str]) -> list[dict]:
    data = json.loads(process.stdout)
    assert isinstance(data, list)
    return data


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()  # the repository top: .gitignore lookup stops here
    return write(tmp_path, {"bug1.py": SEED_BUG_1, "bug2.py": SEED_BUG_2, "clean.py": CLEAN})


# --- exit codes --------------------------------------------------------------------------------


def test_clean_file_exits_0_in_both_formats(project: Path) -> None:
    text = run(project, "check", "clean.py")
    assert (text.returncode, text.stderr) == (0, "")
    assert "Found" not in text.stdout
    as_json = run(project, "check", "--format", "json", "clean.py")
    assert (as_json.returncode, as_json.stderr) == (0, "")
    assert findings(as_json) == []


def test_findings_exit_1_and_exit_zero_exits_0(project: Path) -> None:
    found = run(project, "check", "bug2.py", "clean.py")
    assert found.returncode == 1
    assert found.stderr == ""
    zero = run(project, "check", "--exit-zero", "bug2.py", "clean.py")
    assert zero.returncode == 0
    assert zero.stdout == found.stdout, "--exit-zero changes the exit code, not the report"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["check", "--bogus"], "--bogus"),
        (["check", "--select", "PEFT999"], "PEFT999"),
        (["check", "--ignore", "PEFT001,PEFT9"], "PEFT9"),
        (["frobnicate"], "frobnicate"),
    ],
    ids=["unknown-option", "unknown-select-code", "unknown-ignore-prefix", "unknown-command"],
)
def test_usage_errors_exit_2(project: Path, args: list[str], complaint: str) -> None:
    process = run(project, *args, "bug2.py")
    assert process.returncode == 2
    assert process.stdout == "", "nothing is linted after a usage error"
    assert "Usage:" in process.stderr and complaint in process.stderr
    assert "Traceback" not in process.stderr


def test_unparsable_file_exits_2_and_the_other_files_are_still_checked(project: Path) -> None:
    write(project, {"broken.py": UNPARSABLE})
    text = run(project, "check", "--output-format", "concise", "broken.py", "bug2.py", "clean.py")
    assert text.returncode == 2
    assert text.stdout.count(" PEFT001 ") == 2
    summary = text.stdout.splitlines()[-1]
    assert summary.startswith("Found 2 problems") and "1 file could not be analysed" in summary
    assert "Traceback" not in text.stderr
    (error,) = text.stderr.splitlines()
    assert re.fullmatch(r"peftlint: error: broken\.py: syntax error at line \d+: .+", error), error

    as_json = run(project, "check", "--format", "json", "broken.py", "bug2.py")
    assert as_json.returncode == 2
    assert {f["filename"] for f in findings(as_json)} == {"bug2.py"}, "stdout stays valid JSON"
    assert as_json.stderr == text.stderr


def test_summary_does_not_claim_success_when_a_file_failed(project: Path) -> None:
    write(project, {"broken.py": UNPARSABLE})
    process = run(project, "check", "broken.py", "clean.py")
    assert process.returncode == 2
    assert "All checks passed" not in process.stdout
    assert "1 file could not be analysed" in process.stdout.splitlines()[-1]


def test_nonexistent_path_exits_2_naming_it(project: Path) -> None:
    process = run(project, "check", "--output-format", "concise", "no_such_dir", "bug2.py")
    assert process.returncode == 2
    assert process.stdout.count(" PEFT001 ") == 2, "the existing file is still checked"
    assert process.stderr.splitlines() == ["peftlint: error: no_such_dir: no such file or directory"]


# --- entry points --------------------------------------------------------------------------------


def test_no_subcommand_prints_help_and_version(project: Path) -> None:
    bare = run(project)
    assert bare.returncode == 0
    assert bare.stdout.startswith("Usage:")
    assert re.search(r"^\s+check\s", bare.stdout, re.MULTILINE), "the help lists the check command"
    version = run(project, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"peftlint, version {peftlint.__version__}"


def test_console_script_matches_python_dash_m(project: Path) -> None:
    executable = shutil.which("peftlint", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if executable is None:
        pytest.skip("the peftlint console script is not installed")
    script = subprocess.run(
        [executable, "check", "bug1.py", "bug2.py"], cwd=project, capture_output=True, text=True, timeout=60
    )
    module = run(project, "check", "bug1.py", "bug2.py")
    assert script.returncode == module.returncode == 1
    assert script.stdout == module.stdout
    assert script.stdout.splitlines()[-1] == "Found 3 problems in 2 files."


# --- text format ---------------------------------------------------------------------------------


def test_concise_format_lines_notes_and_summary(project: Path) -> None:
    process = run(project, "check", "--output-format", "concise", "bug1.py", "bug2.py", "clean.py")
    assert run(project, "check", "--format", "text", "bug1.py", "bug2.py", "clean.py").stdout == process.stdout
    assert process.returncode == 1
    assert ANSI not in process.stdout, "no colour when stdout is a pipe"
    lines = process.stdout.splitlines()
    assert lines[-1] == "Found 3 problems in 2 files."

    reported = []
    for line in lines[:-1]:
        finding, note = FINDING_LINE.match(line), NOTE_LINE.match(line)
        assert finding or note, f"neither a finding nor a note line: {line!r}"
        if finding:
            reported.append([finding["path"], int(finding["row"]), int(finding["column"]), finding["code"], []])
        else:
            assert reported, "a note follows its finding"
            reported[-1][4].append((note["path"], int(note["row"]), int(note["column"]), note["message"]))

    load, save = at(SEED_BUG_1, "other.load_state_dict"), at(SEED_BUG_1, "torch.save")
    text_encoder, unet = at(SEED_BUG_2, "PeftModel.from_pretrained", 0), at(SEED_BUG_2, "PeftModel.from_pretrained", 1)
    assert [(path, row, column, code) for path, row, column, code, _ in reported] == [
        ("bug1.py", *load, "PEFT002"),
        ("bug2.py", *text_encoder, "PEFT001"),
        ("bug2.py", *unet, "PEFT001"),
    ]
    (save_note,) = reported[0][4]
    assert save_note[:3] == ("bug1.py", *save)
    (wrap_note,) = reported[1][4]
    assert wrap_note[:3] == ("bug2.py", *at(SEED_BUG_2, "get_peft_model(text_encoder"))
    assert "get_peft_model" in wrap_note[3]
    (wrap_note,) = reported[2][4]
    assert wrap_note[:3] == ("bug2.py", *at(SEED_BUG_2, "get_peft_model(unet"))


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_only_on_a_terminal(project: Path) -> None:
    """The counterpart of the pipe check above: colour does exist, so its absence there means something."""
    import pty

    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "peftlint", "check", "bug2.py"], cwd=project, stdout=follower, stderr=subprocess.PIPE
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO once the child has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=60) == 1
    assert ANSI in b"".join(chunks).decode()


# --- JSON format ---------------------------------------------------------------------------------


def test_json_format_fields_order_and_columns(project: Path) -> None:
    process = run(project, "check", "--format", "json", "clean.py", "bug2.py", "bug1.py")
    assert process.returncode == 1
    items = findings(process)
    assert len(items) == 3
    text = run(project, "check", "--output-format", "concise", "clean.py", "bug2.py", "bug1.py")
    from_text = [
        (m["path"], int(m["row"]), int(m["column"]), m["code"], m["message"])
        for m in map(FINDING_LINE.match, text.stdout.splitlines())
        if m
    ]
    from_json = [(i["filename"], i["location"]["row"], i["location"]["column"], i["code"], i["message"]) for i in items]
    assert from_json == from_text, "both formats report the same findings in the same order"
    keys = {"cell", "code", "end_location", "filename", "fix", "location", "message", "name", "noqa_row"}
    keys |= {"related", "severity", "url"}
    for item in items:
        assert list(item) == sorted(keys), "ruff's keys, in ruff's (sorted) order"
        assert item["cell"] is None and item["noqa_row"] == item["location"]["row"]
        assert item["code"] in ("PEFT001", "PEFT002")
        assert isinstance(item["message"], str) and item["message"]
        assert item["severity"] == "error"
        assert item["url"] == f"https://github.com/peftlint/peftlint/blob/main/docs/rules/{item['code']}.md"
        if item["fix"] is not None:
            assert set(item["fix"]) == {"message", "applicability", "edits"}
            assert item["fix"]["applicability"] in ("safe", "unsafe")
            for edit in item["fix"]["edits"]:
                assert set(edit) == {"cell", "content", "end_location", "filename", "location"}
        assert set(item["location"]) == set(item["end_location"]) == {"row", "column"}
        start, end = item["location"], item["end_location"]
        assert min(start.values()) >= 1
        assert (end["row"], end["column"]) > (start["row"], start["column"])
        assert item["related"], "every finding names its other half"
        for related in item["related"]:
            assert set(related) == {"cell", "filename", "location", "message"}
            assert set(related["location"]) == {"row", "column"}
    order = [(i["filename"], i["location"]["row"], i["location"]["column"], i["code"]) for i in items]
    assert order == sorted(order)

    names = {item["code"]: item["name"] for item in items}
    assert names == {"PEFT001": "adapter-loaded-onto-peft-model", "PEFT002": "pickled-module-loaded-as-state-dict"}

    peft002 = items[0]
    assert peft002["filename"] == "bug1.py"
    assert "model.pt" in peft002["message"]
    (save,) = peft002["related"]
    assert save["filename"] == "bug1.py"
    assert (save["location"]["row"], save["location"]["column"]) == at(SEED_BUG_1, "torch.save")
    if peft002["fix"] is not None:  # an edit replaces source text at its exact 1-based span
        for edit in peft002["fix"]["edits"]:
            start, end = edit["location"], edit["end_location"]
            assert start["row"] == end["row"] == save["location"]["row"]
            assert SEED_BUG_1.splitlines()[start["row"] - 1][start["column"] - 1 : end["column"] - 1] == "model"

    # 1-based columns: the indented call under `if resume:` starts at column 20
    text_encoder = items[1]
    row, column = text_encoder["location"]["row"], text_encoder["location"]["column"]
    line = SEED_BUG_2.splitlines()[row - 1]
    assert line.startswith("    text_encoder = PeftModel.from_pretrained(")
    assert column == 20
    assert line[column - 1 :].startswith("PeftModel.from_pretrained(text_encoder")
    end = text_encoder["end_location"]
    assert end["row"] == row and line[: end["column"] - 1].endswith('"text_encoder"))'), "end is exclusive"


# --- rule selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "codes"),
    [
        (["--ignore", "PEFT001"], {"PEFT002"}),
        (["--select", "PEFT002"], {"PEFT002"}),
        (["--select", "PEFT001,PEFT002"], {"PEFT001", "PEFT002"}),
        (["--select", "PEFT00", "--ignore", "PEFT002"], {"PEFT001"}),
        (["--ignore", "PEFT"], set()),
    ],
)
def test_select_and_ignore(project: Path, options: list[str], codes: set[str]) -> None:
    process = run(project, "check", "--format", "json", *options, "bug1.py", "bug2.py", "clean.py")
    assert process.returncode == (1 if codes else 0)
    assert {item["code"] for item in findings(process)} == codes


# --- jobs and cache ------------------------------------------------------------------------------


def test_jobs_and_cache_do_not_change_the_output(project: Path) -> None:
    # enough files to analyse (16+) for --jobs 2 to start a real process pool
    write(project, {f"pkg/script_{i:02}.py": ONE_FINDING for i in range(20)})
    write(project, {"pair/train.py": TRAIN, "pair/infer.py": INFER})

    def lint(*options: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [sys.executable, "-m", "peftlint", "check", *options], cwd=project, capture_output=True, timeout=60
        )

    serial = lint("--no-cache", "--jobs", "1")
    assert (serial.returncode, serial.stderr) == (1, b"")
    assert serial.stdout.endswith(b"Found 24 problems in 23 files.\n")
    assert lint("--no-cache", "--jobs", "2").stdout == serial.stdout
    assert not (project / ".peftlint_cache").exists(), "--no-cache writes no cache"

    cold, warm = lint(), lint()
    assert (project / ".peftlint_cache").is_dir()
    assert cold.stdout == warm.stdout == serial.stdout
    assert cold.returncode == warm.returncode == 1


def test_the_cache_is_keyed_by_peftlints_own_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A results cache written by another build of the same version (an edited checkout, a rebuilt
    release) is never read: its entries could be wrong for this analysis."""
    from peftlint import cache, lint_paths

    (tmp_path / "demo.py").write_text(ONE_FINDING, encoding="utf-8")
    directory = str(tmp_path / ".peftlint_cache")
    lint_paths([str(tmp_path)], cache_dir=directory)
    selected = [r for r in peftlint.rules.select_rules(("ALL",), ()) if r.analysed]
    stored = cache.ResultCache(directory, selected)
    assert stored.entries and stored.build.startswith(cache.code_fingerprint() + "+")
    assert stored.build.startswith(peftlint.__version__ + "+")
    monkeypatch.setattr(cache, "code_fingerprint", lambda: peftlint.__version__ + "+another-build")
    assert cache.ResultCache(directory, selected).entries == {}


def test_a_warm_run_sees_every_change_to_the_run(tmp_path: Path) -> None:
    """A warm run reuses the last run's bytes scan only while every file keeps its size, times
    and inode: an edit, a new file, a removed file, or an edited helper another file's finding
    went through each give the findings a cold run gives."""
    from peftlint import lint_paths

    directory = str(tmp_path / ".peftlint_cache")
    write(tmp_path, {"pair/train.py": TRAIN, "pair/infer.py": INFER, "clean.py": CLEAN})

    def both() -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
        warm = lint_paths([str(tmp_path)], cache_dir=directory)
        cold = lint_paths([str(tmp_path)])
        shown = [[(os.path.basename(f.path), f.code, f.start.line) for f in r.findings] for r in (warm, cold)]
        return shown[0], shown[1]

    first = lint_paths([str(tmp_path)], cache_dir=directory)
    assert [f.code for f in first.findings] == ["PEFT002"]
    assert both() == ([("infer.py", "PEFT002", at(INFER, "model.load_state_dict")[0])],) * 2
    # the clean file edited into a bug (same directory as nothing else: its own finding)
    write(tmp_path, {"clean.py": ONE_FINDING})
    warm, cold = both()
    assert warm == cold and any(name == "clean.py" for name, _, _ in warm)
    # the save fixed: the pair's finding goes, though infer.py itself is unchanged
    write(tmp_path, {"pair/train.py": TRAIN.replace("torch.save(model,", "torch.save(model.state_dict(),")})
    warm, cold = both()
    assert warm == cold and not any(name == "infer.py" for name, _, _ in warm)
    # a new file, then the file removed again
    write(tmp_path, {"pair/more.py": ONE_FINDING})
    warm, cold = both()
    assert warm == cold and any(name == "more.py" for name, _, _ in warm)
    (tmp_path / "pair" / "more.py").unlink()
    warm, cold = both()
    assert warm == cold and not any(name == "more.py" for name, _, _ in warm)


# --- cross-file PEFT002 --------------------------------------------------------------------------


def test_cross_file_pickled_module_finding_is_in_infer_with_note_in_train(tmp_path: Path) -> None:
    write(tmp_path, {"project/train.py": TRAIN, "project/infer.py": INFER})
    process = run(tmp_path, "check", "--format", "json", "project")
    assert process.returncode == 1
    (finding,) = findings(process)
    assert finding["code"] == "PEFT002"
    assert Path(finding["filename"]) == Path("project/infer.py")
    assert (finding["location"]["row"], finding["location"]["column"]) == at(INFER, "model.load_state_dict")
    (save,) = finding["related"]
    assert Path(save["filename"]) == Path("project/train.py")
    assert (save["location"]["row"], save["location"]["column"]) == at(TRAIN, "torch.save")

    text = run(tmp_path, "check", "--output-format", "concise", "project")
    infer, train = os.path.join("project", "infer.py"), os.path.join("project", "train.py")
    row, column = at(INFER, "model.load_state_dict")
    save_row, save_column = at(TRAIN, "torch.save")
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"{infer}:{row}:{column}: PEFT002 ")
    assert lines[1].startswith(f"  {train}:{save_row}:{save_column}: note: ")
    assert lines[2:] == ["Found 1 problem in 1 file."]


# --- directory walk ------------------------------------------------------------------------------

GITIGNORE = """\
# scratch work and generated code
experiments/*
!experiments/keep.py
out/
**/gen_*.py
"""

WALKED = ["app.py", "experiments/keep.py", "pkg/generated.py", "pkg/model.py", "pkg/outer.py"]
SKIPPED = [
    ".git/hooks/post_commit.py",
    "myenv/lib/site.py",  # a virtualenv under any name: it has a pyvenv.cfg
    "venv/lib/site.py",
    "pkg/__pycache__/model.py",
    "build/lib/app.py",
    "dist/app.py",
    "experiments/old.py",
    "out/report.py",
    "pkg/out/report.py",
    "gen_top.py",
    "pkg/gen_mid.py",
    "pkg/deep/gen_bottom.py",
]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path, {name: ONE_FINDING for name in WALKED + SKIPPED})
    write(tmp_path, {".gitignore": GITIGNORE, "myenv/pyvenv.cfg": "home = /usr/bin\n"})
    return tmp_path


def linted(process: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted({os.path.normpath(item["filename"]).replace(os.sep, "/") for item in findings(process)})


def test_directory_walk_skips_tool_dirs_virtualenvs_and_gitignored_files(tree: Path) -> None:
    default = run(tree, "check", "--format", "json")  # no path: the current directory
    assert default.returncode == 1, default.stderr
    assert linted(default) == WALKED

    unignored = run(tree, "check", "--format", "json", "--no-respect-gitignore")
    gitignored = [
        "experiments/old.py",
        "gen_top.py",
        "out/report.py",
        "pkg/deep/gen_bottom.py",
        "pkg/gen_mid.py",
        "pkg/out/report.py",
    ]
    assert linted(unignored) == sorted(WALKED + gitignored)


def test_explicit_ignored_file_is_linted_unless_force_exclude(tree: Path) -> None:
    explicit = run(tree, "check", "--format", "json", "pkg/gen_mid.py", "build/lib/app.py")
    assert linted(explicit) == ["build/lib/app.py", "pkg/gen_mid.py"]

    forced = run(tree, "check", "--format", "json", "--force-exclude", "pkg/gen_mid.py", "build/lib/app.py", "app.py")
    assert linted(forced) == ["app.py"]


def test_force_exclude_applies_the_gitignore_beside_the_file(tree: Path) -> None:
    forced = run(tree, "check", "--format", "json", "--force-exclude", "gen_top.py", "app.py")
    assert linted(forced) == ["app.py"]
