from __future__ import annotations

from peftlint.findings import Severity
from peftlint.rules.base import Rule


class UnusedNoqa(Rule):
    """
    ## What it does
    With `--report-unused-noqa`, reports `# noqa`, `# noqa: PEFTnnn` and `# peftlint: noqa`
    comments that suppressed nothing in this run. The engine reports it; no analysis runs for it.

    ## Why is this bad?
    A suppression outlives the code it was written for: after a refactor it silently hides the
    next real finding on that line.

    ## Example
    ```python
    model = PeftModel.from_pretrained(base, "./lora")  # noqa: PEFT001   <- base is fresh: nothing to hide
    ```

    ## Fix
    Delete the comment, or the codes in it that no longer fire.

    ## References
    - ruff's RUF100 (unused-noqa), whose semantics this follows
    """

    code = "PEFT100"
    name = "unused-noqa"
    summary = "A suppression comment that matched no finding (only with --report-unused-noqa)."
    severity = Severity.WARNING
    analysed = False
