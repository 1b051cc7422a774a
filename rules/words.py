"""The words people read for every code: rules, statuses, states, actions, kinds, ratings.

Managers read Chinese first (English selectable), words, never codes. Each family is a
table of code -> {"zh": ..., "en": ...} and a function `<family>_word(code, language)`;
a code a table does not know passes through unchanged (a rating band the hall named
itself, a code from a newer device), so showing a word never fails. JSON output keeps
the codes; text, spreadsheets and HTML show these words.

To add a code: add its row to the family's table here (tests/test_words.py checks that
every code of the contract and the catalogue has a word in both languages).
"""

from __future__ import annotations

from typing import Literal

from rules.policy import UNREGISTERED_OUTING

Language = Literal["zh", "en"]
Words = dict[str, dict[str, str]]

# Each rule of the catalogue (rules/policy.py RuleId; docs/rules.md), with the rule that
# is judged only when the hall turns it on.
RULES: Words = {
    "late": {"zh": "迟到", "en": "late arrival"},
    "early_departure": {"zh": "早退", "en": "early departure"},
    "missing_punch": {"zh": "漏打卡", "en": "missing punch"},
    "absence": {"zh": "旷工", "en": "absence"},
    "outing_overdue": {"zh": "外出超时", "en": "overdue from going out"},
    "away_from_post": {"zh": "离岗", "en": "away from post"},
    "nonwork_session": {"zh": "非工作用机", "en": "non-work computer use"},
    "nonwork_day": {"zh": "全天非工作用机超时", "en": "non-work computer use all day"},
    "spoof": {"zh": "冒用/代打卡嫌疑", "en": "suspected spoofed or proxy punch"},
    "observed_away": {"zh": "离岗（巡查）", "en": "away from post (observed)"},
    "dress": {"zh": "着装/工牌不规范", "en": "dress or badge not as required"},
    "eating_chatting": {"zh": "窗口吃东西/闲聊", "en": "eating or chatting at the window"},
    "phone_use": {"zh": "玩手机", "en": "playing with a phone"},
    "attitude": {"zh": "服务态度", "en": "service attitude"},
    "complaint_upheld": {"zh": "投诉属实", "en": "complaint upheld"},
    "window_untidy": {"zh": "窗口不整洁", "en": "window untidy"},
    "duty_absent": {"zh": "值班缺岗", "en": "absent from duty"},
    UNREGISTERED_OUTING: {"zh": "未登记外出", "en": "going out without registering"},
}

STATUSES: Words = {  # of a violation
    "open": {"zh": "待处理", "en": "open"},
    "corrected": {"zh": "已纠正", "en": "corrected"},
    "voided": {"zh": "已撤销", "en": "voided"},
}

SEVERITIES: Words = {
    "info": {"zh": "提示", "en": "information"},
    "minor": {"zh": "一般", "en": "minor"},
    "serious": {"zh": "严重", "en": "serious"},
}

# Where a person is now (rules/inspection.py StaffLine.status).
STATES: Words = {
    "at post": {"zh": "在岗", "en": "at post"},
    "out": {"zh": "外出", "en": "out"},
    "away": {"zh": "离岗", "en": "away"},
    "absent": {"zh": "缺勤", "en": "absent"},
    "on leave": {"zh": "请假", "en": "on leave"},
    "not yet in": {"zh": "未上班", "en": "not yet in"},
    "off duty": {"zh": "已下班", "en": "off duty"},
    "missing clock-out": {"zh": "未打下班卡", "en": "missing clock-out"},
    "before go-live": {"zh": "系统未启用", "en": "before go-live"},
    "not employed": {"zh": "不在职", "en": "not employed"},
}

