"""codex_trio.api."""
