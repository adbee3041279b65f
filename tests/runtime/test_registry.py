"""Registry: unique names, and names released however their owner ends."""

from __future__ import annotations

import pytest
import trio

from codex_trio.runtime import NameTaken, Registry


def test_a_registered_object_is_found_by_its_name_until_unregistered() -> None:
    registry: Registry[object] = Registry()
    thing = object()
    registry.register("a", thing)
    assert registry.whereis("a") is thing
    assert "a" in registry
    assert registry.names() == ["a"]
    assert registry.unregister("a")
    assert registry.whereis("a") is None
    assert not registry.unregister("a")
    assert len(registry) == 0


def test_a_taken_name_cannot_be_registered_again() -> None:
    registry: Registry[object] = Registry()
    first = object()
    registry.register("a", first)
    with pytest.raises(NameTaken) as info:
        registry.register("a", object())
    assert info.value.name == "a"
    assert registry.whereis("a") is first


def test_unregister_with_an_owner_leaves_another_owners_name_alone() -> None:
    registry: Registry[object] = Registry()
    old, new = object(), object()
    registry.register("a", new)
    assert not registry.unregister("a", old)
    assert registry.whereis("a") is new
    assert registry.unregister("a", new)


async def test_registered_holds_the_name_for_the_block_and_releases_it() -> None:
    registry: Registry[str] = Registry()
    async with registry.registered("a", "obj") as obj:
        assert obj == "obj"
        assert registry.whereis("a") == "obj"
    assert registry.whereis("a") is None


async def test_registered_releases_the_name_when_the_block_raises() -> None:
    registry: Registry[str] = Registry()
    with pytest.raises(ZeroDivisionError):
        async with registry.registered("a", "obj"):
            raise ZeroDivisionError
    assert "a" not in registry


async def test_registered_releases_the_name_when_the_block_is_cancelled() -> None:
    registry: Registry[str] = Registry()
    with trio.move_on_after(0):
        async with registry.registered("a", "obj"):
            await trio.sleep_forever()
    assert "a" not in registry


async def test_registered_does_not_release_a_successors_name() -> None:
    registry: Registry[str] = Registry()
    async with registry.registered("a", "old"):
        registry.unregister("a")
        registry.register("a", "new")
    assert registry.whereis("a") == "new"


async def test_registered_on_a_taken_name_raises_and_keeps_the_holder() -> None:
    registry: Registry[str] = Registry()
    registry.register("a", "holder")
    with pytest.raises(NameTaken):
        async with registry.registered("a", "other"):
            pytest.fail("entered the block")  # pragma: no cover
    assert registry.whereis("a") == "holder"
