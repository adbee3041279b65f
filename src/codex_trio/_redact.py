"""Keeping secrets out of errors and logs.

Two defences, applied together by :func:`redact`:

* values registered with :func:`register_secret` (the API key given to ``CodexOptions``, secret
  looking variables of an explicit ``env``) are replaced wherever they appear;
* patterns that look like credentials whatever their origin (``sk-...`` keys, ``Bearer`` tokens,
  ``Authorization:`` and ``x-api-key:`` headers, ``*_API_KEY=...`` / ``*_TOKEN=...``
  assignments, quoted values whole) are masked.

Only a few short values are ever registered, so a plain substring scan is cheap enough to run on
every error message and log line.
"""

from __future__ import annotations

import re
import threading

__all__ = ["REDACTED", "looks_secret_name", "redact", "register_secret"]

REDACTED = "[REDACTED]"

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()

# Secrets shorter than this are not registered: replacing "a" everywhere would wreck the text and
# hide nothing of value.
_MIN_SECRET_LEN = 6

_PATTERNS = [
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/\-]+=*"),
    re.compile(r"(?i)\b(authorization\s*[:=]\s*)\S+"),
    re.compile(r"(?i)\b((?:x-)?api-key\s*:\s*)\S+"),
    # NAME=value / NAME: value where NAME holds API_KEY, SECRET or PASSWORD, or TOKEN not followed
    # by more letters (so input_tokens=20, a count, is left alone). Quoted values are masked whole.
    re.compile(
        r"(?i)\b((?:[A-Z0-9_]*(?:API_KEY|SECRET|PASSWORD)[A-Z0-9_]*|[A-Z0-9_]*TOKEN(?:_[A-Z0-9_]*)?)"
        r"\s*[=:]\s*)"
        r"(?:\"[^\"]*\"?|'[^']*'?|\S+)"
    ),
]

_SECRET_NAME = re.compile(r"(?i)(api_?key|token|secret|password|auth)")


def looks_secret_name(name: str) -> bool:
    """True for environment variable or config key names that usually hold a credential."""
    return bool(_SECRET_NAME.search(name))


def register_secret(value: str | None) -> None:
    """Remember ``value`` so that :func:`redact` removes it from any text from now on."""
    global _secrets
    if not value or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        if value not in _secrets:
            _secrets = _secrets | {value}


def _registered() -> frozenset[str]:
    """The registered secrets (for tests: snapshot the registry before a test)."""
    return _secrets


def _restore(secrets: frozenset[str] = frozenset()) -> None:
    """Replace the registry with ``secrets`` (for tests: restore a snapshot of
    :func:`_registered`; with no argument, forget every secret)."""
    global _secrets
    with _lock:
        _secrets = frozenset(secrets)


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and credential-like pattern masked."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