# What a person did (rules/manager_actions.py ActionKind), as the audit trail shows it.
ACTIONS: Words = {
    "correct": {"zh": "纠正通知", "en": "correction notice"},
    "void": {"zh": "撤销", "en": "void"},
    "leave_add": {"zh": "请假登记", "en": "leave granted"},
    "leave_cancel": {"zh": "取消请假", "en": "leave cancelled"},
    "staff_add": {"zh": "新增人员", "en": "staff added"},
    "staff_edit": {"zh": "修改人员", "en": "staff edited"},
    "staff_deactivate": {"zh": "人员离职", "en": "staff deactivated"},
    "window_add": {"zh": "新增窗口", "en": "window added"},
    "window_edit": {"zh": "修改窗口", "en": "window edited"},
    "department_add": {"zh": "新增科室", "en": "department added"},
    "department_edit": {"zh": "修改科室", "en": "department edited"},
    "device_register": {"zh": "登记设备", "en": "device registered"},
    "device_retire": {"zh": "停用设备", "en": "device retired"},
    "enrol": {"zh": "采集生物特征", "en": "biometrics enrolled"},
    "lookalike_decide": {"zh": "裁定相似人脸", "en": "lookalike pair decided"},
    "finding_add": {"zh": "巡查记录", "en": "patrol finding recorded"},
    "alert_ack": {"zh": "确认告警", "en": "alert acknowledged"},
    "alert_clear": {"zh": "关闭告警", "en": "alert cleared"},
    "request_raise": {"zh": "提交申请", "en": "request raised"},
    "request_approve": {"zh": "批准申请", "en": "request approved"},
    "request_reject": {"zh": "驳回申请", "en": "request rejected"},
    "duty_set": {"zh": "排班", "en": "duty assigned"},
    "duty_remove": {"zh": "取消排班", "en": "duty removed"},
}

REQUEST_KINDS: Words = {  # rules/requests.py RequestKind
    "punch": {"zh": "补卡", "en": "punch correction"},
    "appeal": {"zh": "申诉", "en": "appeal"},
}

REQUEST_STATUSES: Words = {  # rules/requests.py RequestStatus
    "pending": {"zh": "待审批", "en": "pending"},
    "approved": {"zh": "已批准", "en": "approved"},
    "rejected": {"zh": "已驳回", "en": "rejected"},
}

DUTY_WORDS: Words = {  # rules/rosters.py Duty
    "leader": {"zh": "领导带班", "en": "leader on duty"},
    "front_desk": {"zh": "总服务台值班", "en": "front desk"},
}

LEAVE_KINDS: Words = {  # mqtt/schema.py LeaveKind
    "outing": {"zh": "因公外出", "en": "outing"},
    "personal": {"zh": "事假", "en": "personal leave"},
    "sick": {"zh": "病假", "en": "sick leave"},
    "official": {"zh": "公假", "en": "official leave"},
}

PUNCHES: Words = {  # mqtt/schema.py Action
    "clock_in": {"zh": "上班打卡", "en": "clock in"},
    "clock_out": {"zh": "下班打卡", "en": "clock out"},
    "leave_out": {"zh": "外出打卡", "en": "going out"},
    "leave_return": {"zh": "返回打卡", "en": "back"},
}

METHODS: Words = {  # mqtt/schema.py Method
    "face": {"zh": "人脸", "en": "face"},
    "finger": {"zh": "指纹", "en": "fingerprint"},
    "face+finger": {"zh": "人脸+指纹", "en": "face and fingerprint"},
    "attested": {"zh": "补卡", "en": "attested (punch correction)"},  # rules/requests.py
}

DEVICE_STATES: Words = {
    "online": {"zh": "在线", "en": "online"},
    "offline": {"zh": "离线", "en": "offline"},
    "never seen": {"zh": "从未上线", "en": "never seen"},
    "retired": {"zh": "已停用", "en": "retired"},
    "unregistered": {"zh": "未登记", "en": "unregistered"},
    # why a device went offline (rules/inspection.py DeviceLine.why)
    "connection lost": {"zh": "连接中断", "en": "connection lost"},
    "the broker went away": {"zh": "消息服务器中断", "en": "the broker went away"},
    "shut down": {"zh": "已关机", "en": "shut down"},
    "last seen": {"zh": "最后在线", "en": "last seen"},
    "reported": {"zh": "上报于", "en": "reported"},
}

