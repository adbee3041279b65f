"""The engine's services beside turns (review, command exec, config, models, MCP status,
account, rate limits and login), as methods of :class:`~codex_trio.Codex`.

They are app-server requests. Inside ``async with Codex(transport="app-server")`` they go to the
shared process; otherwise each call starts a private ``codex app-server`` for its extent (about
a second). On the exec transport the calls that only read or write what CODEX_HOME holds, or
run on their own (config, models, MCP status, account, command exec, review), do the same; the
logins that need a process to outlive the call (ChatGPT) need the app-server transport.

This module imports nothing of the app-server protocol at import time: exec users do not pay
for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs
import trio

from codex_trio._errors import (
    CodexError,
    ConfigurationError,
    LoginRequiredError,
    ProtocolError,
    TransportError,
    TurnDeadlineError,
    turn_failed_error,
)
from codex_trio._redact import register_secret
from codex_trio.observe import get_logger

if TYPE_CHECKING:
    from codex_trio._protocol.app_server.messages import Notification
    from codex_trio._protocol.options import ThreadOptions
    from codex_trio._transport.app_server import AppServerClient
    from codex_trio._transport.app_server._rate_limits import RateLimits, RateLimitTracker

_log = get_logger("codex_trio._api.services")

__all__ = [
    "CommandResult",
    "ConfigEdit",
    "EngineConfig",
    "EngineServices",
    "LoginFlow",
    "LoginResult",
    "McpServer",
    "ModelInfo",
    "AccountInfo",
    "ReviewBaseBranch",
    "ReviewCommit",
    "ReviewFinding",
    "ReviewInstructions",
    "ReviewResult",
    "ReviewTarget",
    "ReviewUncommittedChanges",
]


# ------------------------------------------------------------------------------------ review


@attrs.frozen
class ReviewUncommittedChanges:
    """Review the working tree: staged, unstaged and untracked files."""

    def wire(self) -> dict[str, Any]:
        return {"type": "uncommittedChanges"}


@attrs.frozen
class ReviewBaseBranch:
    """Review the changes between the current branch and ``branch``."""

    branch: str

    def wire(self) -> dict[str, Any]:
        return {"type": "baseBranch", "branch": self.branch}


@attrs.frozen
class ReviewCommit:
    """Review the changes of commit ``sha`` (``title``: a label for UIs)."""

    sha: str
    title: str | None = None

    def wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"type": "commit", "sha": self.sha}
        if self.title is not None:
            wire["title"] = self.title
        return wire


@attrs.frozen
class ReviewInstructions:
    """Review whatever the free-form ``instructions`` ask for."""

    instructions: str

    def wire(self) -> dict[str, Any]:
        return {"type": "custom", "instructions": self.instructions}


ReviewTarget: TypeAlias = (
    ReviewUncommittedChanges | ReviewBaseBranch | ReviewCommit | ReviewInstructions
)
"""What :meth:`EngineServices.review` reviews; a plain string means :class:`ReviewInstructions`."""


@attrs.frozen(kw_only=True)
class ReviewFinding:
    """One finding of a review, as the review model reported it."""

    title: str
    body: str
    priority: int | None = None
    """0 (most urgent) to 3, when given."""
    confidence_score: float | None = None
    file: str | None = None
    line_start: int | None = None
    line_end: int | None = None


@attrs.frozen(kw_only=True)
class ReviewResult:
    """What a review turn produced.

    ``text`` is the review as codex renders it (the ``exitedReviewMode`` item: the overall
    explanation, then one line per finding). When the review model answered the structured
    review output codex asks it for, ``findings`` and the ``overall_*`` fields hold it;
    otherwise they are empty and ``text`` is the model's own words. ``items`` are the turn's
    items (the generated app-server ``ThreadItem`` classes), in order.
    """

    thread_id: str
    turn_id: str
    text: str | None
    findings: tuple[ReviewFinding, ...] = ()
    overall_correctness: str | None = None
    overall_explanation: str | None = None
    overall_confidence_score: float | None = None
    items: tuple[Any, ...] = ()


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _finding(raw: Mapping[str, Any]) -> ReviewFinding:
    location = raw.get("code_location")
    lines = location.get("line_range") if isinstance(location, Mapping) else None
    return ReviewFinding(
        title=_str(raw.get("title")) or "",
        body=_str(raw.get("body")) or "",
        priority=_int(raw.get("priority")),
        confidence_score=_float(raw.get("confidence_score")),
        file=_str(location.get("absolute_file_path")) if isinstance(location, Mapping) else None,
        line_start=_int(lines.get("start")) if isinstance(lines, Mapping) else None,
        line_end=_int(lines.get("end")) if isinstance(lines, Mapping) else None,
    )


def _review_output(text: str) -> Mapping[str, Any] | None:
    """The review model's structured answer (codex's ``ReviewOutputEvent`` JSON), if ``text``
    is one."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    if not isinstance(parsed, Mapping) or not (
        "findings" in parsed or "overall_explanation" in parsed
    ):
        return None
    return parsed


