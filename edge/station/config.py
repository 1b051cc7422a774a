"""The station's configuration file (`hallwatch station --config FILE`), validated once.

site = "hall-01"
device = "st-01"
timezone = "Asia/Shanghai"
language = "zh"
identify = "face_or_finger"
[[sessions]]            # for inferring the action when no key is pressed, until the
start = "09:00"         # rules service pushes the site's timetable
end = "12:00"
[camera]  [face]  [fingerprint]  [leave]  [feedback]  [evidence]  [journal]  [broker]
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic

from base.config import Section, TimeZoneName, load_toml
from base.identifiers import NodeId
from base.schedule import DaySessions, Session, Timetable
from drivers.fingerprint.settings import FingerprintSettings
from edge.station.messages import Language
from models.settings import FaceConfig
from mqtt.client import BrokerConfig
from mqtt.schema import LeaveKind

PositiveSeconds = Annotated[float, pydantic.Field(gt=0)]


class CameraConfig(Section):
    """The camera the station watches for faces."""

    source: str = pydantic.Field(
        "0",
        description=(
            'Where frames come from: a V4L2 device ("0" or "/dev/video0"), "picamera" for the '
            "Pi camera (picamera2), or an image folder or video file to replay (tests, demos)."
        ),
    )
    fps: float = pydantic.Field(
        10.0,
        gt=0,
        le=60,
        description=(
            "Frames read per second. Ten is enough for the vote over frames and leaves a "
            "Pi's cores for the face models."
        ),
    )


# The going-out reasons offered when none are configured, in the station's language.
DEFAULT_REASONS: dict[str, list[str]] = {
    "en": ["business at another office", "bank", "document delivery", "meeting", "personal matter"],
    "zh": ["到其他单位办事", "银行", "送交文件", "开会", "个人事务"],
}


class LeaveConfig(Section):
    """Going out (外出登记): the short list of reasons, and how long each kind may last."""

    reasons: list[Annotated[str, pydantic.Field(min_length=1, max_length=60)]] = pydantic.Field(
        default=DEFAULT_REASONS["en"],
        min_length=1,
        description=(
            "The reasons offered on the keypad when someone goes out, in this order; the "
            "chosen one is sent with the punch. Unset: five common reasons in the station's "
            "language."
        ),
    )
    minutes: dict[LeaveKind, Annotated[int, pydantic.Field(gt=0, le=24 * 60)]] = pydantic.Field(
        {
            LeaveKind.OUTING: 60,
            LeaveKind.PERSONAL: 120,
            LeaveKind.SICK: 240,
            LeaveKind.OFFICIAL: 120,
        },
        description=(
            "Minutes each kind of going out may last: the promised return shown and sent is "
            "the going-out time plus this (60 for a kind not listed). The centre judges "
            "overdue returns by the policy's `[outing]` allowances."
        ),
    )


class FeedbackConfig(Section):
    """How the station tells the person what happened: console, screen, tones."""

    console: bool = pydantic.Field(
        True, description="Print each message on the standard output (the journal under systemd)."
    )
    display: Path | None = pydantic.Field(
        None,
        description=(
            "A framebuffer device such as /dev/fb1 (a small SPI screen), or a .png file that "
            "is rewritten with each screen (a display emulator). Unset: no screen."
        ),
    )
    display_size: tuple[int, int] = pydantic.Field(
        (320, 240), description="The screen's width and height in pixels."
    )
    sound: bool = pydantic.Field(
        False, description="Play a tone for each outcome through ALSA's `aplay`."
    )


class EvidenceConfig(Section):
    """Snapshots of frames that raised an alert: off unless configured, and kept briefly."""

    keep_snapshots: bool = pydantic.Field(
        False,
        description=(
            "Save a JPEG of each frame that raised an alert (a spoof, an unknown face) under "
            "`<data_dir>/evidence`. Off by default: faces are personal data."
        ),
    )
    retention_days: int = pydantic.Field(
        7, ge=1, le=90, description="Days a snapshot is kept before it is deleted."
    )


class JournalConfig(Section):
    """The station's journal (`<data_dir>/journal.db`): every event, kept until acknowledged."""

    max_mb: int = pydantic.Field(
        64,
        ge=1,
        description=(
            "Size bound of the journal in megabytes. At the bound, events the broker has "
            "acknowledged are dropped first; an unsent punch or alert never is."
        ),
    )
    retention_days: int = pydantic.Field(
        7,
        ge=1,
        description=(
            "Days acknowledged events are kept (so the centre could ask for them again) "
            "before they are pruned."
        ),
    )


