"""The console's file (`hallwatch console --config FILE`): where it listens, the store it
reads, the broker it watches, and how it keeps sessions."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Literal

import pydantic

from base.config import Section, load_toml
from base.private_files import create_private_file, write_private
from mqtt.client import BrokerConfig
from rules.backend import StoreLocation

Language = Literal["zh-CN", "en"]


class ConsoleSettings(Section):
    """The console itself (`[console]`)."""

    db: StoreLocation = pydantic.Field(
        description=(
            "The rules store the console reads and where its accounts live: the rules "
            "service's SQLite file or its postgresql://user@host:port/db URL."
        )
    )
    policy: Path = pydantic.Field(
        description="The hall's policy file (policy.toml), as the rules service reads it."
    )
    host: str = pydantic.Field(
        "127.0.0.1",
        description=(
            "The address to listen on. Keep 127.0.0.1 behind the reverse proxy "
            "(docs/console.md); 0.0.0.0 only with `tls_cert` and `tls_key` set."
        ),
    )
    port: Annotated[int, pydantic.Field(ge=1, le=65535)] = pydantic.Field(
        8080, description="The TCP port to listen on."
    )
    site_name: Annotated[str, pydantic.Field(min_length=1, max_length=80)] = pydantic.Field(
        "政务服务大厅", description="The name shown in every page's header."
    )
    default_lang: Language = pydantic.Field(
        "zh-CN",
        description=(
            "The language of a page before anyone chose one (each person can switch; "
            "their choice is kept in their account)."
        ),
    )
    session_secret_file: Path = pydantic.Field(
        Path("/var/lib/hallwatch/console-secret"),
        description=(
            "The key that signs session cookies: a private (0600) file, made with a random "
            "key if missing. Replacing it signs everyone out."
        ),
    )
    session_hours: Annotated[float, pydantic.Field(gt=0, le=24 * 31)] = pydantic.Field(
        12.0, description="Hours a sign-in lasts; after that the person signs in again."
    )
    cookie_secure: bool = pydantic.Field(
        True,
        description=(
            "Send the session cookie over HTTPS only. Turn off only to try the console "
            "over plain HTTP on this host (the demo does)."
        ),
    )
    throttle_failures: Annotated[int, pydantic.Field(ge=1, le=1000)] = pydantic.Field(
        5,
        description=(
            "Refused sign-ins of one account (since its last sign-in) within "
            "`throttle_minutes` after which it must wait; an address may have four times as many."
        ),
    )
    throttle_minutes: Annotated[float, pydantic.Field(gt=0, le=1440)] = pydantic.Field(
        15.0, description="The window in which refused sign-ins are counted."
    )
    request_link_days: Annotated[float, pydantic.Field(gt=0, le=90)] = pydantic.Field(
        7.0,
        description=(
            "Days a request link (补卡 and 申诉 raised by the person, docs/console.md) stays "
            "usable after a manager made it; a manager can revoke it sooner."
        ),
    )
    tls_cert: Path | None = pydantic.Field(
        None,
        description=(
            "A certificate chain (PEM) for the console's own HTTPS. Unset: plain HTTP, "
            "for the reverse proxy in front."
        ),
    )
    tls_key: Path | None = pydantic.Field(
        None, description="The private key of `tls_cert` (PEM, readable by the service only)."
    )

    @pydantic.model_validator(mode="after")
    def _tls_pair(self) -> ConsoleSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        return self


class ConsoleConfig(Section):
    """The console's file (`hallwatch console --config FILE`; `hallwatch console user ...`
    reads it too)."""

    broker: BrokerConfig = pydantic.Field(
        BrokerConfig(),
        description=(
            "The broker the console watches for live data: a read-only account "
            "(`console` in docs/security.md), one connection shared by every open page."
        ),
    )
    announce: BrokerConfig | None = pydantic.Field(
        None,
        description=(
            "The broker account the console announces managers' actions with (a void, a "
            "correction notice, leave, and the violations they change), as `hallwatch void` "
            "does with manager.toml: the `manager` account. Unset: actions are recorded and "
            "recomputed but not announced on MQTT."
        ),
    )
    console: ConsoleSettings = pydantic.Field(description="The console itself.")


def load_config(path: str | Path) -> ConsoleConfig:
    return load_toml(ConsoleConfig, path)


def session_secret(path: Path) -> bytes:
    """The cookie-signing key in `path`, made (0600, 32 random bytes) if it is missing or empty."""
    create_private_file(path)
    key = path.read_bytes().strip()
    if not key:
        key = secrets.token_hex(32).encode()
        write_private(path, key)
    return key
