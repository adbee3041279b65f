pytest_plugins = ["codex_trio.testing.pytest_plugin"]
