"""codex_trio.runtime."""
