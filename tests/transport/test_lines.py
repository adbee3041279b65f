import pytest
import trio
import trio.testing

from codex_trio._transport.lines import LineReader, LineTooLongError


async def reader_over(chunks: list[bytes], max_line_bytes: int = 16) -> LineReader:
    send, receive = trio.testing.memory_stream_pair()
    for chunk in chunks:
        await send.send_all(chunk)
    await send.aclose()
    return LineReader(receive, max_line_bytes=max_line_bytes)


async def read_all(reader: LineReader) -> list[bytes | str]:
    out: list[bytes | str] = []
    while True:
        try:
            line = await reader.receive_line()
        except LineTooLongError:
            out.append("TOO LONG")
            continue
        if line is None:
            return out
        out.append(line)


async def test_lines_are_split_across_chunk_boundaries() -> None:
    reader = await reader_over([b"ab", b"c\nde", b"f\n\ng"])
    assert await read_all(reader) == [b"abc", b"def", b"", b"g"]


async def test_oversized_line_is_reported_then_skipped_and_reading_goes_on() -> None:
    reader = await reader_over([b"short\n", b"x" * 40, b"y" * 40 + b"\nnext\n"], max_line_bytes=16)
    assert await read_all(reader) == [b"short", "TOO LONG", b"next"]


async def test_oversized_line_within_one_chunk_is_reported() -> None:
    reader = await reader_over([b"z" * 20 + b"\nok\n"], max_line_bytes=16)
    assert await read_all(reader) == ["TOO LONG", b"ok"]


async def test_line_of_exactly_the_limit_is_accepted() -> None:
    reader = await reader_over([b"a" * 16 + b"\n"], max_line_bytes=16)
    assert await read_all(reader) == [b"a" * 16]


async def test_error_carries_a_bounded_prefix() -> None:
    reader = await reader_over([b"q" * 5000 + b"\n"], max_line_bytes=100)
    with pytest.raises(LineTooLongError) as info:
        await reader.receive_line()
    assert len(info.value.line) <= 200
    assert info.value.limit == 100


async def test_buffer_never_holds_much_more_than_the_limit() -> None:
    send, receive = trio.testing.memory_stream_pair()
    reader = LineReader(receive, max_line_bytes=1024)

    async def feed() -> None:
        for _ in range(200):
            await send.send_all(b"w" * 4096)
        await send.send_all(b"\nend\n")
        await send.aclose()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(feed)
        with pytest.raises(LineTooLongError):
            await reader.receive_line()
        assert len(reader._buf) < 1024 + 64 * 1024
        assert await reader.receive_line() == b"end"
