"""Reports as text (people), JSON (machines), CSV and XLSX (spreadsheets).

`emit` prints a result in the format a command was asked for. Spreadsheet cells never
carry a formula from the data: a reason typed as `=HYPERLINK(...)` stays text.
Times: people read them in the site's zone with the offset (`moment`); machines get ISO
8601 with the offset, in the zone asked for (`to_json`, `to_csv`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Literal

import click

from base.times import date_time
from rules.engine import ViolationRecord
from rules.gallery_status import GalleryStatus
from rules.inspection import DeviceLine, InspectionReport
from rules.manager_actions import LeaveRecord, ManagerAction
from rules.scoring import PersonScore, WindowScore

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


def listing(rows: Sequence[Any], line: Callable[[Any], str], noun: str) -> str:
    """One line per row, then how many there are ("3 violations")."""
    return "\n".join([*map(line, rows), f"{len(rows)} {noun}"])


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
def action_line(a: ManagerAction, zone: tzinfo | None = None) -> str:
    entered = f"  (entered by {a.entered_by})" if a.entered_by else ""
    return f"{moment(a.ts, zone)}  {a.by:<12} {a.action:<12} {a.target}  {a.reason}{entered}"


def leave_line(lv: LeaveRecord, zone: tzinfo | None = None) -> str:
    return (
        f"{lv.leave_id}  {lv.staff_id:<8} {lv.kind:<9} "
        f"{moment(lv.start, zone)} - {moment(lv.end, zone)}  {lv.reason}"
    )


# -- violations ------------------------------------------------------------------------
def violation_line(v: ViolationRecord) -> str:
    number = f" {v.correction_no}" if v.correction_no else ""
    flags = "".join([" ESCALATED" if v.escalated else "", " VETO" if v.veto else ""])
    return (
        f"{v.violation_id}  {v.day}  {v.staff_id:<8} {v.window or '-':<8} {v.rule:<16} "
        f"{v.severity:<7} -{v.deduction:g}{number and ' #' + number.strip()}{flags}  "
        f"[{v.status}]  {v.detail}  evidence: {', '.join(v.evidence) or 'none (no punch)'}"
    )


# -- inspection ------------------------------------------------------------------------
def device_line(d: DeviceLine, since: str) -> str:
    """A device of the inspection; `since` says how its moment reads (`{when}` in it)."""
    text = f"  {d.site}/{d.device} ({d.role}): {d.state}"
    return text + since.format(when=moment(d.since)) if d.since else text


def inspection_text(report: InspectionReport) -> str:
    out = [
        f"Daily inspection {report.day}"
        + (f" - site {report.site}" if report.site else "")
        + f" (as of {moment(report.as_of)})",
        "  " + ", ".join(f"{k}: {n}" for k, n in sorted(report.counts().items())),
    ]
    for window in report.windows:
        out.append(f"\nWindow {window.window} ({window.site})")
        for line in window.staff:
            punches = " ".join(f"{p.time} {p.action}" for p in line.punches) or "no punches"
            out.append(f"  {line.staff_id:<10} {line.status:<11} {punches}")
            out += [
                f"      ? {p.time} {p.action}: time in doubt ({p.clock})"
                for p in line.punches
                if p.clock
            ]
            out += [f"      ! {violation_line(v)}" for v in line.violations]
    out.append("\nDevices and agents offline:")
    out += [device_line(d, f" since {{when}} ({d.why})") for d in report.offline] or ["  none"]
    out.append("\nDevice clocks in doubt:")
    out += [device_line(d, f" ({d.why} {{when}})") for d in report.clocks] or ["  none"]
    out.append("\nOpen items:")
    out += [f"  - {item.text}" for item in report.open_items] or ["  none"]
    return "\n".join(out)


def inspection_csv(report: InspectionReport) -> str:
    header = ["day", "window", "site", "staff_id", "status", "punches", "violations"]
    return csv_text(
        header,
        (
            [
                report.day.isoformat(),
                window.window,
                window.site,
                line.staff_id,
                line.status,
                " ".join(f"{p.time} {p.action}" for p in line.punches),
                " ".join(f"{v.rule}:{v.violation_id}" for v in line.violations),
            ]
            for window in report.windows
            for line in window.staff
        ),
    )


# -- monthly sheet ---------------------------------------------------------------------
def score_text(month: str, people: list[PersonScore], windows: list[WindowScore]) -> str:
    out = [f"Monthly assessment {month} (100 points; a serious violation vetoes)", "", "Staff:"]
    out.append(f"  {'rank':>4}  {'staff':<10} {'window':<8} {'score':>6}  rating     veto")
    for p in people:
        veto = "VETO " + " ".join(p.veto_reasons) if p.vetoed else ""
        out.append(
            f"  {p.rank:>4}  {p.staff_id:<10} {p.window:<8} {p.score:>6g}  {p.rating:<10} {veto}"
        )
    out += ["", "Windows:", f"  {'rank':>4}  {'window':<8} {'staff':>5} {'score':>7}  rating"]
    for w in windows:
        veto = f"  VETO ({', '.join(w.vetoed_staff)})" if w.vetoed else ""
        out.append(f"  {w.rank:>4}  {w.window:<8} {w.staff:>5} {w.score:>7g}  {w.rating:<10}{veto}")
    return "\n".join(out)


def score_xlsx(
    path: Path,
    month: str,
    people: list[PersonScore],
    windows: list[WindowScore],
    violations: list[ViolationRecord],
) -> None:
    """A workbook with the staff sheet, the window sheet and every violation behind them."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for index, (title, rows) in enumerate(
        [(f"Staff {month}", people), (f"Windows {month}", windows), ("Violations", violations)]
    ):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        header, body = table_rows(rows)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in body:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                if cell.data_type == "f":  # text that openpyxl took for a formula
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    book.save(path)


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
