"""Hall managers' and operators' commands: run, replay, violations, correct, void, leave,
inspect, score."""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, tzinfo
from functools import wraps
from pathlib import Path
from typing import Any

import click

from base.config import ConfigError
from mqtt.client import BrokerConfig, ConnectError, MqttClient
from mqtt.ids import new_event_id, utc_now
from mqtt.schema import LeaveKind
from rules import render
from rules.backend import StoreError, StoreParam
from rules.backend import open_store as open_backend
from rules.manager_actions import ActionKind, LeaveRecord, ManagerAction, effective_leave
from rules.policy import Policy, load_policy
from rules.publish import ResultPublisher
from rules.recompute import Change, month_of, recompute_person_month
from rules.store import Store

FILE = click.Path(dir_okay=False, path_type=Path)


def open_store(location: Path | str, synchronous: str = "FULL") -> Store:
    try:
        return open_backend(location, synchronous=synchronous)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


class Context:
    """The store and policy a manager command works on, and the broker to announce on."""

    def __init__(self, db: Path | str, policy: Path, broker: BrokerConfig | None = None) -> None:
        self.policy: Policy = load_policy(policy)
        self.store = open_store(db)
        self.broker = broker

    def publish(self, fill: Callable[[ResultPublisher], None], what: str) -> None:
        """Publish what `fill` gives the publisher, when a broker is configured.

        What is published is already stored: a broker that cannot be reached only costs
        the live notification (the service and the reports read the store): a warning.
        """
        if self.broker is None:
            return
        viewer = self.broker.model_copy(update={"persistent_session": False})
        client = MqttClient(viewer, f"hallwatch-manager-{new_event_id()[-12:]}")
        try:
            client.start(wait_s=5)
        except ConnectError as exc:
            click.echo(f"warning: {what}, but not announced on MQTT: {exc}", err=True)
            return
        sent = []
        fill(ResultPublisher(lambda event: sent.append(client.publish_event(event))))
        for info in sent:
            info.wait_for_publish(5)
        client.stop()

    def announce(self, action: ManagerAction, staff: str, change: Change) -> None:
        """Publish a manager's action and the violations it changed."""

        def fill(publisher: ResultPublisher) -> None:
            publisher.correction(self.policy.window_of[staff].site, action)
            changed, withdrawn = change
            for record in changed:
                publisher.violation(record)
            for record in withdrawn:
                publisher.violation(record, withdrawn=True)

        self.publish(fill, "recorded")


