"""codex_trio.observe."""
