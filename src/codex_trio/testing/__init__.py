"""codex_trio.testing."""
