"""The directory's commands: `hallwatch staff ...` (people, windows, departments, HR files)
and `hallwatch devices ...` (stations and agents).

A thin layer over the management API (`rules/manage.py`) like `rules/cli.py`: parse the
options, build the acting person, call the API, render the result. Tables read Chinese
first (`--lang en` for English).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import click

from rules import render
from rules.acting import Actor
from rules.cli import FILE, by_option, output_format, with_management
from rules.directory import Department, Device, ServiceWindow, StaffMember
from rules.manage import Management
from rules.manage_directory import DeviceRow, DirectoryResult, ImportResult, StaffLine

DAY = click.DateTime(["%Y-%m-%d"])


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a listing: its heading in each language, and its cell of a row."""

    zh: str
    en: str
    cell: Callable[[Any, str], Any]


def _field(name: str) -> Callable[[Any, str], Any]:
    return lambda row, _language: getattr(row, name)


def _words(name: str, words: dict[str, str]) -> Callable[[Any, str], Any]:
    """A field whose value is a word, said in Chinese unless English is asked for."""

    def cell(row: Any, language: str) -> Any:
        value = getattr(row, name)
        return value if language == "en" else words.get(value, value)

    return cell


def _moment(name: str) -> Callable[[Any, str], Any]:
    def cell(row: Any, _language: str) -> Any:
        value = getattr(row, name)
        return render.moment(value) if value is not None else None

    return cell


def _clock(row: DeviceRow, language: str) -> str:
    if language == "en" or not row.clock.startswith("off by "):
        return row.clock if language == "en" else CLOCK_WORDS.get(row.clock, row.clock)
    return "偏差 " + row.clock.removeprefix("off by ").replace(" s", " 秒")


def _delivery(row: DeviceRow, language: str) -> str | None:
    """What the centre has of the device's journal (rules/delivery.py)."""
    if row.delivery is None:
        return None
    return render.delivery_text(row.delivery, "en" if language == "en" else "zh")


def _gallery(row: DeviceRow, language: str) -> str | None:
    """A station's gallery: the version it applied of the site's, and erasures it has
    not confirmed (a leaver still on the device)."""
    if row.gallery_version is None:
        return None
    text = f"{row.gallery_version}/{row.site_gallery_version}"
    if row.erasures_pending:
        text += (
            f", {row.erasures_pending} erasures pending"
            if language == "en"
            else f"，待删除 {row.erasures_pending} 人"
        )
    return text


STAFF_COLUMNS = (
    Column("工号", "staff id", _field("staff_id")),
    Column("姓名", "name", _field("name")),
    Column("英文名", "English name", _field("name_en")),
    Column("部门", "department", _field("department")),
    Column("窗口", "window", _field("window")),
    Column("窗口名称", "window name", _field("window_name")),
    Column("岗位", "position", _field("position")),
    Column("入职日期", "start", _field("start_date")),
    Column("离职日期", "end", _field("end_date")),
    Column("状态", "state", lambda r, lang: ("active" if r.active else "deleted") if lang == "en"
           else ("在职" if r.active else "已删除")),
)  # fmt: skip
STATE_WORDS = {
    "online": "在线", "offline": "离线", "never seen": "从未上线", "retired": "已停用",
    "unregistered": "未登记",
}  # fmt: skip
CLOCK_WORDS = {"synchronised": "已同步", "not synchronised": "未同步", "unknown": "未知"}
KIND_WORDS = {"station": "考勤机", "agent": "工作站"}
DEVICE_COLUMNS = (
    Column("站点", "site", _field("site")),
    Column("设备", "device", _field("device")),
    Column("类型", "kind", _words("kind", KIND_WORDS)),
    Column("名称", "name", _field("name")),
    Column("位置", "location", _field("location")),
    Column("使用人", "user", _field("user")),
    Column("状态", "state", _words("state", STATE_WORDS)),
    Column("最后在线", "last seen", _moment("last_seen")),
    Column("积压", "backlog", _field("backlog")),
    Column("时钟", "clock", _clock),
    Column("版本", "version", _field("version")),
    Column("图库", "gallery", _gallery),
    Column("送达", "delivery", _delivery),
)


