"""Control characters from a device reach no terminal and forge no log line (issue 13,
finding 7): `hallwatch watch` printed a forged punch line, and the service's log took a
payload key's line break as the start of a new entry."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid

import pytest

from base.printable import printable
from mqtt import schema
from mqtt.client import topic_for
from rules.ingest import Ingest
from tests.conftest import REPO
from tests.mqtt_helpers import client, clock_event
from tests.rules_helpers import clock, policy, source_of

FORGED_LINE = "\r\x1b[2K09:00:01  hall-01/st-01       clock      S999  clock_in  face  score 0.99"
UNSAFE = ("\x1b", "\r", "\n", "\x9b", "\u202e")


def _alert(site: str, message: str) -> schema.Alert:
    return schema.Alert(
        id="01a1e0a0-0000-7000-8000-000000000001",
        seq=1,
        site=site,
        device="st-01",
        ts=clock("09:00").ts,
        kind=schema.AlertKind.UNKNOWN_FACE,
        severity=schema.Severity.INFO,
        message=message,
    )


def _with_key(event: schema.Event, key: str) -> bytes:
    document = json.loads(schema.encode(event))
    document[key] = 1
    return json.dumps(document, ensure_ascii=False).encode()


@pytest.mark.parametrize(
    "text", ["a\nb", "ends in a line break\n", "a\x1b[31mb", "a\rb", "a\x9bb", "a\x00b", "a\x7fb"]
)
def test_text_fields_refuse_control_characters(text):
    payload = json.loads(schema.encode(_alert("hall-01", "x")))
    payload["message"] = text
    with pytest.raises(schema.PayloadError, match="control characters") as err:
        schema.decode(json.dumps(payload))
    assert err.value.reason.isprintable()


def test_a_rejection_naming_a_forged_key_is_printable():
    with pytest.raises(schema.PayloadError) as err:
        schema.decode(_with_key(clock("09:00"), FORGED_LINE))
    assert "unknown field" in err.value.reason and err.value.reason.isprintable()


def test_printable_escapes_what_moves_a_cursor_and_keeps_chinese():
    assert printable("张伟 李娜") == "张伟 李娜"
    assert printable("a\x1b[2K\r\nb\u202e\x9b") == "a\\x1b[2K\\r\\nb\\u202e\\x9b"


def test_the_live_feed_prints_no_forged_line():
    site = f"t{uuid.uuid4().hex[:10]}"
    watcher = subprocess.Popen(
        [sys.executable, "-m", "hallwatch", "watch", "--site", site, "--count", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        time.sleep(1.5)
        alert = _alert(site, "x")
        with client(1883, f"pub-{site}") as pub:
            document = json.loads(schema.encode(alert))
            document["message"] = "stranger" + FORGED_LINE
            topic = topic_for(alert)
            pub.publish(topic, json.dumps(document).encode()).wait_for_publish(5)
            forged_key = _with_key(clock_event(site, "st-01", 1), FORGED_LINE)
            pub.publish(topic_for(clock_event(site, "st-01", 1)), forged_key).wait_for_publish(5)
            raw = b'{"schema": "hallwatch.clock/1", "\xc2\x9b2K": ' + b'"\x1b[31m"}'
            pub.publish(topic, raw).wait_for_publish(5)
        out, _ = watcher.communicate(timeout=30)
    finally:
        watcher.kill()
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert not any(c in out.replace("\n", "") for c in UNSAFE)
    assert all("MALFORMED" in line for line in lines)


def test_the_live_feeds_json_escapes_every_control_character():
    from mqtt import feed
    from mqtt.cli import json_line

    line = feed.describe(
        "hallwatch/v1/hall-01/st-01/clock", b'{"\xc2\x9b": "\xe2\x80\xae"}', clock("09:00").ts
    )
    text = json_line(line, b'{"\xc2\x9b": "\xe2\x80\xae"}')
    assert not any(c in text for c in UNSAFE)
    assert json.loads(text)["payload"] == {"\x9b": "\u202e"}


def test_the_service_log_takes_no_forged_line(store, caplog):
    ingest = Ingest(store, policy(), source_of())
    good = clock("09:00")
    with caplog.at_level(logging.WARNING, logger="rules.ingest"):
        ingest.handle(topic_for(good), _with_key(good, FORGED_LINE))
        ingest.handle(topic_for(good) + "\x1b[2K", schema.encode(good))
        ingest.drain(timeout_s=0)
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2 and all(m.isprintable() for m in logged)
    assert all(row.payload.isprintable() for row in store.dead_letters())


def test_an_agents_window_title_with_a_line_break_is_still_a_valid_payload(tmp_path):
    """Refusing controls must not make a workstation's own activity a dead letter."""
    from edge.agent.agent import Agent
    from edge.agent.config import AgentConfig
    from tests.support.xsession import XSession

    recorded: list[schema.Activity] = []
    with XSession(tmp_path) as xsession:
        _, editor = xsession.app("gedit", title="report.docx\n- Word\x1b[31m")
        config = AgentConfig(
            site=f"t{uuid.uuid4().hex[:10]}",
            device="ws-01",
            journal=tmp_path / "activity.db",
            interval_s=0.1,
            display=xsession.display,
            categories=[{"category": "work", "pattern": "^gedit$", "titles_allowed": True}],
        )
        agent = Agent(config, on_interval=recorded.append).start()
        try:
            xsession.activate(editor)
            for _ in range(3):
                agent.sample()
                time.sleep(0.1)
        finally:
            agent.stop(drain_s=0.5)
    assert recorded and all(e.title == "report.docx - Word [31m" for e in recorded)
    assert all(schema.decode(schema.encode(e)) == e for e in recorded)
