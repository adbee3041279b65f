from pathlib import Path

import pytest

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.options import (
    API_KEY_ENV,
    MAX_INPUT_CHARS,
    ApprovalPolicy,
    CodexOptions,
    GranularApprovalPolicy,
    LocalImageInput,
    TextInput,
    ThreadOptions,
    TurnOptions,
    check_thread_options,
    config_override_args,
    exec_argv,
    exec_env,
    normalize_input,
    preflight_turn,
)
from codex_trio._redact import redact

CODEX = "/opt/codex"
TAIL = ["--experimental-json"]
GRANULAR = {"granular": {"sandbox_approval": True, "rules": True, "mcp_elicitations": False}}
# Every codex process gets shell snapshots off (they write the environment, API key included).
HEAD = ["-c", "features.shell_snapshot=false"]


def argv(
    codex: CodexOptions | None = None, thread: ThreadOptions | None = None, **kw: object
) -> list[str]:
    return exec_argv(CODEX, codex or CodexOptions(), thread or ThreadOptions(), **kw)  # type: ignore[arg-type]


def test_default_argv_is_exec_with_json_and_no_prompt() -> None:
    assert argv() == [CODEX, "exec", *HEAD, *TAIL]


@pytest.mark.parametrize(
    ("thread", "expected"),
    [
        (ThreadOptions(model="gpt-5"), ["--model", "gpt-5"]),
        (ThreadOptions(sandbox_mode="workspace-write"), ["--sandbox", "workspace-write"]),
        (ThreadOptions(sandbox_mode="read-only"), ["--sandbox", "read-only"]),
        (ThreadOptions(working_directory=Path("/w")), ["--cd", "/w"]),
        (
            ThreadOptions(additional_directories=["/a", "/b"]),
            ["--add-dir", "/a", "--add-dir", "/b"],
        ),
        (ThreadOptions(skip_git_repo_check=True), ["--skip-git-repo-check"]),
        (ThreadOptions(model_reasoning_effort="high"), ["-c", 'model_reasoning_effort="high"']),
        (
            ThreadOptions(network_access_enabled=True),
            ["-c", "sandbox_workspace_write.network_access=true"],
        ),
        (
            ThreadOptions(network_access_enabled=False),
            ["-c", "sandbox_workspace_write.network_access=false"],
        ),
        (ThreadOptions(web_search_mode="live"), ["-c", 'web_search="live"']),
        (ThreadOptions(approval_policy="on-request"), ["-c", 'approval_policy="on-request"']),
        (ThreadOptions(approval_policy="never"), ["-c", 'approval_policy="never"']),
        (ThreadOptions(approval_policy="on-failure"), ["-c", 'approval_policy="on-failure"']),
        (
            ThreadOptions(
                approval_policy={
                    "granular": {"sandbox_approval": True, "rules": False, "mcp_elicitations": True}
                }
            ),
            [
                "-c",
                "approval_policy={granular = {sandbox_approval = true, rules = false, "
                "mcp_elicitations = true, skill_approval = false, request_permissions = false}}",
            ],
        ),
        (ThreadOptions(profile="ci"), ["--profile", "ci"]),
        (ThreadOptions(ephemeral=True), ["--ephemeral"]),
    ],
)
def test_each_thread_option_maps_to_its_flag(thread: ThreadOptions, expected: list[str]) -> None:
    assert argv(thread=thread) == [CODEX, "exec", *HEAD, *expected, *TAIL]


def test_codex_options_map_to_config_overrides_before_thread_flags() -> None:
    codex = CodexOptions(
        base_url="http://127.0.0.1:9/v1",
        config={
            "model_providers": {"p": {"name": 'a "quoted" name'}},
            "hide_agent_reasoning": True,
        },
        raw_overrides=["foo=bar"],
    )
    assert argv(codex, ThreadOptions(model="m")) == [
        CODEX,
        "exec",
        *HEAD,
        "-c",
        'openai_base_url="http://127.0.0.1:9/v1"',
        "-c",
        'model_providers.p.name="a \\"quoted\\" name"',
        "-c",
        "hide_agent_reasoning=true",
        "-c",
        "foo=bar",
        "--model",
        "m",
        *TAIL,
    ]


