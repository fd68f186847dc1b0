"""Runtime confirmation of findings with real torch/transformers/peft models (extra ``verify``).

Importing this package is cheap: the heavy libraries are imported only inside
:func:`verify_findings`, so the CLI can import it unconditionally.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Sequence

from peftlint.findings import Finding
from peftlint.verify.verdicts import INSTALL_HINT, REQUIRED_LIBRARIES, Verdict, VerifyOptions

__all__ = ["INSTALL_HINT", "REQUIRED_LIBRARIES", "Verdict", "VerifyOptions", "verify_available", "verify_findings"]


def verify_available() -> str | None:
    """None when the verify extra is installed, else the install hint (nothing is imported)."""
    if all(importlib.util.find_spec(name) is not None for name in REQUIRED_LIBRARIES):
        return None
    return INSTALL_HINT


def verify_findings(findings: Sequence[Finding], options: VerifyOptions) -> list[Verdict]:
    """Rebuild each finding's situation with the real libraries; verdicts in the same order."""
    if not options.allow_network:
        # Must be set before huggingface_hub is first imported: it reads the flag at import time.
        os.environ["HF_HUB_OFFLINE"] = "1"
    from peftlint.verify.session import Session  # the only place the heavy imports start

    session = Session(options)
    if not (options.progress and len(findings) > 1):
        return [session.verify(finding) for finding in findings]
    import click

    with click.progressbar(findings, label="verifying findings", file=sys.stderr, item_show_func=_progress_item) as bar:
        return [session.verify(finding) for finding in bar]


def _progress_item(finding: Finding | None) -> str | None:
    return f"{finding.code} {finding.path}:{finding.start.line}" if finding else None
