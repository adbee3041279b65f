"""Wire parameters of ``codex app-server`` requests, built from the SDK's options: pure data.

``app_server_argv`` (the command line), ``user_input`` (a prompt as ``UserInput`` objects),
``thread_params`` (``thread/start`` / ``thread/resume`` params from :class:`ThreadOptions`),
:class:`TurnOverrides` (``turn/start``'s per-turn settings) and ``turn_overrides`` (those
settings from :class:`TurnOptions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.options import (
    ApprovalPolicy,
    CodexOptions,
    GranularApprovalPolicy,
    ImageUrlInput,
    InputPart,
    LocalImageInput,
    MentionInput,
    ReasoningEffort,
    SandboxMode,
    SkillInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
    config_override_args,
)

__all__ = [
    "UNLOAD_DELAY_OVERRIDE",
    "TurnOverrides",
    "UserInput",
    "app_server_argv",
    "default_effort",
    "engine_thread_settings",
    "sandbox_policy",
    "thread_params",
    "turn_overrides",
    "user_input",
]

UserInput = str | Sequence[InputPart | Mapping[str, Any]]
"""A prompt: text, or parts (text, local images, image URLs, skills, mentions, or dicts: the
TypeScript SDK's ``text`` / ``local_image``, or wire ``UserInput`` objects, passed as they are)."""

UNLOAD_DELAY_OVERRIDE = ("-c", "thread_unload_delay_secs=0")
"""Put first on every app-server's command line (the user's ``config`` can override it): a thread
the client unsubscribed from is unloaded at once, instead of after codex 0.163's default of about
30 minutes, so a long-lived process does not keep ~1.2 MB for every thread it ever served. The
client stays subscribed to every thread it uses, so nothing else unloads (see docs/app-server.md,
"Engine memory")."""


def app_server_argv(codex_path: str, options: CodexOptions) -> list[str]:
    """``codex app-server`` with the ``-c`` overrides of ``options``."""
    return [codex_path, "app-server", *UNLOAD_DELAY_OVERRIDE, *config_override_args(options)]


def user_input(value: UserInput) -> list[dict[str, Any]]:
    """``UserInput`` wire objects for a prompt (text, or parts: text, local images, remote
    images, skills, mentions)."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    out: list[dict[str, Any]] = []
    for part in value:
        if isinstance(part, TextInput):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, LocalImageInput):
            out.append({"type": "localImage", "path": part.path})
        elif isinstance(part, ImageUrlInput):
            image: dict[str, Any] = {"type": "image", "url": part.url}
            if part.detail is not None:
                image["detail"] = part.detail.value
            out.append(image)
        elif isinstance(part, SkillInput):
            out.append({"type": "skill", "name": part.name, "path": part.path})
        elif isinstance(part, MentionInput):
            out.append({"type": "mention", "name": part.name, "path": part.path})
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind == "local_image":
                out.append({"type": "localImage", "path": str(part["path"])})
            else:
                out.append(dict(part))
        else:
            raise ConfigurationError(f"unsupported input part {part!r}")
    return out


@attrs.frozen(kw_only=True)
class TurnOverrides:
    """Per-turn settings (``turn/start``); ``None`` keeps the thread's.

    ``sandbox_policy`` is a v2 ``SandboxPolicy`` object, e.g. ``{"type": "readOnly"}`` or
    ``{"type": "workspaceWrite", "writableRoots": [...], "networkAccess": False}``;
    ``approval_policy`` one of ``"untrusted"``, ``"on-request"``, ``"never"`` or the granular
    object. ``output_schema`` is a JSON schema the final message must follow.
    """

    model: str | None = None
    effort: str | None = None
    summary: str | None = None
    cwd: str | None = None
    sandbox_policy: Mapping[str, Any] | None = None
    approval_policy: str | Mapping[str, Any] | None = None
    output_schema: Mapping[str, Any] | None = None
    personality: str | None = None

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in (
            ("model", self.model),
            ("effort", self.effort),
            ("summary", self.summary),
            ("cwd", self.cwd),
            ("sandboxPolicy", self.sandbox_policy),
            ("approvalPolicy", self.approval_policy),
            ("outputSchema", self.output_schema),
            ("personality", self.personality),
        ):
            if value is not None:
                out[key] = dict(value) if isinstance(value, Mapping) else value
        return out


def thread_params(options: ThreadOptions) -> dict[str, Any]:
    """``thread/start`` params for the exec-style :class:`ThreadOptions`."""
    params: dict[str, Any] = {}
    config: dict[str, Any] = {}
    if options.model is not None:
        params["model"] = options.model
    if options.working_directory is not None:
        params["cwd"] = options.working_directory
    if options.sandbox_mode is not None:
        params["sandbox"] = options.sandbox_mode.value
    if options.approval_policy is not None:
        params["approvalPolicy"] = options.approval_policy.value
    if options.ephemeral:
        params["ephemeral"] = True
    if options.model_reasoning_effort is not None:
        config["model_reasoning_effort"] = options.model_reasoning_effort.value
    if options.network_access_enabled is not None:
        config["sandbox_workspace_write.network_access"] = options.network_access_enabled
    if options.web_search_mode is not None:
        config["web_search"] = options.web_search_mode.value
    if options.additional_directories:
        config["sandbox_workspace_write.writable_roots"] = list(options.additional_directories)
    if options.profile is not None:
        config["profile"] = options.profile
    if config:
        params["config"] = config
    return params


_SANDBOX_TYPES: Mapping[SandboxMode, str] = {
    SandboxMode.READ_ONLY: "readOnly",
    SandboxMode.WORKSPACE_WRITE: "workspaceWrite",
    SandboxMode.DANGER_FULL_ACCESS: "dangerFullAccess",
}


def sandbox_policy(mode: SandboxMode, thread: ThreadOptions | None = None) -> dict[str, Any]:
    """The v2 ``SandboxPolicy`` object of a sandbox mode. For ``workspace-write`` the thread's
    ``additional_directories`` (``writableRoots``) and ``network_access_enabled``
    (``networkAccess``) come along, as ``thread/start`` gives them to the thread: a per-turn
    policy replaces the thread's whole policy, so leaving them out would drop them."""
    policy: dict[str, Any] = {"type": _SANDBOX_TYPES[mode]}
    if mode is SandboxMode.WORKSPACE_WRITE and thread is not None:
        if thread.additional_directories:
            policy["writableRoots"] = list(thread.additional_directories)
        if thread.network_access_enabled is not None:
            policy["networkAccess"] = thread.network_access_enabled
    return policy


def turn_overrides(turn: TurnOptions, thread: ThreadOptions | None = None) -> TurnOverrides:
    """``turn/start``'s per-turn settings from :class:`TurnOptions`: ``model``, ``effort`` and
    ``summary`` (validated enums, sent as their values), ``working_directory`` (``cwd``),
    ``sandbox_mode`` (a v2 ``sandboxPolicy`` object, see :func:`sandbox_policy`),
    ``approval_policy`` and the output schema (``output_schema``, or the one derived from
    ``output_type``). Pure; ``thread`` completes a workspace-write sandbox policy."""
    approval = turn.approval_policy
    return TurnOverrides(
        model=turn.model,
        effort=turn.effort.value if turn.effort is not None else None,
        summary=turn.summary.value if turn.summary is not None else None,
        cwd=turn.working_directory,
        sandbox_policy=(
            sandbox_policy(turn.sandbox_mode, thread) if turn.sandbox_mode is not None else None
        ),
        approval_policy=approval.value if approval is not None else None,
        output_schema=turn.json_schema,
    )


_SANDBOX_MODES: Mapping[str, SandboxMode] = {
    "ReadOnlySandboxPolicy": SandboxMode.READ_ONLY,
    "WorkspaceWriteSandboxPolicy": SandboxMode.WORKSPACE_WRITE,
    "DangerFullAccessSandboxPolicy": SandboxMode.DANGER_FULL_ACCESS,
}


def engine_thread_settings(response: Any) -> dict[str, Any]:
    """The thread's settings as codex reports them in a ``thread/start`` or ``thread/resume``
    response, under :class:`TurnOptions` field names (``model``, ``effort``,
    ``working_directory``, ``sandbox_mode``, ``approval_policy``) and in their forms; a value
    that has no such form (an external sandbox, an effort the SDK does not name) is left out.
    Used to send a thread's own settings back after a turn that overrode them (codex keeps
    ``turn/start`` overrides for later turns)."""
    settings: dict[str, Any] = {}
    model = getattr(response, "model", None)
    if isinstance(model, str) and model:
        settings["model"] = model
    effort = getattr(response, "reasoning_effort", None)
    if isinstance(effort, str) and effort in {e.value for e in ReasoningEffort}:
        settings["effort"] = ReasoningEffort(effort)
    cwd = getattr(response, "cwd", None)
    if isinstance(cwd, str) and cwd:
        settings["working_directory"] = cwd
    mode = _SANDBOX_MODES.get(type(getattr(response, "sandbox", None)).__name__)
    if mode is not None:
        settings["sandbox_mode"] = mode
    approval = getattr(response, "approval_policy", None)
    if isinstance(approval, str) and approval in {p.value for p in ApprovalPolicy}:
        settings["approval_policy"] = ApprovalPolicy(approval)
    elif isinstance(approval, Mapping):
        try:
            settings["approval_policy"] = GranularApprovalPolicy.from_wire(approval)
        except ConfigurationError:
            pass
    return settings


def default_effort(models: Any, model: str | None) -> ReasoningEffort | None:
    """The default reasoning effort of ``model`` (the default model when None) in a raw
    ``model/list`` result; None when it is not there. codex reports no effort for a thread that
    sets none (``reasoningEffort: null``): the model's default is what it runs with."""
    data = models.get("data") if isinstance(models, Mapping) else None
    for entry in data if isinstance(data, list) else ():
        if not isinstance(entry, Mapping):
            continue
        if (model is None and entry.get("isDefault")) or entry.get("model") == model:
            effort = entry.get("defaultReasoningEffort")
            if isinstance(effort, str) and effort in {e.value for e in ReasoningEffort}:
                return ReasoningEffort(effort)
    return None