def test_output_schema_images_and_resume_come_in_that_order_with_resume_last(
    tmp_path: Path,
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    result = argv(
        thread=ThreadOptions(model="m"),
        images=[str(image)],
        output_schema_file="/tmp/s.json",
        resume_thread_id="abc",
    )
    assert result == [
        CODEX, "exec", *HEAD, "--model", "m", "--output-schema", "/tmp/s.json",
        "--image", str(image), "--experimental-json", "resume", "abc",
    ]  # fmt: skip


def test_missing_image_is_refused_before_any_process(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        argv(images=[str(tmp_path / "nope.png")])


@pytest.mark.parametrize(
    ("policy", "transport"),
    [
        ("untrusted", "exec"),
        ("on-failure", "app-server"),
    ],
)
def test_an_approval_policy_the_transport_refuses_is_a_configuration_error_naming_it(
    policy: str, transport: str
) -> None:
    options = ThreadOptions(approval_policy=policy)  # any policy of either transport
    with pytest.raises(ConfigurationError, match=f"{policy}.*{transport} transport"):
        check_thread_options(options, transport)


@pytest.mark.parametrize(
    ("transport", "accepted"),
    [
        ("exec", ["never", "on-request", "on-failure", GRANULAR]),
        ("app-server", ["untrusted", "on-request", "never", GRANULAR]),
    ],
)
def test_each_transport_accepts_exactly_what_its_engine_accepts(
    transport: str, accepted: list[object]
) -> None:
    for policy in [*ApprovalPolicy, GRANULAR]:
        options = ThreadOptions(approval_policy=policy)
        if policy in accepted:
            check_thread_options(options, transport)
        else:
            with pytest.raises(ConfigurationError):
                check_thread_options(options, transport)


def test_granular_policy_reads_the_wire_form_and_writes_it_back() -> None:
    policy = ThreadOptions(approval_policy=GRANULAR).approval_policy
    assert isinstance(policy, GranularApprovalPolicy)
    assert policy.value == {
        "granular": {
            "sandbox_approval": True,
            "rules": True,
            "mcp_elicitations": False,
            "skill_approval": False,
            "request_permissions": False,
        }
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"granular": {"sandbox_approval": True}},
        {"granular": {"sandbox_approval": True, "rules": True, "mcp_elicitations": 1}},
        {"granular": {"sandbox_approval": True, "rules": True, "mcp_elicitations": True, "x": 1}},
        {"granular": True},
        {"other": {}},
        "sometimes",
    ],
)
def test_malformed_approval_policies_are_refused_when_made(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="approval"):
        ThreadOptions(approval_policy=bad)


def test_an_unknown_transport_name_is_not_policy_checked() -> None:
    check_thread_options(ThreadOptions(approval_policy="untrusted"), "fake")


@pytest.mark.parametrize("transport", ["exec", "app-server"])
def test_preflight_names_a_missing_or_non_directory_working_directory(
    tmp_path: Path, transport: str
) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        preflight_turn(ThreadOptions(working_directory=tmp_path / "nope"), transport, "hi")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        preflight_turn(ThreadOptions(working_directory=tmp_path / "file"), transport, "hi")
    preflight_turn(ThreadOptions(working_directory=tmp_path), transport, "hi")


@pytest.mark.parametrize("transport", ["exec", "app-server"])
def test_preflight_refuses_an_empty_prompt_unless_images_are_attached(
    tmp_path: Path, transport: str
) -> None:
    with pytest.raises(ConfigurationError, match="prompt is empty"):
        preflight_turn(ThreadOptions(), transport, "")
    with pytest.raises(ConfigurationError, match="only whitespace"):
        preflight_turn(ThreadOptions(), transport, " \n\t")
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    preflight_turn(ThreadOptions(), transport, "", [str(image)])
    with pytest.raises(ConfigurationError, match="does not exist"):
        preflight_turn(ThreadOptions(), transport, "", [str(tmp_path / "nope.png")])


