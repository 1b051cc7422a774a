"""A violation's detail in Chinese (rules/detail_words.py): every template the engine writes
is said, numbers, times and what people wrote kept; English stays the engine's."""

from __future__ import annotations

import pytest

from rules.detail_words import detail_words
from rules.directory import Directory
from rules.engine import evaluate_month
from rules.simulate import generate_month

SAID = [
    ("no punch in the session 09:00-12:00", "09:00-12:00 时段无打卡"),
    ("no clock-in for the session 13:30-17:00", "13:30-17:00 时段未打上班卡"),
    ("arrived 12 min late for the session 09:00-12:00", "09:00-12:00 时段迟到 12 分钟"),
    ("no clock-out for the session 13:30-17:00", "13:30-17:00 时段未打下班卡"),
    ("left 39 min before the end of the session 13:30-17:00", "13:30-17:00 时段早退 39 分钟"),
    (
        "clocked out at 10:02 and back at 10:40 without registering a going-out",
        "10:02 打下班卡、10:40 又打上班卡，未登记外出",
    ),
    (
        "going out (personal) at 10:00, allowed until 10:30: not back in the session 13:30-17:00",
        "10:00 外出登记（事假），应于 10:30 前返回：13:30-17:00 时段未返回",
    ),
    (
        "going out (outing) at 11:00, allowed until 11:30: back at 14:10, 40 min late for the "
        "session 13:30-17:00",
        "11:00 外出登记（因公外出），应于 11:30 前返回：14:10 才返回，13:30-17:00 时段迟到 40 分钟",
    ),
    (
        "going out (outing): back at 11:14, 15 min after the allowed 11:00",
        "外出登记（因公外出）：11:14 返回，超过应返回时间 11:00 15 分钟",
    ),
    (
        "going out (outing) at 10:00: not back (allowed until 11:00)",
        "10:00 外出登记（因公外出）：未返回（应于 11:00 前返回）",
    ),
    (
        "on duty (leader) in the session 09:00-12:00: present 0 of 180 min",
        "领导带班（09:00-12:00 时段）：在岗 0 / 180 分钟",
    ),
    (
        "workstation idle 35 min from 14:20 while clocked in",
        "在岗期间工位电脑自 14:20 起空闲 35 分钟",
    ),
    ("non-work computer use 75 min in the day", "全天非工作用途使用电脑 75 分钟"),
    (
        "non-work computer use 12 min in the session 09:00-12:00",
        "09:00-12:00 时段非工作用途使用电脑 12 分钟",
    ),
    (
        "spoof_suspected at st-01: 5 alerts from 10:00:00 to 10:00:04, one incident: photo",
        "st-01 疑似假体攻击：10:00:00 至 10:00:04 共 5 次告警，计为一次：photo",
    ),
    ("proxy_punch at st-01: second face in frame", "st-01 疑似代打卡：second face in frame"),
    (
        "observed by zhao via console: 窗口内玩手机 (photo)",
        "巡查记录（zhao via console）：窗口内玩手机（附照片）",
    ),
    # What is added at the end: a clock in doubt, a void, a correction.
    (
        "arrived 5 min late for the session 09:00-12:00 (time in doubt: st-01 clock off by "
        "+95.0 s)",
        "09:00-12:00 时段迟到 5 分钟（时间存疑：st-01 时钟偏差 +95.0 秒）",
    ),
    (
        "no punch in the session 09:00-12:00 [voided by li: 监控核实 (appeal upheld)]",
        "09:00-12:00 时段无打卡【已由 li 撤销：监控核实 (appeal upheld)】",
    ),
    (
        "arrived 3 min late for the session 09:00-12:00 (time in doubt: st-01 clock not "
        "synchronised) [correction recorded by wang: 已谈话]",
        "09:00-12:00 时段迟到 3 分钟（时间存疑：st-01 时钟未同步）【已由 wang 记录纠正：已谈话】",
    ),
]


@pytest.mark.parametrize(("english", "chinese"), SAID)
def test_each_template_is_said_in_chinese(english, chinese):
    assert detail_words(english) == chinese
    assert detail_words(english, "en") == english


def test_a_detail_no_template_knows_is_shown_as_it_is():
    assert detail_words("something an older release wrote") == "something an older release wrote"
    assert detail_words("") == ""


def test_every_detail_of_a_simulated_month_is_said_in_chinese():
    sim = generate_month("2026-11", 120, seed=5)
    policy = sim.policy()
    records = evaluate_month(policy, Directory.from_policy(policy), "2026-11", sim.events)
    assert len({r.rule for r in records}) >= 7
    unsaid = [r.detail for r in records if detail_words(r.detail) == r.detail]
    assert unsaid == []
    assert not [r for r in records if "session" in detail_words(r.detail)]
