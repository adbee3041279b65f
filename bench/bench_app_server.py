"""App-server benchmarks: notification decode rate (ours vs the official SDK) and turn latency.

1. Records a transcript: the real ``codex app-server`` runs a few turns on the mock model
   (streamed messages of many deltas, a shell command, a reasoning summary) and every stdout line
   is kept.
2. Decodes every notification of that transcript, many times, all in this one run:
   * the floors: bare ``json.loads`` and bare ``orjson.loads``;
   * ours, route only: :func:`parse_message` (orjson + classification: what the reader does
     before handing a notification to a subscriber);
   * ours, full: :func:`parse_message` + :func:`decode_notification`, every notification typed
     to its generated attrs class (every nested object typed, unions dispatched), as the
     official SDK types every notification with pydantic; the headline figure;
   * ours, full with the stdlib parser: ``json.loads`` + classify + the same decoders, to show
     what the parser alone is worth;
   * the official SDK (``openai-codex`` in ``bench/.venv-official``, never in ``.venv``):
     ``json.loads`` + ``NOTIFICATION_MODELS[method].model_validate(params)`` as its client does;
   * both typing steps alone, from already parsed params (ours vs ``model_validate``).
3. Turn latency on the mock model: one long-lived app-server, N sequential turns on one thread,
   vs ``ExecTransport`` (one ``codex exec`` process per turn).

Run: ``.venv/bin/python bench/bench_app_server.py`` (``--turns N``). Set up the official SDK
first: ``python3.11 -m venv bench/.venv-official && bench/.venv-official/bin/pip install
--no-deps openai-codex==0.163.0 && bench/.venv-official/bin/pip install pydantic``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

import orjson
import trio

from codex_trio._protocol.app_server import classify, decode_notification, parse_message
from codex_trio._protocol.app_server import types as g
from codex_trio._protocol.app_server.messages import Notification
from codex_trio._protocol.options import CodexOptions, ThreadOptions
from codex_trio._transport.app_server import open_app_server
from codex_trio._transport.exec import ExecTransport
from codex_trio.testing import exec_command, message, open_mock_model, reasoning, response

ROOT = Path(__file__).resolve().parent
OFFICIAL_PYTHON = ROOT / ".venv-official" / "bin" / "python"

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
def best(fn):
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=7, number=number)) / number
print(json.dumps({"per_transcript_s": best(decode_all), "validate_only_s": best(validate_all)}))
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


def best_seconds(fn: Any, data: Any) -> float:
    timer = timeit.Timer(lambda: fn(data))
    number, _ = timer.autorange()
    return min(timer.repeat(repeat=7, number=number)) / number


def official(path: Path) -> tuple[float, float] | None:
    """Seconds per transcript: the official SDK's full decode, and its ``model_validate`` alone."""
    if not OFFICIAL_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(OFFICIAL_PYTHON), "-c", OFFICIAL_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        cwd="/",
        check=False,
    )
    if out.returncode != 0:
        print("official SDK failed:", out.stderr[-2000:], file=sys.stderr)
        return None
    result = json.loads(out.stdout)
    return float(result["per_transcript_s"]), float(result["validate_only_s"])


def check_like_for_like(lines: list[bytes]) -> None:
    """Every notification of the transcript is typed by a generated class, nothing left raw."""
    for line in lines:
        typed = decode_notification(parse_message(line))  # type: ignore[arg-type]
        if type(typed) not in g.DECODERS:
            raise AssertionError(f"not fully typed: {line[:200]!r}")


async def turn_latency(directory: Path, turns: int) -> tuple[list[float], list[float]]:
    async with open_mock_model(
        directory, [message(f"answer {i}") for i in range(2 * turns)]
    ) as model:
        options = CodexOptions(codex_path=model.codex, env=model.env)
        thread = ThreadOptions(working_directory=str(model.workdir), skip_git_repo_check=True)
        app: list[float] = []
        async with open_app_server(options) as client:
            thread_id = (await client.thread_start(thread)).thread.id
            for i in range(turns):
                began = time.perf_counter()
                async with client.turn(thread_id, f"q{i}") as turn:
                    async for _ in turn:
                        pass
                app.append(time.perf_counter() - began)
        exec_times: list[float] = []
        transport = ExecTransport(codex_path=model.codex, options=options)
        thread_id_exec: str | None = None
        for i in range(turns):
            began = time.perf_counter()
            async with transport.turn(f"q{i}", thread, resume_thread_id=thread_id_exec) as stream:
                async for event in stream:
                    if getattr(event, "thread_id", None):
                        thread_id_exec = event.thread_id  # type: ignore[union-attr]
            exec_times.append(time.perf_counter() - began)
    return app, exec_times


async def main_async(turns: int) -> None:
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
        notes = [parse_message(line) for line in lines]
        rows = [
            ("bare json.loads", best_seconds(bare_json, lines)),
            ("bare orjson.loads", best_seconds(bare_orjson, lines)),
            ("ours: route only", best_seconds(ours_route, lines)),
            ("ours: full typed decode", best_seconds(ours_full, lines)),
            ("  same, stdlib json.loads", best_seconds(ours_full_stdlib_json, lines)),
        ]
        off = official(path)
        if off is not None:
            rows.append(("official SDK (pydantic)", off[0]))
        for name, seconds in rows:
            print(f"{name:28s} {len(lines) / seconds:12,.0f} notifications/s")
        if off is not None:
            full = dict(rows)["ours: full typed decode"]
            route = dict(rows)["ours: route only"]
            print(
                f"ours full vs official: {off[0] / full:.2f}x; route only vs official: "
                f"{off[0] / route:.2f}x"
            )
            typing_only = best_seconds(ours_typing_only, notes)
            print(
                f"typing alone, from parsed params: ours {len(lines) / typing_only:,.0f}/s, "
                f"official model_validate {len(lines) / off[1]:,.0f}/s "
                f"({off[1] / typing_only:.2f}x)"
            )
        app, exe = await turn_latency(Path(tmp) / "latency", turns)
        print(
            f"turn latency over {turns} turns (median / min): app-server "
            f"{statistics.median(app) * 1000:.0f} / {min(app) * 1000:.0f} ms; exec "
            f"{statistics.median(exe) * 1000:.0f} / {min(exe) * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    args = parser.parse_args()
    trio.run(main_async, args.turns)


if __name__ == "__main__":
    main()