@pytest.mark.parametrize("transport", ["exec", "app-server"])
def test_preflight_refuses_a_prompt_longer_than_codexs_limit(transport: str) -> None:
    preflight_turn(ThreadOptions(), transport, "x" * MAX_INPUT_CHARS)
    preflight_turn(ThreadOptions(), transport, "é" * MAX_INPUT_CHARS)  # characters, not bytes
    with pytest.raises(ConfigurationError, match=r"1,048,577 characters.*at most 1,048,576"):
        preflight_turn(ThreadOptions(), transport, "x" * (MAX_INPUT_CHARS + 1))


def test_shell_snapshots_are_off_for_every_codex_process_and_config_can_turn_them_on() -> None:
    assert config_override_args(CodexOptions())[:2] == HEAD
    args = config_override_args(CodexOptions(config={"features": {"shell_snapshot": True}}))
    assert args == [*HEAD, "-c", "features.shell_snapshot=true"]  # the last -c wins


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sandbox_mode": "yolo"},
        {"model_reasoning_effort": "extreme"},
        {"web_search_mode": "sometimes"},
        {"model": ""},
        {"additional_directories": "/single/path"},
    ],
)
def test_invalid_thread_options_raise_configuration_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        ThreadOptions(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"config": {"a": None}},
        {"config": {"a.b": 1}},
        {"raw_overrides": ["novalue"]},
        {"raw_overrides": "a=b"},
    ],
)
def test_invalid_codex_options_raise_configuration_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        CodexOptions(**kwargs)  # type: ignore[arg-type]


def test_invalid_turn_options_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        TurnOptions(timeout=0)
    with pytest.raises(ConfigurationError):
        TurnOptions(output_schema=["not", "a", "mapping"])  # type: ignore[arg-type]


def test_env_replaces_the_inherited_environment_and_carries_the_api_key() -> None:
    codex = CodexOptions(env={"PATH": "/bin"}, api_key="sk-test-0123456789abcdef")
    env = exec_env(codex, base={"INHERITED": "1"})
    assert env == {"PATH": "/bin", API_KEY_ENV: "sk-test-0123456789abcdef"}


def test_without_env_the_environment_is_inherited() -> None:
    assert exec_env(CodexOptions(), base={"INHERITED": "1"}) == {"INHERITED": "1"}


def test_api_key_never_reaches_argv_or_repr_and_is_redacted() -> None:
    key = "zz-secret-key-value-42"
    codex = CodexOptions(api_key=key)
    assert not any(key in part for part in argv(codex))
    assert key not in repr(codex)
    assert key not in redact(f"failed with {key}")


def test_secret_looking_env_values_are_registered_for_redaction() -> None:
    CodexOptions(env={"MY_SERVICE_TOKEN": "tok-abcdef-123456"})
    assert "tok-abcdef-123456" not in redact("echo tok-abcdef-123456")


def test_normalize_input_joins_text_parts_and_collects_images() -> None:
    prompt, images = normalize_input(
        [
            TextInput("first"),
            {"type": "local_image", "path": "/i.png"},
            {"type": "text", "text": "second"},
            LocalImageInput("/j.png"),
        ]
    )
    assert prompt == "first\n\nsecond"
    assert images == ("/i.png", "/j.png")
    assert normalize_input("just text") == ("just text", ())


def test_normalize_input_refuses_unknown_parts() -> None:
    with pytest.raises(ConfigurationError):
        normalize_input([{"type": "audio", "path": "x"}])


def test_deadline_from_takes_the_earlier_of_timeout_and_deadline() -> None:
    assert TurnOptions().deadline_from(100.0) == float("inf")
    assert TurnOptions(timeout=5).deadline_from(100.0) == 105.0
    assert TurnOptions(deadline=103.0, timeout=5).deadline_from(100.0) == 103.0
    assert TurnOptions(deadline=110.0, timeout=5).deadline_from(100.0) == 105.0


