"""`hallwatch requests`: punch corrections (补卡) and appeals (申诉) raised on a person's
behalf, listed, approved and rejected; a thin layer over `Management.raise_request`,
`Management.decide_request` and `Management.requests` (rules/manage_requests.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import click

from rules import render
from rules.acting import Actor, InvalidInput
from rules.cli import by_option, output_format, with_management
from rules.manage import Management
from rules.manage_requests import RequestResult
from rules.requests import PUNCH_ACTIONS, Request
from rules.words import punch_word, request_kind_word, request_status_word


@click.group()
def requests() -> None:
    """Punch corrections (补卡) and appeals (申诉): raise, list, approve, reject.

    Raised for a person and decided by a manager with a reason. An approved correction counts as an attested punch; an upheld
    appeal voids the violation; a rejected request changes nothing.

    \b
    Example:
        hallwatch requests add-punch --staff S017 --at 2026-11-24T12:00 \\
            --action clock_out --reason "忘记打下班卡" --config manager.toml
    """


def request_line(r: Request, manage: Management) -> str:
    """A request as a manager reads it: who, what, why, and how it was decided."""
    language = manage.language
    if r.kind == "punch" and r.at is not None:
        what = f"{render.moment(r.at, manage.policy.zone(r.site))} {punch_word(r.action, language)}"
    else:
        what = r.violation_id or ""
    decided = f"  ({r.decided_by}: {r.decision})" if r.status != "pending" else ""
    return (
        f"{r.request_id}  {request_kind_word(r.kind, language)}  "
        f"{manage.directory().label(r.staff_id, language)}  {what}  {r.reason}  "
        f"[{request_status_word(r.status, language)}]{decided}"
    )


def report(result: RequestResult, manage: Management) -> None:
    click.echo(request_line(result.request, manage))
    if result.not_announced:
        click.echo(
            f"warning: recorded, but not announced on MQTT: {result.not_announced}", err=True
        )


@requests.command("add-punch")
@click.option("--staff", required=True, help="Who forgot to punch (staff id).")
@click.option("--at", "moment", required=True, help="When (ISO; the site's time without offset).")
@click.option("--action", required=True, type=click.Choice(PUNCH_ACTIONS), help="The punch.")
@click.option("--reason", required=True, help="Why the punch is missing (kept in the audit).")
@by_option("raised it")
@with_management
def add_punch(
    manage: Management,
    staff: str,
    moment: str,
    action: str,
    reason: str,
    on_behalf_of: str | None,
) -> None:
    """Raise a punch correction (补卡) for a person; pending until decided.

    \b
    Example:
        hallwatch requests add-punch --staff S017 --at 2026-11-24T12:00 \\
            --action clock_out --reason "忘记打下班卡" --config manager.toml
    """
    try:
        when = datetime.fromisoformat(moment)
    except ValueError:
        raise InvalidInput(f"--at {moment!r} is not a date-time (2026-11-24T12:00)") from None
    result = manage.raise_request(
        Actor.cli(on_behalf_of), staff=staff, at=when, action=action, reason=reason
    )
    report(result, manage)


@requests.command("appeal")
@click.argument("violation_id")
@click.option("--reason", required=True, help="Why the violation is contested.")
@by_option("raised it")
@with_management
def appeal(manage: Management, violation_id: str, reason: str, on_behalf_of: str | None) -> None:
    """Raise an appeal (申诉) against a violation; pending until decided.

    \b
    Example:
        hallwatch requests appeal v-3f2a9c1d0b4e5f67 --reason "窗口当时停电" \\
            --config manager.toml
    """
    report(
        manage.raise_request(Actor.cli(on_behalf_of), violation_id=violation_id, reason=reason),
        manage,
    )


@requests.command("list")
@click.option(
    "--status", type=click.Choice(["pending", "approved", "rejected"]), help="Only these."
)
@click.option("--staff", help="Only this person's.")
@output_format()
@with_management
def requests_list(
    manage: Management, status: str | None, staff: str | None, fmt: render.Format
) -> None:
    """List requests, oldest raised first.

    \b
    Example:
        hallwatch requests list --status pending --config manager.toml
    """
    rows = manage.requests(status=status, staff=staff)  # type: ignore[arg-type]
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda r: request_line(r, manage), "requests", manage.language
        ),
        zone=manage.policy.default_site.zone,
    )


def _decide(approve: bool) -> Callable[..., None]:
    """The approve or reject command's body."""
    verb = "approve" if approve else "reject"

    @click.argument("request_id")
    @click.option("--reason", required=True, help=f"Why you {verb} it (kept in the audit).")
    @by_option(f"decided to {verb} it")
    @with_management
    def decide(manage: Management, request_id: str, reason: str, on_behalf_of: str | None) -> None:
        report(manage.decide_request(Actor.cli(on_behalf_of), request_id, approve, reason), manage)

    return decide


requests.command(
    "approve",
    help="Approve a pending request: a punch correction counts as an attested punch, an "
    "appeal voids its violation.\n\n\b\nExample:\n    hallwatch requests approve rq-0c1d2e3f4a5b "
    '--reason "监控核实" --config manager.toml',
)(_decide(True))
requests.command(
    "reject",
    help="Reject a pending request: nothing changes but the record of it.\n\n\b\nExample:\n"
    '    hallwatch requests reject rq-0c1d2e3f4a5b --reason "无证明" --config manager.toml',
)(_decide(False))
