"""What one telemetry event costs the emitter.

Prints, from one run, nanoseconds per call of:

* an empty Python function taking the same arguments (the floor: any call costs this);
* ``TelemetryBus.execute`` for an event nobody listens to (what every emit costs by default);
* ``execute`` with one no-op handler;
* ``execute`` of ``turn.stop`` and of ``channel.stats`` with the :class:`Metrics` handlers;
* ``execute`` with the log bridge attached but filtered out by the level (logs at WARNING).

Run: ``.venv/bin/python bench/bench_telemetry.py``. Figures are the best of several repeats, so
they show the cost without scheduler noise; expect tens of percent of jitter between runs.
"""

from __future__ import annotations

import logging
import timeit
from collections.abc import Callable, Mapping
from typing import Any

from codex_trio.observe import events as ev
from codex_trio.observe._logging import attach_log_handler
from codex_trio.observe._metrics import Metrics
from codex_trio.observe.telemetry import EventName, TelemetryBus

REPEATS = 7


def per_call_ns(call: Callable[[], object]) -> float:
    timer = timeit.Timer(call)
    number, _ = timer.autorange()
    number = max(number, 20_000)
    best = min(timer.repeat(repeat=REPEATS, number=number))
    return best / number * 1e9


def empty(
    event: EventName, measurements: Mapping[str, float], metadata: Mapping[str, Any] | None = None
) -> None:
    pass


def noop_handler(
    event: EventName, measurements: Mapping[str, float], metadata: Mapping[str, Any], config: Any
) -> None:
    pass


def main() -> None:
    turn_m = {"duration": 1.2, "input_tokens": 100.0, "output_tokens": 20.0}
    turn_md = {"thread_id": "th_1", "turn_id": "tu_1", "transport": "exec", "status": "completed"}
    stats_m = {"queue_depth": 3.0, "capacity": 16.0}
    stats_md = {"channel": "events"}

    rows: list[tuple[str, float]] = []
    rows.append(
        (
            "empty function call (baseline)",
            per_call_ns(lambda: empty(ev.TURN_STOP, turn_m, turn_md)),
        )
    )

    bus = TelemetryBus()
    rows.append(
        ("execute, no handler", per_call_ns(lambda: bus.execute(ev.TURN_STOP, turn_m, turn_md)))
    )

    bus.attach("noop", [ev.TURN_STOP], noop_handler)
    rows.append(
        (
            "execute, 1 no-op handler",
            per_call_ns(lambda: bus.execute(ev.TURN_STOP, turn_m, turn_md)),
        )
    )
    bus.detach("noop")

    metrics = Metrics()
    metrics.attach(bus)
    rows.append(
        (
            "execute turn.stop, Metrics",
            per_call_ns(lambda: bus.execute(ev.TURN_STOP, turn_m, turn_md)),
        )
    )
    rows.append(
        (
            "execute channel.stats, Metrics",
            per_call_ns(lambda: bus.execute(ev.CHANNEL_STATS, stats_m, stats_md)),
        )
    )
    metrics.detach()

    logging.getLogger("codex_trio.telemetry").setLevel(logging.WARNING)
    attach_log_handler(bus)
    rows.append(
        (
            "execute turn.stop, log bridge filtered",
            per_call_ns(lambda: bus.execute(ev.TURN_STOP, turn_m, turn_md)),
        )
    )

    baseline = rows[0][1]
    print(f"{'case':<42}{'ns/call':>10}{'x baseline':>12}")
    for label, ns in rows:
        print(f"{label:<42}{ns:>10.1f}{ns / baseline:>12.1f}")


if __name__ == "__main__":
    main()