class StationConfig(Section):
    """The clock-in station's file (`hallwatch station --config FILE`)."""

    site: NodeId = pydantic.Field(
        description="The hall this station stands in: its site id in topics and in the policy."
    )
    device: NodeId = pydantic.Field(
        description="This station's device id, unique in its site (its broker account is site.device)."
    )
    timezone: TimeZoneName = pydantic.Field(
        "Asia/Shanghai",
        description=(
            "The hall's IANA time zone: sessions and the times on the screen are read in it."
        ),
    )
    language: Language = pydantic.Field(
        "zh", description="What the screen and the console say: Chinese (zh) or English (en)."
    )
    data_dir: Path = pydantic.Field(
        Path("/var/lib/hallwatch"),
        description=(
            "Where the station keeps its files, all 0600: journal.db, gallery.db, evidence/ "
            "and the config version last applied."
        ),
    )
    models_dir: Path | None = pydantic.Field(
        None,
        description="Where face model packs are installed. Unset: `<data_dir>/models`.",
    )
    identify: Literal["face", "finger", "face_or_finger", "face_and_finger"] = pydantic.Field(
        "face_or_finger",
        description=(
            "How a person is identified: by face only, by finger only, by either, or by both "
            "within `second_factor_s`. Every mode but face needs a `[fingerprint]` table."
        ),
    )
    debounce_s: PositiveSeconds = pydantic.Field(
        60.0,
        description=(
            "Seconds during which a second punch by the same person is the same punch "
            "(refused as already recorded), unless a different action key was pressed."
        ),
    )
    second_factor_s: PositiveSeconds = pydantic.Field(
        10.0,
        description=(
            "Seconds the person has to give the other factor: at a face_and_finger station, "
            "and for a face in the grey zone (their finger or staff number, docs/face.md)."
        ),
    )
    key_timeout_s: PositiveSeconds = pydantic.Field(
        15.0,
        description="Seconds a pressed action key waits for the person to be identified.",
    )
    heartbeat_s: PositiveSeconds = pydantic.Field(
        60.0,
        description=(
            "Seconds between health status messages (camera, sensor, backlog, clock, disk)."
        ),
    )
    unknown_alert_s: PositiveSeconds = pydantic.Field(
        60.0,
        description=(
            "At most one unknown-face alert per this many seconds, so a visitor standing in "
            "front of the camera is one alert, not hundreds."
        ),
    )
    clock_max_offset_s: Annotated[float, pydantic.Field(gt=0, le=3600)] = pydantic.Field(
        5.0,
        description=(
            "An alert is raised when the kernel says the clock is off by more than this many "
            "seconds, or not synchronised at all: punch times are this clock's times."
        ),
    )
    clock_grace_s: Annotated[float, pydantic.Field(ge=0, le=86400)] = pydantic.Field(
        600.0,
        description=(
            "Seconds after start before a clock fault is raised: a Pi has no battery clock "
            "and is unsynchronised until NTP answers after boot."
        ),
    )
    sessions: DaySessions = pydantic.Field(
        [
            Session(start=time(9), end=time(12)),
            Session(start=time(13, 30), end=time(17)),
        ],
        description=(
            "The day's office-hours sessions, in order, to infer the action when no key is "
            "pressed: the first punch of a session is a clock-in, the next a clock-out. Each "
            "session owns the time from the middle of the break before it. Used until the "
            "rules service pushes the site's timetable (seasons, holidays)."
        ),
    )
    camera: CameraConfig = pydantic.Field(CameraConfig(), description="The camera.")
    face: FaceConfig = pydantic.Field(
        FaceConfig(), description="Face identification: pack, thresholds, votes, quality gates."
    )
    fingerprint: FingerprintSettings | None = pydantic.Field(
        None, description="The fingerprint sensor. No table: a face-only station."
    )
    leave: LeaveConfig = pydantic.Field(
        LeaveConfig(), description="Going out: the reasons offered and how long each kind lasts."
    )
    feedback: FeedbackConfig = pydantic.Field(
        FeedbackConfig(), description="What the person sees and hears."
    )
    evidence: EvidenceConfig = pydantic.Field(
        EvidenceConfig(), description="Snapshots of frames that raised an alert."
    )
    journal: JournalConfig = pydantic.Field(
        JournalConfig(), description="Size and retention of the station's journal."
    )
    broker: BrokerConfig = pydantic.Field(
        BrokerConfig(), description="The MQTT broker the station publishes to."
    )

    @pydantic.model_validator(mode="before")
    @classmethod
    def _reasons_in_language(cls, data: Any) -> Any:
        """Unless configured, the reasons on screen are in the station's language."""
        if not isinstance(data, dict) or not isinstance(data.get("leave", {}), dict):
            return data
        leave = data.get("leave", {})
        if "reasons" in leave:
            return data
        language = data.get("language", "zh")
        reasons = DEFAULT_REASONS.get(language, DEFAULT_REASONS["en"])
        return {**data, "leave": {**leave, "reasons": reasons}}

    @pydantic.model_validator(mode="after")
    def _consistent(self) -> StationConfig:
        if self.identify != "face" and self.fingerprint is None:
            raise ValueError(f"identify = {self.identify!r} needs a [fingerprint] table")
        return self

    @property
    def local_timetable(self) -> Timetable:
        """The file's sessions on every day, in its time zone: the value until a push."""
        return Timetable.every_day(self.timezone, self.sessions)

    @property
    def uses_face(self) -> bool:
        return self.identify != "finger"

    @property
    def packs_dir(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    def leave_duration(self, kind: LeaveKind) -> timedelta:
        return timedelta(minutes=self.leave.minutes.get(kind, 60))


def load_station_config(path: str | Path) -> StationConfig:
    return load_toml(StationConfig, path)