# -- per-turn overrides, input kinds (issue 10) ------------------------------------------------

from codex_trio._protocol.app_server.params import (  # noqa: E402
    default_effort,
    sandbox_policy,
    turn_overrides,
    user_input,
)
from codex_trio._protocol.options import (  # noqa: E402
    ImageUrlInput,
    MentionInput,
    ReasoningEffort,
    ReasoningSummary,
    SandboxMode,
    SkillInput,
    split_input,
    thread_options_for_turn,
)


def test_turn_overrides_become_that_process_flags_on_exec(tmp_path: Path) -> None:
    thread = ThreadOptions(model="base", sandbox_mode="workspace-write", working_directory="/w")
    turn = TurnOptions(
        model="other",
        effort="high",
        summary="detailed",
        sandbox_mode="read-only",
        working_directory=tmp_path,
        approval_policy="never",
    )
    assert argv(thread=thread, turn=turn) == [
        CODEX,
        "exec",
        *HEAD,
        "--model",
        "other",
        "--sandbox",
        "read-only",
        "--cd",
        str(tmp_path),
        "-c",
        'model_reasoning_effort="high"',
        "-c",
        'model_reasoning_summary="detailed"',
        "-c",
        'approval_policy="never"',
        *TAIL,
    ]
    # Without overrides the thread's own settings, unchanged.
    assert argv(thread=thread, turn=TurnOptions()) == argv(thread=thread)


def test_turn_override_values_are_validated_enums() -> None:
    assert TurnOptions(effort="low").effort is ReasoningEffort.LOW
    assert TurnOptions(summary="concise").summary is ReasoningSummary.CONCISE
    with pytest.raises(ConfigurationError, match="effort='extreme'"):
        TurnOptions(effort="extreme")
    with pytest.raises(ConfigurationError, match="summary='verbose'"):
        TurnOptions(summary="verbose")
    with pytest.raises(ConfigurationError, match="sandbox_mode"):
        TurnOptions(sandbox_mode="open")
    with pytest.raises(ConfigurationError, match="model"):
        TurnOptions(model=" ")


@pytest.mark.parametrize(
    ("transport", "policy"), [("exec", "untrusted"), ("app-server", "on-failure")]
)
def test_preflight_refuses_a_turn_approval_policy_the_transport_does_not_take(
    transport: str, policy: str
) -> None:
    turn = TurnOptions(approval_policy=policy)
    with pytest.raises(ConfigurationError, match=f"approval_policy='{policy}'.*{transport}"):
        preflight_turn(ThreadOptions(), transport, "hi", (), turn)
    preflight_turn(
        ThreadOptions(approval_policy=policy),
        transport,
        "hi",
        (),
        TurnOptions(approval_policy="never"),
    )


def test_preflight_checks_the_turn_working_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        preflight_turn(
            ThreadOptions(working_directory=tmp_path),
            "exec",
            "hi",
            (),
            TurnOptions(working_directory=tmp_path / "nope"),
        )
    assert thread_options_for_turn(
        ThreadOptions(), TurnOptions(working_directory=tmp_path, effort="low")
    ) == ThreadOptions(working_directory=tmp_path, model_reasoning_effort="low")


def test_preflight_refuses_an_invalid_output_schema_naming_the_keyword() -> None:
    turn = TurnOptions(output_schema={"type": "object", "properties": {"a": {"type": 3}}})
    with pytest.raises(ConfigurationError, match=r"keyword 'type' at properties\.a\.type"):
        preflight_turn(ThreadOptions(), "exec", "hi", (), turn)


