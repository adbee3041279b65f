"""The telemetry bus: attach/detach/execute, failing handlers, spans, concurrency."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import pytest
import trio

from codex_trio._redact import register_secret
from codex_trio.observe import telemetry
from codex_trio.observe.telemetry import HANDLER_FAILED, EventName, TelemetryBus

Call = tuple[EventName, dict[str, float], dict[str, Any], Any]
A: EventName = ("test", "a")
B: EventName = ("test", "b")


class Recorder:
    """A handler that remembers every call (copies, so later mutation cannot fool a test)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(
        self,
        event: EventName,
        measurements: Mapping[str, float],
        metadata: Mapping[str, Any],
        config: Any,
    ) -> None:
        self.calls.append((event, dict(measurements), dict(metadata), config))

    def events(self) -> list[EventName]:
        return [call[0] for call in self.calls]


def failing(
    event: EventName, measurements: Mapping[str, float], metadata: Mapping[str, Any], config: Any
) -> None:
    raise RuntimeError("handler bug")


# --- attach / detach / execute -------------------------------------------------------------------


def test_execute_calls_handlers_in_attach_order() -> None:
    bus = TelemetryBus()
    order: list[str] = []
    for name in ("first", "second", "third"):
        bus.attach(name, [A], lambda e, m, md, cfg: order.append(cfg), config=name)
    bus.execute(A, {})
    assert order == ["first", "second", "third"]


def test_execute_passes_event_measurements_metadata_and_config() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("rec", [A], rec, config={"k": 1})
    bus.execute(A, {"duration": 1.5}, {"thread_id": "t1"})
    assert rec.calls == [(A, {"duration": 1.5}, {"thread_id": "t1"}, {"k": 1})]


def test_execute_without_metadata_passes_an_empty_mapping() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("rec", [A], rec)
    bus.execute(A, {"n": 1.0})
    assert rec.calls == [(A, {"n": 1.0}, {}, None)]


def test_execute_reaches_only_handlers_attached_to_that_name() -> None:
    bus = TelemetryBus()
    rec_a, rec_b, rec_both = Recorder(), Recorder(), Recorder()
    bus.attach("a", [A], rec_a)
    bus.attach("b", [B], rec_b)
    bus.attach("both", [A, B], rec_both)
    bus.execute(A, {})
    bus.execute(("test", "nobody"), {})
    assert rec_a.events() == [A]
    assert rec_b.events() == []
    assert rec_both.events() == [A]


def test_attach_with_a_duplicate_id_raises_value_error_and_keeps_the_first() -> None:
    bus = TelemetryBus()
    first, second = Recorder(), Recorder()
    bus.attach("h", [A], first)
    with pytest.raises(ValueError, match="already attached"):
        bus.attach("h", [B], second)
    bus.execute(A, {})
    bus.execute(B, {})
    assert first.events() == [A]
    assert second.events() == []


@pytest.mark.parametrize("names", [[], [()], [("test", 1)]])
def test_attach_rejects_missing_or_invalid_event_names(names: list[Any]) -> None:
    with pytest.raises(ValueError):
        TelemetryBus().attach("h", names, Recorder())


def test_detach_stops_calls_and_reports_whether_it_was_attached() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("h", [A, B], rec)
    assert bus.detach("h") is True
    assert bus.detach("h") is False
    bus.execute(A, {})
    bus.execute(B, {})
    assert rec.calls == []


def test_detached_id_can_be_attached_again() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("h", [A], rec)
    bus.detach("h")
    bus.attach("h", [A], rec)
    bus.execute(A, {})
    assert rec.events() == [A]


def test_handlers_lists_attachments_in_order_and_by_event() -> None:
    bus = TelemetryBus()
    bus.attach("x", [A], Recorder(), config=1)
    bus.attach("y", [A, B], Recorder())
    assert [h.handler_id for h in bus.handlers()] == ["x", "y"]
    assert [h.handler_id for h in bus.handlers(B)] == ["y"]
    assert bus.handlers()[0].config == 1
    assert bus.handlers()[1].event_names == (A, B)