ROLES: Words = {
    "station": {"zh": "考勤终端", "en": "station"},
    "agent": {"zh": "工位电脑", "en": "workstation agent"},
    "rules": {"zh": "规则服务", "en": "rules service"},
}

ALERTS: Words = {  # mqtt/schema.py AlertKind
    "spoof_suspected": {"zh": "疑似假体攻击", "en": "spoof suspected"},
    "proxy_punch": {"zh": "疑似代打卡", "en": "proxy punch suspected"},
    "unknown_face": {"zh": "陌生人脸", "en": "unknown face"},
    "sensor_fault": {"zh": "指纹模块故障", "en": "fingerprint sensor fault"},
    "camera_fault": {"zh": "摄像头故障", "en": "camera fault"},
    "tamper": {"zh": "设备被拆动", "en": "tampering"},
    "disk_full": {"zh": "磁盘已满", "en": "disk full"},
    "clock_fault": {"zh": "时钟故障", "en": "clock fault"},
    "duplicate_device": {"zh": "设备编号重复", "en": "duplicate device id"},
    "probe_fault": {"zh": "工位电脑无法采集", "en": "workstation probe fault"},
    "software_fault": {
        "zh": "设备程序故障（已自动重启）",
        "en": "device software fault (restarted)",
    },
}

NOTICES: Words = {  # rules/notify.py NoticeEvent
    "serious_violation": {"zh": "严重违规", "en": "serious violation"},
    "device_offline": {"zh": "设备离线", "en": "device offline"},
    "clock_unsynced": {"zh": "设备时钟未同步", "en": "device clock not synchronised"},
    "disk_full": {"zh": "设备磁盘已满", "en": "device disk full"},
    "duplicate_device": {"zh": "设备编号重复", "en": "duplicate device id"},
}

# Where an alert is in its lifecycle (rules/alerts.py).
ALERT_STATES: Words = {
    "open": {"zh": "待处理", "en": "open"},
    "acknowledged": {"zh": "已确认", "en": "acknowledged"},
    "cleared": {"zh": "已关闭", "en": "cleared"},
}

# Where a lookalike pair is (rules/gallery_store.py LookalikeState).
LOOKALIKE_STATES: Words = {
    "open": {"zh": "待裁定", "en": "open"},
    "decided": {"zh": "已裁定", "en": "decided"},
}

# The default rating bands (rules/policy.py); a hall's own band names pass through.
RATINGS: Words = {
    "excellent": {"zh": "优秀", "en": "excellent"},
    "good": {"zh": "良好", "en": "good"},
    "pass": {"zh": "合格", "en": "pass"},
    "basic_pass": {"zh": "基本合格", "en": "basic pass"},  # the annual review's default bands
    "fail": {"zh": "不合格", "en": "fail"},
}

# What the inspection counts besides states and rules.
COUNTS: Words = {
    "devices offline": {"zh": "离线设备", "en": "devices offline"},
    "device clocks in doubt": {"zh": "时钟存疑设备", "en": "device clocks in doubt"},
    "open items": {"zh": "待办事项", "en": "open items"},
}

FAMILIES: dict[str, Words] = {
    "rule": RULES,
    "status": STATUSES,
    "severity": SEVERITIES,
    "state": STATES,
    "action": ACTIONS,
    "leave_kind": LEAVE_KINDS,
    "punch": PUNCHES,
    "method": METHODS,
    "device_state": DEVICE_STATES,
    "role": ROLES,
    "alert": ALERTS,
    "notice": NOTICES,
    "alert_state": ALERT_STATES,
    "lookalike_state": LOOKALIKE_STATES,
    "rating": RATINGS,
    "count": COUNTS,
    "request_kind": REQUEST_KINDS,
    "request_status": REQUEST_STATUSES,
    "duty": DUTY_WORDS,
}


