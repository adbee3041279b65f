"""Structured logs: structlog on top of the standard ``logging`` module, with secrets masked.

codex-trio's own loggers (:func:`get_logger`) always hand their records to the standard
``logging`` module, whether or not :func:`configure_logging` was called. A library must not print
on its own, and an application that already configures ``logging`` keeps control of where records
go. :func:`configure_logging` is the opt-in for applications (the CLI, the demo, a service) that
want codex-trio's format: it installs one handler on the root logger that renders *every* record,
codex-trio's and other libraries', through the same small processors:

1. ``merge_contextvars``: ids bound with :func:`bind_contextvars` (``thread_id``, ``turn_id``)
   appear on every line logged in that task and the tasks it starts;
2. log level, logger name, an ISO-8601 UTC timestamp;
3. exception info rendered to text (so that the next step sees it);
4. :func:`redact_secrets`: every string value, nested ones included, goes through
   :func:`codex_trio.redact.redact`, and string values under keys that look secret
   (``api_key``, ``OPENAI_API_KEY``, ``authorization``...) are replaced by ``[REDACTED]``;
5. a JSON renderer (one object per line) or a plain console renderer.

What can go wrong: a record whose message is built with ``%`` formatting by another library is
redacted as a whole string, which is fine; a secret split across two keys cannot be recognised.
Redaction runs before rendering, so an object whose ``str()`` holds a secret is masked too (any
value that is not a number, string or container is logged as its redacted ``str()``).

:func:`attach_log_handler` bridges telemetry to logs: each lifecycle event becomes one record
named like ``"turn.stop"`` with its measurements and metadata as keys.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Final, TextIO, cast

import structlog
from structlog.contextvars import bind_contextvars, clear_contextvars, unbind_contextvars
from structlog.typing import EventDict, Processor, WrappedLogger

from codex_trio.observe import events as ev
from codex_trio.observe.telemetry import EventName, TelemetryBus, default_bus
from codex_trio.redact import REDACTED, looks_secret_name, redact

__all__ = [
    "LOG_EVENTS",
    "RedactedBoundLogger",
    "attach_log_handler",
    "bind_contextvars",
    "clear_contextvars",
    "configure_logging",
    "get_logger",
    "log_event_name",
    "redact_secrets",
    "unbind_contextvars",
]

HANDLER_NAME: Final = "codex_trio"
"""``logging.Handler.name`` of the handler :func:`configure_logging` installs (and replaces)."""

LOG_EVENTS: Final[tuple[EventName, ...]] = tuple(
    name
    for name in ev.ALL_EVENTS
    # Channel samples are too frequent for a log; handler failures are logged by the bus itself.
    if name not in (ev.CHANNEL_STATS, ev.TELEMETRY_HANDLER_FAILED)
)
"""The events :func:`attach_log_handler` logs by default."""

_WARNING_EVENTS: Final = frozenset(
    {
        ev.TURN_EXCEPTION,
        ev.TOOL_CALL_EXCEPTION,
        ev.PROTOCOL_ERROR,
        ev.SUPERVISOR_CHILD_RESTART,
        ev.SUPERVISOR_INTENSITY_EXCEEDED,
    }
)

# Keys that structlog or the renderers own; telemetry facts with these names get a prefix.
_RESERVED_KEYS: Final = frozenset(
    {"event", "level", "logger", "timestamp", "exception", "exc_info", "stack_info"}
)
# A span's start carries clock readings; the record's timestamp already says when it happened.
_CLOCK_MEASUREMENTS: Final = frozenset({"monotonic_time", "system_time"})
# Keys ProcessorFormatter adds for its own use; they must reach it untouched.
_META_KEYS: Final = frozenset({"_record", "_from_structlog"})
_MAX_DEPTH: Final = 8


# --- redaction -----------------------------------------------------------------------------------


def _redact_value(value: object, depth: int) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if depth >= _MAX_DEPTH:
        return "[...]"  # deeper than any log fact should be; also stops reference cycles
    if isinstance(value, bytes | bytearray):
        return redact(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {key: _redact_item(key, item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [_redact_value(item, depth + 1) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return redact(str(value))


def _redact_item(key: object, value: object, depth: int) -> object:
    # Only string-like values are masked under a secret-looking key: "input_tokens" looks secret
    # to the name check but holds a count, and a nested mapping is searched key by key instead.
    if (
        isinstance(key, str)
        and looks_secret_name(key)
        and not (value is None or isinstance(value, bool | int | float | Mapping | list | tuple))
    ):
        return REDACTED
    return _redact_value(value, depth)


def redact_secrets(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets in every value of ``event_dict``, recursively."""
    return {
        key: value if key in _META_KEYS else _redact_item(key, value, 0)
        for key, value in event_dict.items()
    }


