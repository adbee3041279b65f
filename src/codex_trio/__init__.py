"""codex-trio: a Python SDK and supervised trio runtime for the Codex agent engine."""

from codex_trio._turn import TurnStream, TurnStreamStatistics
from codex_trio.api import Codex, Thread, TurnResult
from codex_trio.errors import (
    CodexError,
    CodexNotFoundError,
    CodexVersionError,
    ConfigurationError,
    ProtocolError,
    SlowConsumerError,
    StructuredOutputError,
    TransportError,
    TurnDeadlineError,
    TurnFailedError,
)
from codex_trio.protocol import (
    DynamicToolCallItem,
    DynamicToolCallStatus,
    ThreadEvent,
    ThreadItem,
    Usage,
)
from codex_trio.protocol.options import (
    ApprovalPolicy,
    CodexOptions,
    GranularApprovalPolicy,
    LocalImageInput,
    ReasoningEffort,
    SandboxMode,
    TextInput,
    ThreadOptions,
    TurnOptions,
    WebSearchMode,
)
from codex_trio.runtime import (
    RetryPolicy,
    Runtime,
    RuntimeClosedError,
    ThreadHandle,
    TurnCancelledError,
)

__version__ = "0.1.0"

__all__ = [
    "ApprovalPolicy",
    "Codex",
    "CodexOptions",
    "DynamicToolCallItem",
    "DynamicToolCallStatus",
    "GranularApprovalPolicy",
    "LocalImageInput",
    "ReasoningEffort",
    "RetryPolicy",
    "Runtime",
    "RuntimeClosedError",
    "SandboxMode",
    "TurnStream",
    "TurnStreamStatistics",
    "TextInput",
    "Thread",
    "ThreadHandle",
    "ThreadEvent",
    "ThreadItem",
    "ThreadOptions",
    "TurnOptions",
    "TurnResult",
    "Usage",
    "WebSearchMode",
    "CodexError",
    "CodexNotFoundError",
    "CodexVersionError",
    "ConfigurationError",
    "ProtocolError",
    "SlowConsumerError",
    "StructuredOutputError",
    "TransportError",
    "TurnCancelledError",
    "TurnDeadlineError",
    "TurnFailedError",
]
