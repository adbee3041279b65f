"""Import cost: ``import codex_trio`` (exec use) and the app-server transport, side by side with
``import trio, attrs, orjson`` measured in the same run.

Each sample is a fresh interpreter (``python -c ...``, started the same way for every side)
that times its own import with ``time.perf_counter`` and reports its peak RSS
(``ru_maxrss``). Sides are interleaved (A B C A B C ...), the order rotating each round; medians
over the rounds. Targets (issue 9): ``import codex_trio`` <= 2x the baseline in time and <= 15 MiB
above it in RSS; importing the app-server transport <= 250 ms.

Run: ``.venv/bin/python bench/bench_import.py [--rounds 15]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

SIDES = {
    "import trio, attrs, orjson (baseline)": "import trio, attrs, orjson",
    "import codex_trio": "import codex_trio",
    "codex_trio + app-server transport": (
        "import codex_trio\nimport codex_trio._transport.app_server\n"
        "from codex_trio._protocol.app_server import types"
    ),
}

PROBE = """
import resource, sys, time, json
t = time.perf_counter()
{code}
elapsed = time.perf_counter() - t
print(json.dumps({{"seconds": elapsed, "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "generated": "codex_trio._protocol.app_server._generated" in sys.modules}}))
"""


# What an installed package costs: bytecode cached (pip compiles on install). With
# PYTHONDONTWRITEBYTECODE set the .pyc files are never written and every sample would compile the
# sources again (the generated module alone: ~0.4 s), so the samples run without it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def sample(code: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code)],
        check=True,
        capture_output=True,
        text=True,
        env=ENV,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    names = list(SIDES)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    rss: dict[str, list[float]] = {n: [] for n in names}
    generated: dict[str, bool] = {}
    for name in names:  # warm the disk cache and .pyc files, not counted
        sample(SIDES[name])
    for r in range(args.rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            s = sample(SIDES[name])
            seconds[name].append(s["seconds"])
            rss[name].append(s["rss_kib"] / 1024)
            generated[name] = bool(s["generated"])
    base_t = statistics.median(seconds[names[0]])
    base_m = statistics.median(rss[names[0]])
    print(f"{args.rounds} rounds, interleaved, one fresh interpreter per sample; medians")
    print(
        f"{'':40s} {'import ms':>10s} {'x base':>7s} {'peak RSS MiB':>13s} {'+ base':>8s}  generated?"
    )
    for name in names:
        t = statistics.median(seconds[name])
        m = statistics.median(rss[name])
        print(
            f"{name:40s} {t * 1000:10.0f} {t / base_t:7.2f} {m:13.1f} {m - base_m:+8.1f}  "
            f"{'loaded' if generated[name] else 'not loaded'}"
        )


if __name__ == "__main__":
    main()