def with_context(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add --config / --db / --policy; the command receives `ctx: Context`."""

    @click.option(
        "--config",
        "config_file",
        type=FILE,
        envvar="HALLWATCH_RULES_CONFIG",
        help="Service config file: take [rules] db and policy from it.",
    )
    @click.option(
        "--db",
        type=StoreParam(),
        envvar="HALLWATCH_RULES_DB",
        help="Rules database: a SQLite file or a postgresql:// URL.",
    )
    @click.option("--policy", type=FILE, envvar="HALLWATCH_POLICY", help="Policy TOML file.")
    @wraps(command)
    def wrapper(config_file: Path | None, db: Path | str | None, policy: Path | None, **kwargs):
        broker = None
        try:
            if config_file is not None:
                from rules.service import load_config

                config = load_config(config_file)
                db, policy = db or config.rules.db, policy or config.rules.policy
                broker = config.broker
            if db is None or policy is None:
                raise click.UsageError("give --config FILE, or both --db FILE and --policy FILE")
            ctx = Context(db, policy, broker)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        try:
            return command(ctx=ctx, **kwargs)
        finally:
            ctx.store.close()

    return wrapper


def output_format(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option("--csv", "as_csv", is_flag=True, help="CSV instead of text.")(command)
    return click.option("--json", "as_json", is_flag=True, help="JSON instead of text.")(command)


def parse_moment(value: str, zone: tzinfo, what: str) -> datetime:
    """An ISO date-time; without an offset it is read in the site's time zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date-time (2026-11-24T09:00)", param_hint=what
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def parse_now(value: str | None) -> datetime:
    return utc_now() if value is None else parse_moment(value, UTC, "--now")


def who(by: str | None) -> str:
    return by or getpass.getuser()


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
@click.option("--json", "as_json", is_flag=True, help="JSON summary.")
def replay(
    events_file: Path, policy_file: Path, db: Path | str, now: str | None, as_json: bool
) -> None:
    """Rebuild violations offline from recorded payloads; prints a digest of the results.

    \b
    Example:
        hallwatch rules replay --events month.jsonl --policy policy.toml --db replay.db
    """
    from rules.replay import replay as run_replay

    try:
        policy = load_policy(policy_file)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(db, synchronous="NORMAL")
    try:
        with events_file.open("rb") as lines:
            summary = run_replay(lines, policy, store, parse_now(now))
    finally:
        store.close()
    if as_json:
        click.echo(render.to_json(summary))
        return
    click.echo(
        f"{summary.lines} lines: {summary.stored} stored, {summary.duplicates} duplicates, "
        f"{summary.dead_letters} dead letters"
    )
    for month, count in summary.months.items():
        click.echo(f"{month}: {count} violations")
    click.echo(f"results digest {summary.digest}")


@rules.command()
@output_format
@with_context
def audit(ctx: Context, as_json: bool, as_csv: bool) -> None:
    """The audit trail: every correction, void and leave change (who, when, why).

    \b
    Example:
        hallwatch rules audit --config rules.toml
    """
    rows = ctx.store.actions()
    if as_json:
        click.echo(render.to_json(rows))
    elif as_csv:
        click.echo(render.to_csv(rows), nl=False)
    else:
        for a in rows:
            click.echo(
                f"{a.ts.isoformat(timespec='seconds')}  {a.by:<12} {a.action:<12} "
                f"{a.target}  {a.reason}"
            )
        click.echo(f"{len(rows)} actions")


# -- violations and manager actions ----------------------------------------------------
@click.command()
@with_context
@click.option("--month", help="YYYY-MM.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="One day.")
@click.option("--staff", help="One staff id.")
@click.option("--site", help="One site.")
@output_format
def violations(ctx: Context, month, day, staff, site, as_json: bool, as_csv: bool) -> None:
    """List violations with their evidence, numbering, escalation, veto and status.

    \b
    Example:
        hallwatch violations --config rules.toml --month 2026-11 --staff S017
    """
    rows = ctx.store.violations(
        month=month, day=day.date() if day else None, staff=staff, site=site
    )
    if as_json:
        click.echo(render.to_json(rows))
    elif as_csv:
        click.echo(render.to_csv(rows), nl=False)
    else:
        for row in rows:
            click.echo(render.violation_line(row))
        click.echo(f"{len(rows)} violations")


def _act(ctx: Context, target: str, kind: ActionKind, reason: str, by: str | None) -> None:
    """Record a correction or void against a violation, then recompute its person-month."""
    if not reason.strip():
        raise click.BadParameter("say why (it is kept in the audit trail)")
    found = ctx.store.violation(target)
    if found is None:
        raise click.ClickException(
            f"no violation {target!r}; list them with 'hallwatch violations --month YYYY-MM'"
        )
    if found.status == "voided":
        raise click.ClickException(f"{target} is already voided; nothing to {kind}")
    if kind == "correct" and found.status == "corrected":
        raise click.ClickException(f"{target} already has a correction recorded")
    action = ManagerAction(new_event_id(), utc_now(), who(by), kind, target, reason.strip())
    ctx.store.add_action(action)
    change = recompute_person_month(
        ctx.store, ctx.policy, found.staff_id, month_of(found.day), utc_now()
    )
    ctx.announce(action, found.staff_id, change)
    after = ctx.store.violation(target)
    click.echo(render.violation_line(after) if after else f"{target}: {kind} recorded")


def _violation_command(kind: ActionKind, text: str, text_help: str, doc: str) -> click.Command:
    """`correct` and `void`: one action on one violation, with its reason and author."""

    @click.command(name=kind, help=doc)
    @click.argument("violation_id")
    @click.option(f"--{text}", "reason", required=True, help=text_help)
    @click.option("--by", help="Who decides [your user name].")
    @with_context
    def command(ctx: Context, violation_id: str, reason: str, by: str | None) -> None:
        _act(ctx, violation_id, kind, reason, by)

    return command


correct = _violation_command(
    "correct",
    "note",
    "The correction notice given (kept in the audit trail).",
    """Record the correction notice for a violation (纠错); it stays counted.

    \b
    Example:
        hallwatch correct v-1a2b3c4d5e6f7a8b --note "talked to S017, 11-24" --config rules.toml
    """,
)
void = _violation_command(
    "void",
    "reason",
    "Why it is void (appeal outcome, evidence).",
    """Void a violation (appeal upheld): it no longer deducts, counts or vetoes.

    \b
    Example:
        hallwatch void v-1a2b3c4d5e6f7a8b --reason "sensor fault, see ticket 42" --config rules.toml
    """,
)


@click.group()
def leave() -> None:
    """Approved leave: add (also after the fact), list, cancel.

    \b
    Example:
        hallwatch leave add --staff S017 --from 2026-11-24T09:00 --to 2026-11-24T17:00 \\
            --kind sick --reason "doctor's note" --config rules.toml
    """


@leave.command("add")
@click.option("--staff", required=True, help="Staff id.")
@click.option("--from", "start", required=True, help="Start (ISO; site time if no offset).")
@click.option("--to", "end", required=True, help="End (ISO; site time if no offset).")
@click.option(
    "--kind", type=click.Choice([k.value for k in LeaveKind]), default="personal", show_default=True
)
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--by", help="Who approves [your user name].")
@with_context
def leave_add(ctx: Context, staff: str, start: str, end: str, kind: str, reason: str, by) -> None:
    """Grant leave; the affected months are recomputed.

    \b
    Example:
        hallwatch leave add --staff S017 --from 2026-11-24 --to 2026-11-25 --reason sick --config rules.toml
    """
    window = ctx.policy.window_of.get(staff)
    if window is None:
        raise click.BadParameter(f"{staff} is in no window of the policy", param_hint="--staff")
    zone = ctx.policy.zone(window.site)
    begin, finish = parse_moment(start, zone, "--from"), parse_moment(end, zone, "--to")
    if finish <= begin:
        raise click.BadParameter("the leave ends before it starts", param_hint="--to")
    record = LeaveRecord(
        f"lv-{new_event_id()[-12:]}", staff, begin, finish, LeaveKind(kind), reason
    )
    action = ManagerAction(
        new_event_id(), utc_now(), who(by), "leave_add", record.leave_id, reason, record
    )
    _record_leave_action(ctx, action, record)
    click.echo(
        f"{record.leave_id}: {staff} on {kind} leave {begin.isoformat()} - {finish.isoformat()}"
    )


def _record_leave_action(ctx: Context, action: ManagerAction, record: LeaveRecord) -> None:
    """Store a leave action, recompute the months the leave touches, announce the result."""
    ctx.store.add_action(action)
    zone = ctx.policy.zone(ctx.policy.window_of[record.staff_id].site)
    months = {month_of(moment.astimezone(zone).date()) for moment in (record.start, record.end)}
    changed: list = []
    withdrawn: list = []
    for month in sorted(months):
        more, gone = recompute_person_month(
            ctx.store, ctx.policy, record.staff_id, month, utc_now()
        )
        changed += more
        withdrawn += gone
    ctx.announce(action, record.staff_id, (changed, withdrawn))


@leave.command("list")
@click.option("--staff", help="Only this staff id.")
@output_format
@with_context
def leave_list(ctx: Context, staff: str | None, as_json: bool, as_csv: bool) -> None:
    """List leave in force (policy and managers').

    \b
    Example:
        hallwatch leave list --staff S017 --config rules.toml
    """
    rows = [
        lv
        for lv in effective_leave(ctx.policy, ctx.store.actions())
        if staff in (None, lv.staff_id)
    ]
    if as_json:
        click.echo(render.to_json(rows))
    elif as_csv:
        click.echo(render.to_csv(rows), nl=False)
    else:
        for lv in rows:
            click.echo(
                f"{lv.leave_id}  {lv.staff_id:<8} {lv.kind:<9} {lv.start.isoformat()} - {lv.end.isoformat()}  {lv.reason}"
            )
        click.echo(f"{len(rows)} leave records")


@leave.command("cancel")
@click.argument("leave_id")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--by", help="Who cancels [your user name].")
@with_context
def leave_cancel(ctx: Context, leave_id: str, reason: str, by: str | None) -> None:
    """Cancel leave granted earlier; the affected months are recomputed.

    \b
    Example:
        hallwatch leave cancel lv-0123456789ab --reason "entered twice" --config rules.toml
    """
    current = {lv.leave_id: lv for lv in effective_leave(ctx.policy, ctx.store.actions())}
    if leave_id not in current:
        raise click.ClickException(f"no leave {leave_id!r} in force; see 'hallwatch leave list'")
    action = ManagerAction(new_event_id(), utc_now(), who(by), "leave_cancel", leave_id, reason)
    _record_leave_action(ctx, action, current[leave_id])
    click.echo(f"{leave_id} cancelled")


# -- reports ---------------------------------------------------------------------------
@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True, help="The day.")
@click.option("--site", help="Only this site.")
@click.option("--now", help="As of this moment (ISO; UTC without an offset; default now).")
@click.option("--publish", is_flag=True, help="Also publish the counts per site (needs --config).")
@output_format
@with_context
def inspect(
    ctx: Context,
    day: datetime,
    site: str | None,
    now: str | None,
    publish: bool,
    as_json: bool,
    as_csv: bool,
) -> None:
    """The daily inspection: per window who is where, punches, violations, devices, open items.

    \b
    Example:
        hallwatch inspect --date 2026-11-24 --site hall-01 --config rules.toml
        hallwatch inspect --date 2026-11-24 --json --publish --config rules.toml
    """
    from rules.inspection import load_inspection

    if publish and ctx.broker is None:
        raise click.UsageError("--publish needs --config FILE (its [broker] table)")
    report = load_inspection(ctx.store, ctx.policy, day.date(), site, parse_now(now))
    if publish:
        ctx.publish(lambda publisher: publisher.inspections(report), "inspected")
    if as_json:
        click.echo(render.to_json(report))
    elif as_csv:
        click.echo(render.inspection_csv(report), nl=False)
    else:
        click.echo(render.inspection_text(report))


@click.command()
@click.option("--month", required=True, help="YYYY-MM.")
@click.option("--xlsx", type=FILE, help="Also write the sheet as an Excel workbook.")
@output_format
@with_context
def score(ctx: Context, month: str, xlsx: Path | None, as_json: bool, as_csv: bool) -> None:
    """The monthly 100-point sheet per person and per window, with vetoes and ranking.

    \b
    Examples:
        hallwatch score --month 2026-11 --config rules.toml
        hallwatch score --month 2026-11 --xlsx nov.xlsx --config rules.toml
    """
    from rules.scoring import score_month

    try:
        date.fromisoformat(f"{month}-01")
    except ValueError:
        raise click.BadParameter(f"{month!r} is not YYYY-MM", param_hint="--month") from None
    rows = ctx.store.violations(month=month)
    people, windows = score_month(ctx.policy, rows)
    if xlsx is not None:
        render.score_xlsx(xlsx, month, people, windows, rows)
    if as_json:
        click.echo(render.to_json({"month": month, "staff": people, "windows": windows}))
    elif as_csv:
        click.echo(render.to_csv(people), nl=False)
        click.echo()
        click.echo(render.to_csv(windows), nl=False)
    else:
        click.echo(render.score_text(month, people, windows))
        if xlsx is not None:
            click.echo(f"\nwritten {xlsx}")
