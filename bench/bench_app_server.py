"""App-server benchmarks: notification decode rate (ours vs the official SDK) and turn latency.

1. Records a transcript: the real ``codex app-server`` runs a few turns on the mock model
   (streamed messages of many deltas, a shell command, a reasoning summary) and every stdout line
   is kept.
2. Decodes every notification of that transcript, many times, all in this one run, every
   decoder once a round, the order rotating round by round (A B C .., B C .. A, ...), so drift in
   machine load hits every side alike; ``--rounds`` rounds (default 7), each sample the best of
   ``--repeat`` timeit repeats; medians, and the median of the per-round ratios:
   * the floors: bare ``json.loads`` and bare ``orjson.loads``;
   * ours, route only: :func:`parse_message` (orjson + classification: what the reader does
     before handing a notification to a subscriber);
   * ours, full: :func:`parse_message` + :func:`decode_notification`, every notification typed
     to its generated class (every nested object typed, unions dispatched), as the official SDK
     types every notification with pydantic; the headline figure;
   * ours, full with the stdlib parser: ``json.loads`` + classify + the same decoders, to show
     what the parser alone is worth;
   * the official SDK (``openai-codex`` in ``bench/.venv-official``, never in ``.venv``):
     ``json.loads`` + ``NOTIFICATION_MODELS[method].model_validate(params)`` as its client does,
     in an interpreter of its own kept alive for the run and asked for one sample a round;
   * both typing steps alone, from already parsed params (ours vs ``model_validate``).
3. Turn latency on the mock model (in a process of its own), one turn of each side in turn:
   our client on a long-lived app-server, the raw driver (``raw_app_server.py``) on another,
   and ``ExecTransport`` (one ``codex exec`` process per turn).

Run: ``.venv/bin/python bench/bench_app_server.py [--quick] [--rounds 7] [--repeat 3]
[--turns 15]``. Set up the official SDK first: ``python3.11 -m venv bench/.venv-official &&
bench/.venv-official/bin/pip install --no-deps openai-codex==0.163.0 &&
bench/.venv-official/bin/pip install pydantic``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

import orjson
import trio
from mock_process import open_mock_process
from raw_app_server import open_raw_app_server

from codex_trio._protocol.app_server import classify, decode_notification, parse_message
from codex_trio._protocol.app_server import types as g
from codex_trio._protocol.app_server.messages import Notification
from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.app_server import open_app_server
from codex_trio._transport.discovery import find_codex
from codex_trio._transport.exec import ExecTransport
from codex_trio.testing import exec_command, message, open_mock_model, reasoning, response

ROOT = Path(__file__).resolve().parent
OFFICIAL_PYTHON = ROOT / ".venv-official" / "bin" / "python"

# The official SDK's side runs in its own interpreter (its venv), kept alive for the whole run:
# each line on stdin ("decode_all <number> <repeat>" or "validate_all ...") is answered with the
# best seconds per transcript, so its samples interleave with ours.
OFFICIAL_SCRIPT = r"""
import json, sys, timeit
from openai_codex.generated.notification_registry import NOTIFICATION_MODELS
lines = open(sys.argv[1], "rb").read().splitlines()
def decode_all():
    for line in lines:
        msg = json.loads(line)
        NOTIFICATION_MODELS[msg["method"]].model_validate(msg.get("params") or {})
pairs = [(NOTIFICATION_MODELS[m["method"]], m.get("params") or {}) for m in map(json.loads, lines)]
def validate_all():
    for model, params in pairs:
        model.model_validate(params)
fns = {"decode_all": decode_all, "validate_all": validate_all}
print("ready", flush=True)
for command in sys.stdin:
    name, repeat = command.split()
    timer = timeit.Timer(fns[name])
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=int(repeat), number=number)) / number
    print(json.dumps({"seconds": best}), flush=True)
