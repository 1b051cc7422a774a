"""`hallwatch gallery`: this device's gallery (models.cli_staff: list, delete) and the
directory's lookalike pairs, kept centrally (rules/lookalikes.py): list and decide."""

from __future__ import annotations

import click

from models.cli_staff import gallery as device_gallery
from rules import render
from rules.acting import Actor
from rules.cli import by_option, output_format, with_management
from rules.manage import Management
from rules.manage_lookalikes import LookalikeLine
from rules.words import Language, lookalike_state_word


class _ListByDefault(click.Group):
    """`lookalikes` alone (or with list options) lists; `lookalikes decide ...` decides."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = ["list", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_ListByDefault)
def lookalikes() -> None:
    """Lookalike pairs: people whose faces came close at enrolment. Both are asked for a
    finger or their staff number until an administrator decides the pair.

    \b
    Example:
        hallwatch gallery lookalikes --config manager.toml
        hallwatch gallery lookalikes decide S011 S012 --note "两人不同，已核对证件" --config manager.toml
    """


def _person(name: str, staff_id: str) -> str:
    """ "王芳 S011", or the id alone for someone the directory has no name for."""
    return staff_id if name == staff_id else f"{name} {staff_id}"


def _line(row: LookalikeLine, language: Language, manage: Management) -> str:
    zone = manage.policy.default_site.zone
    state = lookalike_state_word(row.state, language)
    pair = f"{_person(row.name_a, row.staff_a)} / {_person(row.name_b, row.staff_b)}"
    if language == "en":
        text = f"{pair}: score {row.score:.2f}, {state}, found {render.moment(row.found_at, zone)}"
        if row.decided_at is not None:
            text += (
                f"; decided by {row.decided_by} {render.moment(row.decided_at, zone)}: {row.note}"
            )
        return text
    text = f"{pair}：相似度 {row.score:.2f}，{state}，发现于 {render.moment(row.found_at, zone)}"
    if row.decided_at is not None:
        text += f"；{row.decided_by} 于 {render.moment(row.decided_at, zone)} 裁定：{row.note}"
    return text


@lookalikes.command("list")
@output_format()
@with_management
@click.option("--state", type=click.Choice(["open", "decided"]), help="Only pairs in this state.")
def list_pairs(manage: Management, fmt: render.Format, state: str | None) -> None:
    """The pairs, closest first: both names, the score, when found, the decision.

    \b
    Example:
        hallwatch gallery lookalikes list --state open --json --config manager.toml
    """
    rows = manage.lookalikes(state=state)  # type: ignore[arg-type]
    language = manage.language
    render.emit(
        rows,
        fmt,
        text=lambda: render.listing(
            rows, lambda r: _line(r, language, manage), "lookalike pairs", language
        ),
        zone=manage.policy.default_site.zone,
    )


@lookalikes.command()
@click.argument("staff_a")
@click.argument("staff_b")
@click.option("--note", required=True, help="What was decided and why (kept in the audit trail).")
@by_option("decides")
@with_management
def decide(
    manage: Management, staff_a: str, staff_b: str, note: str, on_behalf_of: str | None
) -> None:
    """Decide a pair (checked: two different people): both stop being asked for a second
    factor, once their stations have the update.

    \b
    Example:
        hallwatch gallery lookalikes decide S011 S012 --note "双胞胎，已核对证件" --config manager.toml
    """
    row = manage.decide_lookalike(Actor.cli(on_behalf_of), staff_a, staff_b, note)
    click.echo(_line(row, manage.language, manage))


gallery = click.Group(
    "gallery",
    commands={**device_gallery.commands, "lookalikes": lookalikes},
    help="""The staff gallery: this device's list and delete, the lookalike pairs.

    `list` and `delete` act on this device's gallery file; `lookalikes` on the central
    store of a rules config (manager.toml).

    \b
    Example:
        hallwatch gallery list
        hallwatch gallery lookalikes --config manager.toml
    """,
)
