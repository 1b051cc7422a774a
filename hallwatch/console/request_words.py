"""The words of the requests pages (补卡 and 申诉: pages/requests.py, pages/request_link.py),
merged into `i18n.WORDS`; the regime's own words (kinds, statuses, punches, rules) stay
rules/words.py's."""

from __future__ import annotations

from hallwatch.console.config import Language

REQUEST_WORDS: dict[str, dict[Language, str]] = {
    "nav.requests": {"zh-CN": "补卡与申诉", "en": "Requests"},
    # -- the list (pages/requests.py)
    "req.title": {"zh-CN": "补卡与申诉", "en": "Punch corrections and appeals"},
    "req.status": {"zh-CN": "状态", "en": "Status"},
    "req.person": {"zh-CN": "人员", "en": "Person"},
    "req.kind": {"zh-CN": "类别", "en": "Kind"},
    "req.asked": {"zh-CN": "申请内容", "en": "What is asked"},
    "req.reason": {"zh-CN": "理由", "en": "Reason"},
    "req.raised": {"zh-CN": "提交人与时间", "en": "Raised by, at"},
    "req.decision": {"zh-CN": "审批", "en": "Decision"},
    "req.decision_reason": {"zh-CN": "审批意见（必填）", "en": "Why (required)"},
    "req.approve": {"zh-CN": "批准", "en": "Approve"},
    "req.reject": {"zh-CN": "驳回", "en": "Reject"},
    "req.none": {"zh-CN": "没有符合条件的申请。", "en": "No requests match."},
    "req.all_months": {"zh-CN": "全部月份", "en": "Every month"},
    "req.via_link": {"zh-CN": "本人，经申请链接", "en": "themself, through a link"},
    "req.via_cli": {"zh-CN": "命令行", "en": "command line"},
    # -- raising one on a person's behalf
    "req.new": {"zh-CN": "代为提交补卡或申诉", "en": "Raise a request on a person's behalf"},
    "req.next": {"zh-CN": "下一步", "en": "Next"},
    "req.punch_at": {"zh-CN": "应打卡时间", "en": "When the punch was due"},
    "req.punch": {"zh-CN": "打卡类型", "en": "Punch"},
    "req.violation": {"zh-CN": "申诉的违规", "en": "The violation appealed"},
    "req.no_violations": {
        "zh-CN": "近两个月没有可申诉的违规。",
        "en": "No violation of the last two months to appeal.",
    },
    "req.submit": {"zh-CN": "提交", "en": "Raise"},
    "req.appeal_this": {"zh-CN": "申诉", "en": "Appeal"},
    "req.raised_ok": {
        "zh-CN": "已提交，等待大厅管理员审批。",
        "en": "Raised: it waits for a manager's decision.",
    },
    # -- request links
    "req.links": {"zh-CN": "本人申请链接", "en": "Links for a person's own requests"},
    "req.links_hint": {
        "zh-CN": "生成后把链接发给本人；本人无需账号即可提交补卡或申诉，{days} 天后失效。",
        "en": "Send the link to the person: without an account they raise their own "
        "requests with it; it expires after {days} days.",
    },
    "req.link_make": {"zh-CN": "生成链接", "en": "Make a link"},
    "req.link_new": {
        "zh-CN": "{name} 的申请链接（只显示这一次，请复制发送）：",
        "en": "The link for {name} (shown this once: copy it and send it):",
    },
    "req.link_expires": {"zh-CN": "失效时间", "en": "Expires"},
    "req.link_by": {"zh-CN": "生成人", "en": "Made by"},
    "req.link_revoke": {"zh-CN": "撤销链接", "en": "Revoke"},
    "req.links_none": {"zh-CN": "没有有效的申请链接。", "en": "No live links."},
    # -- the person's own page (pages/request_link.py)
    "link.title": {"zh-CN": "补卡与申诉", "en": "Punch correction or appeal"},
    "link.for": {"zh-CN": "{name}（{site}）", "en": "{name} ({site})"},
    "link.mine": {"zh-CN": "我的申请", "en": "My requests"},
    "link.unknown": {
        "zh-CN": "此链接无效。请向大厅管理员索取新的申请链接。",
        "en": "This link is not valid. Ask the hall's manager for a new one.",
    },
    "link.expired": {
        "zh-CN": "此链接已过期。请向大厅管理员索取新的申请链接。",
        "en": "This link has expired. Ask the hall's manager for a new one.",
    },
    "link.revoked": {
        "zh-CN": "此链接已被撤销。请向大厅管理员索取新的申请链接。",
        "en": "This link was revoked. Ask the hall's manager for a new one.",
    },
    "link.throttled": {
        "zh-CN": "无效链接打开次数过多，请 {minutes} 分钟后再试。",
        "en": "Too many invalid links opened: try again in {minutes} minutes.",
    },
    "link.not_yours": {
        "zh-CN": "只能对本人的违规提出申诉。",
        "en": "You can appeal only against your own violations.",
    },
}