"""

LONG_TEXT = " ".join(f"word{i}" for i in range(300))


async def record(directory: Path, turns: int = 3) -> list[bytes]:
    """Raw stdout lines of ``turns`` turns (notifications only)."""
    script: list[Any] = []
    for i in range(turns):
        script += [
            response(reasoning("thinking about it"), exec_command(f"echo step{i}", login=False)),
            message(LONG_TEXT, deltas=True),
        ]
    lines: list[bytes] = []
    async with open_mock_model(directory, script) as model:
        argv = [model.codex, "app-server"]
        proc = await trio.lowlevel.open_process(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=model.env,
        )
        try:
            assert proc.stdin is not None and proc.stdout is not None
            buffer = b""
            next_id = 0

            async def send(obj: dict[str, Any]) -> None:
                await proc.stdin.send_all(json.dumps(obj).encode() + b"\n")  # type: ignore[union-attr]

            async def read_until(predicate: Any) -> dict[str, Any]:
                nonlocal buffer
                while True:
                    while b"\n" not in buffer:
                        chunk = await proc.stdout.receive_some(1 << 16)  # type: ignore[union-attr]
                        assert chunk, "app-server exited"
                        buffer += chunk
                    line, buffer = buffer.split(b"\n", 1)
                    msg = json.loads(line)
                    if "method" in msg and "id" not in msg:
                        lines.append(line)
                    if predicate(msg):
                        return msg  # type: ignore[no-any-return]

            async def call(method: str, params: dict[str, Any]) -> Any:
                nonlocal next_id
                next_id += 1
                request_id = next_id
                await send({"id": request_id, "method": method, "params": params})
                reply = await read_until(lambda m: m.get("id") == request_id and "method" not in m)
                return reply["result"]

            await call(
                "initialize",
                {
                    "clientInfo": {"name": "bench", "version": "0"},
                    "capabilities": {"experimentalApi": True},
                },
            )
            await send({"method": "initialized"})
            thread = await call(
                "thread/start", {"cwd": str(model.workdir), "approvalPolicy": "never"}
            )
            for i in range(turns):
                await call(
                    "turn/start",
                    {
                        "threadId": thread["thread"]["id"],
                        "input": [{"type": "text", "text": f"turn {i}"}],
                    },
                )
                await read_until(lambda m: m.get("method") == "turn/completed")
            pass
        finally:
            proc.kill()
            await proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    await stream.aclose()
    return lines


def ours_full(lines: list[bytes]) -> None:
    for line in lines:
        decode_notification(parse_message(line))  # type: ignore[arg-type]


def ours_full_stdlib_json(lines: list[bytes]) -> None:
    for line in lines:
        decode_notification(classify(json.loads(line), line))  # type: ignore[arg-type]


def ours_route(lines: list[bytes]) -> None:
    for line in lines:
        parse_message(line)


def bare_json(lines: list[bytes]) -> None:
    for line in lines:
        json.loads(line)


def bare_orjson(lines: list[bytes]) -> None:
    for line in lines:
        orjson.loads(line)


def ours_typing_only(notes: list[Notification]) -> None:
    for note in notes:
        decode_notification(note)


def best_seconds(fn: Any, data: Any, repeat: int) -> float:
    timer = timeit.Timer(lambda: fn(data))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=repeat, number=number)) / number


class Official:
    """The official SDK's decoder in its own interpreter (``bench/.venv-official``), alive for
    the whole run so its samples interleave with ours."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen(
            [str(OFFICIAL_PYTHON), "-c", OFFICIAL_SCRIPT, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd="/",
            start_new_session=True,  # like the codex processes: its own scheduling group
        )
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        if ready.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"official SDK failed to start: {ready!r}")

    def seconds(self, name: str, repeat: int) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{name} {repeat}\n")
        self.proc.stdin.flush()
        return float(json.loads(self.proc.stdout.readline())["seconds"])

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def check_like_for_like(lines: list[bytes]) -> None:
    """Every notification of the transcript is typed by a generated class, nothing left raw."""
    for line in lines:
        typed = decode_notification(parse_message(line))  # type: ignore[arg-type]
        if type(typed) not in g.DECODERS:
            raise AssertionError(f"not fully typed: {line[:200]!r}")


def decode_rates(
    lines: list[bytes], path: Path, rounds: int, repeat: int
) -> tuple[dict[str, list[float]], list[float], list[float]]:
    """Notifications/s of every decoder, one sample a round, the order rotating each round; and
    the per-round ratios ours full / official and ours typing / official ``model_validate``."""
    notes = [parse_message(line) for line in lines]
    ours: dict[str, Any] = {
        "bare json.loads": lambda: best_seconds(bare_json, lines, repeat),
        "bare orjson.loads": lambda: best_seconds(bare_orjson, lines, repeat),
        "ours: route only": lambda: best_seconds(ours_route, lines, repeat),
        "ours: full typed decode": lambda: best_seconds(ours_full, lines, repeat),
        "  same, stdlib json.loads": lambda: best_seconds(ours_full_stdlib_json, lines, repeat),
        "ours: typing only (parsed)": lambda: best_seconds(ours_typing_only, notes, repeat),
    }
    official: Official | None = None
    if OFFICIAL_PYTHON.exists():
        official = Official(path)
        sdk = official
        ours["official SDK (pydantic)"] = lambda: sdk.seconds("decode_all", repeat)
        ours["official: model_validate only"] = lambda: sdk.seconds("validate_all", repeat)
    else:
        print(f"no official SDK at {OFFICIAL_PYTHON}: its rows are skipped (see the docstring)")
    names = list(ours)
    rates: dict[str, list[float]] = {name: [] for name in names}
    full_ratio: list[float] = []
    typing_ratio: list[float] = []
    try:
        for r in range(rounds):
            shift = r % len(names)
            seconds: dict[str, float] = {}
            for name in names[shift:] + names[:shift]:
                seconds[name] = ours[name]()
                rates[name].append(len(lines) / seconds[name])
            if official is not None:
                full_ratio.append(
                    seconds["official SDK (pydantic)"] / seconds["ours: full typed decode"]
                )
                typing_ratio.append(
                    seconds["official: model_validate only"] / seconds["ours: typing only (parsed)"]
                )
    finally:
        if official is not None:
            official.close()
    return rates, full_ratio, typing_ratio


