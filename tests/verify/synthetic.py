"""Findings built by hand for the verifier tests: a rule code and the facts a scenario reads."""

from __future__ import annotations

from typing import Any

from peftlint.findings import Finding, Position


def finding(code: str, path: str = "train.py", **facts: Any) -> Finding:
    return Finding(
        code=code,
        name="test",
        message="test",
        path=path,
        start=Position(1, 1),
        end=Position(1, 2),
        facts=tuple(sorted(facts.items())),
    )
