"""Hall managers' and operators' commands: run, replay, violations, correct, void, leave,
inspect, score.

A thin layer over the management API (`rules/manage.py`): parse the options, build the
acting person, call the API, render the result (`rules/render.py`). Errors a person can
act on are `HallwatchError`s, shown by the `hallwatch` command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any

import click

from mqtt.client import BrokerConfig
from mqtt.ids import utc_now
from mqtt.schema import LeaveKind
from rules import render
from rules.acting import Actor
from rules.announce import Connecting
from rules.backend import StoreParam, open_store
from rules.backup_cli import backup_command, restore_command
from rules.manage import ActionResult, Management
from rules.manager_actions import Language, LeaveRecord, leave_kind
from rules.policy import load_policy

FILE = click.Path(dir_okay=False, path_type=Path)


def with_management(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config / --db / --policy; the command receives `manage: Management`."""

    @click.option(
        "--config",
        "config_file",
        type=FILE,
        envvar="HALLWATCH_RULES_CONFIG",
        help=(
            "A rules config: its [rules] db and policy, and a [broker] with the manager "
            "account (manager.toml; never the service's own account: docs/operations.md)."
        ),
    )
    @click.option(
        "--db",
        type=StoreParam(),
        envvar="HALLWATCH_RULES_DB",
        help="Rules database: a SQLite file or a postgresql:// URL.",
    )
    @click.option("--policy", type=FILE, envvar="HALLWATCH_POLICY", help="Policy TOML file.")
    @click.option(
        "--lang",
        "language",
        type=click.Choice(["zh", "en"]),
        default="zh",
        envvar="HALLWATCH_LANG",
        show_default=True,
        help="The language of tables' headings and words, of names, and of the regime's refusals.",
    )
    @wraps(command)
    def wrapper(
        config_file: Path | None,
        db: Path | str | None,
        policy: Path | None,
        language: Language,
        **kwargs,
    ):
        broker: BrokerConfig | None = None
        if config_file is not None:
            from rules.service import load_config

            config = load_config(config_file)
            db, policy = db or config.rules.db, policy or config.rules.policy
            broker = config.broker
        if db is None or policy is None:
            raise click.UsageError("give --config FILE, or both --db FILE and --policy FILE")
        rules_policy = load_policy(policy)
        store = open_store(db)
        announcer = Connecting(broker) if broker is not None else None
        try:
            manage = Management(store, rules_policy, announcer, language=language)
            return command(manage=manage, **kwargs)
        finally:
            store.close()

    return wrapper


