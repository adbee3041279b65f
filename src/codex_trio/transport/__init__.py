"""codex_trio.transport."""
