"""The station's configuration file (`hallwatch station --config FILE`), validated once.

site = "hall-01"
device = "st-01"
timezone = "Asia/Shanghai"
language = "zh"
identify = "face_or_finger"
[[sessions]]            # for inferring the action when no key is pressed
start = "09:00"
end = "12:00"
[camera]  [face]  [fingerprint]  [leave]  [feedback]  [evidence]  [journal]  [broker]
"""

from __future__ import annotations

from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import pydantic

from base.config import Section, SessionTimes, TimeZoneName, load_toml
from drivers.fingerprint.settings import FingerprintSettings
from edge.station.inference import Session
from edge.station.messages import Language
from models.settings import FaceConfig
from mqtt.client import BrokerConfig
from mqtt.schema import LeaveKind
from mqtt.topics import ID_PATTERN

NodeId = Annotated[str, pydantic.Field(pattern=ID_PATTERN)]
PositiveSeconds = Annotated[float, pydantic.Field(gt=0)]


class CameraConfig(Section):
    # 0 or /dev/video0 (V4L2), "picamera" (picamera2), or an image folder / video file (replay).
    source: str = "0"
    fps: float = pydantic.Field(10.0, gt=0, le=60)


# The going-out reasons offered when none are configured, in the station's language.
DEFAULT_REASONS: dict[str, list[str]] = {
    "en": ["business at another office", "bank", "document delivery", "meeting", "personal matter"],
    "zh": ["到其他单位办事", "银行", "送交文件", "开会", "个人事务"],
}


class LeaveConfig(Section):
    """Going out (外出登记): the short list of reasons, and how long each kind may last."""

    reasons: list[Annotated[str, pydantic.Field(min_length=1, max_length=60)]] = pydantic.Field(
        default=DEFAULT_REASONS["en"], min_length=1
    )
    minutes: dict[LeaveKind, Annotated[int, pydantic.Field(gt=0, le=24 * 60)]] = {
        LeaveKind.OUTING: 60,
        LeaveKind.PERSONAL: 120,
        LeaveKind.SICK: 240,
        LeaveKind.OFFICIAL: 120,
    }


class FeedbackConfig(Section):
    console: bool = True
    # A framebuffer device (/dev/fb1) or a .png file (a display emulator); none: no display.
    display: Path | None = None
    display_size: tuple[int, int] = (320, 240)
    sound: bool = False


class EvidenceConfig(Section):
    """Snapshots of frames that raised an alert: off unless configured, and kept briefly."""

    keep_snapshots: bool = False
    retention_days: int = pydantic.Field(7, ge=1, le=90)


class JournalConfig(Section):
    max_mb: int = pydantic.Field(64, ge=1)
    retention_days: int = pydantic.Field(7, ge=1)


class StationConfig(Section):
    site: NodeId
    device: NodeId
    timezone: TimeZoneName = "Asia/Shanghai"
    language: Language = "zh"
    data_dir: Path = Path("/var/lib/hallwatch")
    models_dir: Path | None = None  # installed model packs; default <data_dir>/models
    identify: Literal["face", "finger", "face_or_finger", "face_and_finger"] = "face_or_finger"
    debounce_s: PositiveSeconds = 60.0
    second_factor_s: PositiveSeconds = 10.0  # face_and_finger: time to give the other factor
    key_timeout_s: PositiveSeconds = 15.0  # a pressed action key waits this long for a face
    heartbeat_s: PositiveSeconds = 60.0
    unknown_alert_s: PositiveSeconds = 60.0  # at most one unknown-face alert per this period
    sessions: list[SessionTimes] = [
        SessionTimes(start=time(9), end=time(12)),
        SessionTimes(start=time(13, 30), end=time(17)),
    ]
    camera: CameraConfig = CameraConfig()
    face: FaceConfig = FaceConfig()
    fingerprint: FingerprintSettings | None = None  # no table: a face-only station
    leave: LeaveConfig = LeaveConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    evidence: EvidenceConfig = EvidenceConfig()
    journal: JournalConfig = JournalConfig()
    broker: BrokerConfig = BrokerConfig()

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
        if not self.sessions:
            raise ValueError("at least one session is needed")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def session_times(self) -> list[Session]:
        return [Session(s.start, s.end) for s in self.sessions]

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
