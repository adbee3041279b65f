"""codex-trio: a Python SDK and supervised trio runtime for the Codex agent engine."""

from codex_trio.errors import (
    CodexError,
    CodexNotFoundError,
    CodexVersionError,
    ConfigurationError,
    ProtocolError,
    StructuredOutputError,
    TransportError,
    TurnDeadlineError,
    TurnFailedError,
)

__version__ = "0.1.0"

__all__ = [
    "CodexError",
    "CodexNotFoundError",
    "CodexVersionError",
    "ConfigurationError",
    "ProtocolError",
    "StructuredOutputError",
    "TransportError",
    "TurnDeadlineError",
    "TurnFailedError",
]
