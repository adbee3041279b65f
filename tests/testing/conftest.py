"""Fixtures for the tests of codex_trio.testing.

``pytest_plugins`` may only be declared in the top-level conftest, so the plugin's fixtures are
imported here instead (users of the plugin declare it as its docstring says).
"""

from codex_trio.testing.pytest_plugin import (  # noqa: F401
    codex_binary,
    mock_model,
    mock_model_options,
    mock_server,
)