def test_module_functions_act_on_the_default_bus() -> None:
    rec = Recorder()
    telemetry.attach("test_module_functions", [A], rec)
    try:
        assert "test_module_functions" in [h.handler_id for h in telemetry.default_bus.handlers()]
        telemetry.execute(A, {"n": 1.0})
        with telemetry.span(("test", "span"), {}):
            pass
    finally:
        assert telemetry.detach("test_module_functions") is True
    assert rec.events() == [A]


# --- failing handlers ----------------------------------------------------------------------------


def test_failing_handler_is_detached_reported_once_and_spares_the_emitter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = TelemetryBus()
    before, after, reports = Recorder(), Recorder(), Recorder()
    bus.attach("before", [A], before)
    bus.attach("bad", [A], failing)
    bus.attach("after", [A], after)
    bus.attach("reports", [HANDLER_FAILED], reports)
    with caplog.at_level(logging.ERROR, logger="codex_trio.telemetry"):
        bus.execute(A, {})  # must not raise
        bus.execute(A, {})

    assert [h.handler_id for h in bus.handlers()] == ["before", "after", "reports"]
    assert before.events() == [A, A]
    assert after.events() == [A, A]
    assert reports.calls == [(HANDLER_FAILED, {}, {"handler_id": "bad", "event": A}, None)]
    failures = [r for r in caplog.records if r.getMessage() == "telemetry.handler_failed"]
    assert len(failures) == 1
    assert failures[0].handler_id == "bad"  # type: ignore[attr-defined]
    assert failures[0].failed_event == "test.a"  # type: ignore[attr-defined]
    assert "RuntimeError: handler bug" in failures[0].exception  # type: ignore[attr-defined]


def test_failing_handler_report_redacts_secrets_in_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "telemetry-test-secret-4711"
    register_secret(secret)

    def leaky(e: EventName, m: Mapping[str, float], md: Mapping[str, Any], c: Any) -> None:
        raise ValueError(f"key is {secret}")

    bus = TelemetryBus()
    bus.attach("leaky", [A], leaky)
    with caplog.at_level(logging.ERROR, logger="codex_trio.telemetry"):
        bus.execute(A, {})
    [record] = [r for r in caplog.records if r.getMessage() == "telemetry.handler_failed"]
    assert "ValueError" in record.exception  # type: ignore[attr-defined]
    assert secret not in caplog.text
    assert secret not in record.exception  # type: ignore[attr-defined]


def test_failing_handler_failed_handler_does_not_recurse() -> None:
    bus = TelemetryBus()
    bus.attach("bad", [A], failing)
    bus.attach("bad_reporter", [HANDLER_FAILED], failing)
    bus.execute(A, {})
    assert bus.handlers() == []


def test_failing_handler_attached_to_two_events_is_gone_from_both() -> None:
    bus = TelemetryBus()
    bus.attach("bad", [A, B], failing)
    bus.execute(A, {})
    assert bus.handlers(A) == []
    assert bus.handlers(B) == []


def test_keyboard_interrupt_in_a_handler_is_not_swallowed() -> None:
    def interrupt(e: EventName, m: Mapping[str, float], md: Mapping[str, Any], c: Any) -> None:
        raise KeyboardInterrupt

    bus = TelemetryBus()
    bus.attach("interrupt", [A], interrupt)
    with pytest.raises(KeyboardInterrupt):
        bus.execute(A, {})


# --- spans ---------------------------------------------------------------------------------------


def test_span_emits_start_then_stop_with_duration_and_merged_metadata() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    prefix: EventName = ("test", "op")
    bus.attach("rec", [(*prefix, "start"), (*prefix, "stop"), (*prefix, "exception")], rec)
    with bus.span(prefix, {"thread_id": "t1"}) as span:
        span.metadata["status"] = "completed"
        span.measurements["input_tokens"] = 12

    assert rec.events() == [(*prefix, "start"), (*prefix, "stop")]
    _, start_m, start_md, _ = rec.calls[0]
    _, stop_m, stop_md, _ = rec.calls[1]
    assert start_md == {"thread_id": "t1"}
    assert set(start_m) == {"monotonic_time", "system_time"}
    assert stop_md == {"thread_id": "t1", "status": "completed"}
    assert stop_m["duration"] >= 0
    assert stop_m["input_tokens"] == 12


