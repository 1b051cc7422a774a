"""Reports as text (people), JSON (machines), CSV and XLSX (spreadsheets)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from rules.engine import ViolationRecord
from rules.inspection import InspectionReport
from rules.scoring import PersonScore, WindowScore


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, indent=2)


def _cell(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def table_rows(rows: list[Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and flat rows of a list of dataclasses (sequences joined by spaces)."""
    if not rows:
        return [], []
    header = [f.name for f in fields(rows[0])]
    return header, [[_cell(getattr(r, name)) for name in header] for r in rows]


def to_csv(rows: list[Any]) -> str:
    header, body = table_rows(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(body)
    return out.getvalue()


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
def inspection_text(report: InspectionReport) -> str:
    out = [
        f"Daily inspection {report.day}"
        + (f" - site {report.site}" if report.site else "")
        + f" (as of {report.as_of.isoformat(timespec='minutes')})",
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
    out += [f"  {d.site}/{d.device} ({d.role}): {d.state}" for d in report.offline] or ["  none"]
    out.append("\nDevice clocks in doubt:")
    out += [f"  {d.site}/{d.device} ({d.role}): {d.state}" for d in report.clocks] or ["  none"]
    out.append("\nOpen items:")
    out += [f"  - {item.text}" for item in report.open_items] or ["  none"]
    return "\n".join(out)


def inspection_csv(report: InspectionReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "window", "site", "staff_id", "status", "punches", "violations"])
    for window in report.windows:
        for line in window.staff:
            writer.writerow(
                [
                    report.day.isoformat(),
                    window.window,
                    window.site,
                    line.staff_id,
                    line.status,
                    " ".join(f"{p.time} {p.action}" for p in line.punches),
                    " ".join(f"{v.rule}:{v.violation_id}" for v in line.violations),
                ]
            )
    return out.getvalue()


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
        sheet.freeze_panes = "A2"
    book.save(path)
