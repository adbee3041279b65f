"""Options for codex and their mapping onto ``codex exec`` arguments.

Three levels, as in the official SDKs:

* :class:`CodexOptions`: the binary and its environment (one per :class:`~codex_trio.Codex`);
* :class:`ThreadOptions`: how a thread runs (model, sandbox, working directory...);
* :class:`TurnOptions`: one turn (output schema or type, images, deadline, and per-turn
  overrides of the thread's model, effort, summary, working directory, sandbox and approvals).

Every option is checked when the options object is made (a bad enum value, a malformed granular
policy), and what depends on the transport or the file system is checked by
:func:`preflight_turn` before a turn's process starts: the approval policy against what that
transport's engine accepts (:data:`APPROVAL_POLICIES`; ``"untrusted"`` makes ``codex exec`` 0.163
exit 1 without a word of JSON, ``"on-failure"`` is refused by ``codex app-server``), the working
directory, the prompt (not empty, at most :data:`MAX_INPUT_CHARS`) and the images. Each failure is
a :class:`~codex_trio._errors.ConfigurationError` naming the cause.

:func:`exec_argv` turns them into argv. Flags always come before ``resume <id>`` (codex accepts
exec flags there, and not all of them after it) and the prompt never appears in argv: it goes to
stdin, so it cannot leak through ``ps`` and has no length limit.
"""

from __future__ import annotations

import base64
import enum
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.toml import flatten_overrides, toml_value
from codex_trio._redact import looks_secret_name, register_secret

__all__ = [
    "API_KEY_ENV",
    "APPROVAL_POLICIES",
    "MAX_INPUT_CHARS",
    "SHELL_SNAPSHOT_OFF",
    "ApprovalPolicy",
    "CodexOptions",
    "GranularApprovalPolicy",
    "ImageDetail",
    "Input",
    "InputPart",
    "LocalImageInput",
    "MentionInput",
    "ReasoningEffort",
    "ReasoningSummary",
    "ImageUrlInput",
    "SandboxMode",
    "SkillInput",
    "TextInput",
    "ThreadOptions",
    "TurnOptions",
    "WebSearchMode",
    "check_thread_options",
    "config_override_args",
    "exec_argv",
    "exec_env",
    "normalize_input",
    "preflight_turn",
    "split_input",
    "thread_options_for_turn",
]

# The variable `codex exec` reads an API key from; setting it in the child's environment keeps
# the key out of argv and config files.
API_KEY_ENV = "CODEX_API_KEY"

_E = TypeVar("_E", bound=enum.StrEnum)


class SandboxMode(enum.StrEnum):
    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    DANGER_FULL_ACCESS = "danger-full-access"


class ReasoningEffort(enum.StrEnum):
    NONE = "none"
    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"


class ReasoningSummary(enum.StrEnum):
    """How much of its reasoning the model summarises (``model_reasoning_summary``; the
    app-server's ``ReasoningSummary``)."""

    AUTO = "auto"
    CONCISE = "concise"
    DETAILED = "detailed"
    NONE = "none"


class ImageDetail(enum.StrEnum):
    """The detail level of an image input (app-server ``ImageDetail``)."""

    AUTO = "auto"
    LOW = "low"
    HIGH = "high"
    ORIGINAL = "original"


class WebSearchMode(enum.StrEnum):
    DISABLED = "disabled"
    CACHED = "cached"
    LIVE = "live"


class ApprovalPolicy(enum.StrEnum):
    """The named approval policies of codex 0.163. Not every transport takes every one (see
    :data:`APPROVAL_POLICIES`): ``untrusted`` needs someone to ask, so only the app-server has it;
    ``on-failure`` is exec's only."""

    NEVER = "never"
    ON_REQUEST = "on-request"
    ON_FAILURE = "on-failure"
    UNTRUSTED = "untrusted"


