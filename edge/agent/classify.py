"""Application categories: the central policy's rules (retained `config`), a local default.

A rule is a regular expression over the process / application name. The first rule that
matches decides the category and whether window titles of that category may be sent;
an app no rule matches gets the default category ("work").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from base.errors import HallwatchError
from mqtt.schema import CategoryRule

DEFAULT_CATEGORY = "work"
NON_WORK = ("game", "video", "shopping", "stocks", "social", "chat")

# Used until the central policy arrives; names agree with the rules service's defaults.
DEFAULT_RULES: tuple[CategoryRule, ...] = (
    CategoryRule(
        category="game",
        pattern=r"(?i)steam|game|minecraft|solitaire|sol\.exe|minesweeper|mahjong|doudizhu|4399",
    ),
    CategoryRule(
        category="video",
        pattern=r"(?i)youku|iqiyi|bilibili|youtube|netflix|tencentvideo|qqlive|vlc|mpv|potplayer",
    ),
    CategoryRule(category="shopping", pattern=r"(?i)taobao|tmall|jd\.com|pinduoduo|amazon"),
    CategoryRule(category="stocks", pattern=r"(?i)tonghuashun|hexin|eastmoney|dzh|stock|futu|tdx"),
    CategoryRule(category="social", pattern=r"(?i)weibo|douyin|kuaishou|xiaohongshu|tiktok"),
    CategoryRule(category="chat", pattern=r"(?i)wechat|weixin|\bqq\b|qq\.exe|telegram|dingtalk"),
)


class CategoryError(HallwatchError, ValueError):
    """A category rule that cannot be used (e.g. its pattern is not a valid regex)."""


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    titles_allowed: bool


class Classifier:
    def __init__(
        self, rules: Sequence[CategoryRule] = DEFAULT_RULES, default: str = DEFAULT_CATEGORY
    ) -> None:
        compiled = []
        for i, rule in enumerate(rules):
            try:
                compiled.append((re.compile(rule.pattern), rule))
            except re.error as exc:
                raise CategoryError(
                    f"category rule {i + 1} ({rule.category}): pattern {rule.pattern!r} "
                    f"is not a valid regular expression: {exc}"
                ) from None
        self.rules = tuple(rules)
        self.default = default
        self._compiled = compiled

    def classify(self, app: str) -> Classification:
        for pattern, rule in self._compiled:
            if pattern.search(app):
                return Classification(rule.category, rule.titles_allowed)
        return Classification(self.default, False)