def output_format(*formats: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add --json and --csv (or those of `formats`); the command receives `fmt`."""
    formats = formats or ("json", "csv")

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(command)
        def wrapper(as_json: bool = False, as_csv: bool = False, **kwargs):
            if as_json and as_csv:
                raise click.UsageError("give --json or --csv, not both")
            fmt: render.Format = "json" if as_json else "csv" if as_csv else "text"
            return command(fmt=fmt, **kwargs)

        if "csv" in formats:
            wrapper = click.option("--csv", "as_csv", is_flag=True, help="CSV instead of text.")(
                wrapper
            )
        return click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")(
            wrapper
        )

    return decorate


def parse_now(value: str | None) -> datetime:
    """--now: an ISO date-time, UTC without an offset; by default, now."""
    if value is None:
        return utc_now()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (2026-11-24T09:00)", param_hint="--now"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def by_option(verb: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--by: whose decision you enter; the audit also keeps your own user name."""
    return click.option(
        "--by",
        "on_behalf_of",
        help=f"Who {verb}, when you enter it for them [you]; "
        "the audit trail keeps your user name too.",
    )


def report_action(result: ActionResult, line: str) -> None:
    click.echo(line)
    if result.not_announced:
        click.echo(
            f"warning: recorded, but not announced on MQTT: {result.not_announced}", err=True
        )


# -- the service -----------------------------------------------------------------------
@click.group(invoke_without_command=True)
@click.option("--config", "config_file", type=FILE, help="Service config (TOML): run the service.")
@click.pass_context
def rules(click_ctx: click.Context, config_file: Path | None) -> None:
    """The central rules service: run it, or replay events offline.

    \b
    Examples:
        hallwatch rules --config /etc/hallwatch/rules.toml
        hallwatch rules replay --events month.jsonl --policy policy.toml --db out.db
        hallwatch rules backup rules-backup.db --config /etc/hallwatch/rules.toml
    """
    if click_ctx.invoked_subcommand is None:
        if config_file is None:
            click.echo(click_ctx.get_help())
            click_ctx.exit(2)
        click_ctx.invoke(run, config_file=config_file)


@rules.command()
@click.option("--config", "config_file", type=FILE, required=True, help="Service config (TOML).")
def run(config_file: Path) -> None:
    """Run the rules service until SIGTERM or Ctrl-C.

    \b
    Example:
        hallwatch rules run --config /etc/hallwatch/rules.toml
    """
    from base.service_loop import run_until_signalled
    from rules.service import RulesService, load_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    service = RulesService(load_config(config_file))
    service.start()
    try:
        # The work happens in the service's threads; a dead worker stops the watchdog.
        run_until_signalled(lambda stop: stop.wait(1.0), status="ingesting", alive=service.alive)
    finally:
        service.stop()


@rules.command()
@click.option(
    "--events",
    "events_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="JSONL: one payload per line.",
)
@click.option("--policy", "policy_file", type=FILE, required=True, help="Policy TOML file.")
@click.option(
    "--db",
    type=StoreParam(),
    required=True,
    help="Database to (re)build: file or postgresql:// URL.",
)
@click.option(
    "--now", help="Judge sessions as of this moment (ISO; UTC without an offset; default: now)."
)
@click.option(
    "--directory-from",
    type=StoreParam(),
    help=(
        "Judge by the directory (who worked where, with dates) of this database, the live "
        "rules store; unset: the policy's [[windows]]."
    ),
)
@output_format("json")
def replay(
    events_file: Path,
    policy_file: Path,
    db: Path | str,
    now: str | None,
    directory_from: Path | str | None,
    fmt: render.Format,
) -> None:
    """Rebuild violations offline from recorded payloads; prints a digest of the results.

    \b
    Example:
        hallwatch rules replay --events month.jsonl --policy policy.toml --db replay.db \\
            --directory-from /var/lib/hallwatch/rules.db
    """
    policy = load_policy(policy_file)
    store = open_store(db, synchronous="NORMAL")
    try:
        if directory_from is not None:
            live = open_store(directory_from)
            try:
                if not store.seed_directory(live.directory()):
                    click.echo(
                        f"{db} already has a directory: kept it (replay into a new database "
                        "to take another's)",
                        err=True,
                    )
            finally:
                live.close()
        with events_file.open("rb") as lines:
            summary = Management(store, policy).replay(lines, parse_now(now))
    finally:
        store.close()

    def text() -> str:
        return "\n".join(
            [
                f"{summary.lines} lines: {summary.stored} stored, "
                f"{summary.duplicates} duplicates, {summary.dead_letters} dead letters",
                *(f"{month}: {count} violations" for month, count in summary.months.items()),
                f"results digest {summary.digest}",
            ]
        )

    render.emit(summary, fmt, text=text)


@rules.command()
@output_format()
@with_management
def audit(manage: Management, fmt: render.Format) -> None:
    """The audit trail: every correction, void and leave change (who, when, why).

    \b
    Example:
        hallwatch rules audit --config manager.toml
    """
    rows = manage.audit()
    zone = manage.policy.default_site.zone
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda a: render.action_line(a, zone, manage.language), "actions", manage.language
        ),
        zone=zone,
    )


@rules.command()
@output_format()
@with_management
@click.option("--site", help="Only this site's devices.")
def gallery(manage: Management, fmt: render.Format, site: str | None) -> None:
    """Each station's gallery: the version applied, what it still lacks, erasures it has
    not confirmed, its last error.

    \b
    Example:
        hallwatch rules gallery --site hall-01 --config manager.toml
    """
    from rules.gallery_status import gallery_status

    rows = gallery_status(manage.store, site)
    zone = manage.policy.default_site.zone
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda r: render.gallery_line(r, manage.language), "devices", manage.language
        ),
        zone=zone,
    )


@rules.command()
@output_format("json")
@with_management
@click.option("--channel", help="Only this channel's sends.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=30, show_default=True,
              help="How many of the latest notifications to list.")  # fmt: skip
def notifications(manage: Management, fmt: render.Format, channel: str | None, limit: int) -> None:
    """Notifications per channel: how many were sent, wait, keep failing, and the last
    error; then the latest ones, each with its attempts and when it was sent.

    \b
    Example:
        hallwatch rules notifications --channel wecom --config manager.toml
    """
    from rules.notify_report import NotificationReport

    report = NotificationReport(
        [c for c in manage.store.notification_channels() if channel in (None, c.channel)],
        manage.store.notifications(channel, limit),
    )
    zone = manage.policy.default_site.zone
    render.emit(report, fmt, text=lambda: report.text(zone, manage.language), zone=zone)


