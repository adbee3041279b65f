"""What codex sent: one :class:`RecordedRequest` per HTTP request the mock server received.

Tests assert on these to check what their agent made codex send: the ``input`` history, the
``tools`` offered, ``text.format`` for output schemas, images as data URLs, and the outputs of the
tools codex ran (``function_call_output`` / ``custom_tool_call_output`` items).

The ``Authorization`` header is kept out of :attr:`RecordedRequest.headers` and out of ``repr``:
a recorded request is safe to print or log. Read it with :meth:`RecordedRequest.authorization`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import attrs

from codex_trio._redact import REDACTED

__all__ = ["RecordedRequest"]

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "openai-api-key"})


def _text_of(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    if isinstance(content, list):
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                texts.append(part["text"])
    return texts


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the server received it.

    ``index`` is its position among all requests of the server (0-based, arrival order);
    ``headers`` maps lower-case names to values, with credentials replaced by ``[REDACTED]``;
    ``body`` is the parsed JSON body, or ``None`` when the body was not JSON (``raw_body`` has the
    bytes either way).
    """

    index: int
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes = attrs.field(repr=False)
    _secret_headers: Mapping[str, str] = attrs.field(repr=False, alias="secret_headers")

    @classmethod
    def build(
        cls, *, index: int, method: str, path: str, headers: list[tuple[str, str]], raw_body: bytes
    ) -> RecordedRequest:
        """Split credentials from the other headers and parse the body."""
        public: dict[str, str] = {}
        secret: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            if key in _SECRET_HEADERS:
                secret[key] = value
                public[key] = REDACTED
            else:
                public[key] = value if key not in public else f"{public[key]}, {value}"
        try:
            body: Any = json.loads(raw_body) if raw_body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        return cls(
            index=index,
            method=method,
            path=path,
            headers=public,
            body=body,
            raw_body=raw_body,
            secret_headers=secret,
        )

    def authorization(self) -> str | None:
        """The ``Authorization`` header as sent (e.g. ``"Bearer <key>"``). Never log it."""
        return self._secret_headers.get("authorization")

    # -- the Responses API body --------------------------------------------------------------

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, Mapping) else None

    @property
    def model(self) -> str | None:
        """The ``model`` codex asked for."""
        value = self._field("model")
        return value if isinstance(value, str) else None

    @property
    def instructions(self) -> str | None:
        """The system instructions (codex's base instructions for the model)."""
        value = self._field("instructions")
        return value if isinstance(value, str) else None

    @property
    def input(self) -> list[dict[str, Any]]:
        """The ``input`` history: messages, previous items and tool outputs, oldest first."""
        value = self._field("input")
        return [i for i in value if isinstance(i, dict)] if isinstance(value, list) else []

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The ``tools`` array codex offered the model."""
        value = self._field("tools")
        return [t for t in value if isinstance(t, dict)] if isinstance(value, list) else []

    def tool_names(self) -> list[str]:
        """Names of the offered tools (``type`` for built-ins such as ``web_search``)."""
        return [str(t.get("name") or t.get("type")) for t in self.tools]

    @property
    def text_format(self) -> dict[str, Any] | None:
        """``text.format``: ``{"type": "json_schema", "schema": ...}`` under ``--output-schema``."""
        text = self._field("text")
        fmt = text.get("format") if isinstance(text, Mapping) else None
        return dict(fmt) if isinstance(fmt, Mapping) else None

    def input_texts(self, role: str | None = "user") -> list[str]:
        """The texts of the ``message`` input items of ``role`` (every role if ``None``).

        codex adds its own ``user`` messages (environment context, AGENTS.md) before the
        prompt; :meth:`last_user_text` is usually what a test wants.
        """
        texts: list[str] = []
        for item in self.input:
            if item.get("type", "message") != "message":
                continue
            if role is not None and item.get("role") != role:
                continue
            texts.extend(_text_of(item.get("content")))
        return texts

    def last_user_text(self) -> str | None:
        """The text of the last user message: the prompt of the current turn."""
        texts = self.input_texts("user")
        return texts[-1] if texts else None

    def first_user_text(self, containing: str | None = None) -> str | None:
        """The first user text (containing ``containing``, if given).

        A stable key for :meth:`Script.by_key`: the prompt of a thread's first turn is repeated in
        every later request of that thread, including after ``resume``.
        """
        for text in self.input_texts("user"):
            if containing is None or containing in text:
                return text
        return None

    def marker(self, pattern: str | re.Pattern[str]) -> str | None:
        """The first match of ``pattern`` in the user texts (its first group, if it has one).

        Made for :meth:`Script.by_key` when many codex processes share a server: put a marker
        such as ``[conv:42]`` in each thread's first prompt and key by
        ``lambda r: r.marker(r"\\[conv:(\\w+)\\]")``. Plain substrings of the prompt are risky
        keys: codex's own environment context message contains the working directory too.
        """
        regex = re.compile(pattern)
        for text in self.input_texts("user"):
            found = regex.search(text)
            if found:
                return found.group(1) if regex.groups else found.group(0)
        return None

    def input_images(self) -> list[str]:
        """The ``image_url`` values (base64 ``data:`` URLs for local images) of user messages."""
        urls: list[str] = []
        for item in self.input:
            content = item.get("content")
            if item.get("role") != "user" or not isinstance(content, list):
                continue
            for part in content:
                if isinstance(part, Mapping) and part.get("type") == "input_image":
                    url = part.get("image_url")
                    if isinstance(url, str):
                        urls.append(url)
        return urls

    def items_of_type(self, item_type: str) -> list[dict[str, Any]]:
        """The ``input`` items whose ``type`` is ``item_type``."""
        return [i for i in self.input if i.get("type") == item_type]

    def function_call_outputs(self) -> dict[str, str]:
        """``call_id`` -> output text of every ``function_call_output`` in the input.

        Outputs given as content lists (e.g. from dynamic tools) are joined into one text.
        """
        return self._outputs("function_call_output")

    def custom_tool_call_outputs(self) -> dict[str, str]:
        """``call_id`` -> output text of every ``custom_tool_call_output`` (e.g. apply_patch)."""
        return self._outputs("custom_tool_call_output")

    def _outputs(self, item_type: str) -> dict[str, str]:
        result: dict[str, str] = {}
        for item in self.items_of_type(item_type):
            output = item.get("output")
            text = output if isinstance(output, str) else "".join(_text_of(output))
            result[str(item.get("call_id"))] = text
        return result
