"""Exception groups of one.

trio wraps whatever escapes a nursery in an ``ExceptionGroup``, even a single exception raised by
the body of ``async with open_nursery()``. Our nurseries are an implementation detail, so a user
waiting on a turn should get ``TurnFailedError``, not a group around it. :func:`collapse` undoes
the wrapping where a group holds exactly one exception (recursively), and lets real groups (two
tasks failing at once) through untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collapse"]


@contextmanager
def collapse() -> Iterator[None]:
    try:
        yield
    except BaseExceptionGroup as group:
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if inner is group:
            raise
        raise inner from inner.__cause__
