"""codex-trio: a Python SDK and supervised trio runtime for the Codex agent engine.

This namespace holds everything a user touches: :class:`Codex` and :class:`Thread` (the SDK),
:class:`Runtime` and :class:`ThreadHandle` (the supervised runtime), :class:`TurnStream` and
:class:`TurnResult` (a turn's events and outcome), every event and item class, inputs and options,
approvals and Python tools (:func:`tool`), every error, :func:`configure_logging` and
:class:`Metrics`. Deeper namespaces, for those who need them: :mod:`codex_trio.runtime` (the OTP
building blocks: supervisors, actors, mailboxes, registry), :mod:`codex_trio.app_server` (the
generated app-server protocol and its low-level client), :mod:`codex_trio.observe` (telemetry,
metrics, logs) and :mod:`codex_trio.testing` (the mock model). As in trio, the objects here
name this namespace as their module (``codex_trio.Codex``), wherever they are defined.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from codex_trio._api import Codex, Thread
from codex_trio._api.approvals import (
    allow_all,
    allow_command_prefixes,
    command_words,
    deny_all,
    with_timeout,
)
from codex_trio._api.services import (
    AccountInfo,
    CommandResult,
    ConfigEdit,
    EngineConfig,
    LoginFlow,
    LoginResult,
    McpServer,
    ModelInfo,
    ReviewBaseBranch,
    ReviewCommit,
    ReviewFinding,
    ReviewInstructions,
    ReviewResult,
    ReviewTarget,
    ReviewUncommittedChanges,
)
from codex_trio._api.threads import (
    StoredThread,
    StoredTurn,
    ThreadArchivedError,
    ThreadListing,
    ThreadNotStartedError,
    ThreadPage,
)
from codex_trio._api.tools import tool
from codex_trio._errors import (
    AuthenticationError,
    CodexError,
    CodexNotFoundError,
    CodexVersionError,
    ConfigurationError,
    LoginRequiredError,
    ProtocolError,
    SlowConsumerError,
    StructuredOutputError,
    ThreadNotFoundError,
    TransportError,
    TurnDeadlineError,
    TurnFailedError,
    UsageLimitError,
)
from codex_trio._home import CodexHomeSeed, PrivateCodexHome
from codex_trio._protocol.app_server.server_requests import (
    ApprovalDecision,
    ApprovalHandler,
    ApprovalKind,
    ApprovalRecord,
    ApprovalRequest,
    DynamicTool,
    ToolCall,
    ToolResult,
    decline_and_log,
)
from codex_trio._protocol.exec_events import (
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    PlanDeltaEvent,
    RequestUserInputEvent,
    RequestUserInputOption,
    RequestUserInputQuestion,
    ThreadErrorEvent,
    ThreadEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnError,
    TurnFailedEvent,
    TurnStartedEvent,
    UnknownEvent,
    Usage,
)
from codex_trio._protocol.exec_items import (
    AgentMessageItem,
    CollabAgentState,
    CollabAgentStatus,
    CollabTool,
    CollabToolCallItem,
    CollabToolCallStatus,
    CommandExecutionItem,
    CommandExecutionStatus,
    DynamicToolCallItem,
    DynamicToolCallStatus,
    ErrorItem,
    FileChangeItem,
    FileUpdateChange,
    FindInPageAction,
    McpToolCallError,
    McpToolCallItem,
    McpToolCallResult,
    McpToolCallStatus,
    OpenPageAction,
    OtherAction,
    PatchApplyStatus,
    PatchChangeKind,
    PlanItem,
    ReasoningItem,
    SearchAction,
    ThreadItem,
    TodoItem,
    TodoListItem,
    UnknownAction,
    UnknownItem,
    WebSearchAction,
    WebSearchItem,
)
from codex_trio._protocol.options import (
    ApprovalPolicy,
    CodexOptions,
    GranularApprovalPolicy,
    ImageDetail,
    ImageUrlInput,
    Input,
    InputPart,
    LocalImageInput,
    MentionInput,
    ReasoningEffort,
    ReasoningSummary,
    SandboxMode,
    SkillInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
    WebSearchMode,
)
from codex_trio._turn import TurnResult, TurnStream, TurnStreamStatistics
from codex_trio.observe import configure_logging

if TYPE_CHECKING:
    from codex_trio._transport.app_server._rate_limits import (
        RateLimitCredits,
        RateLimits,
        RateLimitTracker,
        RateLimitWindow,
    )
    from codex_trio.observe._metrics import Metrics
    from codex_trio.runtime import (
        ActorStopped,
        RetryPolicy,
        Runtime,
        RuntimeClosedError,
        ThreadHandle,
        ThreadInfo,
        TurnCancelledError,
    )

__version__ = "0.1.0"


# Loaded on first use (PEP 562): the supervised runtime and prometheus_client are not needed by
# a plain SDK user, and cost a fifth of the import.
_LAZY = {
    "ActorStopped": "codex_trio.runtime",
    "RetryPolicy": "codex_trio.runtime",
    "Runtime": "codex_trio.runtime",
    "RuntimeClosedError": "codex_trio.runtime",
    "ThreadHandle": "codex_trio.runtime",
    "ThreadInfo": "codex_trio.runtime",
    "TurnCancelledError": "codex_trio.runtime",
    "Metrics": "codex_trio.observe._metrics",
    # The app-server transport's module: exec users never load it.
    "RateLimitCredits": "codex_trio._transport.app_server._rate_limits",
    "RateLimitTracker": "codex_trio._transport.app_server._rate_limits",
    "RateLimitWindow": "codex_trio._transport.app_server._rate_limits",
    "RateLimits": "codex_trio._transport.app_server._rate_limits",
}


def __getattr__(name: str) -> Any:
    try:
        module = importlib.import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(module, name)
    _claim(value)
    globals()[name] = value
    return value


__all__ = [
    "AccountInfo",
    "ActorStopped",
    "AgentMessageItem",
    "ApprovalDecision",
    "AuthenticationError",
    "ApprovalHandler",
    "ApprovalKind",
    "ApprovalPolicy",
    "ApprovalRecord",
    "ApprovalRequest",
    "Codex",
    "CodexError",
    "CodexHomeSeed",
    "CommandResult",
    "ConfigEdit",
    "CodexNotFoundError",
    "CodexOptions",
    "CodexVersionError",
    "CollabAgentState",
    "CollabAgentStatus",
    "CollabTool",
    "CollabToolCallItem",
    "CollabToolCallStatus",
    "CommandExecutionItem",
    "CommandExecutionStatus",
    "ConfigurationError",
    "DynamicTool",
    "EngineConfig",
    "LoginFlow",
    "LoginRequiredError",
    "LoginResult",
    "McpServer",
    "ModelInfo",
    "RateLimitCredits",
    "RateLimitTracker",
    "RateLimitWindow",
    "RateLimits",
    "ReviewBaseBranch",
    "ReviewCommit",
    "ReviewFinding",
    "ReviewInstructions",
    "ReviewResult",
    "ReviewTarget",
    "ReviewUncommittedChanges",
    "DynamicToolCallItem",
    "DynamicToolCallStatus",
    "ErrorItem",
    "FileChangeItem",
    "FileUpdateChange",
    "FindInPageAction",
    "GranularApprovalPolicy",
    "ImageDetail",
    "ImageUrlInput",
    "Input",
    "InputPart",
    "ItemCompletedEvent",
    "ItemStartedEvent",
    "ItemUpdatedEvent",
    "LocalImageInput",
    "McpToolCallError",
    "McpToolCallItem",
    "McpToolCallResult",
    "McpToolCallStatus",
    "MentionInput",
    "Metrics",
    "OpenPageAction",
    "OtherAction",
    "PatchApplyStatus",
    "PatchChangeKind",
    "PlanDeltaEvent",
    "PlanItem",
    "PrivateCodexHome",
    "ProtocolError",
    "ReasoningEffort",
    "ReasoningSummary",
    "ReasoningItem",
    "RequestUserInputEvent",
    "RequestUserInputOption",
    "RequestUserInputQuestion",
    "RetryPolicy",
    "Runtime",
    "RuntimeClosedError",
    "SandboxMode",
    "SearchAction",
    "SkillInput",
    "SlowConsumerError",
    "StoredThread",
    "StoredTurn",
    "StructuredOutputError",
    "TextInput",
    "ThreadArchivedError",
    "ThreadNotFoundError",
    "Thread",
    "ThreadErrorEvent",
    "ThreadEvent",
    "ThreadHandle",
    "ThreadInfo",
    "ThreadItem",
    "ThreadListing",
    "ThreadNotStartedError",
    "ThreadOptions",
    "ThreadPage",
    "ThreadStartedEvent",
    "TodoItem",
    "TodoListItem",
    "ToolCall",
    "ToolResult",
    "TransportError",
    "TurnCancelledError",
    "TurnCompletedEvent",
    "TurnDeadlineError",
    "TurnError",
    "TurnFailedError",
    "TurnFailedEvent",
    "TurnOptions",
    "TurnResult",
    "TurnStartedEvent",
    "TurnStream",
    "TurnStreamStatistics",
    "UnknownAction",
    "UnknownEvent",
    "UnknownItem",
    "Usage",
    "UsageLimitError",
    "WebSearchAction",
    "WebSearchItem",
    "WebSearchMode",
    "allow_all",
    "allow_command_prefixes",
    "command_words",
    "configure_logging",
    "decline_and_log",
    "deny_all",
    "tool",
    "with_timeout",
]


def _claim(obj: object) -> None:
    """Make a public object defined in a private module say it lives here (trio's
    ``fixup_module_metadata``), so reprs, tracebacks and docs show ``codex_trio.Codex``, not
    ``codex_trio._api.codex.Codex``."""
    module = getattr(obj, "__module__", None)
    if (
        isinstance(module, str)
        and module.startswith("codex_trio.")
        and hasattr(obj, "__qualname__")
    ):
        try:
            obj.__module__ = __name__
        except (AttributeError, TypeError):  # pragma: no cover - a type alias, say
            pass


for _name in __all__:
    if _name not in _LAZY:
        _claim(globals()[_name])
del _name
