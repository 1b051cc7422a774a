"""Reports as text (people), JSON (machines), CSV and XLSX (spreadsheets).

`emit` prints a result in the format a command was asked for. Spreadsheet cells never
carry a formula from the data: a reason typed as `=HYPERLINK(...)` stays text.
Times: people read them in the site's zone with the offset (`moment`); machines get ISO
8601 with the offset, in the zone asked for (`to_json`, `to_csv`). People read names, each
with the id beside it (a name may be shared), and the score sheet's headers in their
language (Chinese unless `--lang en`).
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

import click

from base.times import date_time
from rules.alerts import AlertRow
from rules.annual import MONTHS, PersonYear, WindowYear
from rules.delivery import Delivery
from rules.detail_words import detail_words
from rules.directory import Directory
from rules.engine import ViolationRecord
from rules.gallery_status import GalleryStatus
from rules.inspection import DeviceLine, DutyLine, InspectionReport, acknowledgement
from rules.manage_annual import HallLists, YearReview
from rules.manager_actions import Language, LeaveRecord, ManagerAction
from rules.requests import ATTESTED_METHOD
from rules.scoring import PersonScore, WindowScore
from rules.words import (
    action_word,
    alert_state_word,
    alert_word,
    count_word,
    device_state_word,
    duty_word,
    label,
    leave_kind_word,
    method_word,
    punch_word,
    rating_word,
    role_word,
    rule_word,
    severity_word,
    state_word,
    status_word,
)

Format = Literal["text", "json", "csv"]
# What a spreadsheet reads as the start of a formula (or, for tab and CR, hides one behind).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def emit(
    data: Any,
    fmt: Format,
    *,
    text: Callable[[], str],
    table: Callable[[], str] | None = None,
    zone: tzinfo | None = None,
) -> None:
    """Print `data` as JSON; as CSV (`table()`, or else `data`, a list of dataclasses, as
    one table); or as `text()`, for people. Moments in JSON and CSV are in `zone`."""
    if fmt == "json":
        click.echo(to_json(data, zone))
    elif fmt == "csv":
        click.echo(table() if table is not None else to_csv(data, zone), nl=False)
    else:
        click.echo(text())


def listing(
    rows: Sequence[Any], line: Callable[[Any], str], noun: str, language: Language = "en"
) -> str:
    """One line per row, then how many there are ("3 violations", "3 条违规"): `noun` is a
    label of rules/words.py, or said as given."""
    return "\n".join([*map(line, rows), f"{len(rows)} {label(noun, language)}"])


def moment(value: datetime, zone: tzinfo | None = None) -> str:
    """A moment as a person reads it: `2026-11-24 16:45 +08:00`, in `zone` (the site's;
    default the moment's own)."""
    return date_time(value, zone)


def _iso(value: datetime | date, zone: tzinfo | None) -> str:
    """ISO 8601; a moment in `zone` (default its own), always with its offset."""
    if isinstance(value, datetime) and zone is not None:
        value = value.astimezone(zone)
    return value.isoformat()


def _plain(value: Any, zone: tzinfo | None = None) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v, zone) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v, zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, zone) for v in value]
    if isinstance(value, datetime | date):
        return _iso(value, zone)
    return value


def to_json(value: Any, zone: tzinfo | None = None) -> str:
    """JSON; moments in `zone` (default their own), ISO 8601 with the offset."""
    return json.dumps(_plain(value, zone), ensure_ascii=False, indent=2)


