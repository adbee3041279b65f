"""Every ```python block of README.md, run as a user would run it: the real codex binary against
the mock model, each block in a fresh Python process.

Only placeholders are substituted, each one explicitly (and the test fails if it is no longer
in the README): ``/repo`` and ``/path/to/repo`` become a fresh git repository, the fixed metrics
port becomes 0, and a ``tracker`` object is defined. Names the README's later blocks take from
its first one (``import codex_trio``...) are imported before them. The ``conftest.py`` /
``test_agent.py`` block is written to a project directory and run with pytest. A new python
block needs a runner here: the test listing the blocks fails until it has one.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from codex_trio.testing import (
    MockModel,
    MockRateLimits,
    MockRateLimitWindow,
    function_call,
    message,
    response,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HANG_GUARD = 180  # seconds; a guard against a hang, not a timing assertion

QUICKSTART = "Quickstart"
RUNTIME = "Many threads in a long-lived service"
FRONT_DOORS = "Blocking and asyncio"
APPROVALS = "Approvals and Python tools (app-server transport)"
THREADS = "Thread management"
STRUCTURED = "Typed structured output"
SERVICES = "Engine services and rate limits"
REMOTE = "Remote app-servers"
ACROSS = "Across machines"
REAL_API = "Pointing it at the real OpenAI API"
OFFLINE = "Testing your agent offline"

# Runs a block: plain code as a script; a block with top-level ``await`` / ``async with``
# (a fragment of some async function) inside trio.run.
HARNESS = """\
import ast, sys, trio
namespace = {"__name__": "__main__"}
exec(compile(open(sys.argv[1]).read(), "prelude", "exec"), namespace)
source = open(sys.argv[2]).read()
try:
    code = compile(source, "README.md block", "exec")
except SyntaxError:
    code = compile(source, "README.md block", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)

    async def main():
        await eval(code, namespace)

    trio.run(main)
else:
    exec(code, namespace)
exec(compile(open(sys.argv[3]).read(), "epilogue", "exec"), namespace)
"""


def python_blocks() -> list[tuple[str, str]]:
    """(section title, code) of each ```python block, in order."""
    blocks: list[tuple[str, str]] = []
    section = ""
    lines = iter(README.read_text().splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() == "```python":
            body = []
            for inner in lines:
                if inner.strip() == "```":
                    break
                body.append(inner)
            blocks.append((section, "\n".join(body) + "\n"))
    return blocks


def block(section: str) -> str:
    [code] = [code for title, code in python_blocks() if title == section]
    return code


def blocks(section: str) -> list[str]:
    return [code for title, code in python_blocks() if title == section]


def substitute(code: str, old: str, new: str) -> str:
    assert old in code, f"placeholder {old!r} is no longer in the README block"
    return code.replace(old, new)


def git_repo(path: Path) -> Path:
    path.mkdir()
    subprocess.run(["git", "init", "-q", str(path)], check=True, timeout=60)
    return path


def write_block(tmp_path: Path, code: str, prelude: str = "", epilogue: str = "") -> list[str]:
    files = []
    for name, text in (("prelude.py", prelude), ("block.py", code), ("epilogue.py", epilogue)):
        (tmp_path / name).write_text(textwrap.dedent(text))
        files.append(str(tmp_path / name))
    (tmp_path / "harness.py").write_text(HARNESS)
    return [sys.executable, str(tmp_path / "harness.py"), *files]


async def run_block(
    tmp_path: Path, code: str, env: dict[str, str], cwd: Path, prelude: str = "", epilogue: str = ""
) -> str:
    argv = write_block(tmp_path, code, prelude, epilogue)
    with trio.fail_after(HANG_GUARD):
        done = await trio.run_process(
            argv, cwd=cwd, env=env, capture_stdout=True, capture_stderr=True, check=False
        )
    assert done.returncode == 0, done.stderr.decode()[-4000:]
    return done.stdout.decode()