# ----------------------------------------------------------------------------- command exec


@attrs.frozen(kw_only=True)
class CommandResult:
    """What ``command/exec`` ran: ``argv``'s exit code and its captured output.

    ``timed_out`` is true when the engine stopped it at ``timeout`` (codex then reports exit
    code 124, as ``timeout(1)`` does, with the output captured so far).
    """

    argv: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


SandboxName: TypeAlias = Literal["read-only", "workspace-write", "danger-full-access"]
_SANDBOX_POLICIES: Mapping[str, str] = {
    "read-only": "readOnly",
    "workspace-write": "workspaceWrite",
    "danger-full-access": "dangerFullAccess",
}
TIMEOUT_EXIT_CODE = 124


# ----------------------------------------------------------------------------------- config


@attrs.frozen(kw_only=True)
class EngineConfig:
    """The engine's effective configuration (``config/read``): ``values`` as config.toml spells
    them (``values["model"]``, ``values["tools"]["web_search"]``), and for each dotted key set
    by some layer, the layer it came from (``origins["model"] == {"type": "user", "file": ...}``).
    ``version`` is the user config file's version, for ``expected_version`` of a write."""

    values: Mapping[str, Any]
    origins: Mapping[str, Mapping[str, Any]]
    version: str | None

    def get(self, key: str, default: Any = None) -> Any:
        """The value at the dotted ``key`` (``"tools.web_search"``), or ``default``."""
        node: Any = self.values
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                return default
            node = node[part]
        return default if node is None else node

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


@attrs.frozen
class ConfigEdit:
    """One edit of :meth:`EngineServices.write_config`: set ``key`` (dotted) to ``value``;
    ``merge=True`` merges a table into the one there (the engine's ``upsert``) instead of
    replacing it."""

    key: str
    value: Any
    merge: bool = False

    def wire(self) -> dict[str, Any]:
        return {
            "keyPath": self.key,
            "value": self.value,
            "mergeStrategy": "upsert" if self.merge else "replace",
        }


# ------------------------------------------------------------------------- models, MCP, account


@attrs.frozen(kw_only=True)
class ModelInfo:
    """A model the engine offers (``model/list``)."""

    id: str
    model: str
    display_name: str
    description: str
    is_default: bool
    hidden: bool
    default_reasoning_effort: str | None
    reasoning_efforts: tuple[str, ...]
    input_modalities: tuple[str, ...]
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)
    """Everything ``model/list`` said about it."""

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> ModelInfo:
        efforts = raw.get("supportedReasoningEfforts") or ()
        return cls(
            id=str(raw.get("id", "")),
            model=str(raw.get("model", raw.get("id", ""))),
            display_name=str(raw.get("displayName") or raw.get("id", "")),
            description=str(raw.get("description") or ""),
            is_default=bool(raw.get("isDefault")),
            hidden=bool(raw.get("hidden")),
            default_reasoning_effort=_str(raw.get("defaultReasoningEffort")),
            reasoning_efforts=tuple(
                str(e["reasoningEffort"])
                for e in efforts
                if isinstance(e, Mapping) and "reasoningEffort" in e
            ),
            input_modalities=tuple(str(m) for m in raw.get("inputModalities") or ()),
            raw=raw,
        )


@attrs.frozen(kw_only=True)
class McpServer:
    """An MCP server the engine is configured with, and its state (``mcpServerStatus/list``)."""

    name: str
    auth_status: str | None
    tools: tuple[str, ...]
    """The names of the tools it offers (empty if discovery failed: see ``tools_error``)."""
    tools_error: str | None
    resources: int
    server_name: str | None
    server_version: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> McpServer:
        info = raw.get("serverInfo")
        tools = raw.get("tools")
        return cls(
            name=str(raw.get("name", "")),
            auth_status=_str(raw.get("authStatus")),
            tools=tuple(sorted(tools)) if isinstance(tools, Mapping) else (),
            tools_error=_str(raw.get("toolsError")),
            resources=len(raw.get("resources") or ()),
            server_name=_str(info.get("name")) if isinstance(info, Mapping) else None,
            server_version=_str(info.get("version")) if isinstance(info, Mapping) else None,
            raw=raw,
        )


