"""codex_trio.observe: telemetry events, Prometheus metrics and structured logs.

The bottom layer of codex-trio. Everything else emits telemetry through this package, and nothing
else imports ``prometheus_client`` or ``structlog``:

* :mod:`~codex_trio.observe.telemetry`: the bus (``attach``/``detach``/``execute``/``span``);
* :mod:`~codex_trio.observe.events`: the catalogue of event names (``events.TURN_STOP``...);
* :class:`Metrics` and :func:`serve_metrics`: Prometheus collectors fed from events, and a trio
  task serving them;
* :func:`configure_logging`, :func:`get_logger`, :func:`attach_log_handler`: structlog with
  secrets redacted, and telemetry events as log records.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from codex_trio.observe import events
from codex_trio.observe._logging import (
    LOG_EVENTS,
    attach_log_handler,
    bind_contextvars,
    bound_contextvars,
    clear_contextvars,
    configure_logging,
    get_logger,
    log_event_name,
    redact_secrets,
    unbind_contextvars,
)
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

if TYPE_CHECKING:
    from codex_trio._http import HttpLimits
    from codex_trio.observe._metrics import Metrics
    from codex_trio.observe._metrics_server import serve_metrics

# Loaded on first use (PEP 562): prometheus_client and the HTTP server are not needed to emit
# telemetry or log, only to count and serve metrics.
_LAZY = {
    "HttpLimits": "codex_trio._http",
    "Metrics": "codex_trio.observe._metrics",
    "serve_metrics": "codex_trio.observe._metrics_server",
}


def __getattr__(name: str) -> Any:
    try:
        module = importlib.import_module(_LAZY[name])
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "HANDLER_FAILED",
    "LOG_EVENTS",
    "HttpLimits",
    "EventName",
    "Handler",
    "HandlerInfo",
    "Metrics",
    "Span",
    "TelemetryBus",
    "attach",
    "attach_log_handler",
    "bind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
    "configure_logging",
    "default_bus",
    "detach",
    "events",
    "execute",
    "get_logger",
    "handlers",
    "log_event_name",
    "redact_secrets",
    "serve_metrics",
    "span",
    "unbind_contextvars",
]
