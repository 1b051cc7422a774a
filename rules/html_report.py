"""The daily inspection and the monthly assessment as self-contained, printable HTML.

No scripts, no external assets: a manager can open the page offline, attach it to an email
or print it (print CSS: the hall and date on every page, page numbers, a sign-off block
检查人 / 审核人 / 日期). People and windows by name, the id beside; rules, states,
statuses and ratings in words (rules/words.py). Each section is a function that takes the
data and a language and returns HTML, for the console's pages to reuse; `daily_page` and
`monthly_page` wrap them into a whole document.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from rules.detail_words import detail_words
from rules.directory import Directory
from rules.engine import ViolationRecord
from rules.inspection import InspectionReport, Punch, acknowledgement
from rules.render import device_state_line, duty_holder_line, moment
from rules.requests import ATTESTED_METHOD
from rules.scoring import PersonScore, WindowScore
from rules.words import (
    Language,
    count_word,
    device_state_word,
    label,
    method_word,
    punch_word,
    rating_word,
    role_word,
    rule_word,
    severity_word,
    state_word,
    status_word,
)

RATING_COLOURS = {"excellent": "#1a7f37", "good": "#4c9a2a", "pass": "#bf8700", "fail": "#cf222e"}
STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.serious { color: #cf222e; font-weight: bold; } .minor { color: #9a6700; }
.veto, .lost { color: #cf222e; font-weight: bold; } small, .id { color: #59636e; } .punches { white-space: nowrap; }
h2, h3 { break-after: avoid; }
.signoff { display: flex; gap: 3em; margin-top: 3em; break-inside: avoid; }
.signoff div { flex: 1; border-bottom: 1px solid #1f2328; padding-bottom: 2em; }
@media print {
  body { margin: 0; font-size: 10.5pt; }
  thead { display: table-header-group; } tr { break-inside: avoid; }
}
"""
# Every printed page: the hall and the title at the top, the page number at the bottom.
PAGE_STYLE = """
@page {{ size: A4; margin: 18mm 12mm 16mm;
  @top-left {{ content: "{running}"; font-size: 9pt; color: #59636e; }}
  @bottom-center {{ content: {numbering}; font-size: 9pt; color: #59636e; }} }}
"""
NUMBERING = {
    "zh": '"第 " counter(page) " 页 / 共 " counter(pages) " 页"',
    "en": '"page " counter(page) " of " counter(pages)',
}
# Words of the pages' fixed text (rules/words.py holds the codes' words).
TEXT = {
    "zh": {
        "report": "巡查报告",
        "inspector": "检查人",
        "reviewer": "审核人",
        "date": "日期",
        "rank": "排名",
        "name": "姓名",
        "staff id": "工号",
        "window": "窗口",
        "score": "得分",
        "rating": "等次",
        "minor": "一般违规",
        "serious": "严重违规",
        "veto": "一票否决",
        "staff": "人数",
        "state": "状态",
        "punches": "打卡",
        "violations": "违规",
        "chart": "本月得分（横轴从 {low:g} 分起）",
        "by rule": "当日违规（按规则）",
    },
    "en": {
        "report": "Inspection report",
        "inspector": "Inspector",
        "reviewer": "Reviewed by",
        "date": "Date",
        "rank": "rank",
        "name": "name",
        "staff id": "staff id",
        "window": "window",
        "score": "score",
        "rating": "rating",
        "minor": "minor",
        "serious": "serious",
        "veto": "veto",
        "staff": "staff",
        "state": "state",
        "punches": "punches",
        "violations": "violations",
        "chart": "Scores this month (axis from {low:g})",
        "by rule": "Violations of the day, by rule",
    },
}


def _t(key: str, language: Language) -> str:
    return TEXT[language][key]


def _row(cells: Sequence[str], tag: str = "td") -> str:
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = _row([escape(h) for h in header], "th")
    return f"<table><thead>{head}</thead><tbody>{''.join(_row(r) for r in rows)}</tbody></table>"


