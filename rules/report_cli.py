"""`hallwatch report`: the daily inspection or the monthly assessment as a printable file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from rules.cli import FILE, parse_now, with_management
from rules.manage import Management


@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="The day's inspection.")
@click.option("--month", help="The month's assessment (YYYY-MM).")
@click.option("--site", help="Only this site.")
@click.option("--now", help="The inspection as of this moment (ISO; default now).")
@click.option("--html", "html_file", type=FILE, help="Write the report as an HTML file.")
@click.option("--pdf", "pdf_file", type=FILE, help="Print the report to PDF (needs chromium).")
@with_management
def report(
    manage: Management,
    day: datetime | None,
    month: str | None,
    site: str | None,
    now: str | None,
    html_file: Path | None,
    pdf_file: Path | None,
) -> None:
    """The daily inspection or the monthly assessment as a standalone, printable report.

    Words and names, not codes; printed pages carry the hall, the date, page numbers and
    a sign-off block (检查人 / 审核人 / 日期).

    \b
    Examples:
        hallwatch report --date 2026-11-24 --site hall-01 --pdf inspection.pdf --config manager.toml
        hallwatch report --month 2026-11 --html november.html --lang en --config manager.toml
    """
    if (day is None) == (month is None):
        raise click.UsageError("give one of --date DAY or --month YYYY-MM")
    if html_file is None and pdf_file is None:
        raise click.UsageError("give --html FILE, --pdf FILE or both")
    if day is not None:
        html = manage.daily_report(day.date(), site=site, as_of=parse_now(now))
    else:
        html = manage.monthly_report(month or "", site=site)
    if html_file is not None:
        html_file.write_text(html, encoding="utf-8")
        click.echo(f"written {html_file}")
    if pdf_file is not None:
        from rules.pdf import print_pdf

        print_pdf(html, pdf_file)
        click.echo(f"written {pdf_file}")