def test_every_python_block_of_the_readme_has_a_runner() -> None:
    titles = [title for title, _ in python_blocks()]
    assert titles == [
        QUICKSTART,
        RUNTIME,
        FRONT_DOORS,
        FRONT_DOORS,
        APPROVALS,
        THREADS,
        STRUCTURED,
        SERVICES,
        REMOTE,
        ACROSS,
        REAL_API,
        OFFLINE,
    ]


async def test_quickstart_runs_outside_a_git_repository(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [
        message("The test fails because of X."),
        message("Fixed it."),
        message('{"summary": "fixed X"}'),
    ]
    outside = tmp_path / "not-a-repo"  # working_directory="." is this directory
    outside.mkdir()
    out = await run_block(tmp_path, block(QUICKSTART), mock_model.env, cwd=outside)
    lines = out.splitlines()
    assert lines[0] == "The test fails because of X."
    assert "TurnCompletedEvent" in lines
    assert lines[-1] == "{'summary': 'fixed X'}"
    first, _, resumed = mock_model.requests
    # The resumed thread carried the history (and the options, or codex would have refused the
    # directory) and asked for the schema.
    assert "Diagnose the failing test" in " ".join(resumed.input_texts())
    assert resumed.text_format is not None and resumed.text_format["type"] == "json_schema"
    assert first.text_format is None


async def test_runtime_block_runs_two_threads_and_stops_on_sigterm(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("done"), message("done")]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(RUNTIME), '"/repo"', repr(str(repo)))
    code = substitute(code, "port=9464", "port=0")  # any free port: tests run side by side
    # Say when the block waits for its signal, so that the test sends it only then.
    prelude = """\
        import trio, codex_trio
        _catch = codex_trio.Runtime.catch_shutdown_signals

        async def catch_and_say(self, *args, **kwargs):
            caught = await _catch(self, *args, **kwargs)
            print("README-TEST waiting for a signal", flush=True)
            return caught

        codex_trio.Runtime.catch_shutdown_signals = catch_and_say
    """
    argv = write_block(tmp_path, code, prelude, 'print("README-TEST stopped")\n')
    output = b""
    with trio.fail_after(HANG_GUARD):
        process = await trio.lowlevel.open_process(
            argv, cwd=tmp_path, env=mock_model.env, stdout=subprocess.PIPE
        )
        try:
            assert process.stdout is not None
            while b"README-TEST waiting" not in output:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, "the block ended before it waited for a signal"
                output += chunk
            process.send_signal(signal.SIGTERM)
            while chunk := await process.stdout.receive_some(4096):
                output += chunk
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                with trio.CancelScope(shield=True):
                    await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()
    assert output.decode().splitlines()[-1] == "README-TEST stopped"
    prompts = sorted(r.last_user_text() for r in mock_model.requests)
    assert prompts == ["task A", "task B"]


@pytest.mark.parametrize("which", [0, 1], ids=["sync", "aio"])
async def test_blocking_and_asyncio_blocks_run_buffered_streamed_and_resumed_turns(
    mock_model: MockModel, tmp_path: Path, which: int
) -> None:
    mock_model.script = [
        message("The test fails because of X."),
        message("Fixed it."),
        message("Nothing else."),
    ]
    outside = tmp_path / "not-a-repo"  # working_directory="." is this directory
    outside.mkdir()
    out = await run_block(tmp_path, blocks(FRONT_DOORS)[which], mock_model.env, cwd=outside)
    lines = out.splitlines()
    assert lines[0] == "The test fails because of X."
    assert "ThreadStartedEvent" in lines and "TurnCompletedEvent" in lines
    assert lines[-1] == "Nothing else."
    # the third turn continued the same thread: it carried the first prompt
    assert "Diagnose the failing test" in " ".join(mock_model.requests[2].input_texts())