@attrs.frozen(kw_only=True)
class AccountInfo:
    """Who the engine is logged in as (``account/read``).

    ``kind`` is ``"apiKey"``, ``"chatgpt"``, ``"amazonBedrock"`` or ``None`` when the engine
    reports no OpenAI account (not logged in, or a model provider of your own: then
    ``requires_openai_auth`` is false and no login is needed).
    """

    kind: str | None
    email: str | None
    plan_type: str | None
    requires_openai_auth: bool
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)


# ------------------------------------------------------------------------------------ login


@attrs.frozen(kw_only=True)
class LoginFlow:
    """A login the engine has started and the user must complete in a browser.

    ChatGPT login: open ``auth_url``; the engine listens for the browser's redirect on
    ``127.0.0.1:1455``. Device-code login: open ``verification_url`` and enter ``user_code``.
    Then :meth:`EngineServices.wait_for_login` returns when the engine says it is done.
    """

    login_id: str
    kind: Literal["chatgpt", "chatgptDeviceCode"]
    auth_url: str | None = None
    verification_url: str | None = None
    user_code: str | None = attrs.field(default=None, repr=False)


@attrs.frozen(kw_only=True)
class LoginResult:
    """How a login ended (``account/login/completed``)."""

    login_id: str | None
    success: bool
    error: str | None = None


class _LoginWatcher:
    """A global listener keeping ``account/login/completed`` results by login id."""

    def __init__(self) -> None:
        self.results: dict[str | None, LoginResult] = {}
        self.changed = trio.Event()

    def __call__(self, note: Notification) -> None:
        if note.method != "account/login/completed":
            return
        params = note.params
        login_id = _str(params.get("loginId"))
        self.results[login_id] = LoginResult(
            login_id=login_id, success=bool(params.get("success")), error=_str(params.get("error"))
        )
        self.changed.set()
        self.changed = trio.Event()


def _typed_item(client: AppServerClient, note: Notification) -> Any:
    """The generated ``ThreadItem`` of an ``item/completed`` (its raw mapping if it does not
    decode)."""
    try:
        return client.decode_notification(note).item
    except (ProtocolError, AttributeError):
        return note.params.get("item")


# ------------------------------------------------------------------------------- the mixin


