"""A violation's detail as a manager reads it: the engine writes it in English (stable text,
kept in the store and compared by replays); this says it in Chinese, sentence by sentence
from the engine's own templates (rules/engine.py, rules/patrol.py), keeping the numbers,
times and what people wrote. A detail no template matches (one stored by an older
release) is shown as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mqtt.schema import AlertKind
from rules.words import Language, alert_word, duty_word, leave_kind_word

HM = r"(\d\d:\d\d)"
SESSION = rf"session {HM}-{HM}"
N = r"(-?\d+)"

Template = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _session(m: re.Match[str], first: int) -> str:
    return f"{m[first]}-{m[first + 1]} 时段"


def _many(m: re.Match[str]) -> str:
    if m["count"] is None:
        return ""
    return f"{m['t1']} 至 {m['t2']} 共 {m['count']} 次告警，计为一次："


TEMPLATES: tuple[Template, ...] = (
    (re.compile(rf"no punch in the {SESSION}"), lambda m: f"{_session(m, 1)}无打卡"),
    (re.compile(rf"no clock-in for the {SESSION}"), lambda m: f"{_session(m, 1)}未打上班卡"),
    (
        re.compile(rf"arrived {N} min late for the {SESSION}"),
        lambda m: f"{_session(m, 2)}迟到 {m[1]} 分钟",
    ),
    (re.compile(rf"no clock-out for the {SESSION}"), lambda m: f"{_session(m, 1)}未打下班卡"),
    (
        re.compile(rf"left {N} min before the end of the {SESSION}"),
        lambda m: f"{_session(m, 2)}早退 {m[1]} 分钟",
    ),
    (
        re.compile(rf"clocked out at {HM} and back at {HM} without registering a going-out"),
        lambda m: f"{m[1]} 打下班卡、{m[2]} 又打上班卡，未登记外出",
    ),
    (
        re.compile(rf"going out \((\w+)\) at {HM}, allowed until {HM}: not back in the {SESSION}"),
        lambda m: (
            f"{m[2]} 外出登记（{leave_kind_word(m[1])}），应于 {m[3]} 前返回：{_session(m, 4)}未返回"
        ),
    ),
    (
        re.compile(
            rf"going out \((\w+)\) at {HM}, allowed until {HM}: back at {HM}, {N} min late "
            rf"for the {SESSION}"
        ),
        lambda m: (
            f"{m[2]} 外出登记（{leave_kind_word(m[1])}），应于 {m[3]} 前返回：{m[4]} 才返回，"
            f"{_session(m, 6)}迟到 {m[5]} 分钟"
        ),
    ),
    (
        re.compile(rf"going out \((\w+)\): back at {HM}, {N} min after the allowed {HM}"),
        lambda m: (
            f"外出登记（{leave_kind_word(m[1])}）：{m[2]} 返回，超过应返回时间 {m[4]} {m[3]} 分钟"
        ),
    ),
    (
        re.compile(rf"going out \((\w+)\) at {HM}: not back \(allowed until {HM}\)"),
        lambda m: f"{m[2]} 外出登记（{leave_kind_word(m[1])}）：未返回（应于 {m[3]} 前返回）",
    ),
    (
        re.compile(rf"on duty \((\w+)\) in the {SESSION}: present {N} of {N} min"),
        lambda m: f"{duty_word(m[1])}（{_session(m, 2)}）：在岗 {m[4]} / {m[5]} 分钟",
    ),
    (
        re.compile(rf"workstation idle {N} min from {HM} while clocked in"),
        lambda m: f"在岗期间工位电脑自 {m[2]} 起空闲 {m[1]} 分钟",
    ),
    (
        re.compile(rf"non-work computer use {N} min in the day"),
        lambda m: f"全天非工作用途使用电脑 {m[1]} 分钟",
    ),
    (
        re.compile(rf"non-work computer use {N} min in the {SESSION}"),
        lambda m: f"{_session(m, 2)}非工作用途使用电脑 {m[1]} 分钟",
    ),
    (
        re.compile(
            rf"(?P<kind>{'|'.join(AlertKind)}) at (?P<device>[A-Za-z0-9_.-]+): "
            r"(?:(?P<count>\d+) alerts from "
            r"(?P<t1>\d\d:\d\d:\d\d) to (?P<t2>\d\d:\d\d:\d\d), one incident: )?(?P<message>.*)",
            re.DOTALL,
        ),
        lambda m: f"{m['device']} {alert_word(m['kind'])}：{_many(m)}{m['message']}",
    ),
    (
        re.compile(r"observed by (?P<by>.+?): (?P<note>.*?)(?P<photo> \(photo\))?", re.DOTALL),
        lambda m: f"巡查记录（{m['by']}）：{m['note']}{'（附照片）' if m['photo'] else ''}",
    ),
)

# What the engine adds at the end of a detail, last first.
DOUBT = re.compile(r"(?P<rest>.*) \(time in doubt: (?P<why>.*)\)", re.DOTALL)
MARKS = (
    (re.compile(r"(?P<rest>.*) \[voided by (?P<by>[^:\]]+): (?P<why>.*)\]", re.DOTALL), "撤销"),
    (
        re.compile(
            r"(?P<rest>.*) \[correction recorded by (?P<by>[^:\]]+): (?P<why>.*)\]", re.DOTALL
        ),
        "记录纠正",
    ),
)
CLOCK = re.compile(
    r"(?P<device>\S+) clock (?:(?P<unsynced>not synchronised)|off by (?P<off>\S+) s)"
)


def _doubt(why: str) -> str:
    parts = []
    for part in why.split("; "):
        m = CLOCK.fullmatch(part)
        if m is None:
            parts.append(part)
        elif m["unsynced"]:
            parts.append(f"{m['device']} 时钟未同步")
        else:
            parts.append(f"{m['device']} 时钟偏差 {m['off']} 秒")
    return "；".join(parts)


def detail_words(detail: str, language: Language = "zh") -> str:
    """`detail` in `language` (the engine's English as it is for "en")."""
    if language != "zh" or not detail:
        return detail
    ends = []
    for pattern, did in MARKS:
        if m := pattern.fullmatch(detail):
            detail = m["rest"]
            ends.append(f"【已由 {m['by']} {did}：{m['why']}】")
    if m := DOUBT.fullmatch(detail):
        detail = m["rest"]
        ends.insert(0, f"（时间存疑：{_doubt(m['why'])}）")
    for pattern, say in TEMPLATES:
        if m := pattern.fullmatch(detail):
            detail = say(m)
            break
    return detail + "".join(ends)