def test_span_does_not_mutate_the_metadata_it_was_given() -> None:
    bus = TelemetryBus()
    given = {"thread_id": "t1"}
    with bus.span(("test", "op"), given) as span:
        span.metadata["status"] = "completed"
    assert given == {"thread_id": "t1"}


async def test_span_works_as_an_async_context_manager() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("rec", [("test", "op", "start"), ("test", "op", "stop")], rec)
    async with bus.span(("test", "op"), {"k": "v"}) as span:
        await trio.lowlevel.checkpoint()
        span.metadata["status"] = "ok"
    assert rec.events() == [("test", "op", "start"), ("test", "op", "stop")]
    assert rec.calls[1][2] == {"k": "v", "status": "ok"}
    assert rec.calls[1][1]["duration"] >= 0


def test_span_exception_emits_kind_and_redacted_reason_and_reraises() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    names = [("test", "op", suffix) for suffix in ("start", "stop", "exception")]
    bus.attach("rec", names, rec)
    with pytest.raises(ValueError, match="sk-"), bus.span(("test", "op"), {"thread_id": "t1"}):
        raise ValueError("bad key sk-abcdefghijklmnopqrstuvwxyz")

    assert rec.events() == [("test", "op", "start"), ("test", "op", "exception")]
    _, measurements, metadata, _ = rec.calls[1]
    assert measurements["duration"] >= 0
    assert metadata["thread_id"] == "t1"
    assert metadata["kind"] == "ValueError"
    assert metadata["reason"] == "bad key [REDACTED]"


async def test_span_reports_cancellation_as_kind_cancelled() -> None:
    bus = TelemetryBus()
    rec = Recorder()
    bus.attach("rec", [("test", "op", "exception"), ("test", "op", "stop")], rec)
    with trio.CancelScope() as scope:
        scope.cancel()
        async with bus.span(("test", "op"), {}):
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert rec.events() == [("test", "op", "exception")]
    assert rec.calls[0][2]["kind"] == "Cancelled"


def test_span_cannot_be_entered_twice() -> None:
    bus = TelemetryBus()
    span = bus.span(("test", "op"), {})
    with span:
        pass
    with pytest.raises(RuntimeError, match="entered twice"), span:
        pass


def test_span_survives_a_failing_handler() -> None:
    bus = TelemetryBus()
    bus.attach("bad", [("test", "op", "start"), ("test", "op", "stop")], failing)
    with bus.span(("test", "op"), {}) as span:
        span.metadata["ran"] = True
    assert span.metadata == {"ran": True}
    assert bus.handlers() == []


# --- concurrency ---------------------------------------------------------------------------------


def test_attach_and_detach_from_inside_a_handler_take_effect_on_the_next_event() -> None:
    bus = TelemetryBus()
    late = Recorder()

    def attacher(e: EventName, m: Mapping[str, float], md: Mapping[str, Any], c: Any) -> None:
        bus.detach("attacher")
        bus.attach("late", [A], late)

    bus.attach("attacher", [A], attacher)
    bus.execute(A, {})
    assert late.calls == []
    bus.execute(A, {})
    assert late.events() == [A]


def test_concurrent_attach_and_detach_never_disturb_execute() -> None:
    bus = TelemetryBus()
    steady = Recorder()
    bus.attach("steady", [A], steady)
    cycles = 300
    done: list[int] = []
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        try:
            for i in range(cycles):
                handler_id = f"churn-{worker}-{i % 7}"
                bus.attach(handler_id, [A, B], lambda e, m, md, c: None)
                bus.detach(handler_id)
            done.append(worker)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    executes = 0
    # Emit for as long as the other threads attach and detach, so the two really overlap.
    while any(thread.is_alive() for thread in threads):
        bus.execute(A, {})
        executes += 1
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(done) == [0, 1]
    assert len(steady.calls) == executes
    assert [h.handler_id for h in bus.handlers()] == ["steady"]
