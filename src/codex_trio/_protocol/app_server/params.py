"""Wire parameters of ``codex app-server`` requests, built from the SDK's options: pure data.

``app_server_argv`` (the command line), ``user_input`` (a prompt as ``UserInput`` objects),
``thread_params`` (``thread/start`` / ``thread/resume`` params from :class:`ThreadOptions`) and
:class:`TurnOverrides` (``turn/start``'s per-turn settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.options import (
    CodexOptions,
    LocalImageInput,
    TextInput,
    ThreadOptions,
    config_override_args,
)

__all__ = [
    "UNLOAD_DELAY_OVERRIDE",
    "TurnOverrides",
    "UserInput",
    "app_server_argv",
    "thread_params",
    "user_input",
]

UserInput = str | Sequence[TextInput | LocalImageInput | Mapping[str, Any]]
"""A prompt: text, or parts (text, local images, or the TypeScript SDK's dicts)."""

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
    """``UserInput`` wire objects for a prompt (text, or parts with local images)."""
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    out: list[dict[str, Any]] = []
    for part in value:
        if isinstance(part, TextInput):
            out.append({"type": "text", "text": part.text})
        elif isinstance(part, LocalImageInput):
            out.append({"type": "localImage", "path": part.path})
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