async def turn_latency(turns: int) -> dict[str, list[float]]:
    """Sequential trivial turns, one of each side in turn (the side going first rotating): our
    client on one long-lived app-server, the raw driver on another, ``ExecTransport`` (one
    ``codex exec`` process per turn). The mock runs in a process of its own."""
    codex = find_codex()
    times: dict[str, list[float]] = {
        "app-server, ours": [],
        "app-server, raw": [],
        "exec, ours": [],
    }
    with tempfile.TemporaryDirectory(prefix="bench-app-server-latency-") as tmp:
        async with open_mock_process(Path(tmp)) as mock:
            options = CodexOptions(codex_path=codex, env=mock.env)
            thread = ThreadOptions(working_directory=tmp, skip_git_repo_check=True)
            transport = ExecTransport(codex_path=codex, options=options)
            exec_thread: list[str] = []
            async with (
                open_app_server(options) as client,
                open_raw_app_server(codex, mock.env) as raw,
            ):
                thread_id = (await client.thread_start(thread)).thread.id
                raw_thread = await raw.thread_start(tmp)

                async def ours_turn(i: int) -> None:
                    async with client.turn(thread_id, f"q{i}") as turn:
                        async for _ in turn:
                            pass

                async def raw_turn(i: int) -> None:
                    assert await raw.turn(raw_thread, f"q{i}") == "completed"

                async def exec_turn(i: int) -> None:
                    resume = exec_thread[0] if exec_thread else None
                    async with transport.turn(f"q{i}", thread, resume_thread_id=resume) as stream:
                        async for event in stream:
                            if not exec_thread and getattr(event, "thread_id", None):
                                exec_thread.append(event.thread_id)  # type: ignore[union-attr]

                sides = list(zip(times, (ours_turn, raw_turn, exec_turn), strict=True))
                for side in sides:  # warm up, not counted
                    await side[1](-1)
                for i in range(turns):
                    shift = i % len(sides)
                    for name, run in sides[shift:] + sides[:shift]:
                        began = time.perf_counter()
                        await run(i)
                        times[name].append(time.perf_counter() - began)
    return times


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-app-server-") as tmp:
        lines = await record(Path(tmp) / "record")
        path = Path(tmp) / "transcript.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        methods: dict[str, int] = {}
        for line in lines:
            method = json.loads(line)["method"]
            methods[method] = methods.get(method, 0) + 1
        print(
            f"transcript: {len(lines)} notifications, {path.stat().st_size} bytes; "
            f"{dict(sorted(methods.items(), key=lambda kv: -kv[1])[:6])}"
        )
        check_like_for_like(lines)
        rates, full_ratio, typing_ratio = decode_rates(lines, path, args.rounds, args.repeat)
    latency = await turn_latency(args.turns)
    print(
        f"\ndecode: {args.rounds} rounds, every decoder once a round (order rotating), each "
        f"sample the best of {args.repeat} timeit repeats; medians; load average "
        f"{os.getloadavg()[0]:.2f}\n"
    )
    print("| decoder | notifications/s (median) | min | max |\n|---|---|---|---|")
    for name, samples in rates.items():
        print(
            f"| {name.strip()} | {statistics.median(samples):,.0f} | {min(samples):,.0f} "
            f"| {max(samples):,.0f} |"
        )
    if full_ratio:
        ratio = statistics.median(full_ratio)
        print(
            f"| **ours full / official** (median of per-round ratios) | **{ratio:.2f}x** "
            f"(target 3x: {'met' if ratio >= 3 else 'missed'}; rounds {min(full_ratio):.2f}-"
            f"{max(full_ratio):.2f}) | | |"
        )
        print(
            f"| typing alone, ours / official `model_validate` | "
            f"{statistics.median(typing_ratio):.2f}x | | |"
        )
    print(f"\nturn latency, {args.turns} turns a side, interleaved\n")
    print("| side | median | min |\n|---|---|---|")
    for name, samples in latency.items():
        print(
            f"| {name} | {statistics.median(samples) * 1000:.1f} ms | "
            f"{min(samples) * 1000:.1f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="3 rounds, 2 repeats, 5 turns")
    parser.add_argument("--rounds", type=int, default=7, help="decode rounds")
    parser.add_argument("--repeat", type=int, default=3, help="timeit repeats per sample")
    parser.add_argument("--turns", type=int, default=15, help="latency turns per side")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.repeat, args.turns = 3, 2, 5
    trio.run(main_async, args)


if __name__ == "__main__":
    main()