def word(table: Words, code: object, language: Language) -> str:
    """The word for `code` in `language`; the code itself when the table has none."""
    text = str(code)
    return table.get(text, {}).get(language, text)


def rule_word(code: object, language: Language = "zh") -> str:
    return word(RULES, code, language)


def status_word(code: object, language: Language = "zh") -> str:
    return word(STATUSES, code, language)


def severity_word(code: object, language: Language = "zh") -> str:
    return word(SEVERITIES, code, language)


def state_word(code: object, language: Language = "zh") -> str:
    return word(STATES, code, language)


def action_word(code: object, language: Language = "zh") -> str:
    return word(ACTIONS, code, language)


def leave_kind_word(code: object, language: Language = "zh") -> str:
    return word(LEAVE_KINDS, code, language)


def punch_word(code: object, language: Language = "zh") -> str:
    return word(PUNCHES, code, language)


def method_word(code: object, language: Language = "zh") -> str:
    return word(METHODS, code, language)


def device_state_word(code: object, language: Language = "zh") -> str:
    return word(DEVICE_STATES, code, language)


def role_word(code: object, language: Language = "zh") -> str:
    return word(ROLES, code, language)


def alert_word(code: object, language: Language = "zh") -> str:
    return word(ALERTS, code, language)


def notice_word(code: object, language: Language = "zh") -> str:
    return word(NOTICES, code, language)


def rating_word(code: object, language: Language = "zh") -> str:
    return word(RATINGS, code, language)


def request_kind_word(code: object, language: Language = "zh") -> str:
    return word(REQUEST_KINDS, code, language)


def request_status_word(code: object, language: Language = "zh") -> str:
    return word(REQUEST_STATUSES, code, language)


def say(language: Language, zh: str, en: str) -> str:
    """A sentence in the reader's language (a refusal, a file's wrong row)."""
    return zh if language == "zh" else en


def duty_word(code: object, language: Language = "zh") -> str:
    return word(DUTY_WORDS, code, language)


def count_word(code: object, language: Language = "zh") -> str:
    """A key of the inspection's counts: a state, a rule (said as a count of violations, so
    that the state 离岗 and the rule 离岗 stay apart), or what else it counts."""
    text = str(code)
    if text in RULES:
        return word(RULES, text, language) + ("次数" if language == "zh" else " (violations)")
    return word(STATES if text in STATES else COUNTS, text, language)


