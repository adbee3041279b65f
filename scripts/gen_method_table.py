"""Write ``docs/app-server-methods.md``: every client request of the pinned app-server schema, how
the SDK reaches it (generated or hand-written on ``AppServerClient``), which high-level
``Codex``/``Thread`` call wraps it, and for those it does not wrap, why.

The table is data here (:data:`WRAPPED`, :data:`NOT_WRAPPED`); the test
(tests/test_method_table.py) regenerates the document and compares it byte for byte, and checks
that every named call exists on the public classes and that every method of the schema is
classified, so a new engine version or a renamed call fails the suite instead of leaving the
document stale.

Run: ``.venv/bin/python scripts/gen_method_table.py``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "app-server-methods.md"

WRAPPED: dict[str, str] = {
    # method -> the high-level call(s) that reach it ("Codex.x" / "Thread.y" / "TurnStream.z")
    "initialize": "Codex (async with, or a private process per call)",
    "thread/start": "Thread.run / Thread.run_streamed (first turn)",
    "thread/resume": "Codex.resume_thread (next turn)",
    "thread/list": "Codex.list_threads / Codex.list_threads_page",
    "thread/read": "Codex.read_thread / Thread.read",
    "thread/fork": "Thread.fork",
    "thread/archive": "Thread.archive",
    "thread/unarchive": "Thread.unarchive",
    "thread/name/set": "Thread.rename",
    "thread/revert": "Thread.rollback",
    "thread/compact/start": "Thread.compact",
    "thread/delete": "Thread.delete",
    "thread/unsubscribe": "Thread.close / Thread.aclose",
    "turn/start": "Thread.run / Thread.run_streamed",
    "turn/steer": "TurnStream.steer",
    "turn/interrupt": "TurnStream.interrupt (also leaving a stream early, cancellation, deadlines)",
    "review/start": "Codex.review",
    "command/exec": "Codex.run_command",
    "config/read": "Codex.read_config",
    "config/value/write": "Codex.write_config (one edit)",
    "config/batchWrite": "Codex.write_config (several edits)",
    "model/list": "Codex.models",
    "mcpServerStatus/list": "Codex.mcp_servers",
    "account/read": "Codex.account",
    "account/rateLimits/read": "Codex.rate_limits",
    "account/login/start": "Codex.login_api_key / Codex.login_chatgpt / Codex.login_device_code",
    "account/login/cancel": "Codex.cancel_login",
    "account/logout": "Codex.logout",
}
"""Filled as the high-level API grows; every key must be a method of the schema and every call
named must exist (the test resolves each ``Class.attr`` before the first space)."""

HAND_NAMES = {
    "initialize": "open_app_server",
    "account/login/start": "login_api_key",
}
"""Hand-written client methods not named after their request."""

NOT_WRAPPED: tuple[tuple[str, str], ...] = (
    # (method prefix, why the high-level API leaves it to AppServerClient)
    ("account/bedrock/", "Amazon Bedrock account set-up (experimental)"),
    ("account/gatewayOAuth/", "enterprise gateway sign-in for the desktop apps"),
    (
        "account/rateLimitResetCredit/",
        "spends ChatGPT plan credits; a billing action, not an SDK's",
    ),
    ("account/sendAddCreditsNudgeEmail", "a ChatGPT billing e-mail"),
    ("account/workspaceMessages/", "ChatGPT workspace banners for the desktop apps"),
    ("account/usage/read", "ChatGPT plan usage; rate limits cover what a daemon needs"),
    ("app/", "the connector (apps) directory of the desktop apps"),
    ("plugin/", "plugin store management"),
    ("marketplace/", "plugin marketplace management"),
    ("skills/", "skill configuration (client-level; skills as input are wrapped)"),
    ("hooks/list", "lists configured hooks (client-level)"),
    ("collaborationMode/", "experimental UI presets"),
    ("command/exec/", "interactive PTY control of a running command/exec (client-level)"),
    ("config/mcpServer/reload", "client-level"),
    ("configRequirements/read", "managed-configuration requirements (client-level)"),
    ("environment/", "experimental remote environments"),
    ("experimentalFeature/", "feature flags of the engine (client-level)"),
    ("externalAgentConfig/", "imports other agents' configuration (an editor's onboarding)"),
    ("feedback/upload", "uploads logs to OpenAI; never done on a user's behalf"),
    ("fs/", "the engine host's file system; a local SDK has Python's (client-level for remote)"),
    ("fuzzyFileSearch", "an editor's file picker"),
    ("mcpServer/event/", "experimental MCP event streams"),
    ("mcpServer/oauth/login", "browser OAuth for an MCP server (client-level)"),
    ("mcpServer/resource/read", "client-level"),
    ("mcpServer/tool/call", "calls an MCP tool outside a turn (client-level)"),
    ("memory/", "experimental memories"),
    ("mock/", "the engine's own test method"),
    ("modelProvider/capabilities/read", "client-level"),
    ("permissionProfile/list", "client-level"),
    ("process/", "experimental process control"),
    ("project/", "experimental desktop projects"),
    ("remoteControl/", "experimental remote control of the desktop app"),
    ("rollout/compress", "experimental"),
    ("server/diagnostics", "experimental"),
    ("thread/approveGuardianDeniedAction", "the desktop app's guardian review flow"),
    ("thread/attachment", "desktop thread attachments"),
    ("thread/backgroundTerminals/", "experimental"),
    ("thread/decrement_elicitation", "experimental"),
    ("thread/increment_elicitation", "experimental"),
    ("thread/goal/", "desktop thread goals (client-level)"),
    ("thread/inject_items", "injects raw Responses items (client-level)"),
    ("thread/items/", "items page by page; Codex.read_thread returns them whole"),
    ("thread/turns/list", "turns page by page; Codex.read_thread returns them whole"),
    ("thread/metadata/update", "the desktop app's git and project metadata (client-level)"),
    ("thread/loaded/list", "what the engine holds in memory (client-level, used by tests)"),
    ("thread/memoryMode/set", "experimental"),
    ("thread/prediction/", "experimental"),
    ("thread/queue/", "experimental"),
    ("thread/readState/", "experimental"),
    ("thread/realtime/", "experimental voice sessions"),
    ("thread/search", "experimental"),
    ("thread/section/", "desktop sidebar sections"),
    ("threadSection/", "desktop sidebar sections"),
    ("thread/settings/", "experimental"),
    ("thread/shellCommand", "runs a user shell command in a thread (client-level)"),
    ("thread/timeline/", "experimental"),
    ("turn/settings/", "experimental"),
    ("userVerification/", "experimental"),
    ("windowsSandbox/", "Windows only"),
)


def _load(name: str, path: Path) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def reason(method: str) -> str | None:
    for prefix, why in NOT_WRAPPED:
        if method == prefix or method.startswith(prefix):
            return why
    return None


def render() -> str:
    from codex_trio._protocol.app_server._generated import CLIENT_REQUESTS
    from codex_trio._transport.app_server._requests_generated import STABLE_METHODS

    gen = _load("gen_app_server_requests", ROOT / "scripts" / "gen_app_server_requests.py")
    hand: frozenset[str] = gen.HAND_WRITTEN  # type: ignore[attr-defined]
    methods = sorted(CLIENT_REQUESTS)
    wrapped = [m for m in methods if m in WRAPPED]
    stable = [m for m in methods if m in STABLE_METHODS]
    lines = [
        "# Every app-server method and how to reach it",
        "",
        "<!-- Written by scripts/gen_method_table.py; tests/test_method_table.py keeps it true. -->",
        "",
        f"codex {_engine_version()} offers {len(methods)} client requests: {len(stable)} stable, "
        f"{len(methods) - len(stable)} experimental (reachable only on a client opened with "
        "`experimental_api=True`, the default). **Every one** has a typed method on "
        f"`AppServerClient` ({len(methods) - len(hand)} generated from the schema, {len(hand)} "
        "written by hand because they do more than a call). "
        f"**{len(wrapped)}** are wrapped by the high-level `Codex` / `Thread` API "
        f"({sum(1 for m in wrapped if m in STABLE_METHODS)} of the stable ones); the others say "
        "why not.",
        "",
        "| method | API | client method | high-level call, or why not |",
        "| --- | --- | --- | --- |",
    ]
    for method in methods:
        api = "stable" if method in STABLE_METHODS else "experimental"
        how = "hand-written" if method in hand else "generated"
        name = HAND_NAMES.get(method) or gen.method_name(method)  # type: ignore[attr-defined]
        high = WRAPPED.get(method)
        cell = f"**{high}**" if high is not None else (reason(method) or "")
        lines.append(f"| `{method}` | {api} | `{name}` ({how}) | {cell} |")
    return "\n".join(lines) + "\n"


def _engine_version() -> str:
    from importlib.metadata import version

    return version("openai-codex-cli-bin")


def main() -> None:
    TARGET.write_text(render())
    print(f"wrote {TARGET.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
