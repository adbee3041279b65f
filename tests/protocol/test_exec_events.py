"""Events of ``codex exec --json``: each type decodes to its class and re-encodes to the same text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codex_trio._errors import ProtocolError
from codex_trio._protocol import (
    AgentMessageItem,
    ItemCompletedEvent,
    ItemStartedEvent,
    ItemUpdatedEvent,
    PlanDeltaEvent,
    RequestUserInputEvent,
    RequestUserInputOption,
    ThreadErrorEvent,
    ThreadStartedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    TurnStartedEvent,
    UnknownEvent,
    Usage,
    decode_event,
    encode_event,
    unstructure_event,
)

USAGE = (
    '{"input_tokens":201,"cached_input_tokens":20,"cache_write_input_tokens":0,'
    '"output_tokens":40,"reasoning_output_tokens":10}'
)
# Lines as codex 0.163 writes them (the first six seen on this machine, the last three built
# from exec_events.rs, which the mock model cannot make codex emit).
LINES = {
    "thread.started": '{"type":"thread.started","thread_id":"01a21349-1f5a-7221-a276-bb1e2f911f83"}',
    "turn.started": '{"type":"turn.started"}',
    "turn.completed": '{"type":"turn.completed","usage":' + USAGE + "}",
    "turn.failed": '{"type":"turn.failed","error":{"message":"{\\"error\\":{\\"message\\":\\"boom\\"}}"}}',
    "error": '{"type":"error","message":"Reconnecting... 2/5"}',
    "item.completed": '{"type":"item.completed","item":{"id":"item_4","type":"agent_message","text":"All done."}}',
    "item.started": '{"type":"item.started","item":{"id":"item_4","type":"agent_message","text":""}}',
    "item.updated": '{"type":"item.updated","item":{"id":"item_4","type":"agent_message","text":"Al"}}',
    "item.plan.delta": '{"type":"item.plan.delta","item_id":"item_2","delta":"1. read"}',
    "request_user_input": (
        '{"type":"request_user_input","id":"turn-1","call_id":"call_7","questions":[{"id":"q1",'
        '"header":"Scope","question":"Which files?","isOther":true,"isSecret":false,'
        '"options":[{"label":"all","description":"every file"}]}]}'
    ),
}
CLASSES: dict[str, type[Any]] = {
    "thread.started": ThreadStartedEvent,
    "turn.started": TurnStartedEvent,
    "turn.completed": TurnCompletedEvent,
    "turn.failed": TurnFailedEvent,
    "error": ThreadErrorEvent,
    "item.started": ItemStartedEvent,
    "item.updated": ItemUpdatedEvent,
    "item.completed": ItemCompletedEvent,
    "item.plan.delta": PlanDeltaEvent,
    "request_user_input": RequestUserInputEvent,
}


@pytest.mark.parametrize("kind", sorted(LINES))
def test_every_event_type_decodes_to_its_class(kind: str) -> None:
    event = decode_event(LINES[kind])
    assert type(event) is CLASSES[kind]
    assert event.type == kind


@pytest.mark.parametrize("kind", sorted(LINES))
def test_every_event_type_reencodes_to_the_identical_line(kind: str) -> None:
    assert encode_event(decode_event(LINES[kind])) == LINES[kind]


@pytest.mark.parametrize("kind", sorted(LINES))
def test_unstructure_gives_what_json_loads_gives(kind: str) -> None:
    assert unstructure_event(decode_event(LINES[kind])) == json.loads(LINES[kind])


def test_bytes_and_str_lines_decode_alike() -> None:
    for line in LINES.values():
        assert decode_event(line.encode()) == decode_event(line)
        assert decode_event(line + "\n") == decode_event(line)


def test_thread_started_carries_the_thread_id() -> None:
    assert decode_event(LINES["thread.started"]) == ThreadStartedEvent(
        "01a21349-1f5a-7221-a276-bb1e2f911f83"
    )


def test_turn_failed_exposes_the_error_message() -> None:
    event = decode_event(LINES["turn.failed"])
    assert isinstance(event, TurnFailedEvent)
    assert event.message == event.error.message == '{"error":{"message":"boom"}}'


def test_top_level_error_is_a_notice_distinct_from_turn_failure() -> None:
    event = decode_event(LINES["error"])
    assert isinstance(event, ThreadErrorEvent)
    assert not isinstance(event, TurnFailedEvent)
    assert event.message == "Reconnecting... 2/5"
    assert "NOTICE" in (ThreadErrorEvent.__doc__ or "")


def test_item_events_carry_the_typed_item() -> None:
    event = decode_event(LINES["item.updated"])
    assert event == ItemUpdatedEvent(AgentMessageItem(id="item_4", text="Al"))


def test_plan_delta_carries_item_id_and_delta() -> None:
    assert decode_event(LINES["item.plan.delta"]) == PlanDeltaEvent(
        item_id="item_2", delta="1. read"
    )


def test_request_user_input_questions_are_typed() -> None:
    event = decode_event(LINES["request_user_input"])
    assert isinstance(event, RequestUserInputEvent)
    assert (event.id, event.call_id) == ("turn-1", "call_7")
    (question,) = event.questions
    assert (question.id, question.header, question.question) == ("q1", "Scope", "Which files?")
    assert (question.is_other, question.is_secret) == (True, False)
    assert question.options == (RequestUserInputOption(label="all", description="every file"),)


def test_question_defaults_apply_when_keys_are_absent_and_stay_absent() -> None:
    line = (
        '{"type":"request_user_input","id":"t","call_id":"c",'
        '"questions":[{"id":"q","header":"h","question":"?"}]}'
    )
    event = decode_event(line)
    assert isinstance(event, RequestUserInputEvent)
    (question,) = event.questions
    assert (question.is_other, question.is_secret, question.options) == (False, False, None)
    assert encode_event(event) == line


def test_question_flag_null_is_a_protocol_error() -> None:
    line = LINES["request_user_input"].replace('"isOther":true', '"isOther":null')
    with pytest.raises(ProtocolError, match="isOther"):
        decode_event(line)


# ------------------------------------------------------------------------------------ usage


def test_usage_fields_decode_including_the_optional_ones() -> None:
    event = decode_event(LINES["turn.completed"])
    assert isinstance(event, TurnCompletedEvent)
    assert event.usage == Usage(
        input_tokens=201,
        cached_input_tokens=20,
        cache_write_input_tokens=0,
        output_tokens=40,
        reasoning_output_tokens=10,
    )
    assert event.usage.total_tokens is None


def test_usage_without_optional_counts_reads_none_and_stays_without() -> None:
    line = (
        '{"type":"turn.completed","usage":'
        '{"input_tokens":1,"cached_input_tokens":0,"output_tokens":2}}'
    )
    event = decode_event(line)
    assert isinstance(event, TurnCompletedEvent)
    assert event.usage.reasoning_output_tokens is None
    assert event.usage.cache_write_input_tokens is None
    assert encode_event(event) == line


def test_usage_null_optional_count_is_written_back_as_null() -> None:
    line = LINES["turn.completed"].replace(
        '"reasoning_output_tokens":10', '"reasoning_output_tokens":null'
    )
    event = decode_event(line)
    assert isinstance(event, TurnCompletedEvent)
    assert event.usage.reasoning_output_tokens is None
    assert encode_event(event) == line


def test_usage_total_tokens_is_kept_when_present() -> None:
    line = LINES["turn.completed"].replace("10}", '10,"total_tokens":241}')
    event = decode_event(line)
    assert isinstance(event, TurnCompletedEvent)
    assert event.usage.total_tokens == 241
    assert encode_event(event) == line


def _usage(i: int, c: int, o: int, r: int | None = None, w: int | None = None) -> Usage:
    return Usage(
        input_tokens=i,
        cached_input_tokens=c,
        output_tokens=o,
        reasoning_output_tokens=r,
        cache_write_input_tokens=w,
    )


def test_usage_minus_gives_one_turns_share_of_cumulative_counts() -> None:
    first = _usage(100, 10, 20, 5, 0)
    second = _usage(250, 60, 45, 12, 3)
    assert second.minus(first) == _usage(150, 50, 25, 7, 3)


def test_usage_minus_treats_a_previous_missing_count_as_zero() -> None:
    assert _usage(10, 1, 2, r=4).minus(_usage(3, 0, 1)) == _usage(7, 1, 1, r=4)


def test_usage_minus_keeps_a_count_the_current_report_lacks_as_none() -> None:
    assert _usage(10, 1, 2).minus(_usage(3, 0, 1, r=4)).reasoning_output_tokens is None


def test_usage_plus_adds_counts_and_keeps_none_only_when_both_lack_it() -> None:
    total = _usage(1, 2, 3, r=4).plus(_usage(10, 20, 30, w=5))
    assert total == _usage(11, 22, 33, r=4, w=5)
    assert total.total_tokens is None


def test_usage_plus_undoes_minus() -> None:
    first = _usage(100, 10, 20, 5, 0)
    second = _usage(250, 60, 45, 12, 3)
    assert first.plus(second.minus(first)) == second


# ------------------------------------------------------------------------ unknown and extra


def test_unknown_event_type_keeps_the_raw_object_and_reencodes_it() -> None:
    line = '{"type":"turn.paused","reason":{"why":"budget"},"n":[1,2]}'
    event = decode_event(line)
    assert event == UnknownEvent("turn.paused", json.loads(line))
    assert encode_event(event) == line


@pytest.mark.parametrize("kind", sorted(LINES))
def test_extra_top_level_keys_keep_the_event_typed_and_survive(kind: str) -> None:
    line = LINES[kind][:-1] + ',"turn_id":"t-9","meta":{"a":[true,null]}}'
    event = decode_event(line)
    assert type(event) is CLASSES[kind]
    assert not isinstance(event, UnknownEvent)
    assert dict(event.extra) == {"turn_id": "t-9", "meta": {"a": [True, None]}}
    assert encode_event(event) == line


def test_extra_keys_inside_usage_and_error_survive() -> None:
    usage_line = LINES["turn.completed"].replace("10}", '10,"audio_tokens":3}')
    assert encode_event(decode_event(usage_line)) == usage_line
    error_line = LINES["turn.failed"][:-2] + ',"code":"rate_limited"}}'
    assert encode_event(decode_event(error_line)) == error_line


# ------------------------------------------------------------------------------- bad events


@pytest.mark.parametrize(
    "line",
    [
        '{"type":"thread.started"}',
        '{"type":"thread.started","thread_id":7}',
        '{"type":"turn.completed"}',
        '{"type":"turn.completed","usage":null}',
        '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0}}',
        '{"type":"turn.completed","usage":{"input_tokens":"1","cached_input_tokens":0,"output_tokens":1}}',
        '{"type":"turn.completed","usage":{"input_tokens":1.0,"cached_input_tokens":0,"output_tokens":1}}',
        '{"type":"turn.completed","usage":{"input_tokens":true,"cached_input_tokens":0,"output_tokens":1}}',
        '{"type":"turn.failed","error":"boom"}',
        '{"type":"turn.failed","error":{}}',
        '{"type":"item.completed"}',
        '{"type":"item.completed","item":[]}',
        '{"type":"item.plan.delta","item_id":"i"}',
        '{"type":"request_user_input","id":"t","call_id":"c","questions":{}}',
        '{"type":"error","message":null}',
    ],
)
def test_known_event_with_missing_or_wrongly_typed_field_is_a_protocol_error(line: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode_event(line)
    assert info.value.line == line


def test_events_of_strings_and_numbers_are_hashable_even_with_extra_keys() -> None:
    plain = decode_event(LINES["item.completed"])
    with_extra = decode_event(LINES["item.completed"][:-1] + ',"meta":{"a":[1]}}')
    assert len({plain, decode_event(LINES["item.completed"]), decode_event(USAGE_LINE)}) == 2
    assert hash(with_extra) == hash(plain)
    assert with_extra != plain


USAGE_LINE = '{"type":"turn.completed","usage":' + USAGE + "}"
