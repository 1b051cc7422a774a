"""Configuration files: TOML validated once, at the boundary, into typed objects.

Every error names the file, the key and what was expected, so an operator can fix it
without reading code.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pydantic

from base.errors import HallwatchError
from base.printable import printable

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)"
        ) from None
    return value


# An IANA time zone name that this machine knows.
TimeZoneName = Annotated[str, pydantic.AfterValidator(_known_zone)]
# A regular expression, checked when the file is read rather than when first used.
Regex = Annotated[str, pydantic.Field(max_length=200), pydantic.AfterValidator(_compiles)]


class ConfigError(HallwatchError, ValueError):
    """A configuration file that cannot be used, with every problem in it."""


class Section(pydantic.BaseModel):
    """Base for configuration sections: unknown keys are errors, objects are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=False)


def _describe(error: dict[str, Any]) -> str:
    # Escaped, so a key cannot break or garble the message.
    key = printable(".".join(str(part) for part in error["loc"])) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"key '{key}': unknown key"
    if kind == "missing":
        return f"key '{key}': missing (required)"
    message = _redacted(error["msg"])
    # Lower-case only the first letter: values quoted in the message must stay as written.
    return (
        f"key '{key}': {message[:1].lower()}{message[1:]} (got {_shown(key, error.get('input'))})"
    )


# A URL's password: from the `:` after its user name to the last `@` of the URL, however
# many `/` and `@` the password holds (the first `@` or `/` is not where it ends).
_URL_PASSWORD = re.compile(r"(://[^:/@\s'\"]*:)[^\s'\"]*@")


def _redacted(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", text)


def _shown(key: str, value: Any) -> str:
    """The offending value as the operator wrote it, but never a secret."""
    if isinstance(value, dict):
        return "a table"
    if any(word in key.lower() for word in ("password", "secret", "token")):
        return "a value (hidden: it is a secret)"
    return _redacted(repr(value))


def validate(model: type[ModelT], data: dict[str, Any], source: str) -> ModelT:
    """Validate already-parsed data, reporting problems against `source`."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "\n".join(f"  {_describe(e)}" for e in exc.errors())
        raise ConfigError(f"{source}: invalid configuration\n{problems}") from None


def load_toml(model: type[ModelT], path: str | Path) -> ModelT:
    """Read a TOML file and validate it into `model`."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return validate(model, data, str(path))
