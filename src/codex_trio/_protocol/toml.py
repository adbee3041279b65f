"""TOML values for codex's ``-c key=value`` overrides.

codex parses the right-hand side of ``-c`` as TOML and, when that fails, silently takes the raw
text as a string. So a careless encoder does not get an error, it gets a different config: ``-c
model=gpt-5`` happens to work, ``-c notify=["a"]`` does not mean what it says with a stray quote.
We therefore always emit explicit TOML (quoted strings, inline arrays and tables).

codex splits the key on every ``.`` with no quoting, so a key segment may not contain ``.`` or
``=``; such keys are refused rather than mangled.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from codex_trio._errors import ConfigurationError

__all__ = ["flatten_overrides", "toml_key", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(value: str) -> str:
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ConfigurationError("config value contains a lone UTF-16 surrogate")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(key: str) -> str:
    """A key of an inline table: bare when possible, else a quoted string."""
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def toml_value(value: Any) -> str:
    """Encode a Python value as a TOML value (string, bool, int, float, array, inline table).

    ``None`` has no TOML form and raises :class:`ConfigurationError`, as do other types.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, os.PathLike):
        return _string(os.fspath(value))
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if value is None:
        raise ConfigurationError("config values cannot be None (TOML has no null)")
    raise ConfigurationError(f"cannot encode {type(value).__name__} as a TOML value")


def _check_segment(segment: str, path: str) -> None:
    if not segment or "." in segment or "=" in segment or not segment.strip() == segment:
        raise ConfigurationError(
            f"config key {path!r}: segment {segment!r} cannot be passed to codex with -c "
            "(codex splits keys on '.'; put such settings in config.toml)"
        )


def flatten_overrides(config: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Yield ``key=value`` strings for ``-c``, one per leaf of the nested mapping ``config``.

    ``{"sandbox_workspace_write": {"network_access": True}}`` gives
    ``sandbox_workspace_write.network_access=true``. An empty mapping is kept as ``{}``.
    """
    for key, value in config.items():
        if not isinstance(key, str):
            raise ConfigurationError(f"config keys must be strings, got {key!r}")
        path = f"{prefix}{key}"
        _check_segment(key, path)
        if isinstance(value, Mapping) and value:
            yield from flatten_overrides(value, prefix=path + ".")
        else:
            yield f"{path}={toml_value(value)}"
