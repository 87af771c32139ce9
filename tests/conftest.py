"""Hypothesis profiles: random exploration by default; fixed examples on CI (CI=true), so a
red CI run is reproducible and never flaky. Choose one with HYPOTHESIS_PROFILE=dev|ci."""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
