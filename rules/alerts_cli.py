"""`hallwatch alerts`: list alerts with where they are in their lifecycle, acknowledge
them, clear them by hand (rules/alerts.py). Manager commands: `--config manager.toml`."""

from __future__ import annotations

import click

from rules import render
from rules.acting import Actor
from rules.alerts import AlertItem, AlertRow
from rules.cli import by_option, output_format, with_management
from rules.manage import Management

STATES = ("open", "acknowledged", "cleared")


@click.group()
def alerts() -> None:
    """Alerts (device faults, unknown faces, tampering): list, acknowledge, clear.

    Alerts are unknown faces, sensor and camera faults, tampering, full disks, duplicate
    device ids and spoofs no one is named for.

    \b
    Example:
        hallwatch alerts list --site hall-01 --state open --config manager.toml
    """


@alerts.command("list")
@click.option("--site", help="Only this site's alerts.")
@click.option("--state", type=click.Choice(STATES), help="Only alerts in this state.")
@click.option(
    "--days", type=int, default=30, show_default=True, help="Alerts of this many last days."
)
@output_format()
@with_management
def alerts_list(
    manage: Management, site: str | None, state: str | None, days: int, fmt: render.Format
) -> None:
    """List alerts, oldest first, each with its state and who acknowledged or cleared it.

    \b
    Example:
        hallwatch alerts list --site hall-01 --state acknowledged --config manager.toml
    """
    rows = [AlertRow.of(item) for item in manage.alerts(site=site, state=state, days=days)]
    zone = manage.policy.default_site.zone
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda r: render.alert_line(r, zone, manage.language), "alerts", manage.language
        ),
        zone=zone,
    )


def _show(manage: Management, item: AlertItem) -> None:
    """The alert as it is now, in its site's time."""
    zone = manage.policy.zone(item.alert.site)
    click.echo(render.alert_line(AlertRow.of(item), zone, manage.language))


@alerts.command("ack")
@click.argument("alert_id")
@click.option("--note", required=True, help="What is being done about it (kept in the audit).")
@by_option("acknowledges")
@with_management
def alerts_ack(manage: Management, alert_id: str, note: str, on_behalf_of: str | None) -> None:
    """Acknowledge an open alert: someone is on it (who, when and the note are shown).

    \b
    Example:
        hallwatch alerts ack 01JD5Z8K3Q0000000000000000 --note "已通知厂家" --config manager.toml
    """
    _show(manage, manage.acknowledge_alert(Actor.cli(on_behalf_of), alert_id, note))


@alerts.command("clear")
@click.argument("alert_id")
@click.option("--note", required=True, help="How it was dealt with (kept in the audit).")
@by_option("clears it")
@with_management
def alerts_clear(manage: Management, alert_id: str, note: str, on_behalf_of: str | None) -> None:
    """Clear an alert by hand: it leaves the daily inspection's open items.

    \b
    Example:
        hallwatch alerts clear 01JD5Z8K3Q0000000000000000 --note "摄像头已更换" --config manager.toml
    """
    _show(manage, manage.clear_alert(Actor.cli(on_behalf_of), alert_id, note))
