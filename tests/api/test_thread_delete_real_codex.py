"""thread.delete() on the real binary: the thread is gone from CODEX_HOME (list, read, resume),
on both transports; another thread is untouched; an unknown id is a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest

from codex_trio import ThreadNotFoundError, ThreadNotStartedError
from codex_trio.testing import MockModel, message
from tests.api.test_thread_management_real_codex import TRANSPORTS, UNKNOWN, open_codex


def rollouts(mock_model: MockModel, thread_id: str) -> list[Path]:
    home = Path(mock_model.env["CODEX_HOME"])
    return [p for p in home.rglob("rollout-*.jsonl") if thread_id in p.name]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("archived_first", [False, True])
async def test_delete_removes_the_thread_and_only_that_thread(
    mock_model: MockModel, transport: str, archived_first: bool
) -> None:
    mock_model.script = [message("doomed"), message("kept"), message("kept again")]
    async with open_codex(mock_model, transport) as codex:
        doomed = codex.start_thread()
        await doomed.run("delete me later")
        kept = codex.start_thread()
        await kept.run("keep me")
        assert doomed.id is not None and rollouts(mock_model, doomed.id)
        if archived_first:
            await doomed.archive()
        await doomed.delete()
        listed = [t.id async for t in codex.list_threads()]
        listed_archived = [t.id async for t in codex.list_threads(archived=True)]
        with pytest.raises(ThreadNotFoundError):
            await codex.read_thread(doomed.id)
        with pytest.raises(ThreadNotFoundError):
            await codex.resume_thread(doomed.id).run("are you there?")
        with pytest.raises(ThreadNotFoundError):
            await doomed.run("and you?")
        with pytest.raises(ThreadNotFoundError):
            await doomed.delete()  # deleted already
        again = await kept.run("still here?")
    assert rollouts(mock_model, doomed.id) == []
    assert listed == [kept.id] and listed_archived == []
    assert again.final_response == "kept again"
    assert "keep me" in "\n".join(mock_model.requests[-1].input_texts(role=None))
    assert len(mock_model.requests) == 3  # no turn ran on the deleted thread


async def test_delete_of_an_unknown_or_unstarted_thread_is_a_typed_error(
    mock_model: MockModel,
) -> None:
    async with open_codex(mock_model, "exec") as codex:
        with pytest.raises(ThreadNotFoundError) as caught:
            await codex.resume_thread(UNKNOWN).delete()
        with pytest.raises(ThreadNotStartedError):
            await codex.start_thread().delete()
    assert caught.value.thread_id == UNKNOWN
    assert mock_model.requests == []
