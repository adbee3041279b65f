import os

from hypothesis import settings

pytest_plugins = ["codex_trio.testing.pytest_plugin"]

# CI runs property tests derandomized (HYPOTHESIS_PROFILE=ci in .ci/run): the same examples on
# every run, so a submission's result can be reproduced exactly; local runs explore at random.
settings.register_profile("ci", derandomize=True, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
