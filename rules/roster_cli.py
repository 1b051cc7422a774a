"""`hallwatch duty`: duty rosters (领导带班, 总服务台值班) set, removed, listed and imported, a
thin layer over `rules.manage_rosters.RosterManagement` (a part of `Management`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from rules import render
from rules.acting import Actor, InvalidInput
from rules.cli import FILE, by_option, output_format, with_management
from rules.manage import Management
from rules.rosters import DUTIES, ROSTER_HEADINGS, DutyAssignment, sessions_of, sessions_text
from rules.words import duty_word, label

DAY = click.DateTime(formats=["%Y-%m-%d"])


@click.group()
def duty() -> None:
    """Duty rosters (领导带班, 总服务台值班): who is on duty at a site on a date.

    The person on duty must be present (clocked in, neither out nor gone out) in each duty
    session; missing longer than the policy's grace.duty_absent_min is 值班缺岗.

    \b
    Example:
        hallwatch duty set --site hall-01 --date 2026-11-24 --duty leader --staff S017 \\
            --config manager.toml
    """


def _where(option: str):
    return click.option(
        "--site", required=option == "required", help="The site (hall) of the duty."
    )


@duty.command("set")
@_where("required")
@click.option("--date", "day", required=True, type=DAY, help="The date (YYYY-MM-DD).")
@click.option("--duty", "kind", required=True, type=click.Choice(DUTIES), help="Which duty.")
@click.option("--staff", required=True, help="Who is on duty (staff id).")
@click.option("--sessions", help="Only these sessions of the day, counted from 1 (1,2) [all].")
@by_option("decides")
@with_management
def duty_set(
    manage: Management,
    site: str,
    day: datetime,
    kind: str,
    staff: str,
    sessions: str | None,
    on_behalf_of: str | None,
) -> None:
    """Put a person on a duty of a date; their month is re-judged.

    \b
    Example:
        hallwatch duty set --site hall-01 --date 2026-11-24 --duty front_desk --staff S020 \\
            --sessions 1 --config manager.toml
    """
    try:
        indices = sessions_of(sessions)
    except ValueError:
        raise InvalidInput(f"--sessions {sessions!r}: give session numbers like 1,2") from None
    result = manage.set_duty(Actor.cli(on_behalf_of), site, day.date(), kind, staff, indices)
    _report(manage, result.entry, result.not_announced)


@duty.command("remove")
@_where("required")
@click.option("--date", "day", required=True, type=DAY, help="The date (YYYY-MM-DD).")
@click.option("--duty", "kind", required=True, type=click.Choice(DUTIES), help="Which duty.")
@click.option("--staff", required=True, help="Who comes off it (staff id).")
@by_option("decides")
@with_management
def duty_remove(
    manage: Management, site: str, day: datetime, kind: str, staff: str, on_behalf_of: str | None
) -> None:
    """Take a person off a duty of a date; their month is re-judged.

    \b
    Example:
        hallwatch duty remove --site hall-01 --date 2026-11-24 --duty leader --staff S017 \\
            --config manager.toml
    """
    result = manage.remove_duty(Actor.cli(on_behalf_of), site, day.date(), kind, staff)
    _report(manage, result.entry, result.not_announced, removed=True)


@duty.command("list")
@_where("optional")
@click.option("--month", help="YYYY-MM [all].")
@output_format()
@with_management
def duty_list(manage: Management, site: str | None, month: str | None, fmt: render.Format) -> None:
    """List the roster, by date.

    \b
    Example:
        hallwatch duty list --site hall-01 --month 2026-11 --config manager.toml
    """
    rows = manage.duties(month=month, site=site)
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda e: duty_line(e, manage), "duty entries", manage.language
        ),
        zone=manage.policy.default_site.zone,
    )


@duty.command("import")
@click.argument("file", type=FILE)
@_where("required")
@click.option("--dry-run", is_flag=True, help="Check the file and say what it would set.")
@by_option("decides")
@with_management
def duty_import(
    manage: Management, file: Path, site: str, dry_run: bool, on_behalf_of: str | None
) -> None:
    """Import a roster file (XLSX or CSV), all or nothing.

    The header row names the columns in Chinese or English: 日期/date, 值班类型/duty
    (领导带班 or 总服务台值班, or leader / front_desk), 工号/staff_id, and optionally
    时段/sessions (1,2; empty: all sessions). Every wrong row is reported with its row
    number, and then nothing is imported. The people's months are re-judged by the service.

    \b
    Example:
        hallwatch duty import roster-2026-11.xlsx --site hall-01 --dry-run --config manager.toml
    """
    from rules.staff_file import read_rows

    result = manage.import_duties(
        Actor.cli(on_behalf_of),
        read_rows(file, ROSTER_HEADINGS),
        file.name,
        site,
        dry_run=dry_run,
    )
    for entry in result.entries:
        click.echo(duty_line(entry, manage))
    verb = "would set" if dry_run else "set"
    click.echo(f"{file.name}: {verb} {len(result.entries)} {label('duty entries', 'en')}")
    if dry_run:
        click.echo("dry run: nothing was written")


def duty_line(entry: DutyAssignment, manage: Management) -> str:
    language = manage.language
    sessions = sessions_text(entry.sessions) or label("all sessions", language)
    return (
        f"{entry.day.isoformat()}  {entry.site}  {duty_word(entry.duty, language)}  "
        f"{manage.directory().label(entry.staff_id, language)}  {sessions}"
    )


def _report(
    manage: Management, entry: DutyAssignment, not_announced: str | None, removed: bool = False
) -> None:
    done = ("已取消：" if removed else "已排班：") if manage.language == "zh" else ""
    if manage.language == "en":
        done = "removed: " if removed else "set: "
    click.echo(done + duty_line(entry, manage))
    if not_announced:
        click.echo(f"warning: recorded, but not announced on MQTT: {not_announced}", err=True)
