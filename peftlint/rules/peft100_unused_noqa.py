from __future__ import annotations

from peftlint.findings import Finding, Position, Severity
from peftlint.rules.base import Rule
from peftlint.suppression import ALL, Suppressions


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

    @classmethod
    def unused(cls, path: str, text: str, directives: Suppressions, matched: set[tuple[int, str]]) -> list[Finding]:
        """A finding per directive of ``path`` that suppressed nothing (``matched``: those that did)."""
        lines = text.splitlines()
        found = []
        for line, code in directives.unused(matched):
            line_text = lines[line - 1] if line <= len(lines) else ""
            column = line_text.find("#") + 1 or 1
            what = "any finding" if code == ALL else code
            found.append(
                Finding(
                    code=cls.code,
                    name=cls.name,
                    message=f"unused suppression: no {what} is reported here; remove it",
                    path=path,
                    start=Position(line, column),
                    end=Position(line, len(line_text) + 1),
                    severity=cls.severity,
                )
            )
        return found