def _table(columns: Sequence[Column], rows: Sequence[Any], language: str) -> tuple[list, list]:
    header = [c.en if language == "en" else c.zh for c in columns]
    return header, [[c.cell(row, language) for c in columns] for row in rows]


def emit_listing(
    rows: Sequence[Any], columns: Sequence[Column], fmt: render.Format, language: str, noun: str
) -> None:
    """Rows as an aligned table (CSV with the same headings; JSON as the rows are)."""
    header, body = _table(columns, rows, language)
    count = f"{len(rows)} {noun}" if language == "en" else f"共 {len(rows)} {NOUNS[noun]}"
    render.emit(
        rows,
        fmt,
        text=lambda: render.aligned(header, body) + "\n" + count,
        table=lambda: render.csv_text(header, body),
    )


NOUNS = {"staff": "人", "devices": "台设备", "windows": "个窗口"}


def _day(value: datetime | None) -> date | None:
    return value.date() if value else None


def report(result: DirectoryResult, line: str) -> None:
    click.echo(line)
    if result.rejudged:
        months = sorted({month for _, month in result.rejudged})
        click.echo(f"months to recompute: {', '.join(months)} (the rules service does it)")


# -- staff ---------------------------------------------------------------------------------
@click.group()
def staff() -> None:
    """The staff directory: add, edit, list, delete, import and export staff.

    \b
    Example:
        hallwatch staff import hr-2026-11.xlsx --dry-run --config manager.toml
    """


@staff.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Also deleted staff.")
@output_format()
@with_management
def staff_list(manage: Management, include_inactive: bool, fmt: render.Format) -> None:
    """List the staff: names, department, window today, position, dates.

    \b
    Example:
        hallwatch staff list --config manager.toml
        hallwatch staff list --lang en --csv --config manager.toml > staff.csv
    """
    rows: list[StaffLine] = manage.staff_list(include_inactive=include_inactive)
    emit_listing(rows, STAFF_COLUMNS, fmt, manage.language, "staff")


def _person_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(
        [
            click.option("--name-en", help="English or pinyin name."),
            click.option("--department", help="Department id."),
            click.option("--position", help="Position (岗位)."),
            click.option("--start", "start_date", type=DAY, help="Start date (入职日期)."),
            click.option("--end", "end_date", type=DAY, help="End date (离职日期)."),
            click.option("--window", help="Window id they work at."),
            click.option(
                "--from",
                "since",
                type=DAY,
                help="The first day at --window (add: their start; edit: today).",
            ),
        ]
    ):
        command = option(command)
    return command


