"""Offline testing with the real ``codex`` binary: a mock OpenAI Responses API and its tooling.

Users test their own agents with it, and the offline demo runs on it::

    from codex_trio.testing import MockResponsesServer, Script, exec_command, message, \\
        write_codex_home

    async with MockResponsesServer(Script([exec_command("echo hi"), message("done")])) as server:
        home = write_codex_home(tmp_path / "codex-home", base_url=server.base_url)
        await trio.run_process([codex, "exec", "--json", "--skip-git-repo-check"],
                               stdin=b"say hi", env=home.environ(), capture_stdout=True)
        assert server.requests[1].function_call_outputs()

* :mod:`~codex_trio.testing._script` — output items, responses, misbehaviours, scripts;
* :mod:`~codex_trio.testing._mock_server` — :class:`MockResponsesServer` (trio);
  :func:`serve_in_thread` runs one for synchronous programs;
* :mod:`~codex_trio.testing._recorded` — :class:`RecordedRequest`, what codex sent;
* :mod:`~codex_trio.testing._codex_home` — :func:`write_codex_home`;
* :mod:`~codex_trio.testing._mock_model` — :func:`open_mock_model`: server + home + a
  ``codex exec`` runner in one object;
* :mod:`codex_trio.testing.pytest_plugin` — pytest fixtures (``pytest_plugins = [...]``).
"""

from codex_trio.testing._background import BackgroundMockServer, serve_in_thread
from codex_trio.testing._codex_home import (
    DEFAULT_API_KEY,
    DEFAULT_ENV_KEY,
    CodexHome,
    write_codex_home,
)
from codex_trio.testing._mock_model import (
    ExecResult,
    MockModel,
    find_codex,
    open_mock_model,
)
from codex_trio.testing._mock_server import HttpLimits, MockResponsesServer, MockServerStatistics
from codex_trio.testing._recorded import RecordedRequest
from codex_trio.testing._redis import RedisServer, RedisServerUnavailable, find_redis_server
from codex_trio.testing._script import (
    MockCredits,
    MockRateLimits,
    MockRateLimitWindow,
    MockUsage,
    OutputItem,
    Script,
    ScriptedResponse,
    Step,
    apply_patch,
    delay,
    disconnect,
    exec_command,
    function_call,
    hang,
    hold,
    http_error,
    message,
    reasoning,
    response,
    response_failed,
    update_plan,
    usage_limit_reached,
    web_search,
    with_rate_limits,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_ENV_KEY",
    "BackgroundMockServer",
    "CodexHome",
    "ExecResult",
    "HttpLimits",
    "MockCredits",
    "MockModel",
    "MockRateLimitWindow",
    "MockRateLimits",
    "MockResponsesServer",
    "MockServerStatistics",
    "OutputItem",
    "RecordedRequest",
    "RedisServer",
    "RedisServerUnavailable",
    "ScriptedResponse",
    "Script",
    "Step",
    "MockUsage",
    "apply_patch",
    "delay",
    "disconnect",
    "exec_command",
    "find_redis_server",
    "find_codex",
    "function_call",
    "hang",
    "hold",
    "http_error",
    "message",
    "open_mock_model",
    "reasoning",
    "response",
    "response_failed",
    "serve_in_thread",
    "update_plan",
    "usage_limit_reached",
    "web_search",
    "with_rate_limits",
    "write_codex_home",
]
