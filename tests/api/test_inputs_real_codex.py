"""Input kinds beyond text and local images (image URLs, skills, mentions) on the real binary
with the mock model: what reaches the model on app-server, and the clear refusal on exec (which
only has ``-i FILE``) before any process starts."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

import codex_trio
from codex_trio import ConfigurationError, ImageUrlInput, MentionInput, SkillInput, TextInput
from codex_trio.testing import MockModel, message
from tests.conftest import AppServerSetup

DOT_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def write_skill(mock_model: MockModel) -> Path:
    """A skill where codex looks for user skills (CODEX_HOME/skills/<name>/SKILL.md)."""
    skill = mock_model.home.path / "skills" / "magic-word"
    skill.mkdir(parents=True)
    path = skill / "SKILL.md"
    path.write_text(
        "---\nname: magic-word\ndescription: Answers with the magic word.\n---\n"
        "Always answer PINEAPPLE-42.\n",
        encoding="utf-8",
    )
    return path


async def test_an_image_url_reaches_the_model_request_with_its_detail(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    image = ImageUrlInput.from_bytes(DOT_PNG, detail="high")
    mock_model.script = [message("a dot")]
    async with app_server_setup.codex() as (_, thread):
        result = await thread.run([TextInput("what is this?"), image])
    assert result.final_response == "a dot"
    request = mock_model.requests[0]
    assert request.input_images() == [image.url]
    parts = [p for item in request.input if item.get("role") == "user" for p in item["content"]]
    assert {"type": "input_image", "image_url": image.url, "detail": "high"} in parts
    assert request.last_user_text() == "what is this?"


async def test_an_image_url_as_a_dict_or_an_option_reaches_the_request(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    url = ImageUrlInput.from_bytes(DOT_PNG).url
    mock_model.script = [message("one"), message("two")]
    async with app_server_setup.codex() as (_, thread):
        await thread.run([{"type": "text", "text": "look"}, {"type": "image", "url": url}])
        await thread.run("and now", attachments=[ImageUrlInput(url)])
    assert mock_model.requests[0].input_images() == [url]
    assert mock_model.requests[1].input_images() == [url, url]  # the history has the first


async def test_a_remote_image_url_is_refused_before_the_turn_starts(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    async with app_server_setup.codex() as (_, thread):
        with pytest.raises(ConfigurationError, match="data: URLs only"):
            await thread.run([TextInput("look"), ImageUrlInput("https://example.com/cat.png")])
    assert mock_model.requests == []


async def test_a_skill_input_adds_the_skill_to_the_turn(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    path = write_skill(mock_model)
    mock_model.script = [message("PINEAPPLE-42")]
    async with app_server_setup.codex() as (_, thread):
        await thread.run([TextInput("use $magic-word"), SkillInput("magic-word", path)])
    skill_texts = [t for t in mock_model.requests[0].input_texts() if t.startswith("<skill>")]
    assert len(skill_texts) == 1
    assert "<name>magic-word</name>" in skill_texts[0]
    assert "Always answer PINEAPPLE-42." in skill_texts[0]


async def test_without_the_skill_input_the_skill_is_not_added(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    write_skill(mock_model)
    mock_model.script = [message("no")]
    async with app_server_setup.codex() as (_, thread):
        await thread.run("use the magic word")
    assert not [t for t in mock_model.requests[0].input_texts() if t.startswith("<skill>")]


async def test_a_mention_is_accepted_by_the_engine(
    mock_model: MockModel, app_server_setup: AppServerSetup
) -> None:
    # Offline there is no app connector to mention: codex 0.163 takes the input, the turn runs,
    # and nothing of a mention of an unknown app reaches the model request.
    mock_model.script = [message("ok")]
    async with app_server_setup.codex() as (_, thread):
        result = await thread.run(
            [TextInput("ask $calendar"), MentionInput("calendar", "app://calendar")]
        )
    assert result.final_response == "ok"
    request = mock_model.requests[0]
    assert request.last_user_text() == "ask $calendar"
    assert "app://calendar" not in str(request.body)


@pytest.mark.parametrize(
    "part",
    [
        ImageUrlInput("data:image/png;base64,AA=="),
        SkillInput("magic-word", "/skills/magic-word/SKILL.md"),
        MentionInput("calendar", "app://calendar"),
    ],
)
async def test_exec_refuses_other_input_kinds_before_any_process_starts(
    mock_model: MockModel, part: object
) -> None:
    thread = codex_trio.Codex(env=mock_model.env).start_thread(
        working_directory=str(mock_model.workdir), skip_git_repo_check=True
    )
    with pytest.raises(
        ConfigurationError, match=f"{type(part).__name__} needs transport='app-server'"
    ):
        await thread.run([TextInput("look"), part])  # type: ignore[list-item]
    assert mock_model.requests == [] and thread.id is None
