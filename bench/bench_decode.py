"""How fast ``decode_event`` types codex's lines, next to bare ``json.loads`` and ``orjson.loads``.

Builds a corpus of at least 100 000 JSONL lines and prints, from one run, lines per second for
``json.loads``, ``orjson.loads`` and ``decode_event`` on the same lines, and the ratio of
``decode_event`` to ``json.loads`` (the target is a ratio of at least 0.5: typing a line may
cost at most as much again as parsing it with the standard library). Then the same per event
kind, in nanoseconds per line, to show where the time goes (``decode_event`` parses with orjson,
so ``orjson.loads`` is its floor).

The corpus repeats the real transcripts of ``fixtures/exec/*.jsonl`` (raw stdout of the pinned
codex, as ``bytes``, which is what the transport hands over) when there are any; otherwise it is
a synthetic mix of every event and item type, shaped like those transcripts. The first line of
output says which.

Run: ``.venv/bin/python bench/bench_decode.py``. Each figure is the best of several passes, run
alternately for the three decoders so that both see the same machine load; on a shared machine
expect 10-20 % jitter between runs, less on the ratio.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from codex_trio._protocol import decode_event

MIN_LINES = 100_000
PASSES = 5
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "exec"

SYNTHETIC = [
    '{"type":"thread.started","thread_id":"01a21349-1f5a-7221-a276-bb1e2f911f83"}',
    '{"type":"turn.started"}',
    '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"Looking at the'
    ' repository layout first."}}',
    '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":'
    '"/bin/bash -lc \'ls -la\'","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
    '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":'
    '"/bin/bash -lc \'ls -la\'","aggregated_output":"total 8\\ndrwxr-xr-x 2 u u 4096 .\\n",'
    '"exit_code":0,"status":"completed"}}',
    '{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":'
    '"/w/hello.txt","kind":"add"}],"status":"completed"}}',
    '{"type":"item.started","item":{"id":"item_3","type":"web_search","id":"ws_1","query":'
    '"trio memory channels","action":{"type":"search","query":"trio memory channels"}}}',
    '{"type":"item.started","item":{"id":"item_4","type":"todo_list","items":[{"text":"read",'
    '"completed":true},{"text":"write","completed":false}]}}',
    '{"type":"item.completed","item":{"id":"item_5","type":"mcp_tool_call","server":"docs",'
    '"tool":"lookup","arguments":{"q":"trio"},"result":{"content":[{"type":"text","text":"ok"}],'
    '"structured_content":null},"error":null,"status":"completed"}}',
    '{"type":"error","message":"Reconnecting... 1/5"}',
    '{"type":"item.completed","item":{"id":"item_6","type":"agent_message","text":"Done: the'
    ' file was created and the tests pass."}}',
    '{"type":"turn.completed","usage":{"input_tokens":2010,"cached_input_tokens":1024,'
    '"cache_write_input_tokens":0,"output_tokens":400,"reasoning_output_tokens":128}}',
]


def load_corpus() -> tuple[str, list[bytes]]:
    files = sorted(FIXTURES.glob("*.jsonl"))
    lines = [
        line.encode("utf-8")
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    source = f"real transcripts: {len(lines)} lines from {len(files)} files in {FIXTURES}"
    if not lines:
        lines = [line.encode("utf-8") for line in SYNTHETIC]
        source = f"synthetic mix of {len(lines)} lines (no fixtures in {FIXTURES})"
    repeats = -(-MIN_LINES // len(lines))
    return source, lines * repeats


def best_seconds(
    decoders: dict[str, Callable[[Any], object]], corpus: list[Any]
) -> dict[str, float]:
    best = dict.fromkeys(decoders, float("inf"))
    for _ in range(PASSES):
        for name, decode in decoders.items():
            start = time.perf_counter()
            for line in corpus:
                decode(line)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def kind_of(line: bytes) -> str:
    obj = json.loads(line)
    item = obj.get("item")
    return f"{obj['type']} {item['type']}" if isinstance(item, dict) else obj["type"]


def main() -> None:
    source, corpus = load_corpus()
    print(
        f"corpus: {len(corpus)} lines, {sum(map(len, corpus)) / len(corpus):.0f} bytes on"
        f" average; {source}"
    )
    decoders: dict[str, Callable[[Any], object]] = {
        "json.loads": json.loads,
        "orjson.loads": orjson.loads,
        "decode_event": decode_event,
    }
    for label, lines in (("bytes", corpus), ("str", [line.decode() for line in corpus])):
        seconds = best_seconds(decoders, lines)
        loads_rate = len(lines) / seconds["json.loads"]
        orjson_rate = len(lines) / seconds["orjson.loads"]
        typed_rate = len(lines) / seconds["decode_event"]
        print(
            f"{label:5}  json.loads {loads_rate:>10,.0f} lines/s   orjson.loads"
            f" {orjson_rate:>10,.0f} lines/s   decode_event {typed_rate:>10,.0f} lines/s"
            f"   ratio {typed_rate / loads_rate:.2f}"
        )

    by_kind: dict[str, list[bytes]] = defaultdict(list)
    for line in dict.fromkeys(corpus):
        by_kind[kind_of(line)].append(line)
    print(
        f"\n{'per kind (bytes), ns/line':40} {'loads':>7} {'orjson':>7} {'decode':>7} {'ratio':>6}"
    )
    for kind, lines in sorted(by_kind.items()):
        sample = lines * -(-20_000 // len(lines))
        seconds = best_seconds(decoders, sample)
        loads_ns = seconds["json.loads"] / len(sample) * 1e9
        orjson_ns = seconds["orjson.loads"] / len(sample) * 1e9
        typed_ns = seconds["decode_event"] / len(sample) * 1e9
        print(
            f"{kind:40} {loads_ns:7.0f} {orjson_ns:7.0f} {typed_ns:7.0f} {loads_ns / typed_ns:6.2f}"
        )


if __name__ == "__main__":
    main()