@staff.command("add")
@click.argument("staff_id")
@click.option("--name", required=True, help="Name in Chinese (姓名).")
@_person_options
@by_option("decides")
@with_management
def staff_add(
    manage: Management,
    staff_id: str,
    name: str,
    window: str | None,
    since: datetime | None,
    on_behalf_of: str | None,
    **fields: Any,
) -> None:
    """Add a person to the directory, at a window.

    \b
    Example:
        hallwatch staff add S017 --name 张伟 --name-en "Zhang Wei" --window w03 \\
            --start 2026-11-01 --config manager.toml
    """
    values = {k: _day(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    member = StaffMember(staff_id.strip(), name.strip(), **values)
    result = manage.add_staff(Actor.cli(on_behalf_of), member, window, _day(since))
    report(result, f"{staff_id}: added")


@staff.command("edit")
@click.argument("staff_id")
@click.option("--name", help="Name in Chinese (姓名).")
@_person_options
@by_option("decides")
@with_management
def staff_edit(
    manage: Management,
    staff_id: str,
    window: str | None,
    since: datetime | None,
    on_behalf_of: str | None,
    **fields: Any,
) -> None:
    """Change a person's record; --window moves them there from --from (default today).

    Days already judged at the old window that the change moves are recomputed.

    \b
    Example:
        hallwatch staff edit S017 --window w05 --from 2026-11-16 --config manager.toml
    """
    given = {k: _day(v) if isinstance(v, datetime) else v for k, v in fields.items() if v}
    result = manage.edit_staff(
        Actor.cli(on_behalf_of), staff_id, window=window, since=_day(since), **given
    )
    assert result.actions  # an edit that changed nothing is refused
    report(result, f"{staff_id}: {result.actions[0].reason}")


@staff.command("delete")
@click.argument("staff_id")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--end", type=DAY, help="Their last day [today, or their end date if earlier].")
@by_option("decides")
@with_management
def staff_delete(
    manage: Management,
    staff_id: str,
    reason: str,
    end: datetime | None,
    on_behalf_of: str | None,
) -> None:
    """Delete a person: no longer judged after their last day; kept for earlier months.

    \b
    Example:
        hallwatch staff delete S017 --reason "left 2026-11-30" --end 2026-11-30 \\
            --config manager.toml
    """
    result = manage.deactivate_staff(Actor.cli(on_behalf_of), staff_id, reason, _day(end))
    assert result.staff is not None
    report(result, f"{staff_id}: deleted, last day {result.staff.end_date}")


@staff.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file and say what would change.")
@click.option(
    "--from",
    "since",
    type=DAY,
    help="People whose window changes move there from this day [today].",
)
@click.option(
    "--create-departments",
    is_flag=True,
    help="Add departments the file names that the directory lacks (else: refused rows).",
)
@by_option("decides")
@output_format("json")
@with_management
def staff_import(
    manage: Management,
    file: Path,
    dry_run: bool,
    since: datetime | None,
    create_departments: bool,
    on_behalf_of: str | None,
    fmt: render.Format,
) -> None:
    """Import staff from an HR file (XLSX or CSV), all or nothing.

    The header row names the columns in Chinese or English: 工号/staff_id and 姓名/name,
    and any of 英文名/name_en, 部门/department, 窗口/window, 岗位/position,
    入职日期/start_date, 离职日期/end_date. Every wrong row is reported with its row
    number, and then nothing is imported. Windows must exist in the directory.

    \b
    Example:
        hallwatch staff import hr-2026-11.xlsx --dry-run --config manager.toml
        hallwatch staff import hr-2026-11.xlsx --config manager.toml
    """
    from rules.staff_file import read_rows

    result: ImportResult = manage.import_staff(
        Actor.cli(on_behalf_of),
        read_rows(file),
        file.name,
        moves_from=_day(since),
        dry_run=dry_run,
        create_departments=create_departments,
    )

    def text() -> str:
        verb = "would add" if dry_run else "added"
        lines = [
            f"{file.name}: {verb} {len(result.added)}, "
            f"{'would change' if dry_run else 'changed'} {len(result.changed)}, "
            f"unchanged {result.unchanged}"
        ]
        if result.departments_created:
            lines.append("new departments: " + ", ".join(result.departments_created))
        if result.rejudged:
            months = sorted({month for _, month in result.rejudged})
            lines.append(f"months to recompute: {', '.join(months)}")
        if dry_run:
            lines.append("dry run: nothing was written")
        return "\n".join(lines)

    render.emit(result, fmt, text=text)


@staff.command("export")
@click.argument("file", type=FILE)
@click.option("--all", "include_inactive", is_flag=True, help="Also deleted staff.")
@with_management
def staff_export(manage: Management, file: Path, include_inactive: bool) -> None:
    """Write the staff to an XLSX or CSV file in the import format (headers per --lang).

    \b
    Example:
        hallwatch staff export staff.xlsx --config manager.toml
    """
    from rules.staff_file import export_rows, write_rows

    rows = export_rows(manage.directory(), manage.today(), include_inactive=include_inactive)
    write_rows(file, rows, manage.language)
    click.echo(f"{file}: {len(rows)} staff")


@staff.group("windows")
def windows() -> None:
    """Service windows: list, add, rename.

    \b
    Example:
        hallwatch staff windows add w03 --site hall-01 --name 社保窗口 --config manager.toml
    """


@windows.command("list")
@output_format()
@with_management
def windows_list(manage: Management, fmt: render.Format) -> None:
    """List the windows with their site and department.

    \b
    Example:
        hallwatch staff windows list --config manager.toml
    """
    directory = manage.directory()
    columns = (
        Column("窗口", "window", _field("id")),
        Column("名称", "name", _field("name")),
        Column("站点", "site", _field("site")),
        Column("部门", "department", lambda w, _: directory.department[w.department].name
               if w.department in directory.department else w.department),
    )  # fmt: skip
    emit_listing(list(directory.windows), columns, fmt, manage.language, "windows")


@windows.command("add")
@click.argument("window_id")
@click.option("--site", required=True, help="The site the window is in.")
@click.option("--name", required=True, help="Its name as people read it (社保窗口).")
@click.option("--department", help="Department id.")
@by_option("decides")
@with_management
def windows_add(
    manage: Management,
    window_id: str,
    site: str,
    name: str,
    department: str | None,
    on_behalf_of: str | None,
) -> None:
    """Add a service window.

    \b
    Example:
        hallwatch staff windows add w03 --site hall-01 --name 社保窗口 --config manager.toml
    """
    window = ServiceWindow(window_id.strip(), site.strip(), name.strip(), department)
    report(manage.add_window(Actor.cli(on_behalf_of), window), f"{window_id}: added")


@windows.command("edit")
@click.argument("window_id")
@click.option("--name", help="New name.")
@click.option("--department", help="Department id.")
@by_option("decides")
@with_management
def windows_edit(
    manage: Management,
    window_id: str,
    name: str | None,
    department: str | None,
    on_behalf_of: str | None,
) -> None:
    """Rename a window or give it to another department.

    \b
    Example:
        hallwatch staff windows edit w03 --name 医保窗口 --config manager.toml
    """
    result = manage.edit_window(
        Actor.cli(on_behalf_of), window_id, name=name, department=department
    )
    report(result, f"{window_id}: {result.actions[0].reason}")


@staff.command("department")
@click.argument("department_id")
@click.option("--name", required=True, help="Its name as people read it.")
@click.option("--rename", is_flag=True, help="Rename an existing department.")
@by_option("decides")
@with_management
def department(
    manage: Management, department_id: str, name: str, rename: bool, on_behalf_of: str | None
) -> None:
    """Add a department (or, with --rename, rename one).

    \b
    Example:
        hallwatch staff department d-social --name 人力资源和社会保障局 --config manager.toml
    """
    act = manage.edit_department if rename else manage.add_department
    act(Actor.cli(on_behalf_of), Department(department_id.strip(), name.strip()))
    click.echo(f"{department_id}: {name}")


# -- devices ---------------------------------------------------------------------------------
@click.group()
def devices() -> None:
    """Stations and workstation agents: list with their state, register, retire.

    \b
    Example:
        hallwatch devices list --config manager.toml
    """


@devices.command("list")
@output_format()
@with_management
def devices_list(manage: Management, fmt: render.Format) -> None:
    """Registered devices with last seen, online or offline, backlog and clock sync.

    \b
    Example:
        hallwatch devices list --config manager.toml
    """
    emit_listing(manage.devices(), DEVICE_COLUMNS, fmt, manage.language, "devices")


@devices.command("register")
@click.argument("site")
@click.argument("device")
@click.option("--kind", type=click.Choice(["station", "agent"]), required=True, help="What it is.")
@click.option("--name", default="", help="Its name as people read it (东门考勤机).")
@click.option("--location", default="", help="Where it is.")
@click.option("--user", help="An agent's workstation owner (staff id).")
@by_option("decides")
@with_management
def devices_register(
    manage: Management,
    site: str,
    device: str,
    kind: Literal["station", "agent"],
    name: str,
    location: str,
    user: str | None,
    on_behalf_of: str | None,
) -> None:
    """Register a station or agent of a site.

    \b
    Example:
        hallwatch devices register hall-01 st-02 --kind station --name 东门考勤机 \\
            --config manager.toml
    """
    registered = Device(site.strip(), device.strip(), kind, name, location, user)
    manage.register_device(Actor.cli(on_behalf_of), registered)
    click.echo(f"{site}/{device}: registered")


@devices.command("retire")
@click.argument("site")
@click.argument("device")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@by_option("decides")
@with_management
def devices_retire(
    manage: Management, site: str, device: str, reason: str, on_behalf_of: str | None
) -> None:
    """Retire a device: it stays listed, marked retired.

    \b
    Example:
        hallwatch devices retire hall-01 st-02 --reason "replaced by st-05" --config manager.toml
    """
    manage.retire_device(Actor.cli(on_behalf_of), site, device, reason)
    click.echo(f"{site}/{device}: retired")