# Labels of the reports, in each language.
LABELS: Words = {
    "daily inspection": {"zh": "每日巡查", "en": "Daily inspection"},
    "monthly assessment": {"zh": "月度考核", "en": "Monthly assessment"},
    "as of": {"zh": "截至", "en": "as of"},
    "site": {"zh": "大厅", "en": "site"},
    "all sites": {"zh": "全部大厅", "en": "all sites"},
    "window": {"zh": "窗口", "en": "Window"},
    "no punches": {"zh": "无打卡", "en": "no punches"},
    "time in doubt": {"zh": "时间存疑", "en": "time in doubt"},
    "offline": {"zh": "离线设备与工位电脑", "en": "Devices and agents offline"},
    "device list": {"zh": "设备", "en": "Devices"},
    "clocks": {"zh": "时钟存疑的设备", "en": "Device clocks in doubt"},
    "open items": {"zh": "待办事项", "en": "Open items"},
    "none": {"zh": "无", "en": "none"},
    "since": {"zh": "自", "en": "since"},
    "version": {"zh": "版本", "en": "version"},
    "backlog": {"zh": "积压", "en": "backlog"},
    "unknown": {"zh": "未知", "en": "unknown"},
    "clock synced": {"zh": "时钟已同步", "en": "clock synced"},
    "clock not synced": {"zh": "时钟未同步", "en": "clock NOT synced"},
    "clock unknown": {"zh": "时钟状态未知", "en": "clock unknown"},
    # what the centre has of a device's journal (rules/render.py delivery_text)
    "delivered up to": {"zh": "已送达至", "en": "delivered up to"},
    "missing entries": {"zh": "缺 {n} 条", "en": "{n} missing"},
    "lost entries": {"zh": "已丢失 {n} 条", "en": "{n} lost"},
    "last resend": {"zh": "最近补发", "en": "last resend"},
    "evidence": {"zh": "证据", "en": "evidence"},
    "ids": {"zh": "编号", "en": "ids"},
    "no evidence": {"zh": "无（未打卡）", "en": "none (no punch)"},
    "escalated": {"zh": "已升级", "en": "ESCALATED"},
    "veto": {"zh": "一票否决", "en": "VETO"},
    "staff heading": {"zh": "人员", "en": "Staff"},
    "windows heading": {"zh": "窗口", "en": "Windows"},
    # what a listing counts ("3 violations")
    "violations": {"zh": "条违规", "en": "violations"},
    "devices": {"zh": "台设备", "en": "devices"},
    "lookalike pairs": {"zh": "对相似人脸", "en": "lookalike pairs"},
    "leave records": {"zh": "条请假记录", "en": "leave records"},
    "patrol findings": {"zh": "条巡查记录", "en": "patrol findings"},
    "requests": {"zh": "条申请", "en": "requests"},
    "duty entries": {"zh": "条排班", "en": "duty entries"},
    "on duty": {"zh": "今日值班", "en": "On duty today"},
    "all sessions": {"zh": "全天", "en": "all sessions"},
    "not posted": {"zh": "今日无岗位", "en": "not posted today"},  # a duty holder, no window
    "actions": {"zh": "条操作记录", "en": "actions"},
    "entered by": {"zh": "录入人", "en": "entered by"},
    "minutes": {"zh": "分钟", "en": "min"},
    # notifications (hallwatch rules notifications)
    "sent": {"zh": "已发送", "en": "sent"},
    "waiting": {"zh": "待发送", "en": "waiting"},
    "failing": {"zh": "发送失败", "en": "failing"},
    "last sent": {"zh": "最近发送", "en": "last sent"},
    "next attempt": {"zh": "下次尝试", "en": "next attempt"},
    "in a summary": {"zh": "合并发送", "en": "in a summary"},
    "attempts": {"zh": "次尝试", "en": "attempts"},
    "alerts": {"zh": "条告警", "en": "alerts"},
    "cleared by itself": {"zh": "已自行恢复", "en": "cleared by itself"},
    # the annual review and the red and black lists (rules/annual.py)
    "annual review": {"zh": "年度考核", "en": "Annual review"},
    "not scored": {"zh": "未考核", "en": "not scored"},
    "annual rule": {
        "zh": "年度得分为已考核月份的平均分",
        "en": "the year's score is the mean of its scored months",
    },
    "veto cap": {"zh": "有否决月份的，等次最高为", "en": "a vetoed month caps the rating at"},
    "lists": {"zh": "红黑榜", "en": "Red and black lists"},
    "red list": {"zh": "红榜", "en": "Red list"},
    "black list": {"zh": "黑榜", "en": "Black list"},
    "sheet rule": {
        "zh": "满分 100 分；严重违规一票否决",
        "en": "100 points; a serious violation vetoes",
    },
}


def alert_state_word(code: object, language: Language = "zh") -> str:
    return word(ALERT_STATES, code, language)


def label(key: str, language: Language = "zh") -> str:
    """A fixed label of the reports ("Open items") in `language`."""
    return word(LABELS, key, language)


def lookalike_state_word(code: object, language: Language = "zh") -> str:
    return word(LOOKALIKE_STATES, code, language)
