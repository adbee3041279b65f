"""codex_trio.protocol."""
