"""Structured logging: context ids on records, secrets nowhere, telemetry events as log records."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from codex_trio.observe import events as ev
from codex_trio.observe.logging import (
    HANDLER_NAME,
    attach_log_handler,
    bind_contextvars,
    clear_contextvars,
    configure_logging,
    get_logger,
    log_event_name,
    redact_secrets,
)
from codex_trio.observe.telemetry import EventName, TelemetryBus
from codex_trio.redact import REDACTED, register_secret

REGISTERED_SECRET = "observe-logging-registered-secret-9f3e"
API_KEY = "sk-proj-ObserveLoggingTestKey0123456789"
BARE_SECRET = "plain-value-nobody-registered-77"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """JSON logging into a StringIO; root logger, structlog and context restored afterwards."""
    root = logging.getLogger()
    level = root.level
    out = io.StringIO()
    configure_logging(json=True, level="INFO", stream=out)
    try:
        yield out
    finally:
        for handler in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
            root.removeHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
        clear_contextvars()


def records(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def emit_turn(bus: TelemetryBus) -> None:
    with bus.span(ev.TURN, {"thread_id": None, "transport": "exec", "model": "m"}) as span:
        span.metadata["status"] = "completed"
        span.measurements.update(input_tokens=11, output_tokens=4)


def test_bound_context_ids_appear_on_telemetry_records(stream: io.StringIO) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus)
    bind_contextvars(thread_id="th_ctx_1", turn_id="tu_ctx_1")
    bus.execute(ev.THREAD_START, {}, {"transport": "exec"})
    get_logger("codex_trio.test").info("turn.note", items=3)
    logged = records(stream)
    assert [r["event"] for r in logged] == ["thread.start", "turn.note"]
    for record in logged:
        assert record["thread_id"] == "th_ctx_1"
        assert record["turn_id"] == "tu_ctx_1"
    assert logged[1]["items"] == 3


def test_records_carry_level_logger_and_iso_timestamp(stream: io.StringIO) -> None:
    get_logger("codex_trio.test").warning("thing.happened")
    [record] = records(stream)
    assert record["level"] == "warning"
    assert record["logger"] == "codex_trio.test"
    assert record["timestamp"].endswith("Z")
    assert "T" in record["timestamp"]


def test_secrets_appear_nowhere_in_the_output(stream: io.StringIO) -> None:
    register_secret(REGISTERED_SECRET)
    bus = TelemetryBus()
    attach_log_handler(bus)
    log = get_logger("codex_trio.test")
    log.info(
        "config.loaded",
        options={"env": {"OPENAI_API_KEY": BARE_SECRET}, "note": f"key={REGISTERED_SECRET}"},
        headers=[("Authorization", f"Bearer {API_KEY}")],
        api_key=BARE_SECRET,
        OPENAI_API_KEY=BARE_SECRET,
        raw=API_KEY.encode(),
    )
    log.info(f"message mentions {REGISTERED_SECRET}")
    try:
        raise RuntimeError(f"request failed with {API_KEY}")
    except RuntimeError:
        log.exception("request.failed")
    logging.getLogger("some.library").warning(
        "library says %s", REGISTERED_SECRET, extra={"token": BARE_SECRET}
    )
    with pytest.raises(ValueError), bus.span(ev.TURN, {"prompt_hint": API_KEY}):
        raise ValueError(f"bad {REGISTERED_SECRET}")

    text = stream.getvalue()
    assert len(records(stream)) == 6  # all six records were written...
    for secret in (REGISTERED_SECRET, API_KEY, BARE_SECRET):
        assert secret not in text  # ...and none of them holds a secret
    assert REDACTED in text
    first = records(stream)[0]
    assert first["api_key"] == REDACTED
    assert first["OPENAI_API_KEY"] == REDACTED
    assert first["options"]["env"]["OPENAI_API_KEY"] == REDACTED
    assert "request failed with" in records(stream)[2]["exception"]


def test_console_renderer_is_redacted_too(stream: io.StringIO) -> None:
    out = io.StringIO()
    configure_logging(json=False, stream=out)
    get_logger("codex_trio.test").info("console.line", api_key=BARE_SECRET, text=API_KEY)
    text = out.getvalue()
    assert "console.line" in text
    assert BARE_SECRET not in text
    assert API_KEY not in text


def test_counts_under_secret_looking_keys_are_kept(stream: io.StringIO) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus)
    emit_turn(bus)
    stop = records(stream)[-1]
    assert stop["event"] == "turn.stop"
    assert stop["input_tokens"] == 11  # "tokens" looks secret to the name check; counts are not
    assert stop["output_tokens"] == 4
    assert stop["status"] == "completed"


def test_configure_logging_twice_does_not_duplicate_lines(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    get_logger("codex_trio.test").info("once")
    assert [r["event"] for r in records(stream)] == ["once"]


def test_level_filters_records(stream: io.StringIO) -> None:
    log = get_logger("codex_trio.test")
    log.debug("hidden")
    log.info("shown")
    assert [r["event"] for r in records(stream)] == ["shown"]


def test_log_bridge_names_events_and_raises_failures_to_warning(stream: io.StringIO) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus)
    emit_turn(bus)
    bus.execute(ev.PROTOCOL_ERROR, {}, {"kind": "invalid_json", "transport": "exec"})
    bus.execute(ev.CHANNEL_STATS, {"queue_depth": 1, "capacity": 2}, {"channel": "events"})
    logged = records(stream)
    assert [(r["event"], r["level"]) for r in logged] == [
        ("turn.start", "info"),
        ("turn.stop", "info"),
        ("protocol.error", "warning"),
    ]  # channel.stats is not logged by default
    assert "monotonic_time" not in logged[0]


def test_log_bridge_prefixes_keys_that_structlog_owns(stream: io.StringIO) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus, events=[ev.TELEMETRY_HANDLER_FAILED])
    bus.execute(ev.TELEMETRY_HANDLER_FAILED, {}, {"handler_id": "h", "event": ev.TURN_STOP})
    [record] = records(stream)
    assert record["event"] == "telemetry.handler_failed"
    assert record["telemetry_event"] == "codex.turn.stop"


def test_log_bridge_below_the_root_level_logs_nothing(stream: io.StringIO) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus, level="DEBUG")
    emit_turn(bus)
    assert records(stream) == []


def test_log_bridge_rejects_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        attach_log_handler(TelemetryBus(), level="CHATTY")


def test_get_logger_works_without_configure_logging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="codex_trio.unconfigured"):
        get_logger("codex_trio.unconfigured").info("plain.event", api_key=BARE_SECRET)
    [record] = caplog.records
    assert record.msg["event"] == "plain.event"  # type: ignore[index]
    assert BARE_SECRET not in caplog.text


def test_exception_leaves_no_raw_traceback_for_other_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="codex_trio.unconfigured"):
        try:
            raise RuntimeError(f"failed with {API_KEY}")
        except RuntimeError:
            get_logger("codex_trio.unconfigured").exception("call.failed")
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is None
    assert "RuntimeError: failed with" in record.msg["exception"]  # type: ignore[index]
    assert API_KEY not in caplog.text


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (("codex", "turn", "stop"), "turn.stop"),
        (("codex", "supervisor", "child", "restart"), "supervisor.child.restart"),
        (("myapp", "thing"), "myapp.thing"),
    ],
)
def test_log_event_name_drops_the_codex_namespace(name: EventName, expected: str) -> None:
    assert log_event_name(name) == expected


def test_redact_secrets_leaves_numbers_and_masks_nested_strings() -> None:
    result = redact_secrets(
        None,
        "info",
        {"event": "x", "n": 3, "auth": {"token": "abcdefgh", "expires_in": 60}, "ok": None},
    )
    assert result == {
        "event": "x",
        "n": 3,
        "auth": {"token": REDACTED, "expires_in": 60},
        "ok": None,
    }