@attrs.frozen(kw_only=True)
class GranularApprovalPolicy:
    """codex's granular approval policy: which kinds of approval prompt may reach the user
    (``True``) and which are refused outright (``False``). Accepted by both transports.

    ``ThreadOptions(approval_policy={"granular": {...}})`` builds one from the wire form.
    :attr:`value` is the wire (and TOML) form, ``{"granular": {...}}``, as ``.value`` of an
    :class:`ApprovalPolicy` member is its string.
    """

    sandbox_approval: bool
    rules: bool
    mcp_elicitations: bool
    skill_approval: bool = False
    request_permissions: bool = False

    def __attrs_post_init__(self) -> None:
        for field in attrs.fields(GranularApprovalPolicy):
            if not isinstance(getattr(self, field.name), bool):
                raise ConfigurationError(f"granular approval policy: {field.name} must be a bool")

    @property
    def value(self) -> dict[str, Any]:
        return {"granular": attrs.asdict(self)}

    @classmethod
    def from_wire(cls, value: Mapping[str, Any]) -> GranularApprovalPolicy:
        inner = value.get("granular")
        if len(value) != 1 or not isinstance(inner, Mapping):
            raise ConfigurationError(
                f"approval_policy={dict(value)!r} is not valid; a granular policy is "
                "{'granular': {'sandbox_approval': bool, 'rules': bool, 'mcp_elicitations': "
                "bool, ...}}"
            )
        known = {f.name for f in attrs.fields(cls)}
        unknown = set(inner) - known
        if unknown:
            raise ConfigurationError(
                f"granular approval policy: unknown key(s) {sorted(unknown)}; "
                f"known: {sorted(known)}"
            )
        try:
            return cls(**inner)
        except TypeError as exc:
            raise ConfigurationError(f"granular approval policy: {exc}") from None


APPROVAL_POLICIES: Mapping[str, frozenset[str]] = {
    # `codex exec` 0.163: `-c approval_policy="untrusted"` exits 1 at start-up ("no longer
    # supported"); never, on-request, on-failure and granular run.
    "exec": frozenset({"never", "on-request", "on-failure", "granular"}),
    # `codex app-server` 0.163, v2 AskForApproval: thread/start and turn/start refuse
    # on-failure with -32600 ("unknown variant `on-failure`").
    "app-server": frozenset({"untrusted", "on-request", "never", "granular"}),
}
"""The approval policies each transport's engine accepts (``"granular"`` standing for any
:class:`GranularApprovalPolicy`), as observed on codex 0.163.0."""

MAX_INPUT_CHARS = 1_048_576
"""The longest prompt codex 0.163 takes, in characters (code points): one more and ``codex
exec`` exits 1 after ``thread.started`` ("Input exceeds the maximum length of 1048576
characters", ``input_too_large``), ``turn/start`` fails with -32602. :func:`preflight_turn`
refuses a longer prompt before any process starts."""


def _to_enum(cls: type[_E], field: str, value: Any) -> _E | None:
    if value is None or isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ConfigurationError(
            f"{field}={value!r} is not valid; expected one of {allowed}"
        ) from None


def _sandbox_mode(value: Any) -> SandboxMode | None:
    return _to_enum(SandboxMode, "sandbox_mode", value)


def _reasoning_effort(value: Any) -> ReasoningEffort | None:
    return _to_enum(ReasoningEffort, "model_reasoning_effort", value)


def _web_search_mode(value: Any) -> WebSearchMode | None:
    return _to_enum(WebSearchMode, "web_search_mode", value)


def _approval_policy(value: Any) -> ApprovalPolicy | GranularApprovalPolicy | None:
    if isinstance(value, GranularApprovalPolicy):
        return value
    if isinstance(value, Mapping):
        return GranularApprovalPolicy.from_wire(value)
    return _to_enum(ApprovalPolicy, "approval_policy", value)


def _opt_path(value: Any) -> str | None:
    if value is None:
        return None
    return str(os.fspath(value))


def _paths(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, os.PathLike)):
        raise ConfigurationError("expected a list of paths, got a single path")
    return tuple(os.fspath(v) for v in value)


def _mapping(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"expected a mapping, got {type(value).__name__}")
    return dict(value)


