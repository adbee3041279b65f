"""Structured logging: context ids on records, secrets nowhere, telemetry events as log records."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import structlog

import codex_trio
from codex_trio._protocol import ThreadEvent
from codex_trio._protocol.options import ThreadOptions, TurnOptions
from codex_trio._redact import REDACTED, register_secret
from codex_trio._turn import ThreadState, open_turn
from codex_trio.observe import default_bus
from codex_trio.observe import events as ev
from codex_trio.observe._logging import (
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
from codex_trio.testing import MockModel, message

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
    bus.execute(ev.APP_SERVER_SAMPLE, {"threads_loaded": 1}, {"slot": "0"})
    logged = records(stream)
    assert [(r["event"], r["level"]) for r in logged] == [
        ("turn.start", "info"),
        ("turn.stop", "info"),
        ("protocol.error", "warning"),
    ]  # channel.stats and app_server.sample are not logged by default
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
    assert record.getMessage() == "plain.event"
    assert record.api_key == REDACTED  # type: ignore[attr-defined]
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
    assert "RuntimeError: failed with" in record.exception  # type: ignore[attr-defined]
    assert API_KEY not in record.exception  # type: ignore[attr-defined]
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


# --- without configure_logging: render_to_log_kwargs, for the application's own handlers --------


@pytest.fixture
def plain_handler() -> Iterator[list[logging.LogRecord]]:
    """A plain ``logging`` handler with a ``%(message)s`` formatter on the ``codex_trio`` logger;
    structlog left unconfigured. The records it saw, each with its ``formatted`` text."""
    seen: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            record.formatted = self.format(record)
            seen.append(record)

    structlog.reset_defaults()
    handler = Collect()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("codex_trio")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        clear_contextvars()


def test_a_plain_handler_sees_the_event_as_message_and_facts_as_attributes(
    plain_handler: list[logging.LogRecord],
) -> None:
    get_logger("codex_trio.test").info("turn.completed", items=3, status="completed")
    [record] = plain_handler
    assert record.formatted == "turn.completed"  # type: ignore[attr-defined]
    assert record.items == 3  # type: ignore[attr-defined]
    assert record.status == "completed"  # type: ignore[attr-defined]
    assert record.levelno == logging.INFO
    assert record.name == "codex_trio.test"
    assert record.filename == "test_logging.py"  # the caller's line, not structlog's


def test_a_plain_handler_sees_secrets_redacted(plain_handler: list[logging.LogRecord]) -> None:
    register_secret(REGISTERED_SECRET)
    log = get_logger("codex_trio.test")
    log.warning(
        f"message mentions {REGISTERED_SECRET}",
        api_key=BARE_SECRET,
        options={"env": {"OPENAI_API_KEY": BARE_SECRET}, "note": f"key={API_KEY}"},
    )
    try:
        raise RuntimeError(f"request failed with {API_KEY}")
    except RuntimeError:
        log.exception("request.failed")
    first, second = plain_handler
    assert REGISTERED_SECRET not in first.formatted  # type: ignore[attr-defined]
    assert first.api_key == REDACTED  # type: ignore[attr-defined]
    assert first.options == {  # type: ignore[attr-defined]
        "env": {"OPENAI_API_KEY": REDACTED},
        "note": f"key={REDACTED}",
    }
    assert second.exc_info is None
    assert "RuntimeError: request failed with" in second.exception  # type: ignore[attr-defined]
    for record in plain_handler:
        for value in vars(record).values():
            for secret in (REGISTERED_SECRET, API_KEY, BARE_SECRET):
                assert secret not in str(value)


def test_a_plain_handler_sees_bound_context_and_telemetry_facts(
    plain_handler: list[logging.LogRecord],
) -> None:
    bus = TelemetryBus()
    attach_log_handler(bus, logger_name="codex_trio.telemetry")
    bind_contextvars(thread_id="th_plain_1", turn_id="tu_plain_1")
    emit_turn(bus)
    start, stop = plain_handler
    assert [start.formatted, stop.formatted] == ["turn.start", "turn.stop"]  # type: ignore[attr-defined]
    assert stop.input_tokens == 11  # type: ignore[attr-defined]
    assert stop.status == "completed"  # type: ignore[attr-defined]
    assert stop.turn_id == "tu_plain_1"  # type: ignore[attr-defined]


def test_facts_named_like_record_attributes_are_renamed_not_fatal(
    plain_handler: list[logging.LogRecord],
) -> None:
    get_logger("codex_trio.test").info("tool.ran", name="grep", module="m", process=7)
    [record] = plain_handler
    assert record.name == "codex_trio.test"
    assert (record.name_, record.module_, record.process_) == ("grep", "m", 7)  # type: ignore[attr-defined]


# --- the application's own structlog configuration -------------------------------------------


def test_the_applications_structlog_configuration_is_respected_and_still_redacted() -> None:
    logger = get_logger("codex_trio.test")  # created before the application configures
    seen: list[dict[str, Any]] = []

    def app_processor(_: object, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        seen.append(dict(event_dict))
        return event_dict

    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            app_processor,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    try:
        bind_contextvars(thread_id="th_app_1")
        logger.debug("not.shown")
        logger.info("turn.completed", api_key=BARE_SECRET, note=f"used {API_KEY}")
        try:
            raise RuntimeError(f"failed with {API_KEY}")
        except RuntimeError:
            logger.exception("call.failed")
    finally:
        structlog.reset_defaults()
        clear_contextvars()
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert [s["event"] for s in seen] == ["turn.completed", "call.failed"]  # its processor ran
    assert first == {
        "event": "turn.completed",
        "api_key": REDACTED,
        "note": f"used {REDACTED}",
        "thread_id": "th_app_1",
    }
    assert "RuntimeError: failed with" in second["exception"]
    assert API_KEY not in out.getvalue() and BARE_SECRET not in out.getvalue()


def test_the_telemetry_bridge_follows_the_applications_level() -> None:
    out = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(out),
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )
    try:
        bus = TelemetryBus()
        attach_log_handler(bus)
        emit_turn(bus)  # INFO: below the application's level
        bus.execute(ev.PROTOCOL_ERROR, {}, {"kind": "invalid_json", "transport": "exec"})
    finally:
        structlog.reset_defaults()
    [record] = (json.loads(line) for line in out.getvalue().splitlines())
    assert record["event"] == "protocol.error"
    assert record["kind"] == "invalid_json"


# --- a turn binds its ids and gives the caller's back --------------------------------------------


class _SilentRunner:
    """A transport whose turns end at once, without an event."""

    name = "exec"

    @asynccontextmanager
    async def turn(
        self,
        prompt: str,
        thread: ThreadOptions,
        turn: TurnOptions = TurnOptions(),
        *,
        images: Sequence[str] = (),
        resume_thread_id: str | None = None,
    ) -> AsyncIterator[AsyncIterator[ThreadEvent]]:
        async def events() -> AsyncIterator[ThreadEvent]:
            return
            yield

        yield events()


async def test_open_turn_binds_its_ids_and_restores_the_callers() -> None:
    state = ThreadState(runner=_SilentRunner(), options=ThreadOptions(), thread_id="th_turn_1")
    bind_contextvars(thread_id="outer", turn_id="outer_turn")
    try:
        async with open_turn(state, "hello", TurnOptions()) as streamed:
            inside = structlog.contextvars.get_contextvars()
            async for _ in streamed:
                pass
        after = structlog.contextvars.get_contextvars()
    finally:
        clear_contextvars()
    assert inside["thread_id"] == "th_turn_1"
    assert inside["turn_id"].startswith("turn_")
    assert after == {"thread_id": "outer", "turn_id": "outer_turn"}


async def test_a_real_turn_logs_with_its_ids_and_restores_the_callers(
    mock_model: MockModel, caplog: pytest.LogCaptureFixture
) -> None:
    mock_model.script = [message("Hello there."), message("Again.")]
    seen: list[dict[str, Any]] = []

    def during_turn(
        event_name: EventName, _: Mapping[str, float], metadata: Mapping[str, Any], __: None
    ) -> None:
        seen.append(
            {"metadata_turn_id": metadata["turn_id"], **structlog.contextvars.get_contextvars()}
        )
        get_logger("codex_trio.test").info("inside.turn")

    default_bus.attach("test.turn_context", [ev.TURN_START, ev.TURN_STOP], during_turn, None)
    thread = codex_trio.Codex(env=mock_model.env).start_thread(
        working_directory=str(mock_model.workdir), skip_git_repo_check=True
    )
    bind_contextvars(thread_id="outer", turn_id="outer_turn")
    try:
        with caplog.at_level(logging.INFO, logger="codex_trio.test"):
            await thread.run("Say hello")
            await thread.run("Say it again")  # a resumed thread: its id is bound from the start
        after = structlog.contextvars.get_contextvars()
    finally:
        default_bus.detach("test.turn_context")
        clear_contextvars()
    assert after == {"thread_id": "outer", "turn_id": "outer_turn"}
    assert len(seen) == 4
    for ctx in seen:
        assert ctx["turn_id"] == ctx["metadata_turn_id"] != "outer_turn"
    assert seen[2]["thread_id"] == seen[3]["thread_id"] == thread.id
    records = [r for r in caplog.records if r.getMessage() == "inside.turn"]
    assert [r.turn_id for r in records] == [ctx["turn_id"] for ctx in seen]  # type: ignore[attr-defined]
    assert records[2].thread_id == thread.id  # type: ignore[attr-defined]
