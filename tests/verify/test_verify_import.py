"""Importing the verifier must stay cheap: the CLI imports it on every run."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "huggingface_hub")


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, peftlint.verify\n"
        "assert peftlint.verify.verify_available() is None\n"
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
