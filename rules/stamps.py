"""Moments as the store keeps them: UTC text whose order is their time order."""

from __future__ import annotations

from datetime import UTC, datetime

STAMP = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(moment: datetime) -> str:
    """A UTC timestamp whose text order is its time order."""
    return moment.astimezone(UTC).strftime(STAMP)


def unstamp(text: str) -> datetime:
    return datetime.strptime(text, STAMP).replace(tzinfo=UTC)
