"""The Responses API's server-sent events for one scripted response, as wire bytes.

``event: <type>`` / ``data: <json>`` frames, in the order the OpenAI Responses API streams them
(``response.created``, per item ``response.output_item.added`` (with ``response.output_text.delta``
chunks for a message scripted with deltas) and ``response.output_item.done``, then
``response.completed`` with usage, or ``response.failed``). Pure: no I/O, ids from :class:`Ids`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from codex_trio.testing._script import Message, ScriptedResponse

__all__ = ["Ids", "sse_events"]


class Ids:
    """Deterministic ids for one server: ``resp_1``, ``msg_1``, ``call_1`` ..."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}_{n}"


def _frame(event_type: str, data: dict[str, Any]) -> bytes:
    payload = {"type": event_type, **data}
    return f"event: {event_type}\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def sse_events(response: ScriptedResponse, ids: Ids, model: str | None) -> Iterator[bytes]:
    """The SSE events of a ``"stream"`` or ``"failed"`` response, in order, as wire bytes.

    The first event is always ``response.created``; a stream ends with ``response.completed``, a
    failed response with ``response.failed``.
    """
    response_id = ids.next("resp")
    header: dict[str, Any] = {"id": response_id, "object": "response", "model": model}
    yield _frame(
        "response.created", {"response": {**header, "status": "in_progress", "output": []}}
    )
    output: list[dict[str, Any]] = []
    for index, spec in enumerate(response.items):
        item = spec.item(ids.next(spec.id_prefix), ids.next("call"))
        if isinstance(spec, Message) and spec.deltas:
            started = {**item, "status": "in_progress", "content": []}
            yield _frame("response.output_item.added", {"output_index": index, "item": started})
            for chunk in spec.delta_chunks():
                yield _frame(
                    "response.output_text.delta",
                    {
                        "item_id": item["id"],
                        "output_index": index,
                        "content_index": 0,
                        "delta": chunk,
                    },
                )
        else:
            yield _frame("response.output_item.added", {"output_index": index, "item": item})
        yield _frame("response.output_item.done", {"output_index": index, "item": item})
        output.append(item)
    if response.kind == "failed":
        error = {"code": response.error_code or "server_error", "message": response.error or ""}
        yield _frame(
            "response.failed",
            {
                "response": {
                    **header,
                    "status": "failed",
                    "error": error,
                    "output": output,
                }
            },
        )
    else:
        yield _frame(
            "response.completed",
            {
                "response": {
                    **header,
                    "status": "completed",
                    "output": output,
                    "usage": response.usage.to_json(),
                }
            },
        )