class EngineServices:
    """Mixed into :class:`~codex_trio.Codex`; its methods reach the engine through
    ``self._session()`` (see ``Codex._session``)."""

    _rate_limits: RateLimitTracker | None

    if TYPE_CHECKING:

        def _session(
            self, what: str, *, on_exec: bool = False
        ) -> AbstractAsyncContextManager[AppServerClient]: ...

        _exit_stack: Any
        _app_server: Any
        thread_defaults: ThreadOptions

    # --------------------------------------------------------------- rate limits

    @property
    def rate_limit_tracker(self) -> RateLimitTracker:
        """The :class:`~codex_trio.RateLimitTracker` of this ``Codex``: on the app-server
        transport every turn updates it (``account/rateLimits/updated``); :meth:`rate_limits`
        does on either transport."""
        if self._rate_limits is None:
            from codex_trio._transport.app_server._rate_limits import RateLimitTracker

            self._rate_limits = RateLimitTracker(transport="exec")
        return self._rate_limits

    @property
    def latest_rate_limits(self) -> RateLimits | None:
        """The rate limit the engine reported most recently (``None`` before any report).

        On the app-server transport each model request of a turn reports one (from the API's
        ``x-codex-*`` response headers). ``codex exec --json`` reports none, so on exec this
        stays ``None`` unless :meth:`rate_limits` was called.
        """
        return self._rate_limits.latest if self._rate_limits is not None else None

    async def rate_limits(self) -> dict[str, RateLimits]:
        """The account's rate limits as the backend reports them now
        (``account/rateLimits/read``), by limit id; they also update
        :attr:`latest_rate_limits`. Both transports.

        The engine answers this only for a ChatGPT login, fetching the backend's usage
        endpoint (``GET {chatgpt_base_url}wham/usage``; the mock model serves it, see
        ``MockResponsesServer.account_rate_limits``); otherwise :class:`LoginRequiredError`
        (an API key's limits arrive with each turn instead, see :attr:`latest_rate_limits`)."""
        from codex_trio._protocol.app_server.messages import InvalidRequestError

        async with self._session("rate_limits()", on_exec=True) as client:
            try:
                reply = await client.request("account/rateLimits/read", {})
            except InvalidRequestError as exc:
                if "authentication required" in exc.message:
                    raise LoginRequiredError(
                        "the engine reads rate limits only for a ChatGPT login "
                        f"(account/rateLimits/read: {exc.message})"
                    ) from exc
                raise
        tracker = self.rate_limit_tracker
        result: dict[str, RateLimits] = {}
        by_id = reply.get("rateLimitsByLimitId") if isinstance(reply, Mapping) else None
        snapshots = list(by_id.values()) if isinstance(by_id, Mapping) else []
        single = reply.get("rateLimits") if isinstance(reply, Mapping) else None
        if not snapshots and isinstance(single, Mapping):
            snapshots = [single]
        for snapshot in snapshots:
            if isinstance(snapshot, Mapping):
                limits = tracker.update(snapshot)
                result[limits.limit_id] = limits
        return result

    # -------------------------------------------------------------------- account

    async def account(self) -> AccountInfo:
        """Who the engine is logged in as (``account/read``). Both transports."""
        async with self._session("account()", on_exec=True) as client:
            reply = await client.request("account/read", {})
        raw = reply if isinstance(reply, Mapping) else {}
        account = raw.get("account")
        account = account if isinstance(account, Mapping) else {}
        return AccountInfo(
            kind=_str(account.get("type")),
            email=_str(account.get("email")),
            plan_type=_str(account.get("planType")),
            requires_openai_auth=bool(raw.get("requiresOpenaiAuth")),
            raw=raw,
        )

    async def login_api_key(self, api_key: str) -> None:
        """Log the engine in with an OpenAI API key (``account/login/start`` type ``apiKey``),
        stored in CODEX_HOME for later processes. The key is registered as a secret (never
        logged, masked in errors). Both transports."""
        if not api_key or not isinstance(api_key, str):
            raise ConfigurationError("api_key must be a non-empty string")
        register_secret(api_key)
        async with self._session("login_api_key()", on_exec=True) as client:
            await client.login_api_key(api_key)

    async def logout(self) -> None:
        """Log the engine out (``account/logout``): CODEX_HOME forgets the login. Both
        transports."""
        async with self._session("logout()", on_exec=True) as client:
            await client.request("account/logout", {})

    def _shared_for_login(self, what: str) -> None:
        if self._app_server is None:
            raise ConfigurationError(
                f"{what} needs transport='app-server'; this Codex uses transport='exec'"
            )
        if self._exit_stack is None:
            raise ConfigurationError(
                f"{what} needs the long-lived app-server: call it inside "
                "`async with Codex(transport='app-server') as codex:` (the engine must outlive "
                "the call to finish the login)"
            )

    async def _start_login(self, what: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        self._shared_for_login(what)
        async with self._session(what) as client:
            watcher = next(
                (w for w in client.global_listeners if isinstance(w, _LoginWatcher)), None
            )
            if watcher is None:
                client.global_listeners.append(_LoginWatcher())
            reply = await client.request("account/login/start", dict(params))
        return reply if isinstance(reply, Mapping) else {}

    async def login_chatgpt(self) -> LoginFlow:
        """Start a ChatGPT login (``account/login/start`` type ``chatgpt``): open the returned
        ``auth_url`` in a browser, then :meth:`wait_for_login`. App-server transport, inside
        ``async with`` (the engine's callback listener lives in that process).

        Offline this is tested up to the URL and the cancel; completing it needs
        auth.openai.com."""
        reply = await self._start_login("login_chatgpt()", {"type": "chatgpt"})
        return LoginFlow(
            login_id=str(reply.get("loginId")), kind="chatgpt", auth_url=_str(reply.get("authUrl"))
        )

    async def login_device_code(self) -> LoginFlow:
        """Start a device-code login (``account/login/start`` type ``chatgptDeviceCode``): show
        the user ``verification_url`` and ``user_code``, then :meth:`wait_for_login`.
        App-server transport, inside ``async with``.

        The engine asks auth.openai.com for the code at once: offline it answers a JSON-RPC
        internal error ("failed to request device code"); the rest is untested offline."""
        reply = await self._start_login("login_device_code()", {"type": "chatgptDeviceCode"})
        code = _str(reply.get("userCode"))
        register_secret(code)
        return LoginFlow(
            login_id=str(reply.get("loginId")),
            kind="chatgptDeviceCode",
            verification_url=_str(reply.get("verificationUrl")),
            user_code=code,
        )

    async def wait_for_login(self, flow: LoginFlow) -> LoginResult:
        """Wait for ``flow`` to end (``account/login/completed``) and return how. Bound it with
        your own ``trio.fail_after``; the login goes on after a timeout (cancel it with
        :meth:`cancel_login`)."""
        self._shared_for_login("wait_for_login()")
        async with self._session("wait_for_login()") as client:
            watcher = next(
                (w for w in client.global_listeners if isinstance(w, _LoginWatcher)), None
            )
        if watcher is None:
            raise ConfigurationError(f"login {flow.login_id} was not started on this process")
        while flow.login_id not in watcher.results:
            await watcher.changed.wait()
        return watcher.results[flow.login_id]

    async def cancel_login(self, flow: LoginFlow) -> None:
        """Cancel a login still under way (``account/login/cancel``)."""
        self._shared_for_login("cancel_login()")
        async with self._session("cancel_login()") as client:
            await client.request("account/login/cancel", {"loginId": flow.login_id})

    # --------------------------------------------------------------------- config

    async def read_config(self, *, working_directory: str | None = None) -> EngineConfig:
        """The engine's effective configuration (``config/read``; project layers of
        ``working_directory`` included when given). Both transports."""
        params: dict[str, Any] = {}
        if working_directory is not None:
            params["cwd"] = str(working_directory)
        async with self._session("read_config()", on_exec=True) as client:
            reply = await client.request("config/read", params)
        raw = reply if isinstance(reply, Mapping) else {}
        values = raw.get("config")
        origins = raw.get("origins")
        version = None
        if isinstance(origins, Mapping):
            for origin in origins.values():
                name = origin.get("name") if isinstance(origin, Mapping) else None
                if isinstance(name, Mapping) and name.get("type") == "user":
                    version = _str(origin.get("version"))
                    break
        return EngineConfig(
            values=values if isinstance(values, Mapping) else {},
            origins={
                k: v.get("name") or {}
                for k, v in (origins.items() if isinstance(origins, Mapping) else ())
                if isinstance(v, Mapping)
            },
            version=version,
        )

    async def write_config(
        self,
        edits: Mapping[str, Any] | Sequence[ConfigEdit] | ConfigEdit,
        *,
        expected_version: str | None = None,
        file_path: str | None = None,
    ) -> str:
        """Write the user's config.toml through the engine: ``{"dotted.key": value}`` (each
        replaced) or :class:`ConfigEdit` s (``merge=True`` to merge a table). One edit is
        ``config/value/write``, several one ``config/batchWrite`` (all or nothing). With
        ``expected_version`` (from :meth:`read_config`) the engine refuses to write over a file
        changed since. Returns the file's new version. Both transports; processes started
        afterwards (and the shared app-server's next threads) see the change."""
        if isinstance(edits, ConfigEdit):
            items = [edits]
        elif isinstance(edits, Mapping):
            items = [ConfigEdit(str(k), v) for k, v in edits.items()]
        else:
            items = list(edits)
        if not items:
            raise ConfigurationError("write_config needs at least one edit")
        for edit in items:
            if not isinstance(edit, ConfigEdit) or not edit.key:
                raise ConfigurationError(f"not a config edit: {edit!r}")
        extra: dict[str, Any] = {}
        if expected_version is not None:
            extra["expectedVersion"] = expected_version
        if file_path is not None:
            extra["filePath"] = str(file_path)
        async with self._session("write_config()", on_exec=True) as client:
            if len(items) == 1:
                reply = await client.request("config/value/write", {**items[0].wire(), **extra})
            else:
                reply = await client.request(
                    "config/batchWrite",
                    {"edits": [e.wire() for e in items], "reloadUserConfig": True, **extra},
                )
        return str(reply.get("version", "")) if isinstance(reply, Mapping) else ""

    # ---------------------------------------------------------------- models, MCP

    async def models(self, *, include_hidden: bool = False) -> list[ModelInfo]:
        """The models the engine offers (``model/list``, every page). Both transports."""
        found: list[ModelInfo] = []
        async with self._session("models()", on_exec=True) as client:
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"includeHidden": include_hidden}
                if cursor:
                    params["cursor"] = cursor
                page = await client.request("model/list", params)
                data = page.get("data") or [] if isinstance(page, Mapping) else []
                found.extend(ModelInfo.from_wire(m) for m in data if isinstance(m, Mapping))
                cursor = _str(page.get("nextCursor")) if isinstance(page, Mapping) else None
                if not cursor or not data:
                    return found

    async def mcp_servers(self) -> list[McpServer]:
        """The configured MCP servers and their state: tools, auth, errors
        (``mcpServerStatus/list``, every page). Both transports; the engine starts each
        server to ask it."""
        found: list[McpServer] = []
        async with self._session("mcp_servers()", on_exec=True) as client:
            cursor: str | None = None
            while True:
                params: dict[str, Any] = {"cursor": cursor} if cursor else {}
                page = await client.request("mcpServerStatus/list", params)
                data = page.get("data") or [] if isinstance(page, Mapping) else []
                found.extend(McpServer.from_wire(s) for s in data if isinstance(s, Mapping))
                cursor = _str(page.get("nextCursor")) if isinstance(page, Mapping) else None
                if not cursor or not data:
                    return found

    # --------------------------------------------------------------- command exec

    async def run_command(
        self,
        argv: Sequence[str],
        *,
        cwd: str | None = None,
        # The engine's own timeout (ASYNC109): it kills the command and reports what it wrote.
        timeout: float | None = None,  # noqa: ASYNC109
        env: Mapping[str, str | None] | None = None,
        sandbox: SandboxName | None = None,
        output_limit: int | None = None,
    ) -> CommandResult:
        """Run ``argv`` in the engine's sandbox, without a thread or a model (``command/exec``),
        and return its exit code and output. Both transports.

        ``cwd`` defaults to the engine's; ``env`` entries override the engine's environment (a
        ``None`` value unsets one); ``sandbox`` is ``"read-only"`` (the engine's default here:
        writes fail), ``"workspace-write"`` or ``"danger-full-access"``; ``output_limit`` caps
        each stream's capture (bytes). After ``timeout`` seconds the engine kills the command:
        the result then has ``timed_out`` and exit code 124."""
        command = tuple(argv) if not isinstance(argv, str) else ()
        if not command or not all(isinstance(a, str) for a in command):
            raise ConfigurationError("run_command needs a non-empty list of strings (argv)")
        params: dict[str, Any] = {"command": list(command)}
        if cwd is not None:
            params["cwd"] = str(cwd)
        if env is not None:
            params["env"] = dict(env)
        if output_limit is not None:
            params["outputBytesCap"] = output_limit
        if sandbox is not None:
            if sandbox not in _SANDBOX_POLICIES:
                raise ConfigurationError(
                    f"sandbox must be one of {sorted(_SANDBOX_POLICIES)}, not {sandbox!r}"
                )
            params["sandboxPolicy"] = {"type": _SANDBOX_POLICIES[sandbox]}
        limit: float | None = None
        if timeout is not None:
            if timeout <= 0:
                raise ConfigurationError("timeout must be positive")
            params["timeoutMs"] = max(1, int(timeout * 1000))
            limit = timeout + 30  # the engine's own kill comes first
        async with self._session("run_command()", on_exec=True) as client:
            started = trio.current_time()
            reply = await client.request("command/exec", params, time_limit=limit)
            elapsed = trio.current_time() - started
        exit_code = int(reply.get("exitCode", -1))
        return CommandResult(
            argv=command,
            exit_code=exit_code,
            stdout=str(reply.get("stdout", "")),
            stderr=str(reply.get("stderr", "")),
            timed_out=timeout is not None
            and exit_code == TIMEOUT_EXIT_CODE
            and elapsed >= timeout * 0.95,
        )

    # --------------------------------------------------------------------- review

    async def review(
        self,
        target: ReviewTarget | str = ReviewUncommittedChanges(),
        *,
        thread_id: str | None = None,
        # A bound of our own (ASYNC109): past it the review turn is interrupted in the engine.
        timeout: float | None = None,  # noqa: ASYNC109
        **thread_options: Any,
    ) -> ReviewResult:
        """Have the engine review code (``review/start``) and return the review.

        ``target``: :class:`ReviewUncommittedChanges` (default), :class:`ReviewBaseBranch`,
        :class:`ReviewCommit`, or :class:`ReviewInstructions` (a plain string too). The review
        runs as a turn on ``thread_id`` (inline, in its history) or on a new thread started
        with this ``Codex``'s thread defaults and ``thread_options`` (``working_directory`` is
        the repository reviewed). Both transports (on exec, a private app-server for the call).

        A failed review turn raises :class:`~codex_trio.TurnFailedError` (or
        :class:`~codex_trio.UsageLimitError`); ``timeout`` seconds bound it
        (:class:`~codex_trio.TurnDeadlineError`, after the turn is interrupted)."""
        if isinstance(target, str):
            target = ReviewInstructions(target)
        if not isinstance(
            target, ReviewUncommittedChanges | ReviewBaseBranch | ReviewCommit | ReviewInstructions
        ):
            raise ConfigurationError(f"not a review target: {target!r}")
        options = (
            attrs.evolve(self.thread_defaults, **thread_options)
            if thread_options
            else self.thread_defaults
        )
        async with self._session("review()", on_exec=True) as client:
            if thread_id is None:
                started = await client.thread_start(options)
                thread_id = started.thread.id
            elif not client.is_loaded(thread_id):
                await client.thread_resume(thread_id, options)
            return await self._run_review(client, thread_id, target, timeout)

    async def _run_review(
        self,
        client: AppServerClient,
        thread_id: str,
        target: ReviewTarget,
        timeout: float | None,  # noqa: ASYNC109
    ) -> ReviewResult:
        items: list[Any] = []
        text: str | None = None
        output: Mapping[str, Any] | None = None
        turn_id: str | None = None
        finished = False
        async with client.subscribe(thread_id) as sub:
            reply = await client.request(
                "review/start", {"threadId": thread_id, "target": target.wire()}
            )
            turn_id = str(reply["turn"]["id"])
            review_thread = str(reply.get("reviewThreadId") or thread_id)
            running = turn_id
            with trio.move_on_after(timeout if timeout is not None else float("inf")) as scope:
                async for note in sub:
                    params = note.params
                    if note.method == "turn/started":
                        # The turn that runs the review (its rootTurnId is review/start's).
                        started = params.get("turn") or {}
                        running = _str(started.get("id")) or running
                    elif note.method == "item/started":
                        item = params.get("item")
                        if isinstance(item, Mapping) and item.get("type") == "agentMessage":
                            output = output or _review_output(str(item.get("text") or ""))
                    elif note.method == "item/completed":
                        item = params.get("item")
                        if isinstance(item, Mapping) and item.get("type") == "exitedReviewMode":
                            text = _str(item.get("review"))
                        items.append(_typed_item(client, note))
                    elif note.method == "turn/completed":
                        turn = params.get("turn") or {}
                        if turn.get("status") != "completed":
                            error = turn.get("error") or {}
                            raise turn_failed_error(
                                str(error.get("message") or f"review turn {turn.get('status')}"),
                                thread_id=review_thread,
                                turn_id=turn_id,
                                items=items,
                            )
                        finished = True
                        break
            if scope.cancelled_caught:
                with trio.CancelScope(shield=True), trio.move_on_after(5):
                    try:
                        await client.turn_interrupt(review_thread, running)
                    except CodexError as exc:
                        _log.warning("review.interrupt_failed", error=str(exc)[:200])
                raise TurnDeadlineError(
                    f"the review did not end within {timeout} s; it was interrupted",
                    thread_id=review_thread,
                    turn_id=turn_id,
                )
        if not finished:
            raise client.error or TransportError(
                "the app-server ended the review's notifications before the turn completed",
                thread_id=review_thread,
                turn_id=turn_id,
            )
        findings = output.get("findings") if output is not None else None
        return ReviewResult(
            thread_id=review_thread,
            turn_id=turn_id,
            text=text,
            findings=tuple(_finding(f) for f in findings or () if isinstance(f, Mapping)),
            overall_correctness=_str(output.get("overall_correctness")) if output else None,
            overall_explanation=_str(output.get("overall_explanation")) if output else None,
            overall_confidence_score=_float(output.get("overall_confidence_score"))
            if output
            else None,
            items=tuple(items),
        )
