"""codex_trio._transport."""
