"""docs/config.md, generated from the configuration models (`hallwatch config-docs`).

Each key's type, default and description come from where the key is declared
(`pydantic.Field(description=...)`), so the reference cannot drift from the code:
tests/test_config_docs.py keeps the committed file equal to this output.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from types import NoneType, UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import click
import pydantic
from pydantic.fields import FieldInfo

from base.config import Regex, TimeZoneName
from drivers.fingerprint.settings import FingerprintSettings
from edge.agent.config import AgentConfig
from edge.station.config import StationConfig
from hallwatch.console.config import ConsoleConfig
from models.manifest import PackManifest
from models.settings import FaceConfig
from mqtt.broker import Deployment
from mqtt.client import BrokerConfig
from rules.policy import Policy
from rules.service import ServiceConfig

Model = type[pydantic.BaseModel]


@dataclass(frozen=True, slots=True)
class FileKind:
    title: str
    model: Model
    example: str  # a valid example, relative to docs/
    table: str = ""  # the TOML table this model is, when it is one table of other files


FILE_KINDS = (
    FileKind("station.toml", StationConfig, "examples/station.toml"),
    FileKind("agent.toml", AgentConfig, "examples/agent.toml"),
    FileKind("rules.toml", ServiceConfig, "examples/rules.toml"),
    FileKind("policy.toml", Policy, "examples/policy.toml"),
    FileKind("console.toml", ConsoleConfig, "examples/console.toml"),
    FileKind("deployment.toml", Deployment, "../systemd/mosquitto/deployment.example.toml"),
    FileKind("Broker settings", BrokerConfig, "examples/station.toml", table="broker"),
    FileKind("Face settings", FaceConfig, "examples/station.toml", table="face"),
    FileKind(
        "Fingerprint settings", FingerprintSettings, "examples/station.toml", table="fingerprint"
    ),
    FileKind("manifest.toml", PackManifest, "../models/packs/permissive/manifest.toml"),
)

HEADER = """\
# Configuration reference

<!-- Generated from the configuration models by `hallwatch config-docs > docs/config.md`;
     edit the descriptions in the code, not here. -->

Every file is TOML, validated once when the program starts: an unknown key, a wrong type,
a value out of range or a missing required key stops it with the file, the key and what
was expected (a secret is never shown). A key left out takes its default; "unset" means
the key is absent (TOML has no null).
"""

# Annotated types whose validator says more than their base type.
_NAMED_TYPES = {
    get_args(TimeZoneName)[1]: "IANA time zone name",
    get_args(Regex)[2]: "regular expression",
}
_SCALARS: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",
    time: "local time of day",
    date: "date",
    datetime: "date-time",
    pydantic.AwareDatetime: "date-time with UTC offset",
    pydantic.SecretStr: "string (secret)",
}


def render() -> str:
    """The whole reference, as committed in docs/config.md."""
    shared = {kind.model: kind for kind in FILE_KINDS if kind.table}
    lines = [HEADER, *(f"- [{k.title}](#{_anchor(k.title)})" for k in FILE_KINDS)]
    for kind in FILE_KINDS:
        lines += ["", f"## {kind.title}", "", _doc(kind.model)]
        lines.append(f"\nExample: [{Path(kind.example).name}]({kind.example}).")
        own = {m: k for m, k in shared.items() if k is not kind}
        for i, (prefix, array, model) in enumerate(_tables(kind.model, kind.table, own)):
            if i > 0:  # the kind's own table is introduced by the kind's heading
                heading = _heading(kind, _toml_path(prefix, array))
                lines += ["", f"### {heading}", "", _doc(model)]
            lines += ["", *_table(model, kind, prefix, own)]
    return "\n".join(lines) + "\n"


def models() -> Iterator[Model]:
    """Every model the reference documents, each once."""
    seen: set[Model] = set()
    for kind in FILE_KINDS:
        for _, _, model in _tables(kind.model, kind.table, {}):
            if model not in seen:
                seen.add(model)
                yield model


def _tables(
    model: Model, prefix: str, shared: dict[Model, FileKind], array: bool = False
) -> Iterator[tuple[str, bool, Model]]:
    """(TOML name, is a list of tables, model): the model's own table, then each nested
    one depth first. Tables of a `shared` model are documented with that model instead."""
    yield prefix, array, model
    for key, info in model.model_fields.items():
        nested = _nested(info.annotation)
        if nested is not None and nested[0] not in shared:
            child, shape = nested
            child_name, child_array = _child(prefix, info.alias or key, shape)
            yield from _tables(child, child_name, shared, child_array)


def _child(prefix: str, key: str, shape: str) -> tuple[str, bool]:
    """A nested table's TOML name (`<name>` for any key of a table of tables), and whether
    it is a list of tables."""
    name = ".".join(p for p in (prefix, key) if p)
    return (f"{name}.<name>" if shape == "dict" else name), shape == "list"


def _toml_path(name: str, array: bool) -> str:
    return f"[[{name}]]" if array else f"[{name}]"


def _nested(annotation: Any) -> tuple[Model, str] | None:
    """(model, "table" | "list" | "dict") when the field holds tables."""
    annotation = _without_none(_strip(annotation)[0])
    origin, args = get_origin(annotation), get_args(annotation)
    if _is_model(annotation):
        return annotation, "table"
    if origin in (Union, UnionType):  # a table, or a plain value that says "none" (`false`)
        tables = [a for a in args if _is_model(a)]
        return (tables[0], "table") if len(tables) == 1 else None
    if origin is list and _is_model(inner := _strip(args[0])[0]):
        return inner, "list"
    if origin is dict and _is_model(inner := _strip(args[1])[0]):
        return inner, "dict"
    return None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel)


def _table(model: Model, kind: FileKind, prefix: str, shared: dict[Model, FileKind]) -> list[str]:
    rows = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, info in model.model_fields.items():
        name = info.alias or key
        cells = (
            f"`{name}`",
            _type_cell(info, kind, prefix, name, shared),
            _default(info),
            _prose(info.description or ""),
        )
        rows.append(
            "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"
        )
    return rows


def _type_cell(
    info: FieldInfo, kind: FileKind, prefix: str, name: str, shared: dict[Model, FileKind]
) -> str:
    """The key's type; a nested table's links to where its keys are listed."""
    nested = _nested(info.annotation)
    if nested is None:
        return _type(info.annotation, info.metadata)
    model, shape = nested
    if model in shared:
        target = shared[model].title
    else:
        target = _heading(kind, _toml_path(*_child(prefix, name, shape)))
    link = f"[{target}](#{_anchor(target)})"
    if shape == "list":
        return f"list of tables: {link}"
    if shape == "dict":
        key = _type(get_args(_without_none(info.annotation))[0], [])
        return f"tables keyed by {key}: {link}"
    others = [a for a in get_args(info.annotation) if not _is_model(a) and a is not NoneType]
    return " or ".join([f"table: {link}", *(_type(a, []) for a in others)])


def _type(annotation: Any, metadata: list[Any]) -> str:
    annotation, inner_metadata = _strip(annotation)
    metadata = [*metadata, *inner_metadata]
    origin, args = get_origin(annotation), get_args(annotation)
    named = next((name for marker, name in _NAMED_TYPES.items() if marker in metadata), None)
    if origin in (Union, UnionType):
        text = " or ".join(_type(a, []) for a in args if a is not NoneType)
    elif origin is Literal:
        text = " or ".join(f"`{_toml(v)}`" for v in args)
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        text = " or ".join(f"`{_toml(v.value)}`" for v in annotation)
    elif origin is list:
        text = f"list of {_type(args[0], [])}"
    elif origin is dict:
        text = f"table of {_type(args[0], [])} = {_type(args[1], [])}"
    elif origin is tuple:
        text = "[" + ", ".join(_type(a, []) for a in args) + "]"
    else:
        text = named or _SCALARS[annotation]
    limits = _limits(metadata, counted="item" if origin is list else "character")
    if not limits:
        return text
    return f"{text}; {limits}" if text.endswith(")") else f"{text} ({limits})"


def _strip(annotation: Any) -> tuple[Any, list[Any]]:
    """An Annotated type's base type and its constraints (from Field() too)."""
    if get_origin(annotation) is not Annotated:
        return annotation, []
    base, *extras = get_args(annotation)
    metadata: list[Any] = []
    for extra in extras:
        metadata += extra.metadata if isinstance(extra, FieldInfo) else [extra]
    return base, metadata


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, UnionType):
        rest = [a for a in get_args(annotation) if a is not NoneType]
        if len(rest) == 1:
            return _strip(rest[0])[0]
    return annotation


