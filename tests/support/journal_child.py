"""A device process for the SIGKILL test: journals punches and publishes them until killed.

    python -m tests.support.journal_child JOURNAL SITE PORT append|drain

Prints "SEQ ID" for each punch once `append` has returned (the journal has it durably).
"""

from __future__ import annotations

import sys
import time

from edge.journal import Journal
from edge.publisher import JournalPublisher
from mqtt.client import BrokerConfig, MqttClient
from tests.mqtt_helpers import clock_event


def main(path: str, site: str, port: str, mode: str) -> None:
    journal = Journal(path, site, "st-01")
    client = MqttClient(BrokerConfig(port=int(port)), f"{site}-st-01").start()
    publisher = JournalPublisher(journal, client).start()
    if mode == "drain":
        publisher.stop(drain_s=30)
        client.stop()
        print(f"BACKLOG {journal.backlog()}", flush=True)
        return
    while True:
        event = journal.append(clock_event(site, "st-01", 0))
        print(event.seq, event.id, flush=True)
        time.sleep(0.002)


if __name__ == "__main__":
    main(*sys.argv[1:])
