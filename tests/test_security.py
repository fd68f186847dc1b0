"""Security (issue 6, item 4): the static pass never imports, executes or unpickles what it lints.

A hostile project plants code that would write marker files if imported or run (module-level code,
``sitecustomize``/``usercustomize``, modules shadowing what peftlint itself imports), and malicious
pickles beside code that loads them. Linting it through the library, ``python -m peftlint`` and the
console script leaves no marker; an audit hook proves no weights file is even opened.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from peftlint import lint_paths

TIMEOUT = 120
HEAVY_MODULES = ("torch", "transformers", "peft", "safetensors", "accelerate", "diffusers", "numpy")
WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".pkl", ".pickle", ".ckpt", ".npy", ".npz", ".h5", ".gguf")
# Names a shadowing attack would use: what peftlint, the interpreter or the ML stack import.
SHADOW_MODULES = ("sitecustomize", "usercustomize", "click", "libcst", "torch", "peft", "transformers", "json", "ast")


class _Pickled:
    """Unpickling this calls ``open(marker, "w")``: a pickle that writes a file when loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def _markers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.marker"))


def _code_writing(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').write('executed')\n"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A project whose every file would leave a ``<name>.marker`` in ``tmp_path/markers`` if run or unpickled."""
    markers = tmp_path / "markers"
    markers.mkdir()
    project = tmp_path / "proj"
    project.mkdir()
    (project / "train.py").write_text(
        _code_writing(markers / "train.marker") + "import torch\n"
        "from peft import PeftModel, get_peft_model\n"
        "from config import CKPT\n"
        "\n"
        "model = get_peft_model(model, cfg)\n"
        'model = PeftModel.from_pretrained(model, "x")\n'
        'torch.save(model, "model.pt")\n'
        'model.load_state_dict(torch.load("model.pt"))\n'
        "torch.save(model, CKPT)\n",
        encoding="utf-8",
    )
    # read for its constants (``from config import CKPT``), with ast only
    (project / "config.py").write_text(_code_writing(markers / "config.marker") + 'CKPT = "ckpt.bin"\n', "utf-8")
    (project / "infer.py").write_text(
        _code_writing(markers / "infer.marker")
        + "import torch\nfrom config import CKPT\nmodel.load_state_dict(torch.load(CKPT))\n",
        encoding="utf-8",
    )
    for name in SHADOW_MODULES:
        (project / f"{name}.py").write_text(_code_writing(markers / f"{name}.marker"), encoding="utf-8")
    (project / "__main__.py").write_text(_code_writing(markers / "main.marker"), encoding="utf-8")
    for name in ("model.pt", "ckpt.bin", "pytorch_model.bin", "adapter_model.safetensors", "optimizer.pkl"):
        (project / name).write_bytes(pickle.dumps(_Pickled(markers / f"{name}.marker")))
    return project


def _assert_clean(project: Path) -> None:
    assert _markers(project.parent) == [], "linting ran or unpickled user content"


def _findings(stdout: str) -> set[tuple[str, str]]:
    """(file name, code) of every ``path:line:col: CODE message`` line of the text report."""
    return {(os.path.basename(m[1]), m[2]) for m in re.finditer(r"^(\S+):\d+:\d+: (PEFT\d{3}) ", stdout, re.M)}


EXPECTED = {("train.py", "PEFT001"), ("train.py", "PEFT002"), ("infer.py", "PEFT002")}


def test_the_planted_pickles_really_are_malicious(hostile: Path) -> None:
    """The control: loading a planted file does write its marker (so its absence below means something)."""
    handle = pickle.loads((hostile / "model.pt").read_bytes())
    handle.close()
    assert _markers(hostile.parent) == ["markers/model.pt.marker"]


def test_library_runs_nothing_and_loads_nothing(hostile: Path) -> None:
    result = lint_paths([str(hostile)])
    assert {(os.path.basename(f.path), f.code) for f in result.findings} == EXPECTED
    assert result.errors == ()
    _assert_clean(hostile)


def test_python_dash_m_runs_nothing_and_loads_nothing(hostile: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "peftlint", "check", "--output-format", "concise", "proj"],
        cwd=hostile.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert completed.returncode == 1, completed.stderr
    assert _findings(completed.stdout) == EXPECTED
    _assert_clean(hostile)


def test_console_script_inside_the_hostile_project_runs_nothing(hostile: Path) -> None:
    """As pre-commit runs it: the console script, from the project root, where shadowing modules sit."""
    script = shutil.which("peftlint", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("the peftlint console script is not installed next to this interpreter")
    completed = subprocess.run(
        [script, "check", "--output-format", "concise", "."],
        cwd=hostile,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert completed.returncode == 1, completed.stderr
    assert _findings(completed.stdout) == EXPECTED
    _assert_clean(hostile)


_MODULES_SCRIPT = """
import json, sys
from peftlint import lint_paths
result = lint_paths([sys.argv[1]])
heavy = sorted(m for m in sys.argv[2].split(",") if m in sys.modules)
user = sorted(
    name for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or "").startswith(sys.argv[1])
)
print(json.dumps({"findings": len(result.findings), "heavy": heavy, "user": user}))
"""


def test_linter_process_imports_no_ml_library_and_no_user_module(hostile: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", _MODULES_SCRIPT, str(hostile), ",".join(HEAVY_MODULES)],
        cwd=hostile.parent,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=True,
    )
    assert json.loads(completed.stdout) == {"findings": len(EXPECTED), "heavy": [], "user": []}
    _assert_clean(hostile)


# --- what the static pass touches, recorded by an audit hook ------------------------------------

_AUDIT_SCRIPT = r"""
import json, os, sys

events = []
recording = True


def hook(event, args):
    if not recording:
        return
    if event == "open":
        path = args[0]
        if isinstance(path, (str, bytes)):
            events.append(["open", os.fsdecode(os.path.abspath(path)), str(args[1])])
    elif event == "exec":
        events.append(["exec", getattr(args[0], "co_filename", "?")])
    elif event == "pickle.find_class" or event.startswith(("socket.", "subprocess.", "os.system", "os.exec",
                                                          "os.posix_spawn", "os.spawn", "os.fork", "ctypes.dlopen")):
        events.append([event, repr(args)[:200]])


sys.addaudithook(hook)
report, *argv = sys.argv[1:]
sys.argv = ["peftlint", *argv]
code = None
try:
    from peftlint.cli import main

    main()
except SystemExit as exit:
    code = exit.code
recording = False
with open(report, "w", encoding="utf-8") as handle:
    json.dump({"code": code, "events": events}, handle)
"""


def _python_installation() -> list[str]:
    import sysconfig

    import libcst

    import peftlint

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots |= {p for p in sysconfig.get_paths().values() if p}
    roots |= {os.path.dirname(os.path.dirname(libcst.__file__)), os.path.dirname(peftlint.__file__)}
    return sorted(os.path.realpath(r) for r in roots) + sorted(os.path.abspath(r) for r in roots)


def test_static_pass_opens_only_sources_and_never_a_weights_file(hostile: Path, tmp_path: Path) -> None:
    hook_script = tmp_path / "audit_hook.py"  # outside the project: its directory becomes sys.path[0]
    hook_script.write_text(_AUDIT_SCRIPT, encoding="utf-8")
    report = tmp_path / "audit.json"
    completed = subprocess.run(
        [sys.executable, str(hook_script), str(report), "check", "--output-format", "concise", "."],
        cwd=hostile,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert _findings(completed.stdout) == EXPECTED, completed.stderr
    audit = json.loads(report.read_text(encoding="utf-8"))
    assert audit["code"] == 1
    _assert_clean(hostile)

    project = os.path.realpath(hostile) + os.sep
    cache = project + ".peftlint_cache" + os.sep
    installation = tuple(r + os.sep for r in _python_installation())
    opened = [os.path.realpath(path) for kind, path, *_ in audit["events"] if kind == "open"]
    assert opened, "the audit hook saw no open(): it is not recording"

    weights = [p for p in opened if p.endswith(WEIGHT_SUFFIXES)]
    assert weights == [], f"weights files were opened: {weights}"
    in_project = sorted({p for p in opened if p.startswith(project) and not p.startswith(cache)})
    assert in_project and all(p.endswith(".py") or os.path.basename(p) == ".gitignore" for p in in_project), in_project
    elsewhere = sorted(
        {
            p
            for p in opened
            if not p.startswith(project)
            and not p.startswith(installation)
            and os.path.basename(p) not in (".gitignore", "pyproject.toml", "peftlint.toml")
            and not p.startswith(("/dev/", "/proc/", "/sys/"))
        }
    )
    assert elsewhere == [], f"files outside the project and the Python installation were opened: {elsewhere}"

    executed = sorted({e[1] for e in audit["events"] if e[0] == "exec" and e[1].startswith((project, "<peftlint"))})
    assert executed == [], f"linted code was executed: {executed}"
    other = [e for e in audit["events"] if e[0] not in ("open", "exec")]
    assert other == [], f"unpickling, network or process events during a static run: {other}"
