"""Property-based tests run derandomised: CI must be reproducible, and a failure found once is
found again on every run (until fixed). HYPOTHESIS_PROFILE=explore searches afresh."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