# -- violations and manager actions ----------------------------------------------------
@click.command()
@with_management
@click.option("--month", help="YYYY-MM.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One day.")
@click.option("--staff", help="One staff id.")
@click.option("--site", help="One site.")
@output_format()
def violations(
    manage: Management,
    month: str | None,
    day: datetime | None,
    staff: str | None,
    site: str | None,
    fmt: render.Format,
) -> None:
    """List violations with their evidence, numbering, escalation, veto and status.

    \b
    Example:
        hallwatch violations --config manager.toml --month 2026-11 --staff S017
    """
    rows = manage.violations(month=month, day=day.date() if day else None, staff=staff, site=site)
    directory = manage.directory()
    zone = manage.policy.zone(site) if site else manage.policy.default_site.zone
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows,
            lambda v: render.named_violation_line(v, directory, manage.language),
            "violations",
            manage.language,
        ),
        zone=zone,
    )


def _violation_command(
    act: Callable[[Management, Actor, str, str], ActionResult],
    text: str,
    text_help: str,
    doc: str,
) -> click.Command:
    """`correct` and `void`: one action on one violation, with its reason and author."""

    @click.command(name=act.__name__, help=doc)
    @click.argument("violation_id")
    @click.option(f"--{text}", "reason", required=True, help=text_help)
    @by_option("decides")
    @with_management
    def command(
        manage: Management, violation_id: str, reason: str, on_behalf_of: str | None
    ) -> None:
        result = act(manage, Actor.cli(on_behalf_of), violation_id, reason)
        after = result.violation
        line = after and render.named_violation_line(after, manage.directory(), manage.language)
        report_action(result, line or f"{violation_id}: recorded")

    return command


correct = _violation_command(
    Management.correct,
    "note",
    "The correction notice given (kept in the audit trail).",
    """Record the correction notice for a violation (纠错); it stays counted.

    \b
    Example:
        hallwatch correct v-1a2b3c4d5e6f7a8b --note "talked to S017, 11-24" --config manager.toml
    """,
)
void = _violation_command(
    Management.void,
    "reason",
    "Why it is void (appeal outcome, evidence).",
    """Void a violation (appeal upheld): it no longer deducts, counts or vetoes.

    \b
    Example:
        hallwatch void v-1a2b3c4d5e6f7a8b --reason "sensor fault, see ticket 42" --config manager.toml
    """,
)


@click.group()
def leave() -> None:
    """Approved leave: add (also after the fact), list, cancel.

    \b
    Example:
        hallwatch leave add --staff S017 --from 2026-11-24T09:00 --to 2026-11-24T17:00 \\
            --kind sick --reason "doctor's note" --config manager.toml
    """


@leave.command("add")
@click.option("--staff", required=True, help="Staff id.")
@click.option(
    "--from", "start", required=True, help="First day (YYYY-MM-DD, the whole day) or an instant."
)
@click.option("--to", "end", required=True, help="Last day (YYYY-MM-DD, inclusive) or an instant.")
@click.option("--kind", help=f"The kind of leave, which must be given: {', '.join(LeaveKind)}.")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@by_option("approves")
@with_management
def leave_add(
    manage: Management,
    staff: str,
    start: str,
    end: str,
    kind: str | None,
    reason: str,
    on_behalf_of: str | None,
) -> None:
    """Grant leave; the affected months are recomputed.

    Dates are whole local days, both inclusive (the example is two days); date-times are
    instants, in the site's time zone when they carry no offset.

    \b
    Example:
        hallwatch leave add --staff S017 --from 2026-11-24 --to 2026-11-25 --kind sick \\
            --reason "doctor's note" --config manager.toml
    """
    begin, finish = manage.leave_period(staff, start, end)
    result = manage.add_leave(
        Actor.cli(on_behalf_of), staff, begin, finish, leave_kind(kind, manage.language), reason
    )
    granted = result.leave
    assert granted is not None  # an added leave is in its result
    report_action(
        result,
        f"{granted.leave_id}: {manage.directory().label(staff, manage.language)} on {kind} leave "
        f"{render.moment(granted.start)} - {render.moment(granted.end)}",
    )


@leave.command("list")
@click.option("--staff", help="Only this staff id.")
@output_format()
@with_management
def leave_list(manage: Management, staff: str | None, fmt: render.Format) -> None:
    """List leave in force (policy and managers').

    \b
    Example:
        hallwatch leave list --staff S017 --config manager.toml
    """
    rows = manage.leave(staff=staff)
    zone = manage.policy.default_site.zone
    directory = manage.directory()

    def line(lv: LeaveRecord) -> str:
        who = directory.label(lv.staff_id, manage.language)
        return render.leave_line(lv, who, zone, manage.language)

    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(rows, line, "leave records", manage.language),
        zone=zone,
    )


