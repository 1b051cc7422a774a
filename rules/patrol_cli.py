"""`hallwatch findings`: patrol findings recorded and listed, a thin layer over
`Management.add_finding` and `Management.findings` (rules/manage.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from rules import render
from rules.acting import Actor, InvalidInput
from rules.cli import FILE, by_option, output_format, report_action, with_management
from rules.manage import Management
from rules.patrol import PatrolFinding
from rules.policy import OBSERVED_RULES
from rules.words import rule_word


@click.group()
def findings() -> None:
    """Patrol findings (巡查): what an inspector observed of a person or a window.

    A person's finding is a violation of that day (numbered, escalated, vetoing like the
    others, and voidable); a window's deducts from the window's monthly score.

    \b
    Example:
        hallwatch findings add --site hall-01 --staff S017 --rule phone_use \\
            --note "playing a game at 10:15" --photo seen.jpg --config manager.toml
    """


@findings.command("add")
@click.option("--site", required=True, help="The site where it was observed.")
@click.option("--staff", help="The person observed (staff id).")
@click.option("--window", help="The window observed, for a window's rule (window_untidy).")
@click.option("--rule", required=True, type=click.Choice(OBSERVED_RULES), help="What was seen.")
@click.option("--note", required=True, help="What exactly was observed.")
@click.option("--at", "moment", help="When (ISO; the site's time without an offset) [now].")
@click.option("--photo", type=FILE, help="A JPEG or PNG photo (its metadata is stripped).")
@by_option("observed it")
@with_management
def findings_add(
    manage: Management,
    site: str,
    staff: str | None,
    window: str | None,
    rule: str,
    note: str,
    moment: str | None,
    photo: Path | None,
    on_behalf_of: str | None,
) -> None:
    """Record a patrol finding; the person's month is recomputed.

    \b
    Example:
        hallwatch findings add --site hall-01 --window W03 --rule window_untidy \\
            --note "papers on the counter" --at 2026-11-24T10:15 --config manager.toml
    """
    when = None
    if moment is not None:
        try:
            when = datetime.fromisoformat(moment)
        except ValueError:
            raise InvalidInput(f"--at {moment!r} is not a date-time (2026-11-24T10:15)") from None
    result = manage.add_finding(
        Actor.cli(on_behalf_of),
        site=site,
        staff=staff,
        window=window,
        rule=rule,
        note=note,
        at=when,
        photo=photo.read_bytes() if photo is not None else None,
    )
    assert result.finding is not None  # a recorded finding is in its result
    report_action(result, finding_line(result.finding, manage))


def finding_line(f: PatrolFinding, manage: Management) -> str:
    directory = manage.directory()
    who = (
        directory.label(f.staff_id, manage.language)
        if f.staff_id
        else directory.window_label(f.window or "")
    )
    photo = "  [照片]" if manage.language == "zh" else "  [photo]"
    return (
        f"{f.finding_id}  {render.moment(f.at, manage.policy.zone(f.site))}  {who}  "
        f"{rule_word(f.rule, manage.language)}  {f.note}{photo if f.photo else ''}"
    )


@findings.command("list")
@click.option("--month", help="YYYY-MM.")
@click.option("--site", help="Only this site.")
@output_format()
@with_management
def findings_list(
    manage: Management, month: str | None, site: str | None, fmt: render.Format
) -> None:
    """List patrol findings, oldest first.

    \b
    Example:
        hallwatch findings list --month 2026-11 --site hall-01 --config manager.toml
    """
    rows = manage.findings(month=month, site=site)
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda f: finding_line(f, manage), "patrol findings", manage.language
        ),
        zone=manage.policy.default_site.zone,
    )
