"""`hallwatch agent`: run the workstation agent."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
import msgspec

from base.config import load_toml
from base.service_loop import run_until_signalled
from edge.agent.config import AgentConfig
from edge.cli_options import config_file_option
from mqtt import schema


def _human(event: schema.Activity) -> str:
    who = event.staff_id or event.user
    title = f"  [{event.title}]" if event.title else ""
    return (
        f"{event.start.astimezone():%H:%M:%S}  {event.duration_s:6.1f}s  {event.category:<9} "
        f"{event.app}  {who}  idle {event.idle_s:.0f}s{title}"
    )


@click.command("agent")
@config_file_option("agent")
@click.option(
    "--seconds", type=click.FloatRange(min=0), help="Stop after this many seconds (default: run)."
)
@click.option("--json", "as_json", is_flag=True, help="Print each interval as a JSON line.")
@click.option("--quiet", is_flag=True, help="Print nothing per interval (as under systemd).")
def agent(config_file: Path, seconds: float | None, as_json: bool, quiet: bool) -> None:
    """Sample the foreground application and input idle time, and publish intervals.

    Shows the disclosure notice at start. Intervals are journaled locally before they
    are published, so nothing is lost while the broker is unreachable. Stop with Ctrl-C
    or SIGTERM.

    \b
    Example:
        hallwatch agent --config ~/.config/hallwatch/agent.toml
        hallwatch agent --config agent.toml --seconds 60 --json
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = load_toml(AgentConfig, config_file)

    def emit(event: schema.Activity) -> None:
        if quiet:
            return
        line = msgspec.json.encode(event).decode() if as_json else _human(event)
        click.echo(line)

    from edge.agent.agent import Agent

    agent = Agent(config, on_interval=emit)
    agent.start()
    try:
        run_until_signalled(agent.sampler(seconds), status="sampling", alive=agent.supervisor.alive)
    finally:
        waiting = agent.stop()
    print(
        f"workstation agent stopped: {agent.publisher.sent} events sent, "
        f"{waiting} kept in the journal for the next run",
        file=sys.stderr,
    )
