#!/usr/bin/env python
"""Re-record the golden ``codex exec --json`` transcripts in ``fixtures/exec/``.

Each scenario runs the pinned ``codex`` binary against :class:`codex_trio.testing.
MockResponsesServer` with a fixed script and prompt, and writes codex's raw stdout (JSONL) to
``fixtures/exec/<scenario>.jsonl``. Thread ids, installation ids and the mock's port differ
between recordings; everything else is stable (fixed prompts, a fixed working directory under the
system temp dir, commands run without a login shell). A fixture whose new recording differs only
in those is left untouched, so re-recording an unchanged binary leaves ``git diff`` empty.

Usage::

    .venv/bin/python scripts/record_fixtures.py [--codex PATH] [--out DIR] [SCENARIO ...]

Exits non-zero if a scenario does not end the way it is expected to (``turn.completed`` or
``turn.failed``), so a codex upgrade that changes behaviour is noticed while recording.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import trio

from codex_trio.testing import (
    MockResponsesServer,
    Script,
    Step,
    apply_patch,
    disconnect,
    exec_command,
    http_error,
    message,
    reasoning,
    response,
    response_failed,
    update_plan,
    web_search,
    write_codex_home,
)
from codex_trio.testing._mock_model import run_codex_exec
from codex_trio.testing._script import MockUsage

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "fixtures" / "exec"
WORK_ROOT = Path(tempfile.gettempdir()) / "codex-trio-fixtures"

# A 1x1 red PNG.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)

OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "confidence": {"type": "number"}},
    "required": ["answer", "confidence"],
    "additionalProperties": False,
}

PATCH = """*** Begin Patch
*** Add File: hello.txt
+hello from the mock model
*** End Patch
"""


_VOLATILE = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"127\.0\.0\.1:\d+"), "127.0.0.1:<port>"),
]


def _normalised(data: bytes) -> str:
    text = data.decode()
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def _write_fixture(path: Path, data: bytes) -> None:
    """Write ``data`` unless ``path`` already holds the same transcript up to ids and port.

    Keeps re-recording from producing diffs that only change thread ids.
    """
    if path.exists() and _normalised(path.read_bytes()) == _normalised(data):
        return
    path.write_bytes(data)


@attrs.frozen(kw_only=True)
class Scenario:
    """One recording: the script, the prompt, extra ``codex exec`` arguments, the expected end."""

    name: str
    description: str
    steps: Sequence[Step]
    prompt: str = "Say hello."
    args: Sequence[str] = ()
    expect: str = "turn.completed"
    update_plan: bool = False
    known_model: bool = True
    prepare: Callable[[Path], None] | None = None
    resume: bool = False


def _write_image(work: Path) -> None:
    (work / "pixel.png").write_bytes(PNG_1X1)


def _write_schema(work: Path) -> None:
    (work / "schema.json").write_text(json.dumps(OUTPUT_SCHEMA), encoding="utf-8")


SCENARIOS = [
    Scenario(
        name="plain_message",
        description="one assistant message",
        steps=[message("Hello from the mock model.")],
    ),
    Scenario(
        name="reasoning_message",
        description="a reasoning summary, then a message",
        steps=[
            response(
                reasoning("Thinking about a greeting."),
                message("Hello after some thought."),
                usage=MockUsage(input_tokens=30, output_tokens=12, reasoning_output_tokens=7),
            )
        ],
    ),
    Scenario(
        name="command_ok",
        description="exec_command `echo hi` (exit 0), then a message",
        prompt="Run echo hi.",
        steps=[exec_command("echo hi", login=False), message("The command printed hi.")],
    ),
    Scenario(
        name="command_failing",
        description="exec_command that exits 3, then a message",
        prompt="Run a failing command.",
        steps=[
            exec_command("echo oops >&2; exit 3", login=False),
            message("The command failed with exit code 3."),
        ],
    ),
    Scenario(
        name="patch",
        description="apply_patch adding hello.txt (workspace-write sandbox)",
        prompt="Create hello.txt.",
        args=["-s", "workspace-write"],
        steps=[apply_patch(PATCH), message("Created hello.txt.")],
    ),
    Scenario(
        name="plan",
        description="update_plan with three steps ([tools.update_plan])",
        prompt="Make a plan.",
        update_plan=True,
        steps=[
            update_plan(
                [("Read the code", "completed"), ("Write the fix", "in_progress"), "Run the tests"],
                explanation="Three steps.",
            ),
            message("Plan recorded."),
        ],
    ),
    Scenario(
        name="web_search",
        description="a web_search_call item, then a message",
        prompt="Search the web for trio.",
        steps=[
            response(
                web_search("python trio structured concurrency"),
                message("Trio is a structured concurrency library."),
            )
        ],
    ),
    Scenario(
        name="output_schema",
        description="--output-schema; the message is the JSON answer",
        prompt="Answer in JSON.",
        args=["--output-schema", "{work}/schema.json"],
        prepare=_write_schema,
        steps=[message(json.dumps({"answer": "hello", "confidence": 0.9}))],
    ),
    Scenario(
        name="image_input",
        description="-i pixel.png with the prompt on stdin",
        prompt="Describe the image.",
        args=["-i", "{work}/pixel.png"],
        prepare=_write_image,
        steps=[message("A single red pixel.")],
    ),
    Scenario(
        name="resume",
        description="second turn via `exec ... resume <thread id>`",
        prompt="And now say goodbye.",
        resume=True,
        steps=[message("Hello, first turn."), message("Goodbye, second turn.")],
    ),
    Scenario(
        name="http_400",
        description="HTTP 400 from the model API",
        expect="turn.failed",
        steps=[http_error(400, "Invalid request: mock 400", code="invalid_request")],
    ),
    Scenario(
        name="http_401",
        description="HTTP 401 from the model API",
        expect="turn.failed",
        steps=[http_error(401, "Incorrect API key provided (mock)", code="invalid_api_key")],
    ),
    Scenario(
        name="http_429",
        description="HTTP 429 from the model API",
        expect="turn.failed",
        steps=[
            http_error(429, "Rate limit reached (mock)", code="rate_limit_exceeded", retry_after=1)
        ],
    ),
    Scenario(
        name="http_500",
        description="HTTP 500 from the model API",
        expect="turn.failed",
        steps=[http_error(500, "Internal server error (mock)")],
    ),
    Scenario(
        name="response_failed",
        description="a response.failed event",
        expect="turn.failed",
        steps=[response_failed("The mock model failed.")],
    ),
    Scenario(
        name="stream_disconnect",
        description="connection closed mid-stream",
        expect="turn.failed",
        steps=[disconnect(message("never finished"), after_events=2)],
    ),
    Scenario(
        name="unknown_model",
        description="model missing from the catalogue (warning item)",
        known_model=False,
        steps=[message("Hello from an unknown model.")],
    ),
]


async def _exec(
    codex: str,
    env: dict[str, str],
    work: Path,
    args: Sequence[str],
    prompt: str,
    resume: str | None = None,
) -> tuple[int, bytes, bytes]:
    # Relative paths given to --output-schema are resolved against codex's own cwd, not -C.
    args = [a.replace("{work}", str(work)) for a in args]
    result = await run_codex_exec(codex, env, work, prompt, *args, resume=resume)
    return result.returncode, result.stdout, result.stderr.encode()


def _last_type(stdout: bytes) -> str | None:
    lines = [line for line in stdout.decode().splitlines() if line.strip()]
    return json.loads(lines[-1]).get("type") if lines else None


async def record(scenario: Scenario, codex: str, out: Path) -> list[str]:
    """Run one scenario; return the problems found (empty when it went as expected)."""
    root = WORK_ROOT / scenario.name
    shutil.rmtree(root, ignore_errors=True)
    work = root / "work"
    work.mkdir(parents=True)
    problems: list[str] = []
    try:
        if scenario.prepare is not None:
            scenario.prepare(work)
        async with MockResponsesServer(Script(scenario.steps)) as server:
            home = write_codex_home(
                root / "codex-home",
                base_url=server.base_url,
                update_plan=scenario.update_plan,
                known_model=scenario.known_model,
            )
            env = home.environ()
            if scenario.resume:
                code, first, stderr = await _exec(codex, env, work, scenario.args, "Say hello.")
                _write_fixture(out / f"{scenario.name}_first_turn.jsonl", first)
                thread_id: Any = json.loads(first.decode().splitlines()[0])["thread_id"]
                code, stdout, stderr = await _exec(
                    codex, env, work, scenario.args, scenario.prompt, resume=thread_id
                )
            else:
                code, stdout, stderr = await _exec(codex, env, work, scenario.args, scenario.prompt)
            if server.exhausted:
                problems.append(f"script exhausted {server.exhausted} time(s)")
            if server.script.remaining:
                problems.append(f"{server.script.remaining} scripted response(s) left unused")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    _write_fixture(out / f"{scenario.name}.jsonl", stdout)
    last = _last_type(stdout)
    if last != scenario.expect:
        problems.append(
            f"ended with {last!r}, expected {scenario.expect!r} (exit {code}); "
            f"stderr: {stderr.decode(errors='replace')[-500:]}"
        )
    return problems


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-record fixtures/exec/*.jsonl")
    parser.add_argument("--codex", help="codex binary (default: the openai-codex-cli-bin wheel)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("scenarios", nargs="*", help="names to record (default: all)")
    args = parser.parse_args(argv)
    codex = args.codex
    if codex is None:
        import codex_cli_bin  # type: ignore[import-untyped]

        codex = str(codex_cli_bin.bundled_codex_path())
    wanted = set(args.scenarios) or {s.name for s in SCENARIOS}
    unknown = wanted - {s.name for s in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for scenario in SCENARIOS:
        if scenario.name not in wanted:
            continue
        problems = await record(scenario, codex, args.out)
        status = "ok" if not problems else "PROBLEM: " + "; ".join(problems)
        print(f"{scenario.name:20} {status}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(trio.run(main))