def test_split_input_keeps_the_other_kinds_in_order() -> None:
    prompt, images, others = split_input(
        [
            TextInput("look"),
            {"type": "image", "url": "data:image/png;base64,AA==", "detail": "low"},
            LocalImageInput("/i.png"),
            {"type": "skill", "name": "s", "path": "/skills/s/SKILL.md"},
            MentionInput("app", "app://x"),
        ]
    )
    assert prompt == "look" and images == ("/i.png",)
    assert others == (
        ImageUrlInput("data:image/png;base64,AA==", detail="low"),
        SkillInput("s", "/skills/s/SKILL.md"),
        MentionInput("app", "app://x"),
    )
    with pytest.raises(ConfigurationError, match="only text and local images"):
        normalize_input([ImageUrlInput("data:,x")])
    with pytest.raises(ConfigurationError):
        split_input([{"type": "skill", "name": "s"}])


def test_other_input_kinds_are_refused_on_exec_and_remote_urls_everywhere() -> None:
    data_url = TurnOptions(attachments=[ImageUrlInput.from_bytes(b"\x89PNG")])
    assert data_url.attachments[0].url == "data:image/png;base64,iVBORw=="  # type: ignore[union-attr]
    with pytest.raises(ConfigurationError, match="ImageUrlInput needs transport='app-server'"):
        preflight_turn(ThreadOptions(), "exec", "hi", (), data_url)
    preflight_turn(ThreadOptions(), "app-server", "", (), data_url)  # an image alone is input
    remote = TurnOptions(attachments=[ImageUrlInput("https://example.com/cat.png")])
    with pytest.raises(ConfigurationError, match="data: URLs only"):
        preflight_turn(ThreadOptions(), "app-server", "hi", (), remote)
    with pytest.raises(ConfigurationError, match="SkillInput needs"):
        preflight_turn(
            ThreadOptions(), "exec", "hi", (), TurnOptions(attachments=[SkillInput("s", "/p")])
        )


def test_user_input_wire_forms_of_every_kind() -> None:
    assert user_input(
        [
            TextInput("t"),
            LocalImageInput("/i.png"),
            ImageUrlInput("data:,x", detail="high"),
            SkillInput("s", "/p/SKILL.md"),
            MentionInput("m", "app://1"),
        ]
    ) == [
        {"type": "text", "text": "t"},
        {"type": "localImage", "path": "/i.png"},
        {"type": "image", "url": "data:,x", "detail": "high"},
        {"type": "skill", "name": "s", "path": "/p/SKILL.md"},
        {"type": "mention", "name": "m", "path": "app://1"},
    ]


def test_turn_overrides_map_to_turn_start_params() -> None:
    thread = ThreadOptions(additional_directories=["/extra"], network_access_enabled=True)
    turn = TurnOptions(
        model="m",
        effort="minimal",
        summary="none",
        working_directory="/w",
        sandbox_mode="workspace-write",
        approval_policy=GRANULAR,
        output_schema={"type": "object"},
    )
    assert turn_overrides(turn, thread).params() == {
        "model": "m",
        "effort": "minimal",
        "summary": "none",
        "cwd": "/w",
        "sandboxPolicy": {
            "type": "workspaceWrite",
            "writableRoots": ["/extra"],
            "networkAccess": True,
        },
        "approvalPolicy": GranularApprovalPolicy.from_wire(GRANULAR).value,
        "outputSchema": {"type": "object"},
    }
    assert turn_overrides(TurnOptions()).params() == {}
    assert sandbox_policy(SandboxMode.READ_ONLY, thread) == {"type": "readOnly"}
    assert sandbox_policy(SandboxMode.DANGER_FULL_ACCESS) == {"type": "dangerFullAccess"}


def test_default_effort_is_read_from_model_list() -> None:
    models = {
        "data": [
            {"model": "a", "defaultReasoningEffort": "low"},
            {"model": "b", "isDefault": True, "defaultReasoningEffort": "high"},
        ]
    }
    assert default_effort(models, "a") is ReasoningEffort.LOW
    assert default_effort(models, None) is ReasoningEffort.HIGH
    assert default_effort(models, "zzz") is None