def _cell(value: Any, zone: tzinfo | None) -> Any:
    if is_dataclass(value) and not isinstance(value, type):  # the leave of an audit row
        return json.dumps(_plain(value, zone), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return _iso(value, zone)
    return value


def table_rows(rows: list[Any], zone: tzinfo | None = None) -> tuple[list[str], list[list[Any]]]:
    """Header and flat rows of a list of dataclasses (sequences joined by spaces; moments
    in `zone`, default their own)."""
    if not rows:
        return [], []
    header = [f.name for f in fields(rows[0])]
    return header, [[_cell(getattr(r, name), zone) for name in header] for r in rows]


def inert(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, quoted so that it shows as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: list[str], body: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([inert(cell) for cell in row] for row in body)
    return out.getvalue()


def to_csv(rows: list[Any], zone: tzinfo | None = None) -> str:
    """CSV; moments in `zone` (default their own), ISO 8601 with the offset."""
    return csv_text(*table_rows(rows, zone))


# -- the audit trail and leave ---------------------------------------------------------
def action_line(a: ManagerAction, zone: tzinfo | None = None, language: Language = "zh") -> str:
    """An action of the audit trail: what was done in words, the code in brackets."""
    entered = f"  ({label('entered by', language)} {a.entered_by})" if a.entered_by else ""
    did = f"{action_word(a.action, language)} ({a.action})"
    return f"{moment(a.ts, zone)}  {a.by:<12} {did:<12} {a.target}  {a.reason}{entered}"


def alert_line(row: AlertRow, zone: tzinfo | None = None, language: Language = "zh") -> str:
    """An alert and where it is: what the device said in words, then who did what, why."""
    state = alert_state_word(row.state, language)
    if row.state == "cleared" and row.by is None:
        state = f"{label('cleared by itself', language)} {moment(row.at, zone) if row.at else ''}"
    elif row.by is not None and row.at is not None:
        state = f"{state} {row.by} {moment(row.at, zone)}: {row.note}"
    return (
        f"{row.alert_id}  {moment(row.raised, zone)}  {row.site}/{row.device}  "
        f"{alert_word(row.kind, language)}: {row.message}  [{state}]"
    )


def leave_line(
    lv: LeaveRecord, who: str, zone: tzinfo | None = None, language: Language = "zh"
) -> str:
    """Leave on one line; `who` as the reader knows the person (`Directory.label`)."""
    return (
        f"{lv.leave_id}  {who:<8} {leave_kind_word(lv.kind, language):<9} "
        f"{moment(lv.start, zone)} - {moment(lv.end, zone)}  {lv.reason}"
    )


# -- violations ------------------------------------------------------------------------
def violation_line(v: ViolationRecord, who: str, window: str, language: Language = "zh") -> str:
    """A violation on one line, its rule, severity and status in words; `who` and `window`
    as the reader knows them (`Directory.label`, `Directory.window_label`)."""
    number = f" #{v.correction_no}" if v.correction_no else ""
    flags = "".join(
        f" {label(flag, language)}"
        for flag, on in (("escalated", v.escalated), ("veto", v.veto))
        if on
    )
    evidence = ", ".join(v.evidence) or label("no evidence", language)
    return (
        f"{v.violation_id}  {v.day}  {who:<8} {window:<8} {rule_word(v.rule, language):<8} "
        f"{severity_word(v.severity, language):<4} -{v.deduction:g}{number}{flags}  "
        f"[{status_word(v.status, language)}]  {detail_words(v.detail, language)}  "
        f"{label('evidence', language)}: {evidence}"
    )


def named_violation_line(v: ViolationRecord, directory: Directory, language: Language) -> str:
    """A violation on one line, naming its person and window from the directory."""
    who = directory.label(v.staff_id, language)
    return violation_line(v, who, directory.window_label(v.window or "-"), language)


# -- inspection ------------------------------------------------------------------------
def punch_text(p: Any, language: Language) -> str:
    """A punch of the inspection: its local time and what it was, in words (an approved
    punch correction says it is one: "12:00 下班打卡（补卡）")."""
    text = f"{p.time} {punch_word(p.action, language)}"
    if p.method == ATTESTED_METHOD:
        attested = method_word(ATTESTED_METHOD, language)
        text += f"（{attested}）" if language == "zh" else f" ({attested})"
    return text


def device_line(d: DeviceLine, since: str, language: Language = "zh") -> str:
    """A device of the inspection; `since` says how its moment reads (`{when}` in it)."""
    text = f"  {d.site}/{d.device} ({role_word(d.role, language)}): {device_state_word(d.state, language)}"
    return text + since.format(when=moment(d.since)) if d.since else text


def device_state_line(d: DeviceLine, language: Language = "zh") -> str:
    """A device as it last reported: state, version, backlog, clock, what the centre has of
    its journal, when last seen."""
    clock = {True: "clock synced", False: "clock not synced", None: "clock unknown"}
    unknown = label("unknown", language)
    parts = [
        f"{label('version', language)} {d.version or unknown}",
        f"{label('backlog', language)} {d.backlog if d.backlog is not None else unknown}",
        label(clock[d.clock_synced], language),
    ]
    delivered = f"{delivery_text(d.delivery, language)}; " if d.delivery else ""
    last_seen = device_state_word("last seen", language)
    return device_line(d, f" ({', '.join(parts)}; {delivered}{last_seen} {{when}})", language)


def delivery_text(d: Delivery, language: Language = "zh") -> str:
    """What the centre has of a device's journal: "已送达至 #120, 缺 3 条, 已丢失 2 条, 最近补发
    2026-11-24 10:02 +08:00 (#4–#6)" (lost and the last request only when there are)."""
    parts = [
        f"{label('delivered up to', language)} #{d.upto}",
        label("missing entries", language).format(n=d.missing),
    ]
    if d.lost:
        parts.append(label("lost entries", language).format(n=d.lost))
    if d.resend_at is not None:
        parts.append(
            f"{label('last resend', language)} {moment(d.resend_at)} "
            f"(#{d.resend_first}–#{d.resend_last})"
        )
    return ", ".join(parts)


def duty_holder_line(d: DutyLine, language: Language) -> str:
    """A duty holder as the inspection lists them: duty, name, where they are now."""
    who = d.staff_id if d.name == d.staff_id else f"{d.name} {d.staff_id}"
    sessions = (
        ",".join(str(i + 1) for i in d.sessions) if d.sessions else label("all sessions", language)
    )
    return (
        f"  {duty_word(d.duty, language)}  {who}  {state_word(d.status, language)}  "
        f"({d.site}, {sessions})"
    )


def inspection_text(report: InspectionReport, language: Language = "zh") -> str:
    """The daily inspection as a person reads it: names, states and rules in words."""

    def heading(key: str) -> str:
        return f"\n{label(key, language)}:"

    none = [f"  {label('none', language)}"]
    site = f" - {label('site', language)} {report.site}" if report.site else ""
    out = [
        f"{label('daily inspection', language)} {report.day}{site} "
        f"({label('as of', language)} {moment(report.as_of)})",
        "  "
        + ", ".join(f"{count_word(k, language)}: {n}" for k, n in sorted(report.counts().items())),
    ]
    if report.on_duty:
        out.append(heading("on duty"))
        out += [duty_holder_line(d, language) for d in report.on_duty]
    for window in report.windows:
        out.append(f"\n{label('window', language)} {window.label} ({window.site})")
        for line in window.staff:
            punches = " ".join(punch_text(p, language) for p in line.punches)
            status = state_word(line.status, language)
            out.append(f"  {line.label:<10} {status:<6} {punches or label('no punches', language)}")
            out += [
                f"      ? {punch_text(p, language)}: {label('time in doubt', language)} ({p.clock})"
                for p in line.punches
                if p.clock
            ]
            out += [
                f"      ! {violation_line(v, line.label, window.label, language)}"
                for v in line.violations
            ]
    out.append(heading("offline"))
    since = label("since", language)
    out += [
        device_line(d, f" {since} {{when}} ({device_state_word(d.why, language)})", language)
        for d in report.offline
    ] or none
    out.append(heading("device list"))
    out += [device_state_line(d, language) for d in report.devices] or none
    out += [f"  {item.text}" for item in report.healed]
    out.append(heading("clocks"))
    out += [
        device_line(d, f" ({device_state_word(d.why, language)} {{when}})", language)
        for d in report.clocks
    ] or none
    out.append(heading("open items"))
    out += [
        f"  - {item.text}" + (f" [{acknowledgement(item, language)}]" if item.alert_state else "")
        for item in report.open_items
    ] or none
    return "\n".join(out)


def inspection_csv(report: InspectionReport, language: Language = "zh") -> str:
    """One row per person: the state and violations in words, each beside its codes."""
    header = [
        "day", "site", "window_name", "window", "name", "staff_id", "state", "status",
        "punches", "violation_words", "violations",
    ]  # fmt: skip
    return csv_text(
        header,
        (
            [
                report.day.isoformat(),
                window.site,
                window.name,
                window.window,
                line.name,
                line.staff_id,
                state_word(line.status, language),
                line.status,
                " ".join(f"{p.time} {p.action}" for p in line.punches),
                " ".join(rule_word(v.rule, language) for v in line.violations),
                " ".join(f"{v.rule}:{v.violation_id}" for v in line.violations),
            ]
            for window in report.windows
            for line in window.staff
        ),
    )


# -- monthly sheet ---------------------------------------------------------------------
# The sheet's column headers in Chinese (English: the column names themselves).
HEADERS_ZH = {
    "rank": "排名",
    "name": "姓名",
    "staff_id": "工号",
    "window_name": "窗口",
    "window": "窗口编号",
    "site": "大厅",
    "deductions": "扣分",
    "score": "得分",
    "vetoed": "否决",
    "rating": "等次",
    "minor": "一般违规",
    "serious": "严重违规",
    "voided": "已撤销",
    "veto_reasons": "否决依据",
    "staff": "人数",
    "vetoed_staff": "否决人员",
    "violation_id": "违规编号",
    "day": "日期",
    "at": "时间",
    "rule": "规则",
    "severity": "性质",
    "deduction": "扣分",
    "correction_no": "纠错序号",
    "escalated": "升级",
    "veto": "一票否决",
    "evidence": "证据",
    "status": "状态",
    "detail": "详情",
    "rating_code": "等次代码",
    "rule_code": "规则代码",
    "severity_code": "性质代码",
    "status_code": "状态代码",
}
# Columns of the sheet that hold a code: shown as words, the code in a `<column>_code` beside.
WORDED = {
    "rating": rating_word,
    "rule": rule_word,
    "severity": severity_word,
    "status": status_word,
}
SHEET_TITLES = {"zh": ("人员", "窗口", "违规明细"), "en": ("Staff", "Windows", "Violations")}
Table = tuple[str, list[str], list[list[Any]]]  # a sheet's title, header and rows


def _named(
    header: list[str], rows: list[list[Any]], directory: Directory, language: Language
) -> tuple[list[str], list[list[Any]]]:
    """The rows with a `name` column before `staff_id`, a `window_name` before `window`,
    and rules, severities, statuses and ratings in words, each code in a column beside."""
    named_header: list[str] = []
    for column in header:
        named_header += {"staff_id": ["name"], "window": ["window_name"]}.get(column, [])
        named_header.append(column)
        if column in WORDED:
            named_header.append(f"{column}_code")
    named_rows = []
    for row in rows:
        cells = dict(zip(header, row, strict=True))
        extra = {
            "name": directory.name(cells.get("staff_id", ""), language),
            "window_name": directory.window_name(cells.get("window") or ""),
        }
        for column, word in WORDED.items():
            if column in cells:
                extra[f"{column}_code"] = cells[column]
                cells[column] = word(cells[column], language)
        named_rows.append([cells[c] if c in cells else extra[c] for c in named_header])
    return named_header, named_rows


def _name_vetoed_staff(
    header: list[str],
    body: list[list[Any]],
    windows: Sequence[WindowScore],
    directory: Directory,
    language: Language,
) -> None:
    """The vetoed staff of each window's row by name, not id."""
    if body:
        at = header.index("vetoed_staff")
        for row, window in zip(body, windows, strict=True):
            row[at] = ", ".join(directory.label(s, language) for s in window.vetoed_staff)


def score_tables(
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    violations: list[ViolationRecord],
    directory: Directory,
    language: Language,
) -> list[Table]:
    """The staff, window and violation tables of a month's sheet: names beside ids,
    headers in `language`."""
    tables = []
    for title, rows in zip(SHEET_TITLES[language], (people, windows, violations), strict=True):
        header, body = _named(*table_rows(rows), directory, language) if rows else ([], [])
        if rows is windows:
            _name_vetoed_staff(header, body, windows, directory, language)
        shown = [HEADERS_ZH.get(c, c) for c in header] if language == "zh" else header
        tables.append((f"{title} {month}" if rows is not violations else title, shown, body))
    return tables


def tables_csv(tables: list[Table]) -> str:
    """The tables, one after the other."""
    return "\n".join(csv_text(header, body) for _, header, body in tables)


def score_csv(tables: list[Table]) -> str:
    """The staff and window tables of a month's sheet (`score_tables`)."""
    return tables_csv(tables[:2])


def score_text(
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    directory: Directory,
    language: Language,
) -> str:
    head = HEADERS_ZH if language == "zh" else {}

    def h(column: str) -> str:
        return head.get(column, column)

    veto_word = label("veto", language)
    out = [
        f"{label('monthly assessment', language)} {month} ({label('sheet rule', language)})",
        "",
        f"{label('staff heading', language)}:",
    ]
    out.append(
        f"  {h('rank'):>4}  {h('name'):<16} {h('window_name'):<12} {h('score'):>6}  "
        f"{h('rating'):<10} {h('vetoed')}"
    )
    for p in people:
        veto = f"{veto_word} " + " ".join(p.veto_reasons) if p.vetoed else ""
        who, window = directory.label(p.staff_id, language), directory.window_label(p.window)
        rating = rating_word(p.rating, language)
        out.append(f"  {p.rank:>4}  {who:<16} {window:<12} {p.score:>6g}  {rating:<10} {veto}")
    out += [
        "",
        f"{label('windows heading', language)}:",
        f"  {h('rank'):>4}  {h('window_name'):<12} {h('staff'):>5} {h('score'):>7}  {h('rating')}",
    ]
    for w in windows:
        vetoed = ", ".join(directory.label(s, language) for s in w.vetoed_staff)
        veto = f"  {veto_word} ({vetoed})" if w.vetoed else ""
        window, rating = directory.window_label(w.window), rating_word(w.rating, language)
        out.append(f"  {w.rank:>4}  {window:<12} {w.staff:>5} {w.score:>7g}  {rating:<10}{veto}")
    return "\n".join(out)


def score_xlsx(path: Path, tables: list[Table]) -> None:
    """A workbook with the staff sheet, the window sheet and every violation behind them:
    bold headers with filters, the header row frozen, columns as wide as their text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    for index, (title, header, body) in enumerate(tables):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in body:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # text that openpyxl took for a formula
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        if header:
            sheet.auto_filter.ref = sheet.dimensions
        for column, cells in enumerate(zip(header, *body, strict=True), start=1):
            widest = max(_width("" if c is None else str(c)) for c in cells)
            sheet.column_dimensions[get_column_letter(column)].width = min(widest + 2, 60)
    book.save(path)


# -- tables with Chinese text ----------------------------------------------------------
def _width(text: str) -> int:
    """Columns a terminal gives `text`: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def aligned(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A text table whose columns line up also when cells hold Chinese; None shows as -."""
    cells = [list(header)] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join(
        "  ".join(c + " " * (w - _width(c)) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def gallery_line(row: GalleryStatus, language: str) -> str:
    """One station's gallery, as a manager reads it."""
    erasures = ", ".join(row.erasures_pending)
    if language == "en":
        text = f"{row.site} {row.device}: version {row.applied_version} of {row.site_version}"
        text += f", {row.pending} people to update" if row.pending else ", up to date"
        text += f", erasure pending: {erasures}" if erasures else ""
        return text + (f", last error: {row.last_error}" if row.last_error else "")
    text = f"{row.site} {row.device}：已应用版本 {row.applied_version}/{row.site_version}"
    text += f"，待更新 {row.pending} 人" if row.pending else "，已是最新"
    text += f"，待删除：{erasures}" if erasures else ""
    return text + (f"，最近错误：{row.last_error}" if row.last_error else "")


# -- the annual review and the red and black lists (rules/annual.py) -------------------
ANNUAL_HEADERS_ZH = {
    "mean": "年度平均分",
    "vetoed_count": "否决月数",
    "vetoed_months": "否决月份",
    **{f"m{n:02d}": f"{n}月" for n in MONTHS},
}
# What the text tables leave to the spreadsheet: codes beside the words, where a window is.
TEXT_HIDDEN = ("window", "site", "rating_code", "veto_reasons", "vetoed_staff")
LIST_TITLES = {
    "zh": ("红榜 人员", "黑榜 人员", "红榜 窗口", "黑榜 窗口"),
    "en": ("Red list staff", "Black list staff", "Red list windows", "Black list windows"),
}


def _heading(column: str, language: Language) -> str:
    if language == "zh":
        return ANNUAL_HEADERS_ZH.get(column) or HEADERS_ZH.get(column, column)
    if column in ANNUAL_HEADERS_ZH and column.startswith("m"):
        return calendar.month_abbr[int(column[1:])]
    return column


def month_text(n: int, language: Language) -> str:
    """A month of the year (1-12) as a reader names it: 10月, Oct."""
    return f"{n}月" if language == "zh" else calendar.month_abbr[n]


def _year_table(
    title: str, rows: Sequence[PersonYear | WindowYear], directory: Directory, language: Language
) -> tuple[str, list[str], list[list[Any]]]:
    """A year's rows with names and words, under their column names (not yet headings)."""
    if not rows:
        return title, [], []
    key = ["staff_id", "window"] if isinstance(rows[0], PersonYear) else ["window"]
    header = ["rank", *key, "site", *(f"m{n:02d}" for n in MONTHS)]
    header += ["mean", "vetoed_count", "vetoed_months", "rating"]
    body = [
        [
            r.rank,
            *(getattr(r, k) for k in key),
            r.site,
            *r.months,  # None: not scored
            r.mean,
            len(r.vetoed_months),
            ", ".join(month_text(n, language) for n in r.vetoed_months),
            r.rating,
        ]
        for r in rows
    ]
    return title, *_named(header, body, directory, language)


def _shown(
    tables: Iterable[tuple[str, list[str], list[list[Any]]]], language: Language
) -> list[Table]:
    """Tables for a spreadsheet: headings in `language`, a month not scored said so."""
    none = label("not scored", language)
    return [
        (
            title,
            [_heading(c, language) for c in header],
            [[none if cell is None else cell for cell in row] for row in body],
        )
        for title, header, body in tables
    ]


def _text(tables: Iterable[tuple[str, list[str], list[list[Any]]]], language: Language) -> str:
    """Tables as aligned text, without the columns of codes and where a window is; a veto
    said in words, a score without a needless ".0"."""
    veto = label("veto", language)

    def cell(value: Any) -> Any:
        if isinstance(value, bool):
            return veto if value else ""
        return f"{value:g}" if isinstance(value, float) else value

    out = [""]
    for title, header, body in tables:
        keep = [i for i, c in enumerate(header) if c not in TEXT_HIDDEN]
        shown = [_heading(header[i], language) for i in keep]
        rows = [[cell(row[i]) for i in keep] for row in body]
        out += ["", f"{title}:", aligned(shown, rows) if body else f"  {label('none', language)}"]
    return "\n".join(out)


def _annual(review: YearReview, language: Language) -> list[tuple[str, list[str], list[list[Any]]]]:
    staff_title, window_title = SHEET_TITLES[language][:2]
    return [
        _year_table(f"{staff_title} {review.year}", review.staff, review.directory, language),
        _year_table(f"{window_title} {review.year}", review.windows, review.directory, language),
    ]


def annual_tables(review: YearReview, language: Language) -> list[Table]:
    """The staff and window tables of the annual review: names beside ids, ratings in
    words, headers in `language`."""
    return _shown(_annual(review, language), language)


def annual_text(review: YearReview, language: Language) -> str:
    site = f" {review.site}" if review.site else ""
    rule = label("annual rule", language)
    if review.veto_caps_at is not None:
        rule += "；" if language == "zh" else "; "
        rule += f"{label('veto cap', language)} {rating_word(review.veto_caps_at, language)}"
    head = f"{label('annual review', language)} {review.year}{site} ({rule})"
    legend = f"\n(- {label('not scored', language)})"
    return head + _text(_annual(review, language), language) + legend


def _lists(hall: HallLists, language: Language) -> list[tuple[str, list[str], list[list[Any]]]]:
    found = hall.lists
    groups = (found.red_staff, found.black_staff, found.red_windows, found.black_windows)
    tables = []
    for title, rows in zip(LIST_TITLES[language], groups, strict=True):
        header, body = (
            _named(*table_rows(list(rows)), hall.directory, language) if rows else ([], [])
        )
        if rows is found.red_windows or rows is found.black_windows:
            _name_vetoed_staff(header, body, rows, hall.directory, language)
        tables.append((f"{title} {found.month}", header, body))
    return tables


def lists_tables(hall: HallLists, language: Language) -> list[Table]:
    """The red and black lists of people and of windows, as the sheet's tables."""
    return _shown(_lists(hall, language), language)


def lists_text(hall: HallLists, language: Language) -> str:
    site = f" {hall.site}" if hall.site else ""
    return f"{label('lists', language)} {hall.lists.month}{site}" + _text(
        _lists(hall, language), language
    )
