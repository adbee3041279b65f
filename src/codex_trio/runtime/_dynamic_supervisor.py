"""A supervisor of children started at run time, such as one actor per Codex thread.

It differs from :class:`~codex_trio.runtime.Supervisor` where OTP's (and Elixir's)
``DynamicSupervisor`` does:

* it starts with no children; :meth:`~DynamicSupervisor.start_child` adds them, up to
  ``max_children`` (``TooManyChildren`` beyond);
* the strategy is always one-for-one: dynamic children are independent by construction;
* a child that ends for good (not restarted by its restart type, or terminated with
  ``terminate_child``) is forgotten at once, so that thousands of short-lived children over a
  service's life do not accumulate;
* on shutdown, all children are asked to stop *at the same time*, each still within its own
  shutdown timeout. A sequential shutdown of N independent children could take N times the
  timeout, and no child depends on a sibling here, so no order is needed. (Elixir's
  ``DynamicSupervisor`` does the same.)
"""

from __future__ import annotations

import trio

from codex_trio.observe.telemetry import TelemetryBus
from codex_trio.runtime._child_spec import ChildSpec
from codex_trio.runtime._errors import TooManyChildren
from codex_trio.runtime._supervisor import BaseSupervisor

__all__ = ["DynamicSupervisor"]


class DynamicSupervisor(BaseSupervisor):
    """A one-for-one supervisor whose children are added while it runs.

    ``max_children`` (None: no limit) bounds how many children it holds; ``max_restarts`` in
    ``max_seconds`` is the restart intensity, as for :class:`~codex_trio.runtime.Supervisor`
    (and so is what happens when it is exceeded: every child is terminated and ``run`` raises
    ``RestartIntensityExceeded``). Child ids are unique (``DuplicateChild``).

    Start it with ``await nursery.start(dsup.run)`` (or :func:`supervisor_spec` in a tree), then
    ``await dsup.start_child(spec)``. When a parent restarts it, it starts again empty.
    """

    def __init__(
        self,
        *,
        max_children: int | None = None,
        max_restarts: int = 3,
        max_seconds: float = 5.0,
        name: str | None = None,
        bus: TelemetryBus | None = None,
    ) -> None:
        if max_children is not None and max_children < 0:
            raise ValueError(f"max_children must be >= 0 or None, not {max_children}")
        super().__init__(max_restarts=max_restarts, max_seconds=max_seconds, name=name, bus=bus)
        self.max_children = max_children

    def _forget_when_stopped(self, spec: ChildSpec) -> bool:
        return True

    def _check_can_add(self, spec: ChildSpec) -> None:
        if self.max_children is not None and len(self._children) >= self.max_children:
            raise TooManyChildren(supervisor=self.name, max_children=self.max_children)

    async def _terminate_all(self, reason: str) -> None:
        async with trio.open_nursery() as nursery:
            for child in reversed(self._children):
                if child.instance is not None:
                    nursery.start_soon(self._terminate, child.instance, reason)