# --- configuration -------------------------------------------------------------------------------


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]


_LOGGER_PROCESSORS: Final[list[Processor]] = [
    structlog.stdlib.filter_by_level,
    *_shared_processors(),
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
]


class RedactedBoundLogger(structlog.stdlib.BoundLogger):
    """structlog's stdlib logger, except that ``exception()`` leaves no raw traceback behind.

    structlog forwards ``exception()`` to ``logging.Logger.exception``, which attaches the live
    exception to the record; any handler not using our formatter (pytest's, an application's)
    would then print the traceback unredacted. Here the traceback is rendered to text and
    redacted by the processors, and the record is sent as a plain ``error``.
    """

    def exception(self, event: str | None = None, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self._proxy_to_logger("error", event, *args, **kw)


def get_logger(name: str = "codex_trio") -> structlog.stdlib.BoundLogger:
    """A structlog logger that writes through the standard ``logging`` logger ``name``.

    Bind facts as keys (``log.info("turn.completed", items=3)``), never format them into the
    message. Works before and without :func:`configure_logging`; records then reach whatever
    handlers the application set up (as dicts, already redacted).
    """
    return cast(
        structlog.stdlib.BoundLogger,
        structlog.wrap_logger(
            logging.getLogger(name),
            processors=_LOGGER_PROCESSORS,
            wrapper_class=RedactedBoundLogger,
        ),
    )


def configure_logging(
    *, json: bool = True, level: str | int = "INFO", stream: TextIO | None = None
) -> None:
    """Render all logging (codex-trio's and other libraries') as JSON lines or console text.

    Installs a handler on the root logger writing to ``stream`` (default ``sys.stderr``) and sets
    the root level (``ValueError`` for an unknown level name). Calling it again replaces the
    handler installed by the previous call, so it never duplicates lines; handlers installed by
    anyone else are left alone. Also configures structlog globally, so that
    ``structlog.get_logger()`` in application code goes the same way.
    """
    renderer: Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.ExtraAdder(), *_shared_processors()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)

    structlog.configure(
        processors=_LOGGER_PROCESSORS,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=RedactedBoundLogger,
        cache_logger_on_first_use=False,
    )


# --- telemetry -> logs ---------------------------------------------------------------------------


def log_event_name(event_name: EventName) -> str:
    """``("codex", "turn", "stop")`` -> ``"turn.stop"``: the log event name of a telemetry event."""
    parts = event_name[1:] if len(event_name) > 1 and event_name[0] == "codex" else event_name
    return ".".join(parts)


def _fact_key(key: str) -> str:
    return f"telemetry_{key}" if key in _RESERVED_KEYS else key


def _fact_value(value: Any) -> Any:
    if isinstance(value, tuple) and value and all(isinstance(part, str) for part in value):
        return ".".join(value)  # an event name (handler_failed's "event")
    return value


def _log_event(
    event_name: EventName,
    measurements: Mapping[str, float],
    metadata: Mapping[str, Any],
    config: tuple[structlog.stdlib.BoundLogger, logging.Logger, int],
) -> None:
    log, stdlib_logger, level = config
    if event_name in _WARNING_EVENTS:
        level = max(level, logging.WARNING)
    if not stdlib_logger.isEnabledFor(level):
        return  # the common case when logs are at WARNING: skip building the dict
    facts = {_fact_key(k): _fact_value(v) for k, v in metadata.items()}
    facts.update((_fact_key(k), v) for k, v in measurements.items() if k not in _CLOCK_MEASUREMENTS)
    log.log(level, log_event_name(event_name), **facts)


def attach_log_handler(
    bus: TelemetryBus = default_bus,
    *,
    level: str | int = logging.INFO,
    events: Iterable[EventName] = LOG_EVENTS,
    handler_id: str = "codex_trio.log",
    logger_name: str = "codex_trio.telemetry",
) -> str:
    """Log each of ``events`` emitted on ``bus`` as one record; returns the handler id.

    The record's event is :func:`log_event_name` of the telemetry name (``"turn.stop"``), its keys
    the metadata and measurements (a key structlog owns, such as ``event``, gets a ``telemetry_``
    prefix). Failures (span exceptions, protocol errors, restarts) are logged at least at WARNING.
    Runs in the emitter's task, so ids bound there with :func:`bind_contextvars` are on the
    record. Undo with ``bus.detach(handler_id)``; ``ValueError`` if that id is already attached.
    """
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    config = (get_logger(logger_name), logging.getLogger(logger_name), numeric)
    bus.attach(handler_id, events, _log_event, config)
    return handler_id