def _raw_overrides(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigurationError("raw_overrides must be a list of 'key=value' strings")
    out = tuple(value)
    for item in out:
        if not isinstance(item, str) or "=" not in item or item.startswith("="):
            raise ConfigurationError(f"raw override {item!r} is not of the form key=value")
    return out


@attrs.frozen(kw_only=True)
class CodexOptions:
    """The codex binary and the environment it runs in.

    ``env``, when given, REPLACES the inherited environment (as in the TypeScript SDK), so a
    service can run codex with exactly the variables it chooses; remember ``PATH`` and ``HOME``.
    ``api_key`` is passed to codex in its environment, never in argv, and masked in every error and
    log. ``config`` is a nested mapping flattened to ``-c dotted.key=<TOML>``; ``raw_overrides``
    are ``key=value`` strings passed through as they are.
    """

    codex_path: str | None = attrs.field(default=None, converter=_opt_path)
    base_url: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    env: Mapping[str, str] | None = None
    config: Mapping[str, Any] = attrs.field(factory=dict, converter=_mapping)
    raw_overrides: tuple[str, ...] = attrs.field(default=(), converter=_raw_overrides)

    def __attrs_post_init__(self) -> None:
        # Encode once now so a bad value fails here, not at the first turn.
        list(flatten_overrides(self.config))
        register_secret(self.api_key)
        if self.env is not None:
            for k, v in self.env.items():
                if not isinstance(k, str) or not isinstance(v, str):
                    raise ConfigurationError("env must map str to str")
                if looks_secret_name(k):
                    register_secret(v)


@attrs.frozen(kw_only=True)
class ThreadOptions:
    """How a thread's turns run; each field maps to a codex flag or ``-c`` override."""

    model: str | None = None
    sandbox_mode: SandboxMode | None = attrs.field(default=None, converter=_sandbox_mode)
    working_directory: str | None = attrs.field(default=None, converter=_opt_path)
    additional_directories: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    skip_git_repo_check: bool = False
    model_reasoning_effort: ReasoningEffort | None = attrs.field(
        default=None, converter=_reasoning_effort
    )
    network_access_enabled: bool | None = None
    web_search_mode: WebSearchMode | None = attrs.field(default=None, converter=_web_search_mode)
    approval_policy: ApprovalPolicy | GranularApprovalPolicy | None = attrs.field(
        default=None, converter=_approval_policy
    )
    """Any policy of either transport; :func:`check_thread_options` (run before each turn)
    refuses one the turn's transport does not take."""
    profile: str | None = None
    ephemeral: bool = False

    def __attrs_post_init__(self) -> None:
        for name in ("model", "profile"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ConfigurationError(f"{name} must be a non-empty string")


def _reasoning_summary(value: Any) -> ReasoningSummary | None:
    return _to_enum(ReasoningSummary, "summary", value)


def _turn_effort(value: Any) -> ReasoningEffort | None:
    return _to_enum(ReasoningEffort, "effort", value)


def _attachments(value: Any) -> tuple[AttachmentInput, ...]:
    out = tuple(_input_part(part) for part in value)
    for part in out:
        if isinstance(part, (TextInput, LocalImageInput)):
            raise ConfigurationError(
                f"attachments take image URLs, skills and mentions, not {part!r}: put text "
                "in the input and local images in images="
            )
    return out  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class TurnOptions:
    """One turn: its time limit, what to attach, the shape of the final answer, and settings
    that override the thread's for this turn only.

    ``timeout`` is in seconds from the start of the turn; ``deadline`` is an absolute
    :func:`trio.current_time` value. The earlier of the two applies. When it passes, codex is
    stopped and the turn raises :class:`~codex_trio._errors.TurnDeadlineError`: with no reachable
    model codex retries forever, so services should always set one.

    ``output_schema`` is a JSON Schema the final message must follow (checked against its
    metaschema before any process starts; the final message is validated against it);
    ``output_type`` an attrs class, dataclass or TypedDict whose strict schema is derived and
    sent instead, the final message then structured into an instance (``result.structured``).
    Give one or the other.

    ``model``, ``effort``, ``summary``, ``working_directory``, ``sandbox_mode`` and
    ``approval_policy`` replace the thread's settings for this turn (``None`` keeps them): on
    exec as that turn's process flags, on app-server as ``turn/start`` parameters. Either way
    the next turn without them runs with the thread's settings again (codex 0.163's app-server
    would keep them: the SDK sends the thread's settings back, see ``ThreadState.restore``).

    ``images`` are local image files; ``attachments`` image URLs, skills and mentions
    (app-server only), usually given as parts of the input instead.
    """

    output_schema: Mapping[str, Any] | None = None
    output_type: Any = None
    images: tuple[str, ...] = attrs.field(default=(), converter=_paths)
    attachments: tuple[AttachmentInput, ...] = attrs.field(default=(), converter=_attachments)
    timeout: float | None = None
    deadline: float | None = None
    model: str | None = None
    effort: ReasoningEffort | None = attrs.field(default=None, converter=_turn_effort)
    summary: ReasoningSummary | None = attrs.field(default=None, converter=_reasoning_summary)
    working_directory: str | None = attrs.field(default=None, converter=_opt_path)
    sandbox_mode: SandboxMode | None = attrs.field(default=None, converter=_sandbox_mode)
    approval_policy: ApprovalPolicy | GranularApprovalPolicy | None = attrs.field(
        default=None, converter=_approval_policy
    )

    def __attrs_post_init__(self) -> None:
        if self.output_schema is not None and not isinstance(self.output_schema, Mapping):
            raise ConfigurationError("output_schema must be a JSON object (a mapping)")
        if self.output_schema is not None and self.output_type is not None:
            raise ConfigurationError(
                "give output_schema or output_type, not both (output_type derives the schema)"
            )
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        if self.model is not None and (not isinstance(self.model, str) or not self.model.strip()):
            raise ConfigurationError("model must be a non-empty string")

    @property
    def json_schema(self) -> Mapping[str, Any] | None:
        """The schema sent for the final message: ``output_schema``, or the strict schema
        derived from ``output_type`` (raises :class:`ConfigurationError` for a type that has
        none), or None."""
        if self.output_type is not None:
            from codex_trio._structured import schema_for

            return schema_for(self.output_type)
        return self.output_schema

    def deadline_from(self, now: float) -> float:
        """The turn's absolute deadline for a turn starting at ``now`` (trio's clock): the
        earlier of ``deadline`` and ``now + timeout``; infinity when neither is set."""
        deadline = self.deadline if self.deadline is not None else math.inf
        if self.timeout is not None:
            deadline = min(deadline, now + self.timeout)
        return deadline


def thread_options_for_turn(thread: ThreadOptions, turn: TurnOptions) -> ThreadOptions:
    """``thread`` with ``turn``'s overrides applied (what that one turn runs with)."""
    changes: dict[str, Any] = {}
    for name in ("model", "working_directory", "sandbox_mode", "approval_policy"):
        value = getattr(turn, name)
        if value is not None:
            changes[name] = value
    if turn.effort is not None:
        changes["model_reasoning_effort"] = turn.effort
    return attrs.evolve(thread, **changes) if changes else thread


@attrs.frozen
class TextInput:
    """A piece of text of a turn's input."""

    text: str


@attrs.frozen
class LocalImageInput:
    """An image file attached to a turn (sent to the model as a data URL)."""

    path: str = attrs.field(converter=os.fspath)


def _image_detail(value: Any) -> ImageDetail | None:
    return _to_enum(ImageDetail, "detail", value)


def _non_empty(field: str) -> Any:
    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"{field}: {attribute.name} must be a non-empty string")

    return check


@attrs.frozen
class ImageUrlInput:
    """An image given by URL, passed to the model as it is (app-server ``image`` input).
    App-server only: ``codex exec`` takes local image files only.

    codex 0.163 takes ``data:`` URLs only: ``turn/start`` refuses an ``http(s)`` URL ("remote
    image URLs are not supported; use an inline data URL instead", -32600), so
    :func:`preflight_turn` refuses one before the turn starts. :meth:`from_bytes` makes a data
    URL of an image's bytes.
    """

    url: str = attrs.field(validator=_non_empty("ImageUrlInput"))
    detail: ImageDetail | None = attrs.field(default=None, converter=_image_detail, kw_only=True)

    @classmethod
    def from_bytes(
        cls, data: bytes, media_type: str = "image/png", *, detail: ImageDetail | str | None = None
    ) -> ImageUrlInput:
        """A ``data:`` URL input of an image's bytes (``media_type`` e.g. ``"image/jpeg"``)."""
        encoded = base64.b64encode(data).decode("ascii")
        return cls(f"data:{media_type};base64,{encoded}", detail=detail)


@attrs.frozen
class SkillInput:
    """Invoke a skill explicitly: ``name`` and the path of its ``SKILL.md``; the engine adds the
    skill's instructions to the turn. App-server only."""

    name: str = attrs.field(validator=_non_empty("SkillInput"))
    path: str = attrs.field(converter=os.fspath, validator=_non_empty("SkillInput"))


@attrs.frozen
class MentionInput:
    """A mention the user selected: ``name`` and what it points at (``app://<connector id>``,
    ``plugin://...``, or a skill's path). App-server only."""

    name: str = attrs.field(validator=_non_empty("MentionInput"))
    path: str = attrs.field(validator=_non_empty("MentionInput"))


AttachmentInput = ImageUrlInput | SkillInput | MentionInput
InputPart = TextInput | LocalImageInput | ImageUrlInput | SkillInput | MentionInput
Input = str | Sequence[InputPart | Mapping[str, Any]]


def _input_part(part: Any) -> InputPart:
    """An input part from itself or from its dict form (the TypeScript SDK's ``text`` and
    ``local_image``, and the app-server's ``localImage``, ``image``, ``skill``, ``mention``)."""
    if isinstance(part, (TextInput, LocalImageInput, ImageUrlInput, SkillInput, MentionInput)):
        return part
    if isinstance(part, Mapping):
        kind = part.get("type")
        try:
            if kind == "text" and isinstance(part.get("text"), str):
                return TextInput(part["text"])
            if kind in ("local_image", "localImage") and part.get("path"):
                return LocalImageInput(part["path"])
            if kind == "image" and part.get("url"):
                return ImageUrlInput(part["url"], detail=part.get("detail"))
            if kind == "skill":
                return SkillInput(part.get("name", ""), part.get("path", ""))
            if kind == "mention":
                return MentionInput(part.get("name", ""), part.get("path", ""))
        except TypeError as exc:
            raise ConfigurationError(f"input part {dict(part)!r}: {exc}") from None
        raise ConfigurationError(f"unsupported input part {dict(part)!r}")
    raise ConfigurationError(f"unsupported input part {part!r}")


def split_input(value: Input) -> tuple[str, tuple[str, ...], tuple[AttachmentInput, ...]]:
    """Split a turn's input into the prompt text (text parts joined by blank lines), local image
    paths, and the other parts (image URLs, skills, mentions) in their order.

    Accepts a string, or a list of input parts (:class:`TextInput`, :class:`LocalImageInput`,
    :class:`ImageUrlInput`, :class:`SkillInput`, :class:`MentionInput`) or of their dict
    forms (``{"type": "text", "text": ...}``, ``{"type": "local_image", "path": ...}``,
    ``{"type": "image", "url": ...}``, ``{"type": "skill", "name": ..., "path": ...}``,
    ``{"type": "mention", "name": ..., "path": ...}``).
    """
    if isinstance(value, str):
        return value, (), ()
    texts: list[str] = []
    images: list[str] = []
    others: list[AttachmentInput] = []
    for raw in value:
        part = _input_part(raw)
        if isinstance(part, TextInput):
            texts.append(part.text)
        elif isinstance(part, LocalImageInput):
            images.append(part.path)
        else:
            others.append(part)
    return "\n\n".join(texts), tuple(images), tuple(others)


def normalize_input(value: Input) -> tuple[str, tuple[str, ...]]:
    """Split a turn's input into the prompt text (parts joined by blank lines) and image paths,
    for what takes only text and local images (steering a running turn).

    Accepts a string, or a list of :class:`TextInput` / :class:`LocalImageInput` or of the
    TypeScript SDK's dicts (``{"type": "text", "text": ...}``, ``{"type": "local_image",
    "path": ...}``); another kind of part is a :class:`ConfigurationError`.
    """
    prompt, images, others = split_input(value)
    if others:
        raise ConfigurationError(
            f"unsupported input part {others[0]!r} here: only text and local images"
        )
    return prompt, images


def _check_images(images: Sequence[str]) -> None:
    for image in images:
        if not Path(image).is_file():
            raise ConfigurationError(f"image {image!r} does not exist or is not a file")


def _policy_name(policy: ApprovalPolicy | GranularApprovalPolicy) -> str:
    return "granular" if isinstance(policy, GranularApprovalPolicy) else policy.value


def check_thread_options(options: ThreadOptions, transport: str) -> None:
    """Raise :class:`ConfigurationError` if ``transport`` (``"exec"`` or ``"app-server"``, a
    runner's ``name``) cannot run a thread with ``options``: today, an approval policy that
    transport's engine refuses (:data:`APPROVAL_POLICIES`). Pure; a transport of another name is
    not checked."""
    policy = options.approval_policy
    accepted = APPROVAL_POLICIES.get(transport)
    if policy is None or accepted is None:
        return
    name = _policy_name(policy)
    if name in accepted:
        return
    others = [t for t, names in APPROVAL_POLICIES.items() if name in names and t != transport]
    hint = f" (the {' and '.join(others)} transport takes it)" if others else ""
    allowed = ", ".join(repr(p) for p in sorted(accepted))
    raise ConfigurationError(
        f"approval_policy={name!r} is not accepted by the {transport} transport{hint}; "
        f"it accepts {allowed}"
    )


def preflight_turn(
    options: ThreadOptions,
    transport: str,
    prompt: str,
    images: Sequence[str] = (),
    turn: TurnOptions | None = None,
) -> None:
    """What can be known wrong before a turn's process starts, as :class:`ConfigurationError`
    naming the cause (the same on both transports; without it ``codex exec`` only exits early
    and ``codex app-server`` silently runs in another directory or on an empty prompt):

    * the approval policy, per transport (:func:`check_thread_options`), of the thread with the
      turn's overrides applied (:func:`thread_options_for_turn`);
    * ``working_directory`` (the turn's, else the thread's) exists and is a directory;
    * the prompt is not empty or whitespace only, unless images are attached;
    * the prompt is at most :data:`MAX_INPUT_CHARS` characters long (codex's own limit);
    * every image is a file;
    * attachments (image URLs, skills, mentions) only where the transport takes them (not on
      exec, whose only attachment is ``-i FILE``), image URLs only as ``data:`` URLs;
    * ``output_schema`` is a valid JSON Schema, ``output_type`` a type with a strict schema.
    """
    if turn is not None:
        options = thread_options_for_turn(options, turn)
    check_thread_options(options, transport)
    directory = options.working_directory
    if directory is not None:
        path = Path(directory)
        if not path.exists():
            raise ConfigurationError(f"working_directory {directory!r} does not exist")
        if not path.is_dir():
            raise ConfigurationError(f"working_directory {directory!r} is not a directory")
    attachments = turn.attachments if turn is not None else ()
    if not images and not attachments and not prompt.strip():
        raise ConfigurationError(
            "the prompt is empty" if not prompt else "the prompt is only whitespace"
        )
    if len(prompt) > MAX_INPUT_CHARS:
        raise ConfigurationError(
            f"the prompt is {len(prompt):,} characters long; codex takes at most "
            f"{MAX_INPUT_CHARS:,} (send large inputs as files in the working directory)"
        )
    _check_images(images)
    if turn is None:
        return
    if attachments and transport == "exec":
        kind = type(attachments[0]).__name__
        raise ConfigurationError(
            f"{kind} needs transport='app-server': codex exec takes text and local image "
            "files (-i) only"
        )
    for part in attachments:
        if isinstance(part, ImageUrlInput) and not part.url.startswith("data:"):
            raise ConfigurationError(
                f"image URL {part.url[:80]!r}: codex 0.163 takes data: URLs only (turn/start "
                "refuses remote image URLs); use ImageUrlInput.from_bytes(...) or a "
                "LocalImageInput"
            )
    if turn.output_schema is not None:
        from codex_trio._structured import check_schema

        check_schema(turn.output_schema)
    elif turn.output_type is not None:
        turn.json_schema  # noqa: B018 - derives the schema, raising for a type without one


SHELL_SNAPSHOT_OFF = ("-c", "features.shell_snapshot=false")
"""Passed to every codex process (first, so ``config`` can turn it back on). With shell
snapshots on, codex 0.163 writes ``CODEX_HOME/shell_snapshots/<thread>.<n>.sh``, mode 0644 in a
0755 directory, holding the exported environment, the API key included
(``declare -x CODEX_API_KEY=...``). Off, no snapshot is written and commands still run (in a
fresh login shell each)."""


def config_override_args(codex: CodexOptions) -> list[str]:
    """The ``-c key=value`` arguments of ``codex``: shell snapshots off
    (:data:`SHELL_SNAPSHOT_OFF`), base URL, flattened config, raw overrides.

    Shared by ``codex exec`` and ``codex app-server``, which take the same overrides.
    """
    args: list[str] = list(SHELL_SNAPSHOT_OFF)
    if codex.base_url is not None:
        args += ["-c", f"openai_base_url={toml_value(codex.base_url)}"]
    for override in flatten_overrides(codex.config):
        args += ["-c", override]
    for raw in codex.raw_overrides:
        args += ["-c", raw]
    return args


def exec_argv(
    codex_path: str,
    codex: CodexOptions,
    thread: ThreadOptions,
    *,
    images: Sequence[str] = (),
    output_schema_file: str | None = None,
    resume_thread_id: str | None = None,
    turn: TurnOptions | None = None,
) -> list[str]:
    """The argv of one ``codex exec`` turn (prompt excluded: it goes to stdin), with ``turn``'s
    overrides of the thread's settings as that process's flags."""
    if turn is not None:
        thread = thread_options_for_turn(thread, turn)
    argv = [codex_path, "exec", *config_override_args(codex)]
    if thread.model is not None:
        argv += ["--model", thread.model]
    if thread.sandbox_mode is not None:
        argv += ["--sandbox", thread.sandbox_mode.value]
    if thread.working_directory is not None:
        argv += ["--cd", thread.working_directory]
    for directory in thread.additional_directories:
        argv += ["--add-dir", directory]
    if thread.skip_git_repo_check:
        argv.append("--skip-git-repo-check")
    if thread.model_reasoning_effort is not None:
        argv += ["-c", f"model_reasoning_effort={toml_value(thread.model_reasoning_effort.value)}"]
    if turn is not None and turn.summary is not None:
        argv += ["-c", f"model_reasoning_summary={toml_value(turn.summary.value)}"]
    if thread.network_access_enabled is not None:
        argv += [
            "-c",
            f"sandbox_workspace_write.network_access={toml_value(thread.network_access_enabled)}",
        ]
    if thread.web_search_mode is not None:
        argv += ["-c", f"web_search={toml_value(thread.web_search_mode.value)}"]
    if thread.approval_policy is not None:
        argv += ["-c", f"approval_policy={toml_value(thread.approval_policy.value)}"]
    if thread.profile is not None:
        argv += ["--profile", thread.profile]
    if thread.ephemeral:
        argv.append("--ephemeral")
    if output_schema_file is not None:
        argv += ["--output-schema", output_schema_file]
    _check_images(images)
    for image in images:
        argv += ["--image", image]
    # A flag after the images ends `--image`'s list of values, so `resume` is not taken for one.
    argv.append("--experimental-json")
    if resume_thread_id is not None:
        argv += ["resume", resume_thread_id]
    return argv


def exec_env(codex: CodexOptions, *, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a codex process: ``codex.env`` if given (a full replacement), else the
    inherited one (``base``, default ``os.environ``), plus the API key."""
    if codex.env is not None:
        env = dict(codex.env)
    else:
        env = dict(os.environ if base is None else base)
    if codex.api_key is not None:
        env[API_KEY_ENV] = codex.api_key
    return env
