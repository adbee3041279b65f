"""Helpers shared by the runtime tests."""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import trio


class _Runs(Protocol):
    async def run(self, *, task_status: trio.TaskStatus[Any] = ...) -> None: ...


@attrs.define
class Outcome:
    """How a ``run`` started with :func:`start_capturing` ended."""

    error: BaseException | None = None
    done: trio.Event = attrs.Factory(trio.Event)


async def start_capturing(
    nursery: trio.Nursery,
    runnable: _Runs,
    *,
    catch: tuple[type[BaseException], ...] = (Exception,),
) -> Outcome:
    """Start ``runnable.run`` in ``nursery``, capturing the ``catch`` exception it ends with
    (anything else propagates and fails the test)."""
    outcome = Outcome()

    async def runner(*, task_status: trio.TaskStatus[Any]) -> None:
        try:
            await runnable.run(task_status=task_status)
        except catch as exc:
            outcome.error = exc
        finally:
            outcome.done.set()

    await nursery.start(runner)
    return outcome
