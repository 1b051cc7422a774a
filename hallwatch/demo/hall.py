"""The demo hall: its staff, windows and devices, its policy, and the day it lives through.

Every planted event is listed here; the demo's test checks the report for each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SITE = "demo-hall"
ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 2)  # a Monday, the month's first working day: the month-to-date is this day


@dataclass(frozen=True)
class Person:
    staff_id: str
    name: str
    window: str
    photo: str | None  # enrolment photo under the faces directory; None: finger only
    probe: str | None  # the photo the camera sees at the device
    finger: str | None  # the emulated finger, when enrolled
    station: str  # the station the person punches at


STAFF = (
    Person(
        "S001",
        "张伟",
        "w01",
        "identities/deepface_p01/img1.jpg",
        "identities/deepface_p01/img2.jpg",
        None,
        "st-01",
    ),
    Person(
        "S002",
        "李娜",
        "w01",
        "identities/fr_obama/obama.jpg",
        "identities/fr_obama/obama2.jpg",
        None,
        "st-01",
    ),
    Person("S003", "王强", "w02", None, None, "finger-s003", "st-01"),
    Person(
        "S004",
        "刘洋",
        "w02",
        "identities/fr_biden/biden.jpg",
        "identities/fr_biden/biden2.jpg",
        "finger-s004",
        "st-01",
    ),
    Person(
        "S005",
        "陈静",
        "w03",
        "identities/of_lennon/lennon-1.jpg",
        "identities/of_lennon/lennon-2.jpg",
        None,
        "st-02",
    ),
    Person("S006", "赵敏", "w03", "spoof/image_T1.jpg", "spoof/image_T1.jpg", None, "st-02"),
)
BY_ID = {p.staff_id: p for p in STAFF}
# The directory: departments, their windows (id: name, department) and the devices.
DEPARTMENTS = {"rsj": "人力资源和社会保障局", "zrzy": "自然资源局", "ybj": "医疗保障局"}
WINDOWS = {
    "w01": ("社保窗口", "rsj"),
    "w02": ("不动产登记窗口", "zrzy"),
    "w03": ("医保窗口", "ybj"),
}
STATIONS = {"st-01": "东门考勤机", "st-02": "西门考勤机"}
STRANGER = "unknown/carell.jpg"
SPOOF_PHOTO = "spoof/image_F2.jpg"  # a photo of S006 held up to the camera
WORKSTATIONS = {"ws-01": "S001", "ws-04": "S004"}


def at(hh: int, mm: int) -> datetime:
    return datetime.combine(DAY, time(hh, mm), ZONE)


@dataclass(frozen=True)
class Step:
    """One thing that happens at the hall, at a local time."""

    at: datetime
    kind: str  # face | finger | stranger | spoof | key | cut | restore
    staff_id: str | None = None
    keys: str | None = None
    note: str = ""


def _punches(hh: int, mm: int, order: list[str]) -> list[Step]:
    return [
        Step(at(hh, mm + i), "finger" if BY_ID[s].photo is None else "face", s)
        for i, s in enumerate(order)
    ]


DAY_PLAN: tuple[Step, ...] = tuple(
    sorted(
        [
            *_punches(8, 51, ["S001", "S005", "S003", "S006", "S004"]),
            Step(
                at(9, 12), "face", "S002", note="late arrival: 7 minutes after the 5-minute grace"
            ),
            Step(at(9, 30), "stranger", note="a stranger at the device"),
            Step(
                at(10, 0), "key", "S003", keys="g 1 4", note="going out: outing, 60 minutes allowed"
            ),
            Step(at(10, 1), "finger", "S003"),
            Step(at(10, 30), "cut", note="st-02 drops off the network"),
            Step(at(11, 5), "spoof", "S006", note="a photo of S006 held up to st-01"),
            Step(at(11, 26), "finger", "S003", note="back 25 minutes late: the outing ran over"),
            *_punches(12, 1, ["S001", "S002", "S005", "S003", "S004", "S006"]),
            *_punches(13, 24, ["S001", "S002", "S005", "S003", "S004", "S006"]),
            Step(at(15, 0), "restore", note="st-02 back on the network: it catches up"),
            *_punches(17, 1, ["S001", "S002", "S005", "S003", "S004", "S006"]),
        ],
        key=lambda s: s.at,
    )
)
START, END = at(8, 45), at(17, 45)

# Workstation use (who is at the desk, and in which app); elsewhere the desk is empty.
DESK_USE = {
    "ws-01": [(at(8, 53), at(12, 0), "wps"), (at(13, 26), at(17, 0), "wps")],
    "ws-04": [
        (at(8, 57), at(12, 4), "wps"),
        (at(13, 29), at(14, 0), "wps"),
        (at(14, 0), at(14, 40), "bilibili"),  # non-work: video for 40 minutes
        (at(14, 40), at(17, 3), "wps"),
    ],
}

# What the report must show: (staff, rule) violations, and other findings.
PLANTED_VIOLATIONS = {
    ("S002", "late"),
    ("S003", "outing_overdue"),
    ("S004", "nonwork_session"),
    ("S006", "spoof"),
}


def policy_toml() -> str:
    """The regime: every value the default but the site's zone (who works where is the
    directory's, see `staff_file`)."""
    return (
        "# The demo hall's policy (every other value is the default regime).\n"
        f'[sites.{SITE}]\ntimezone = "{ZONE.key}"\n'
    )


def staff_file() -> str:
    """The hall's staff as an HR system exports them (CSV with Chinese headings)."""
    rows = [f"{p.staff_id},{p.name},{WINDOWS[p.window][1]},{p.window},窗口受理员" for p in STAFF]
    return "\n".join(["工号,姓名,部门,窗口,岗位", *rows]) + "\n"
