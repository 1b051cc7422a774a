"""The console's own words (page titles, buttons, messages) in Chinese and English.

Templates call `t("key")`; a page adds its keys to `WORDS` (one entry per key, both
languages). The words for the regime itself (rule codes, statuses, actions: 迟到, 早退 ...)
are rules/words.py's, shared with the CLI: do not repeat them here.
"""

from __future__ import annotations

from typing import get_args

from hallwatch.console.config import Language
from hallwatch.console.manager_words import MANAGER_WORDS
from hallwatch.console.request_words import REQUEST_WORDS

LANGUAGES: tuple[Language, ...] = get_args(Language)

WORDS: dict[str, dict[Language, str]] = {
    # -- layout
    "nav.home": {"zh-CN": "首页", "en": "Home"},
    "nav.live": {"zh-CN": "实时大厅", "en": "Live hall"},
    "nav.inspection": {"zh-CN": "每日巡查", "en": "Daily inspection"},
    "nav.violations": {"zh-CN": "违规", "en": "Violations"},
    "nav.assessment": {"zh-CN": "月度考核", "en": "Monthly assessment"},
    "nav.directory": {"zh-CN": "人员与设备", "en": "People and devices"},
    "sign_out": {"zh-CN": "退出", "en": "Sign out"},
    "language": {"zh-CN": "语言", "en": "Language"},
    "role.viewer": {"zh-CN": "查看", "en": "Viewer"},
    "role.inspector": {"zh-CN": "巡查员", "en": "Inspector"},
    "role.manager": {"zh-CN": "大厅管理员", "en": "Manager"},
    "role.admin": {"zh-CN": "系统管理员", "en": "Administrator"},
    "sites.all": {"zh-CN": "全部大厅", "en": "All halls"},
    # -- signing in
    "sign_in": {"zh-CN": "登录", "en": "Sign in"},
    "sign_in.title": {"zh-CN": "登录大厅管理平台", "en": "Sign in to the hall console"},
    "sign_in.user": {"zh-CN": "账号", "en": "Account"},
    "sign_in.password": {"zh-CN": "密码", "en": "Password"},
    "sign_in.refused": {"zh-CN": "账号或密码错误。", "en": "Wrong account name or password."},
    "sign_in.throttled": {
        "zh-CN": "登录失败次数过多，请 {minutes} 分钟后再试。",
        "en": "Too many failed sign-ins: try again in {minutes} minutes.",
    },
    "sign_in.expired": {
        "zh-CN": "表单已过期，请重新登录。",
        "en": "The form expired: please sign in again.",
    },
    # -- home
    "home.title": {"zh-CN": "首页", "en": "Home"},
    "home.welcome": {"zh-CN": "欢迎，{name}", "en": "Welcome, {name}"},
    "home.role": {"zh-CN": "角色", "en": "Role"},
    "home.sites": {"zh-CN": "负责大厅", "en": "Halls"},
    # -- the live hall (pages/hall.py)
    "hall.wall": {"zh-CN": "大屏模式", "en": "Wall mode"},
    "hall.as_of": {"zh-CN": "更新于", "en": "As of"},
    "hall.punches": {"zh-CN": "今日打卡", "en": "Punches today"},
    "hall.violations": {"zh-CN": "今日违规", "en": "Violations today"},
    "hall.devices": {"zh-CN": "设备", "en": "Devices"},
    "hall.backlog": {"zh-CN": "积压", "en": "backlog"},
    "hall.back_by": {"zh-CN": "预计 {time} 返回", "en": "back by {time}"},
    "hall.nobody": {"zh-CN": "今日无人", "en": "nobody today"},
    "hall.no_windows": {"zh-CN": "此大厅尚无窗口。", "en": "This hall has no windows yet."},
    "hall.no_violations": {"zh-CN": "暂无违规", "en": "none so far"},
    "hall.no_devices": {"zh-CN": "无设备", "en": "no devices"},
    # -- people and devices (pages/people.py)
    "people.staff": {"zh-CN": "人员", "en": "Staff"},
    "people.devices": {"zh-CN": "设备", "en": "Devices"},
    "people.name": {"zh-CN": "姓名", "en": "Name"},
    "people.id": {"zh-CN": "工号", "en": "Staff id"},
    "people.department": {"zh-CN": "科室", "en": "Department"},
    "people.window": {"zh-CN": "窗口", "en": "Window"},
    "people.position": {"zh-CN": "职务", "en": "Position"},
    "people.device": {"zh-CN": "设备", "en": "Device"},
    "people.kind": {"zh-CN": "类型", "en": "Kind"},
    "people.location": {"zh-CN": "位置", "en": "Location"},
    "people.state": {"zh-CN": "状态", "en": "State"},
    "people.last_seen": {"zh-CN": "最后在线", "en": "Last seen"},
    "people.version": {"zh-CN": "版本", "en": "Version"},
    "people.backlog": {"zh-CN": "积压", "en": "Backlog"},
    "people.clock": {"zh-CN": "时钟", "en": "Clock"},
    "people.gallery": {"zh-CN": "特征库版本", "en": "Gallery"},
    "people.erasures": {"zh-CN": "待删除", "en": "Erasures pending"},
    "people.last_error": {"zh-CN": "最近错误", "en": "Last error"},
    "people.no_staff": {"zh-CN": "此大厅尚无人员。", "en": "No staff at this hall yet."},
    # -- errors
    "error.403": {"zh-CN": "无权访问此页面。", "en": "You may not open this page."},
    "error.404": {"zh-CN": "页面不存在。", "en": "There is no such page."},
    "error.back": {"zh-CN": "返回首页", "en": "Back to the home page"},
}
WORDS |= MANAGER_WORDS  # the manager's pages
WORDS |= REQUEST_WORDS  # requests and appeals (补卡与申诉)


def lang_of(value: str | None, default: Language) -> Language:
    """A language the console speaks: `value` if it is one, else `default`."""
    return value if value in LANGUAGES else default  # type: ignore[return-value]


def t(key: str, lang: Language, **values: object) -> str:
    """The words of `key` in `lang`, with `{name}` placeholders filled from `values`.

    A key without words is shown as itself, so a missing entry is seen, not hidden."""
    words = WORDS.get(key, {}).get(lang, key)
    return words.format(**values) if values else words