def _id(text: str) -> str:
    return f' <span class="id">{escape(text)}</span>'


# -- charts ----------------------------------------------------------------------------
def score_axis(scores: Sequence[float]) -> tuple[float, float]:
    """The score axis: from a little below the lowest score (a round number) to 100, so
    that 98 and 100 look different; from 0 only when someone is that low."""
    low = min(scores, default=100.0)
    span = max(100.0 - low, 2.0)
    start = max(0.0, math.floor((low - span * 0.25) / 2) * 2)
    return (start if start < low else max(0.0, low - 2)), 100.0


def dot_plot(title: str, rows: Sequence[tuple[str, float, str]]) -> str:
    """Scores as dots on an axis that starts near the lowest (inline SVG, labelled ticks):
    (label, score, colour) per row."""
    low, high = score_axis([v for _, v, _ in rows])
    height, width, label_w, top = 22, 480, 200, 26
    x_of = lambda v: label_w + width * (v - low) / (high - low)  # noqa: E731
    step = next(s for s in (0.5, 1, 2, 5, 10, 20) if (high - low) / s <= 10)
    ticks = [low + i * step for i in range(int((high - low) / step) + 1)]
    total_h = top + len(rows) * height + 10
    svg = [
        f'<svg width="{label_w + width + 60}" height="{total_h}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for t in ticks:
        x = x_of(t)
        svg.append(
            f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{total_h - 6}" stroke="#d0d7de"/>'
            f'<text x="{x:.1f}" y="{top - 10}" font-size="11" text-anchor="middle">{t:g}</text>'
        )
    for i, (name, value, colour) in enumerate(rows):
        y = top + i * height + height / 2
        x = x_of(value)
        svg.append(
            f'<text x="0" y="{y + 4:.1f}" font-size="13">{escape(name)}</text>'
            f'<line x1="{label_w}" y1="{y:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-opacity="0.35"/><circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{colour}"/>'
            f'<text x="{x + 10:.1f}" y="{y + 4:.1f}" font-size="12">{value:g}</text>'
        )
    svg.append("</svg>")
    return f"<h3>{escape(title)}</h3>" + "".join(svg)


def count_bars(title: str, rows: Sequence[tuple[str, int]]) -> str:
    """Counts as horizontal bars from 0 (inline SVG)."""
    height, width, label_w = 22, 360, 200
    most = max((n for _, n in rows), default=1) or 1
    svg = [
        f'<svg width="{label_w + width + 60}" height="{len(rows) * height + 10}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (name, n) in enumerate(rows):
        y, bar = i * height, width * n / most
        svg.append(
            f'<text x="0" y="{y + 15}" font-size="13">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{height - 6}" fill="#9a6700"/>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 15}" font-size="12">{n}</text>'
        )
    svg.append("</svg>")
    return f"<h3>{escape(title)}</h3>" + "".join(svg)


# -- sections --------------------------------------------------------------------------
def violation_html(v: ViolationRecord, language: Language) -> str:
    """A violation in words: rule, severity, deduction, number, veto, status; its id small."""
    number = f" #{v.correction_no}" if v.correction_no else ""
    veto = f" {label('veto', language)}" if v.veto else ""
    evidence = ", ".join(v.evidence) or label("no evidence", language)
    return (
        f'<span class="{escape(v.severity)}">{escape(rule_word(v.rule, language))} '
        f"({escape(severity_word(v.severity, language))}) −{v.deduction:g}{number}{escape(veto)}</span> "
        f"[{escape(status_word(v.status, language))}] "
        f"<small>{escape(detail_words(v.detail, language))}</small> "
        # Ids one click away, never the headline: the events by id, and the violation's own.
        f'<details class="id"><summary>{escape(label("ids", language))}</summary><small>'
        f"{escape(label('evidence', language))}: {escape(evidence)}; {escape(v.violation_id)}"
        "</small></details>"
    )


def _punch_source(p: Punch, language: Language) -> str:
    """Where a punch came from: its station and method, or 补卡 (an approved correction
    names no station)."""
    method = method_word(p.method, language)
    return method if p.method == ATTESTED_METHOD else f"{p.device}, {method}"


def inspection_html(
    report: InspectionReport, language: Language = "zh", *, open_items: bool = True
) -> str:
    """The daily inspection: counts, each window's staff with state, punches, violations,
    offline devices, every device with what was delivered of its journal, and (unless the page lists them with their actions) open items."""
    rows = []
    for window in report.windows:
        for line in window.staff:
            punches = "<br>".join(
                escape(f"{p.time} {punch_word(p.action, language)} ")
                + f"<small>{escape(_punch_source(p, language))}</small>"
                + (
                    f" <b>{escape(label('time in doubt', language))}: {escape(p.clock)}</b>"
                    if p.clock
                    else ""
                )
                for p in line.punches
            )
            violations = "<br>".join(violation_html(v, language) for v in line.violations)
            rows.append(
                [
                    escape(window.name) + _id(window.window),
                    escape(line.name) + (_id(line.staff_id) if line.name != line.staff_id else ""),
                    escape(state_word(line.status, language)),
                    f'<span class="punches">{punches or escape(label("no punches", language))}</span>',
                    violations or "—",
                ]
            )
    since = label("since", language)
    offline = "".join(
        f"<li>{escape(f'{d.site}/{d.device} ({role_word(d.role, language)}): {device_state_word(d.state, language)}')}"
        f"{escape(f' {since} {moment(d.since)} ({device_state_word(d.why, language)})') if d.since else ''}</li>"
        for d in report.offline
    )
    offline += "".join(f"<li>{escape(i.text)}</li>" for i in report.healed)
    # each device as it last reported, and what the centre has of its journal
    devices = "".join(
        ('<li class="lost">' if d.delivery and d.delivery.lost else "<li>")
        + f"{escape(device_state_line(d, language).strip())}</li>"
        for d in report.devices
    )
    items = "".join(
        f"<li>{escape(i.text)}"
        + (f" <small>[{escape(acknowledgement(i, language))}]</small>" if i.alert_state else "")
        + "</li>"
        for i in report.open_items
    )
    none = f"<li>{escape(label('none', language))}</li>"
    counts = " · ".join(
        f"{escape(count_word(k, language))} {n}" for k, n in sorted(report.counts().items())
    )
    by_rule: dict[str, int] = {}
    for window in report.windows:
        for line in window.staff:
            for v in line.violations:
                by_rule[rule_word(v.rule, language)] = (
                    by_rule.get(rule_word(v.rule, language), 0) + 1
                )
    chart = count_bars(_t("by rule", language), sorted(by_rule.items())) if by_rule else ""
    header = [_t(k, language) for k in ("window", "name", "state", "punches", "violations")]
    on_duty = "".join(
        f"<li>{escape(duty_holder_line(d, language).strip())}</li>" for d in report.on_duty
    )
    return (
        f"<h2>{escape(label('daily inspection', language))} {report.day}</h2>"
        f"<p><small>{escape(label('as of', language))} {moment(report.as_of)}</small></p>"
        f"<p>{counts}</p>"
        + (f"<h3>{escape(label('on duty', language))}</h3><ul>{on_duty}</ul>" if on_duty else "")
        + chart
        + _table(header, rows)
        + f"<h3>{escape(label('offline', language))}</h3><ul>{offline or none}</ul>"
        + f"<h3>{escape(label('device list', language))}</h3><ul>{devices or none}</ul>"
        + (
            f"<h3>{escape(label('open items', language))}</h3><ul>{items or none}</ul>"
            if open_items
            else ""
        )
    )


def assessment_html(
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    violations: list[ViolationRecord],
    directory: Directory,
    language: Language = "zh",
) -> str:
    """The monthly assessment: a score chart that shows differences, each person and each
    window ranked, vetoes with their reason in words."""
    by_id = {v.violation_id: v for v in violations}

    def reasons(p: PersonScore) -> str:
        return "；".join(
            f"{v.day} {rule_word(v.rule, language)}" if (v := by_id.get(r)) else r
            for r in p.veto_reasons
        )

    staff_rows = [
        [
            str(p.rank),
            escape(directory.name(p.staff_id, language)),
            escape(p.staff_id),
            escape(directory.window_label(p.window)),
            f"{p.score:g}",
            escape(rating_word(p.rating, language)),
            str(p.minor),
            str(p.serious),
            f'<span class="veto">{escape(reasons(p))}</span>' if p.vetoed else "",
        ]
        for p in people
    ]
    window_rows = [
        [
            str(w.rank),
            escape(directory.window_label(w.window)),
            str(w.staff),
            f"{w.score:g}",
            escape(rating_word(w.rating, language)),
            f'<span class="veto">{escape(", ".join(directory.label(s, language) for s in w.vetoed_staff))}</span>'
            if w.vetoed
            else "",
        ]
        for w in windows
    ]
    low, _ = score_axis([p.score for p in people])
    chart = dot_plot(
        _t("chart", language).format(low=low),
        [
            (
                directory.label(p.staff_id, language),
                p.score,
                RATING_COLOURS.get(p.rating, "#59636e"),
            )
            for p in people
        ],
    )
    t = lambda *keys: [_t(k, language) for k in keys]  # noqa: E731
    return (
        f"<h2>{escape(label('monthly assessment', language))} {escape(month)}</h2>"
        f"<p><small>{escape(label('sheet rule', language))}</small></p>"
        + (chart if people else "")
        + f"<h3>{escape(label('staff heading', language))}</h3>"
        + _table(
            t("rank", "name", "staff id", "window", "score", "rating", "minor", "serious", "veto"),
            staff_rows,
        )
        + f"<h3>{escape(label('windows heading', language))}</h3>"
        + _table(t("rank", "window", "staff", "score", "rating", "veto"), window_rows)
    )


def signoff_html(language: Language = "zh") -> str:
    """The sign-off block a printed report ends with: 检查人 / 审核人 / 日期."""
    return (
        '<div class="signoff">'
        + "".join(
            f"<div>{escape(_t(k, language))}：</div>" for k in ("inspector", "reviewer", "date")
        )
        + "</div>"
    )


def page(title: str, hall: str, body: str, language: Language = "zh") -> str:
    """A whole printable document: the hall and title on every printed page, the body,
    then the sign-off block."""
    lang = "zh-CN" if language == "zh" else "en"
    running = f"{hall} · {title}".replace("\\", "").replace('"', "'").replace("<", "")
    page_style = PAGE_STYLE.format(running=running, numbering=NUMBERING[language])
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{escape(hall)} — {escape(title)}</title><style>{STYLE}{page_style}</style>"
        "</head><body>"
        f"<h1>{escape(hall)} — {escape(title)}</h1>"
        + body
        + signoff_html(language)
        + "</body></html>\n"
    )


def hall_name(site: str | None, language: Language = "zh") -> str:
    return f"hallwatch {site}" if site else f"hallwatch {label('all sites', language)}"


def daily_page(
    report: InspectionReport,
    sheet: tuple[str, list[PersonScore], list[WindowScore], list[ViolationRecord]] | None,
    directory: Directory,
    language: Language = "zh",
) -> str:
    """The daily inspection as a document; with `sheet` (month, people, windows,
    violations), the month to date after it."""
    body = inspection_html(report, language)
    if sheet is not None:
        body += assessment_html(*sheet, directory, language)
    title = f"{label('daily inspection', language)} {report.day}"
    return page(title, hall_name(report.site, language), body, language)


def monthly_page(
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    violations: list[ViolationRecord],
    directory: Directory,
    site: str | None = None,
    language: Language = "zh",
) -> str:
    """The monthly assessment as a document."""
    body = assessment_html(month, people, windows, violations, directory, language)
    title = f"{label('monthly assessment', language)} {month}"
    return page(title, hall_name(site, language), body, language)
