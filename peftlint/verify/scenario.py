"""What every scenario module (``peftNNN.py``) provides, returns and raises.

A scenario module defines ``run(finding: Finding, base: BaseModel) -> Outcome``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Outcome:
    status: str  # "confirmed" | "not_reproduced" | "skipped"
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)


class CannotRebuild(Exception):
    """The scenario cannot be rebuilt from the facts; the finding is skipped with this reason."""


def first_line(error: BaseException, limit: int = 300) -> str:
    lines = str(error).strip().splitlines()
    line = lines[0].strip() if lines else type(error).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"
