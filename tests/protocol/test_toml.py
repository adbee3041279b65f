import math
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codex_trio._errors import ConfigurationError
from codex_trio._protocol.toml import flatten_overrides, toml_value


def _parse(value_text: str) -> object:
    return tomllib.loads(f"v = {value_text}")["v"]


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        'quote " and backslash \\',
        "newline\nand\ttab",
        "control \x01 \x7f",
        "unicode é ✓",
        "",
        True,
        False,
        0,
        -12,
        1.5,
        ["a", 1, True],
        {"k": "v", "needs quoting": 1, "x.y": [1, 2]},
        {},
        [],
    ],
)
def test_toml_value_parses_back_to_the_same_value(value: object) -> None:
    assert _parse(toml_value(value)) == value


text = st.text(st.characters(exclude_categories=["Cs"]))
leaf = st.one_of(text, st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False))
nested = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


@given(nested)
def test_any_encodable_value_round_trips_through_toml(value: object) -> None:
    assert _parse(toml_value(value)) == value


def test_special_floats_encode_as_toml_keywords() -> None:
    assert math.isnan(_parse(toml_value(float("nan"))))  # type: ignore[arg-type]
    assert _parse(toml_value(float("-inf"))) == float("-inf")


def test_none_and_other_types_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="None"):
        toml_value(None)
    with pytest.raises(ConfigurationError, match="object"):
        toml_value(object())
    with pytest.raises(ConfigurationError, match="surrogate"):
        toml_value("\ud800")


def test_flatten_overrides_gives_dotted_keys_per_leaf() -> None:
    config = {
        "model": "gpt-x",
        "sandbox_workspace_write": {"network_access": True},
        "tools": {"update_plan": {"enabled": True}},
        "notify": ["a", "b"],
        "empty": {},
    }
    assert list(flatten_overrides(config)) == [
        'model="gpt-x"',
        "sandbox_workspace_write.network_access=true",
        "tools.update_plan.enabled=true",
        'notify=["a", "b"]',
        "empty={}",
    ]


@pytest.mark.parametrize("key", ["a.b", "a=b", "", " padded"])
def test_flatten_overrides_refuses_keys_codex_would_split(key: str) -> None:
    with pytest.raises(ConfigurationError):
        list(flatten_overrides({"outer": {key: 1}}))


@pytest.mark.parametrize("key", ["0\n", "a b", "", "ключ", "a.b"])
def test_keys_that_are_not_bare_are_quoted(key: str) -> None:
    assert tomllib.loads(f"v = {toml_value({key: 1})}")["v"] == {key: 1}