async def test_approvals_and_tools_block_calls_the_python_tool(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [
        function_call("lookup_ticket", {"ticket_id": "42"}, call_id="ticket"),
        message("Fixed ticket 42."),
    ]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(APPROVALS), '"/repo"', repr(str(repo)))
    prelude = """\
        import codex_trio

        class Tracker:  # the README's issue tracker
            async def get(self, ticket_id):
                return f"ticket {ticket_id}: the login page crashes"

        tracker = Tracker()
    """
    out = await run_block(tmp_path, code, mock_model.env, cwd=tmp_path, prelude=prelude)
    assert out.splitlines()[-1] == "()"  # no command needed an approval
    outputs = mock_model.requests[1].function_call_outputs()
    assert outputs["ticket"] == "ticket 42: the login page crashes"


async def test_thread_management_block_lists_forks_rolls_back_and_compacts(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [
        message("It is test_io."),
        message("Rewritten."),
        message("Retried."),
        message("SUMMARY"),  # the compaction's model call
    ]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(THREADS), '"/repo"', repr(str(repo)))
    out = await run_block(
        tmp_path, code, mock_model.env, cwd=tmp_path, prelude="import codex_trio\n"
    )
    lines = out.splitlines()
    assert lines[0].startswith("flaky test hunt ") and lines[0].endswith(" exec")
    assert lines[1:] == ["('Find the flaky test',) It is test_io."]  # the rolled-back turn is gone
    assert "Find the flaky test" in "\n".join(mock_model.requests[2].input_texts())  # the fork
    compaction = "\n".join(mock_model.requests[-1].input_texts(role=None))
    assert "CONTEXT CHECKPOINT COMPACTION" in compaction and "Find the flaky test" in compaction
    assert "Rewrite the whole" not in compaction and "Try a retry" not in compaction


async def test_structured_output_block_prints_the_typed_review(
    mock_model: MockModel, tmp_path: Path
) -> None:
    review = {
        "summary": "one issue",
        "findings": [{"file": "a.py", "line": 3, "severity": "high", "fix": None}],
    }
    mock_model.script = [message(json.dumps(review)), message("No.")]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(STRUCTURED), '"/repo"', repr(str(repo)))
    out = await run_block(tmp_path, code, mock_model.env, cwd=tmp_path)
    assert out.splitlines() == ["a.py 3 high", "No."]
    first, second = mock_model.requests
    assert first.text_format is not None
    assert first.text_format["schema"]["required"] == ["summary", "findings"]
    assert (second.model, second.body["reasoning"]["effort"]) == ("gpt-5.5", "low")


async def test_services_block_reviews_and_reports_rate_limits(
    mock_model: MockModel, tmp_path: Path
) -> None:
    review = {
        "findings": [
            {
                "title": "[P1] Off by one",
                "body": "b",
                "priority": 1,
                "confidence_score": 0.9,
                "code_location": {
                    "absolute_file_path": "/r/a.py",
                    "line_range": {"start": 2, "end": 2},
                },
            }
        ],
        "overall_correctness": "patch is incorrect",
        "overall_explanation": "One bug.",
        "overall_confidence_score": 0.8,
    }
    window = MockRateLimitWindow(used_percent=42, window_minutes=300, resets_at=1_900_000_000)
    mock_model.script = [
        message(json.dumps(review)),
        response(message("fixed"), rate_limits=MockRateLimits(primary=window)),
    ]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(SERVICES), '"/repo"', repr(str(repo)))
    out = await run_block(
        tmp_path, code, mock_model.env, cwd=tmp_path, prelude="import codex_trio\n"
    )
    lines = out.splitlines()
    assert lines[0] == "['mock-model']" and lines[1] == "high"
    assert "1 [P1] Off by one /r/a.py 2" in lines
    assert lines[-1] == "42.0 2030-03-17 17:46:40+00:00"
    assert "usage limit" not in out  # the turn succeeded: no UsageLimitError


