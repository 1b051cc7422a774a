"""The daily inspection and the monthly sheet as one self-contained HTML page, with charts.

No scripts, no external assets: a manager can open it offline or attach it to an email.
People and windows are shown by name, the id beside it.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path

from rules.directory import Directory
from rules.inspection import InspectionReport
from rules.manager_actions import Language
from rules.render import moment
from rules.scoring import PersonScore, WindowScore

RATING_COLOURS = {"excellent": "#1a7f37", "good": "#4c9a2a", "pass": "#bf8700", "fail": "#cf222e"}
STYLE = """
body { font-family: "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.serious { color: #cf222e; font-weight: bold; } .minor { color: #9a6700; }
.veto { color: #cf222e; font-weight: bold; } small { color: #59636e; } td.punches { white-space: nowrap; }
"""


def _bars(title: str, rows: list[tuple[str, float, str]], maximum: float, unit: str = "") -> str:
    """A horizontal bar chart as inline SVG: (label, value, colour) per row."""
    height, width, label_w = 22, 560, 120
    svg = [
        f'<svg width="{width + label_w + 60}" height="{len(rows) * height + 30}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, (label, value, colour) in enumerate(rows):
        y = 20 + i * height
        bar = 0 if maximum <= 0 else width * value / maximum
        svg.append(
            f'<text x="0" y="{y + 14}" font-size="13">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{bar:.1f}" height="{height - 6}" fill="{colour}"/>'
            f'<text x="{label_w + bar + 6:.1f}" y="{y + 14}" font-size="12">{value:g}{unit}</text>'
        )
    svg.append("</svg>")
    return f"<h3>{escape(title)}</h3>" + "".join(svg)


def _inspection(report: InspectionReport) -> str:
    rows = []
    for window in report.windows:
        for line in window.staff:
            punches = "<br>".join(
                escape(f"{p.time} {p.action} ({p.device}, {p.method})")
                + (f" <b>time in doubt: {escape(p.clock)}</b>" if p.clock else "")
                for p in line.punches
            )
            violations = "<br>".join(
                f'<span class="{escape(v.severity)}">{escape(v.rule)} −{v.deduction:g}'
                f"{f' #{v.correction_no}' if v.correction_no else ''}{' VETO' if v.veto else ''}</span> "
                f"<small>{escape(v.detail)}; evidence {escape(', '.join(v.evidence) or 'none')}</small>"
                for v in line.violations
            )
            rows.append(
                f"<tr><td>{escape(window.label)}</td><td>{escape(line.label)}</td>"
                f'<td>{escape(line.status)}</td><td class="punches">{punches or "—"}</td><td>{violations or "—"}</td></tr>'
            )
    offline = "".join(
        f"<li>{escape(f'{d.site}/{d.device} ({d.role}): {d.state}')}"
        f"{escape(f' since {moment(d.since)} ({d.why})') if d.since else ''}</li>"
        for d in report.offline
    )
    items = "".join(f"<li>{escape(i.text)}</li>" for i in report.open_items)
    return (
        f"<h2>Daily inspection {report.day}{f' — {escape(report.site)}' if report.site else ''}</h2>"
        f"<p><small>as of {moment(report.as_of)}</small></p>"
        "<table><tr><th>window</th><th>staff</th><th>status</th><th>punches</th><th>violations</th></tr>"
        + "".join(rows)
        + "</table>"
        + f"<h3>Devices and agents offline</h3><ul>{offline or '<li>none</li>'}</ul>"
        + f"<h3>Open items</h3><ul>{items or '<li>none</li>'}</ul>"
    )


def _scores(
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    directory: Directory,
    language: Language,
) -> str:
    def vetoed(window: WindowScore) -> str:
        return ", ".join(directory.label(s, language) for s in window.vetoed_staff)

    staff_rows = "".join(
        f"<tr><td>{p.rank}</td><td>{escape(directory.name(p.staff_id, language))}</td>"
        f"<td>{escape(p.staff_id)}</td><td>{escape(directory.window_label(p.window))}</td><td>{p.score:g}</td>"
        f"<td>{escape(p.rating)}</td><td>{p.minor}</td><td>{p.serious}</td>"
        f'<td class="veto">{"VETO" if p.vetoed else ""}</td></tr>'
        for p in people
    )
    window_rows = "".join(
        f"<tr><td>{w.rank}</td><td>{escape(directory.window_label(w.window))}</td><td>{w.staff}</td><td>{w.score:g}</td>"
        f'<td>{escape(w.rating)}</td><td class="veto">{"VETO " + escape(vetoed(w)) if w.vetoed else ""}</td></tr>'
        for w in windows
    )
    return (
        f"<h2>Monthly assessment {escape(month)} (100 points; a serious violation vetoes)</h2>"
        "<table><tr><th>rank</th><th>name</th><th>staff id</th><th>window</th><th>score</th><th>rating</th>"
        f"<th>minor</th><th>serious</th><th>veto</th></tr>{staff_rows}</table>"
        "<table><tr><th>rank</th><th>window</th><th>staff</th><th>score</th><th>rating</th><th>veto</th></tr>"
        f"{window_rows}</table>"
    )


def render_html(
    report: InspectionReport,
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    directory: Directory,
    language: Language = "zh",
) -> str:
    scores = [
        (
            f"{directory.label(p.staff_id, language)} ({directory.window_name(p.window)})",
            p.score,
            RATING_COLOURS.get(p.rating, "#59636e"),
        )
        for p in people
    ]
    rules = Counter(v.rule for w in report.windows for line in w.staff for v in line.violations)
    by_rule = [(rule, float(n), "#9a6700") for rule, n in sorted(rules.items())]
    charts = _bars(f"Month-to-date score per person ({month})", scores, 100)
    if by_rule:
        charts += _bars(f"Violations by rule, {report.day}", by_rule, max(n for _, n, _ in by_rule))
    return (
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>hallwatch report {report.day}</title>'
        f"<style>{STYLE}</style></head><body><h1>hallwatch — {escape(report.site or 'all sites')}</h1>"
        + charts
        + _inspection(report)
        + _scores(month, people, windows, directory, language)
        + "</body></html>\n"
    )


def write_html(
    path: Path,
    report: InspectionReport,
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    directory: Directory,
    language: Language = "zh",
) -> Path:
    html = render_html(report, month, people, windows, directory, language)
    path.write_text(html, encoding="utf-8")
    return path