# How the reference words each constraint pydantic keeps in a field's metadata, given the
# constraint and the noun a length counts ("item", "character").
_LIMIT_WORDS: dict[type, Callable[[Any, str], str]] = {
    annotated_types.Ge: lambda limit, _: f"≥ {limit.ge}",
    annotated_types.Gt: lambda limit, _: f"> {limit.gt}",
    annotated_types.Le: lambda limit, _: f"≤ {limit.le}",
    annotated_types.Lt: lambda limit, _: f"< {limit.lt}",
    annotated_types.MultipleOf: lambda limit, _: f"a multiple of {limit.multiple_of}",
    annotated_types.MinLen: lambda limit, noun: f"at least {_count(limit.min_length, noun)}",
    annotated_types.MaxLen: lambda limit, noun: f"at most {_count(limit.max_length, noun)}",
}


def _limits(metadata: list[Any], counted: str) -> str:
    words = []
    for item in metadata:
        if wording := _LIMIT_WORDS.get(type(item)):
            words.append(wording(item, counted))
        elif getattr(item, "pattern", None):
            words.append(f"matching `{item.pattern}`")
    return ", ".join(words)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if _is_model(type(value)):
        return "its keys' defaults"
    return f"`{_toml(value)}`"


def _toml(value: Any) -> str:
    """A default as it would be written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _toml(value.value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, time | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return _inline({_toml_key(k): v for k, v in value.items()})
    if isinstance(value, pydantic.BaseModel):
        fields = type(value).model_fields.items()
        return _inline({info.alias or key: getattr(value, key) for key, info in fields})
    return repr(value)


def _inline(table: dict[str, Any]) -> str:
    pairs = [f"{key} = {_toml(v)}" for key, v in table.items() if v is not None]
    return "{ " + ", ".join(pairs) + " }" if pairs else "{}"


def _toml_key(key: Any) -> str:
    text = str(key.value if isinstance(key, Enum) else key)
    return text if re.fullmatch(r"[A-Za-z0-9_-]+", text) else json.dumps(text)


def _heading(kind: FileKind, path: str) -> str:
    return f"{kind.title} `{path}`" if not kind.table else f"`{path}`"


def _anchor(heading: str) -> str:
    """The id GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _doc(model: Model) -> str:
    return _prose(inspect.cleandoc(model.__doc__ or ""))


def _prose(text: str) -> str:
    """Text for Markdown: a <placeholder> outside `code` would be taken for an HTML tag."""
    parts = text.split("`")
    parts[::2] = [part.replace("<", "&lt;") for part in parts[::2]]
    return "`".join(parts)


@click.command(name="config-docs")
def config_docs() -> None:
    """The configuration reference (docs/config.md), generated from the models.

    \b
    Example:
        hallwatch config-docs > docs/config.md
    """
    click.echo(render(), nl=False)
