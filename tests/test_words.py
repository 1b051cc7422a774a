"""Every code a person can meet has a word in Chinese and in English (rules/words.py)."""

from __future__ import annotations

from typing import get_args, get_type_hints

import pytest

from mqtt.schema import Action, AlertKind, LeaveKind, Method, Severity, Violation
from rules import words
from rules.alert_store import AlertStateName
from rules.gallery_store import LookalikeState
from rules.manager_actions import ActionKind
from rules.notify import NoticeEvent
from rules.policy import UNREGISTERED_OUTING, Policy, RuleId


def _statuses() -> tuple[str, ...]:
    return get_args(get_type_hints(Violation)["status"])


CODES = [
    ("RULES", words.RULES, [*get_args(RuleId), UNREGISTERED_OUTING]),
    ("STATUSES", words.STATUSES, _statuses()),
    ("SEVERITIES", words.SEVERITIES, [s.value for s in Severity]),
    ("ACTIONS", words.ACTIONS, get_args(ActionKind)),
    ("LEAVE_KINDS", words.LEAVE_KINDS, [k.value for k in LeaveKind]),
    ("PUNCHES", words.PUNCHES, [a.value for a in Action]),
    ("METHODS", words.METHODS, [m.value for m in Method]),
    ("ALERTS", words.ALERTS, [k.value for k in AlertKind]),
    ("NOTICES", words.NOTICES, get_args(NoticeEvent)),
    ("ALERT_STATES", words.ALERT_STATES, get_args(AlertStateName)),
    ("LOOKALIKE_STATES", words.LOOKALIKE_STATES, get_args(LookalikeState)),
    (
        "RATINGS",
        words.RATINGS,
        [b.rating for b in (*Policy().bands, *Policy().annual.bands)]
        + [Policy().fail_rating, Policy().annual.fail_rating],
    ),
]


@pytest.mark.parametrize(("family", "table", "codes"), CODES, ids=[c[0] for c in CODES])
def test_every_code_has_a_word_in_both_languages(family, table, codes):
    assert codes
    for code in codes:
        for language in ("zh", "en"):
            assert table.get(code, {}).get(language), (code, language)
        assert table[code]["zh"] != code, code  # the Chinese is a word, not the code


def test_every_presence_state_the_inspection_gives_has_a_word():
    import inspect as source

    from rules import inspection

    text = source.getsource(inspection._status)
    for state in words.STATES:
        if state not in ("before go-live", "not employed"):
            assert f'"{state}"' in text, state
    for state in ("at post", "out", "away", "absent", "on leave", "not yet in", "off duty"):
        assert words.state_word(state, "zh") != state


def test_the_words_read_as_people_expect():
    assert words.rule_word("late") == "迟到"
    assert words.rule_word("late", "en") == "late arrival"
    assert words.status_word("voided") == "已撤销"
    assert words.severity_word("serious") == "严重"
    assert words.state_word("at post") == "在岗"
    assert words.rating_word("excellent") == "优秀"
    assert words.punch_word(Action.CLOCK_IN) == "上班打卡"


def test_an_unknown_code_passes_through():
    assert words.rule_word("brand_new_rule") == "brand_new_rule"
    assert words.rating_word("A级", "en") == "A级"  # a hall's own band name
    assert words.status_word(None) == "None"
