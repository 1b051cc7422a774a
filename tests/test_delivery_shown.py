"""What the centre has of each device's journal, shown (issue 18): the daily inspection (text,
HTML) lists per device delivered up to, missing, lost and the last resend, in words; a device
whose entries were recorded lost that day is an open item."""

from __future__ import annotations

from datetime import UTC, timedelta

import msgspec

from mqtt import schema
from rules import render
from rules.delivery import GRACE, Delivery, Received
from rules.html_report import inspection_html
from rules.inspection import inspect_day, load_inspection
from rules.store import DeviceSeen
from tests.rules_helpers import DAY, SITE, at, directory_of, policy, station_status

RESENT_AT, LOST_AT = at("10:02"), at("10:05")


def _report(deliveries: list[Delivery], day=DAY, language="zh"):
    status = DeviceSeen(station_status("09:00", "online"), at("10:30").astimezone(UTC))
    now = at("18:00", day).astimezone(UTC)
    return inspect_day(
        policy(), directory_of(), day, SITE, [], [], [status], [], now,
        language=language, deliveries=deliveries,
    )  # fmt: skip


def _delivery(lost: int) -> Delivery:
    return Delivery(
        SITE, "st-01", upto=120, highest=125, lost=lost, gap_since=RESENT_AT.astimezone(UTC),
        resend_at=RESENT_AT.astimezone(UTC), resend_first=121, resend_last=123, resends=1,
        above=2, lost_at=LOST_AT.astimezone(UTC) if lost else None,
    )  # fmt: skip


def test_each_device_shows_delivered_up_to_missing_lost_and_the_last_resend_in_words():
    report = _report([_delivery(lost=2)])
    [device] = report.devices
    assert device.delivery is not None and device.delivery.missing == 3
    assert device.delivery.resend_at == RESENT_AT  # in the site's zone
    shown = "已送达至 #120, 缺 3 条, 已丢失 2 条, 最近补发 2026-11-24 10:02 +08:00 (#121–#123)"
    assert shown in render.inspection_text(report)
    english = render.inspection_text(_report([_delivery(lost=2)], language="en"), "en")
    assert "delivered up to #120, 3 missing, 2 lost, last resend 2026-11-24 10:02 +08:00" in english
    html = inspection_html(report)
    assert '<li class="lost">hall-01/st-01 (考勤终端): 在线 (' in html and shown in html


def test_entries_lost_that_day_are_an_open_item_and_nothing_lost_says_nothing_of_it():
    [item] = [i for i in _report([_delivery(lost=2)]).open_items if "丢失" in i.text]
    assert item.text.startswith("hall-01/st-01：已丢失 2 条记录")
    assert "最近 2026-11-24 10:05 +08:00" in item.text
    # The next day the loss is no longer that day's item; the device line still counts it.
    later = _report([_delivery(lost=2)], day=DAY + timedelta(days=1))
    assert not [i for i in later.open_items if "丢失" in i.text]
    assert "已丢失 2 条" in render.inspection_text(later)
    clean = _report([_delivery(lost=0)])
    assert not [i for i in clean.open_items if "丢失" in i.text]
    text = render.inspection_text(clean)
    assert "已送达至 #120, 缺 3 条, 最近补发" in text and "已丢失" not in text
    assert '<li class="lost">' not in inspection_html(clean)
    # A device the centre has no delivery for yet shows as before.
    assert "已送达至" not in render.inspection_text(_report([]))


def test_the_inspection_reads_deliveries_from_the_store(store):
    """On both backends: 1-3 and 7 arrive with the status (8); 4-5 are recorded lost, 6 is
    asked for; the inspection says so."""
    status = msgspec.structs.replace(station_status("09:00", "online"), seq=8)
    punches = [
        schema.new_event(schema.Activity, SITE, "st-01", at("09:00"), seq=seq, user="u",
                         start=at("08:59"), duration_s=60, app="x", category="work", idle_s=0)
        for seq in (1, 2, 3, 7)
    ]  # fmt: skip
    store.add_events([*punches, status])
    store.note_runs(Received.of([*punches, status]))  # as ingest does with each flush
    noted = at("10:00").astimezone(UTC)
    store.fold_deliveries(noted)
    assert store.record_lost(SITE, "st-01", [(4, 5)], noted, "no longer on the device") == 2
    moved = noted + timedelta(seconds=1)
    assert store.fold_deliveries(moved) == []  # past the lost range: 6's grace starts now
    assert store.fold_deliveries(moved + GRACE) == [(SITE, "st-01", 6, 6)]
    report = load_inspection(store, policy(), directory_of(), DAY, SITE, at("18:00"))
    [device] = report.devices
    text = render.inspection_text(report)
    assert "已送达至 #5, 缺 1 条, 已丢失 2 条, 最近补发 2026-11-24 10:01 +08:00 (#6–#6)" in text
    assert any(i.text.startswith("hall-01/st-01：已丢失 2 条记录") for i in report.open_items)
    assert device.delivery is not None and device.delivery.lost_at == at("10:00")


def test_hallwatch_devices_list_says_what_each_device_delivered(store_at, tmp_path):
    from click.testing import CliRunner

    from hallwatch.cli import main
    from rules.backend import open_store

    store = open_store(store_at())
    try:
        status = msgspec.structs.replace(station_status("09:00", "online"), seq=4)
        store.add_events([status])
        store.note_runs([(SITE, "st-01", 1, 2), (SITE, "st-01", 4, 4)])
        store.fold_deliveries(at("10:00").astimezone(UTC))
    finally:
        store.close()
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'[[windows]]\nid = "w1"\nsite = "{SITE}"\nstaff = ["S1"]\n')
    where = ["--db", str(store_at()), "--policy", str(policy_file)]
    listed = CliRunner().invoke(main, ["devices", "list", *where])
    assert listed.exit_code == 0, listed.output
    assert "送达" in listed.output and "已送达至 #2, 缺 1 条" in listed.output