async def test_remote_block_runs_against_a_listening_server(
    mock_model: MockModel, tmp_path: Path
) -> None:
    from tests.remote_server import remote_app_server

    mock_model.script = [message("Two TODOs."), message("Fixed.")]
    repo = git_repo(tmp_path / "repo")
    token = "readme-remote-token-4f2a"
    async with remote_app_server(mock_model, tmp_path, token=token) as server:
        code = substitute(block(REMOTE), '"ws://10.0.0.5:4500"', repr(server.url))
        code = substitute(code, '"/repo"', repr(str(repo)))
        env = {**mock_model.env, "CODEX_WS_TOKEN": token}
        out = await run_block(tmp_path, code, env, cwd=tmp_path, prelude="import codex_trio\n")
    lines = out.splitlines()
    assert lines[0] == "Two TODOs."
    assert lines[1] == "ThreadStartedEvent" and lines[-2] == "TurnCompletedEvent"
    assert lines[-1] == "401"  # the block's second Codex has no token
    assert "Summarise the open TODOs" in " ".join(mock_model.requests[-1].input_texts())


async def test_across_machines_block_runs_a_worker_and_a_client_on_a_real_redis_server(
    mock_model: MockModel, tmp_path: Path
) -> None:
    from codex_trio.testing import RedisServer, RedisServerUnavailable, find_redis_server

    try:
        binary = find_redis_server()
    except RedisServerUnavailable as error:
        pytest.skip(str(error))
    mock_model.script = [message("Ticket 42: a missing null check."), message("Add the check.")]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(ACROSS), '"/repo"', repr(str(repo)))
    async with RedisServer(tmp_path / "redis", binary=binary, password="readme-redis-pw") as redis:
        env = {**mock_model.env, "CODEX_TRIO_REDIS_URL": redis.url}
        out = await run_block(tmp_path, code, env, cwd=tmp_path, prelude="import codex_trio\n")
    lines = out.splitlines()
    assert lines[0] == "ThreadStartedEvent" and "TurnCompletedEvent" in lines
    assert lines[-2:] == ["Ticket 42: a missing null check.", "True"]
    # The second turn continued the thread: its request carried the first prompt and answer.
    second = mock_model.requests[-1]
    assert "Triage ticket 42" in second.input_texts()
    assert second.input_texts("assistant") == ["Ticket 42: a missing null check."]


async def test_real_api_block_runs_with_the_mock_in_place_of_openai(
    mock_model: MockModel, tmp_path: Path
) -> None:
    mock_model.script = [message("hello from the model")]
    repo = git_repo(tmp_path / "repo")
    code = substitute(block(REAL_API), '"/path/to/repo"', repr(str(repo)))
    # The CODEX_HOME of mock_model points codex at the mock; the key is any string.
    env = {**mock_model.env, "OPENAI_API_KEY": "sk-readme-test-not-a-key"}
    epilogue = 'import trio\nprint(trio.run(thread.run, "hello").final_response)\n'
    out = await run_block(
        tmp_path, code, env, cwd=tmp_path, prelude="import os, codex_trio\n", epilogue=epilogue
    )
    assert out.splitlines()[-1] == "hello from the model"
    [request] = mock_model.requests
    assert request.model == "gpt-5.5"


async def test_offline_testing_block_passes_under_pytest_without_trio_mode(
    tmp_path: Path,
) -> None:
    code = block(OFFLINE)
    conftest, marker, test = code.partition("# test_agent.py\n")
    assert marker and conftest.startswith("# conftest.py\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "conftest.py").write_text(conftest)
    (project / "test_agent.py").write_text(marker + test)
    # The user's own pytest configuration: nothing in it, trio_mode in particular.
    (project / "pytest.ini").write_text("[pytest]\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    with trio.fail_after(HANG_GUARD):
        done = await trio.run_process(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agent.py"],
            cwd=project,
            env=env,
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    out = done.stdout.decode()
    assert done.returncode == 0, out[-4000:] + done.stderr.decode()[-2000:]
    assert re.search(r"\b1 passed\b", out), out
