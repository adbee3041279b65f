"""codex_trio.runtime: OTP on trio. Supervisors, actors with bounded mailboxes, a name registry.

See docs/runtime.md for the supervision tree, restart semantics, restart intensity,
backpressure and shutdown.
"""

from codex_trio._intensity import RestartIntensity
from codex_trio._turn import TurnResult, TurnStream, UsageLedger
from codex_trio.runtime._actor import Actor, ErrorReply, actor_spec
from codex_trio.runtime._child_spec import (
    ChildContext,
    ChildCounts,
    ChildInfo,
    ChildSpec,
    ChildState,
    ChildType,
    Restart,
    Runnable,
    Shutdown,
    StartFunction,
    runnable_spec,
)
from codex_trio.runtime._codex_runtime import (
    Runtime,
    RuntimeClosedError,
    ShutdownSignal,
    ThreadInfo,
)
from codex_trio.runtime._dynamic_supervisor import DynamicSupervisor
from codex_trio.runtime._errors import (
    ActorCrashed,
    ActorError,
    ActorStopped,
    CallTimeout,
    ChildFailure,
    ChildRunning,
    ChildStartError,
    DuplicateChild,
    MailboxClosed,
    MailboxError,
    MailboxFull,
    NameTaken,
    RegistryError,
    RestartIntensityExceeded,
    SupervisorError,
    SupervisorNotRunning,
    TooManyChildren,
    UnknownChild,
)
from codex_trio.runtime._mailbox import Mailbox, MailboxStats, Overflow, ReplySlot
from codex_trio.runtime._registry import Registry
from codex_trio.runtime._supervisor import BaseSupervisor, Strategy, Supervisor, supervisor_spec
from codex_trio.runtime._thread_actor import (
    RetryPolicy,
    ThreadActor,
    ThreadHandle,
    TurnCancelledError,
)

__all__ = [
    "RetryPolicy",
    "Runtime",
    "RuntimeClosedError",
    "ShutdownSignal",
    "TurnStream",
    "ThreadActor",
    "ThreadHandle",
    "ThreadInfo",
    "TurnCancelledError",
    "TurnResult",
    "UsageLedger",
    "Actor",
    "ActorCrashed",
    "ActorError",
    "ActorStopped",
    "BaseSupervisor",
    "CallTimeout",
    "ChildContext",
    "ChildCounts",
    "ChildFailure",
    "ChildInfo",
    "ChildRunning",
    "ChildSpec",
    "ChildStartError",
    "ChildState",
    "ChildType",
    "DuplicateChild",
    "DynamicSupervisor",
    "ErrorReply",
    "Mailbox",
    "MailboxClosed",
    "MailboxError",
    "MailboxFull",
    "MailboxStats",
    "NameTaken",
    "Overflow",
    "Registry",
    "RegistryError",
    "ReplySlot",
    "Restart",
    "RestartIntensity",
    "RestartIntensityExceeded",
    "Runnable",
    "Shutdown",
    "StartFunction",
    "Strategy",
    "Supervisor",
    "SupervisorError",
    "SupervisorNotRunning",
    "TooManyChildren",
    "UnknownChild",
    "actor_spec",
    "runnable_spec",
    "supervisor_spec",
]