@leave.command("cancel")
@click.argument("leave_id")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@by_option("cancels")
@with_management
def leave_cancel(manage: Management, leave_id: str, reason: str, on_behalf_of: str | None) -> None:
    """Cancel leave granted earlier; the affected months are recomputed.

    \b
    Example:
        hallwatch leave cancel lv-0123456789ab --reason "entered twice" --config manager.toml
    """
    result = manage.cancel_leave(Actor.cli(on_behalf_of), leave_id, reason)
    report_action(result, f"{leave_id} cancelled")


# -- reports ---------------------------------------------------------------------------
@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day.")
@click.option("--site", help="Only this site.")
@click.option("--now", help="As of this moment (ISO; UTC without an offset; default now).")
@click.option("--publish", is_flag=True, help="Also publish the counts per site (needs --config).")
@output_format()
@with_management
def inspect(
    manage: Management,
    day: datetime,
    site: str | None,
    now: str | None,
    publish: bool,
    fmt: render.Format,
) -> None:
    """The daily inspection: per window who is where, punches, violations, devices, open items.

    \b
    Example:
        hallwatch inspect --date 2026-11-24 --site hall-01 --config manager.toml
        hallwatch inspect --date 2026-11-24 --json --publish --config manager.toml
    """
    if publish and manage.announcer is None:
        raise click.UsageError("--publish needs --config FILE (its [broker] table)")
    report = manage.inspection(day.date(), site=site, as_of=parse_now(now))
    if publish and (problem := manage.announce_inspection(report)):
        click.echo(f"warning: inspected, but not announced on MQTT: {problem}", err=True)
    render.emit(
        report,
        fmt,
        text=lambda: render.inspection_text(report, manage.language),
        table=lambda: render.inspection_csv(report, manage.language),
        zone=manage.policy.zone(site) if site else manage.policy.default_site.zone,
    )


@click.command()
@click.option("--month", help="YYYY-MM: that month's sheet, or with --lists its lists.")
@click.option(
    "--year",
    type=int,
    help="The annual review (年度考核) of this year instead: per person and window its "
    "twelve months, their mean, the months vetoed and the year's rating.",
)
@click.option(
    "--lists", is_flag=True, help="The month's red and black lists (红黑榜) instead of its sheet."
)
@click.option("--site", help="Only this hall, ranked within it (--year and --lists).")
@click.option("--xlsx", type=FILE, help="Also write the tables as an Excel workbook.")
@output_format()
@with_management
def score(
    manage: Management,
    month: str | None,
    year: int | None,
    lists: bool,
    site: str | None,
    xlsx: Path | None,
    fmt: render.Format,
) -> None:
    """The monthly 100-point sheet, its red and black lists, or the year's review.

    \b
    Examples:
        hallwatch score --month 2026-11 --config manager.toml
        hallwatch score --month 2026-11 --xlsx nov.xlsx --config manager.toml
        hallwatch score --month 2026-11 --lists --site hall-01 --config manager.toml
        hallwatch score --year 2026 --xlsx 2026.xlsx --config manager.toml
    """
    if (month is None) == (year is None):
        raise click.UsageError("give --month YYYY-MM or --year YYYY")
    if lists and month is None:
        raise click.UsageError("--lists are a month's: give --month YYYY-MM")
    if site is not None and not (year or lists):
        raise click.UsageError("--site is for --year and --lists; a month's sheet is every hall's")
    language = manage.language
    data: Any
    if year is not None:
        review = manage.annual_review(year, site=site)
        data = {"year": year, "staff": review.staff, "windows": review.windows}
        tables = render.annual_tables(review, language)
        text = render.annual_text(review, language)
    elif lists:
        hall = manage.month_lists(str(month), site=site)
        data, tables = hall.lists, render.lists_tables(hall, language)
        text = render.lists_text(hall, language)
    else:
        sheet = manage.monthly_sheet(str(month))
        data = {"month": month, "staff": sheet.staff, "windows": sheet.windows}
        tables = render.score_tables(
            str(month), sheet.staff, sheet.windows, sheet.violations, sheet.directory, language
        )
        text = render.score_text(str(month), sheet.staff, sheet.windows, sheet.directory, language)
    if xlsx is not None:
        render.score_xlsx(xlsx, tables)
        text += f"\n\nwritten {xlsx}"
    as_csv = render.tables_csv if year or lists else render.score_csv
    render.emit(data, fmt, text=lambda: text, table=lambda: as_csv(tables))


rules.add_command(backup_command)
rules.add_command(restore_command)
