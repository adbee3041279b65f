"""A name registry: find a running actor (or anything) by name instead of passing it around.

As with OTP's registered names, a name belongs to at most one object at a time, and a name whose
owner stopped must not linger (a stale name would route requests to a dead actor). The way to
guarantee the second rule is :meth:`Registry.registered`: an ``async with`` block that holds the
name while the owner runs and releases it however the block ends: return, exception or
cancellation.

A registry is a plain object, not a process-wide singleton: create one per application (or per
test) and hand it to the actors that should register in it. It is meant for one trio run; it
takes no lock, so do not share one between threads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from codex_trio.runtime._errors import NameTaken

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names to objects, each name held by at most one object."""

    def __init__(self) -> None:
        self._names: dict[str, T] = {}

    def register(self, name: str, obj: T) -> None:
        """Give ``name`` to ``obj``; ``NameTaken`` if another object (or this one) holds it.

        Registering the same object twice is an error too: it means two owners think the name
        is theirs, and the first to stop would release it under the other's feet.
        """
        if name in self._names:
            raise NameTaken(name)
        self._names[name] = obj

    def unregister(self, name: str, obj: T | None = None) -> bool:
        """Release ``name``; if ``obj`` is given, only if the name still belongs to it.

        Returns whether a name was released. The ``obj`` check keeps an owner that stops late
        from releasing the name that a successor has registered meanwhile.
        """
        if name not in self._names:
            return False
        if obj is not None and self._names[name] is not obj:
            return False
        del self._names[name]
        return True

    def whereis(self, name: str) -> T | None:
        """The object registered under ``name``, or None."""
        return self._names.get(name)

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names

    def __len__(self) -> int:
        return len(self._names)

    @asynccontextmanager
    async def registered(self, name: str, obj: T) -> AsyncIterator[T]:
        """Hold ``name`` for ``obj`` for the duration of the ``async with`` block.

        ``NameTaken`` on entry if the name is held. On exit (also by exception or cancellation)
        the name is released if it still belongs to ``obj``. Entering and leaving are not
        checkpoints, so the release happens even in a cancelled task.
        """
        self.register(name, obj)
        try:
            yield obj
        finally:
            self.unregister(name, obj)
