"""codex_trio.observe: telemetry events, Prometheus metrics and structured logs.

The bottom layer of codex-trio. Everything else emits telemetry through this package and nothing
else imports ``prometheus_client`` or ``structlog``.
"""

from codex_trio.observe.telemetry import (
    HANDLER_FAILED,
    EventName,
    Handler,
    HandlerInfo,
    Span,
    TelemetryBus,
    attach,
    default_bus,
    detach,
    execute,
    handlers,
    span,
)

__all__ = [
    "HANDLER_FAILED",
    "EventName",
    "Handler",
    "HandlerInfo",
    "Span",
    "TelemetryBus",
    "attach",
    "default_bus",
    "detach",
    "execute",
    "handlers",
    "span",
]
