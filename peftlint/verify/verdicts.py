"""What a verification run takes and gives: options and verdicts (no heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INSTALL_HINT = "pip install 'peftlint[verify]'"
REQUIRED_LIBRARIES = ("torch", "transformers", "peft")


@dataclass(frozen=True)
class VerifyOptions:
    model: str | None = None  # --verify-model PATH_OR_ID
    allow_network: bool = False  # --allow-network
    small: bool = False  # --verify-small: well-known ids rebuilt at a tiny size of their architecture
    progress: bool = True  # show progress on stderr when more than one finding is verified


@dataclass(frozen=True)
class Verdict:
    status: str  # "confirmed" | "not_reproduced" | "skipped"
    reason: str
    model: str  # what was loaded and how
    versions: dict[str, str | None] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable figures
    seconds: float = 0.0  # time spent on this finding

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "model": self.model,
            "versions": dict(self.versions),
            "evidence": self.evidence,
            "seconds": round(self.seconds, 3),
        }

    def summary(self) -> str:
        """One line for the text reporter, printed after ``verified: ``."""
        return f"{self.status}: {self.reason} [model: {self.model}; {self.seconds:.1f}s]"
