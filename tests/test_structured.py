"""Typed structured output without a process: the strict schema derived from a type, the checks
of a user's schema, and a final message structured into the type (codex_trio._structured)."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import attrs
import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codex_trio import ConfigurationError, StructuredOutputError, TurnOptions, TurnResult
from codex_trio._structured import check_schema, schema_for, structured_output


class Size(enum.Enum):
    SMALL = "small"
    LARGE = "large"


@attrs.frozen
class LineItem:
    name: str = attrs.field(metadata={"description": "what was bought"})
    quantity: int
    size: Size | None


@dataclasses.dataclass
class Address:
    street: str
    zip: str | None


class Customer(TypedDict):
    id: int
    tags: list[str]


@attrs.frozen
class Order:
    items: list[LineItem]
    address: Address
    customer: Customer
    status: Literal["open", "paid"]
    total: float
    gift: bool
    note: Annotated[str | None, "free text"]


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree]


ORDER = {
    "items": [
        {"name": "tea", "quantity": 2, "size": "small"},
        {"name": "cup", "quantity": 1, "size": None},
        {"name": "pot", "quantity": 1, "size": "large"},
    ],
    "address": {"street": "Main 1", "zip": None},
    "customer": {"id": 7, "tags": ["vip"]},
    "status": "paid",
    "total": 12.5,
    "gift": False,
    "note": None,
}


def _objects(schema: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found += _objects(value)
    elif isinstance(schema, list):
        for value in schema:
            found += _objects(value)
    return found


def test_an_attrs_class_gives_a_strict_schema_with_nested_defs() -> None:
    schema = schema_for(Order)
    assert schema["type"] == "object"
    assert schema["required"] == list(schema["properties"])
    assert schema["properties"]["items"] == {"type": "array", "items": {"$ref": "#/$defs/LineItem"}}
    assert schema["properties"]["status"] == {"type": "string", "enum": ["open", "paid"]}
    assert schema["properties"]["note"] == {"type": ["string", "null"]}
    assert schema["properties"]["total"] == {"type": "number"}
    assert schema["properties"]["gift"] == {"type": "boolean"}
    line = schema["$defs"]["LineItem"]
    assert line["properties"]["name"] == {"type": "string", "description": "what was bought"}
    assert line["properties"]["size"] == {
        "type": ["string", "null"],
        "enum": ["small", "large", None],
    }
    assert set(schema["$defs"]) == {"LineItem", "Address", "Customer"}
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_recursive_dataclass_refers_to_itself() -> None:
    schema = schema_for(Tree)
    assert schema["properties"]["children"] == {"type": "array", "items": {"$ref": "#"}}
    data = {"label": "root", "children": [{"label": "leaf", "children": []}]}
    assert structured_output(json.dumps(data), schema, Tree) == Tree("root", [Tree("leaf", [])])


@pytest.mark.parametrize(
    ("field_type", "complaint"),
    [
        (dict[str, int], "mapping with free keys"),
        (Any, "Any has no strict JSON schema"),
        (tuple[int, str], "fixed-length tuple"),
        (list, "needs an item type"),
        (complex, "is not supported"),
    ],
)
def test_types_strict_mode_cannot_express_are_refused_with_the_field_path(
    field_type: Any, complaint: str
) -> None:
    inner = attrs.make_class("Inner", {"value": attrs.field(type=field_type)})
    outer = attrs.make_class("Outer", {"inner": attrs.field(type=list[inner])})  # type: ignore[valid-type]
    with pytest.raises(ConfigurationError, match=complaint) as caught:
        schema_for(outer)
    assert "inner[].value" in str(caught.value)


def test_the_root_must_be_an_object_type() -> None:
    for root in (list[LineItem], str, LineItem | None):
        with pytest.raises(ConfigurationError, match="root of structured output"):
            schema_for(root)


def test_a_typeddict_key_that_is_not_required_is_refused() -> None:
    class Partial(TypedDict):
        a: int
        b: NotRequired[str]

    with pytest.raises(ConfigurationError, match=r"'b'.*not required"):
        schema_for(Partial)


def test_a_matching_message_becomes_an_instance_of_the_type() -> None:
    order = structured_output(json.dumps(ORDER), schema_for(Order), Order)
    assert isinstance(order, Order)
    assert order.items[0] == LineItem("tea", 2, Size.SMALL)
    assert order.address == Address("Main 1", None)
    assert order.customer == {"id": 7, "tags": ["vip"]}
    assert order.status == "paid"


def test_a_mismatch_names_the_path_and_keeps_the_raw_text() -> None:
    bad = json.loads(json.dumps(ORDER))
    bad["items"][2]["name"] = 3
    raw = json.dumps(bad)
    with pytest.raises(StructuredOutputError) as caught:
        structured_output(raw, schema_for(Order), Order)
    assert caught.value.path == "items[2].name"
    assert caught.value.raw == raw
    assert "items[2].name" in str(caught.value)


def test_an_extra_key_or_a_missing_key_is_a_mismatch() -> None:
    schema = schema_for(Order)
    extra = dict(ORDER, surprise=1)
    with pytest.raises(StructuredOutputError, match="surprise"):
        structured_output(json.dumps(extra), schema, Order)
    missing = {k: v for k, v in ORDER.items() if k != "gift"}
    with pytest.raises(StructuredOutputError, match="gift") as caught:
        structured_output(json.dumps(missing), schema, Order)
    assert caught.value.path == ""


def test_text_that_is_not_json_or_no_message_at_all_is_an_error() -> None:
    with pytest.raises(StructuredOutputError, match="not valid JSON") as caught:
        structured_output("Sure! Here it is: {", schema_for(Order), Order)
    assert caught.value.raw == "Sure! Here it is: {"
    assert caught.value.path is None
    with pytest.raises(StructuredOutputError, match="no final message"):
        structured_output(None, schema_for(Order), Order)


@pytest.mark.parametrize(
    ("schema", "keyword"),
    [
        ({"type": "objekt"}, "'type' at type"),
        ({"type": "object", "properties": {"a": {"type": "strin"}}}, "'type' at properties.a.type"),
        ({"type": "object", "required": "a"}, "'required' at required"),
        ({"type": "object", "minProperties": -1}, "'minProperties'"),
    ],
)
def test_an_invalid_user_schema_names_the_offending_keyword(
    schema: dict[str, Any], keyword: str
) -> None:
    with pytest.raises(ConfigurationError, match="not a valid JSON Schema") as caught:
        check_schema(schema)
    assert keyword in str(caught.value)


def test_a_valid_user_schema_passes_and_a_message_is_checked_against_it() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 0}},
        "required": ["n"],
        "additionalProperties": False,
    }
    check_schema(schema)
    assert structured_output('{"n": 3}', schema) == {"n": 3}
    with pytest.raises(StructuredOutputError, match="minimum") as caught:
        structured_output('{"n": -1}', schema)
    assert caught.value.path == "n"


def test_turn_options_take_a_schema_or_a_type_not_both() -> None:
    assert TurnOptions(output_type=Order).json_schema == schema_for(Order)
    with pytest.raises(ConfigurationError, match="not both"):
        TurnOptions(output_type=Order, output_schema={"type": "object"})


def test_structured_as_structures_a_result_on_demand() -> None:
    result = TurnResult(
        thread_id="t",
        turn_id="u",
        items=(),
        final_response=json.dumps({"street": "x", "zip": "1"}),
        usage=None,
        cumulative_usage=None,
    )
    assert result.structured_as(Address) == Address("x", "1")
    with pytest.raises(StructuredOutputError):
        result.structured_as(LineItem)


# -- property: any type built from the supported pieces gives a strict schema that the JSON of
# -- its instances satisfies, and that JSON structures back into an equal instance ------------

_counter = iter(range(1_000_000))

PRIMITIVES: dict[Any, st.SearchStrategy[Any]] = {
    str: st.text(max_size=5),
    int: st.integers(-1000, 1000),
    float: st.floats(-1e6, 1e6, allow_nan=False),
    bool: st.booleans(),
    Size: st.sampled_from(list(Size)),
    Literal["a", "b"]: st.sampled_from(["a", "b"]),
}


def _unstructure(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if attrs.has(type(value)):
        return {f.name: _unstructure(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if dataclasses.is_dataclass(value):
        return {f.name: _unstructure(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _unstructure(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_unstructure(v) for v in value]
    return value


@st.composite
def type_and_values(draw: st.DrawFn, depth: int = 0) -> tuple[Any, st.SearchStrategy[Any]]:
    choices = ["primitive", "list", "optional"] + (["record"] if depth < 3 else [])
    kind = draw(st.sampled_from(choices if depth > 0 else ["record"]))
    if kind == "primitive":
        tp = draw(st.sampled_from(list(PRIMITIVES)))
        return tp, PRIMITIVES[tp]
    if kind == "list":
        inner, values = draw(type_and_values(depth + 1))
        return list[inner], st.lists(values, max_size=3)  # type: ignore[valid-type]
    if kind == "optional":
        inner, values = draw(type_and_values(depth + 1))
        return inner | None, st.none() | values
    fields = draw(st.lists(type_and_values(depth + 1), min_size=1, max_size=4))
    name = f"R{next(_counter)}"
    style = draw(st.sampled_from(["attrs", "dataclass", "typeddict"]))
    names = [f"f{i}" for i in range(len(fields))]
    if style == "attrs":
        cls: Any = attrs.make_class(
            name, {n: attrs.field(type=tp) for n, (tp, _) in zip(names, fields, strict=True)}
        )
        build = lambda **kw: cls(**kw)  # noqa: E731
    elif style == "dataclass":
        cls = dataclasses.make_dataclass(
            name, [(n, tp) for n, (tp, _) in zip(names, fields, strict=True)]
        )
        build = lambda **kw: cls(**kw)  # noqa: E731
    else:
        cls = TypedDict(name, {n: tp for n, (tp, _) in zip(names, fields, strict=True)})  # type: ignore[operator]
        build = dict
    strategy = st.fixed_dictionaries(
        {n: values for n, (_, values) in zip(names, fields, strict=True)}
    ).map(lambda kw: build(**kw))
    return cls, strategy


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_derived_schemas_are_strict_and_instances_round_trip(data: st.DataObject) -> None:
    tp, values = data.draw(type_and_values())
    schema = schema_for(tp)
    jsonschema.Draft202012Validator.check_schema(schema)
    for obj in _objects(schema):
        assert obj["additionalProperties"] is False
        assert obj["required"] == list(obj["properties"])
    value = data.draw(values)
    text = json.dumps(_unstructure(value))
    assert structured_output(text, schema, tp) == value


def test_import_codex_trio_loads_neither_jsonschema_nor_cattrs() -> None:
    import subprocess
    import sys

    code = (
        "import sys, codex_trio\n"
        "codex_trio.TurnOptions(model='m', effort='low')\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'jsonschema', 'cattrs'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
