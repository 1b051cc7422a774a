"""Request links in the rules store (SQLite and PostgreSQL) and their rules
(hallwatch/console/request_links.py): only the token's hash is kept; a link opens until it
expires or is revoked, once revoked it stays so; every refusal is in the console's trail
and an address with too many of them is refused even a good link for a while."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from hallwatch.console.request_links import LinkRefused, RequestLinks
from rules.acting import Actor, Refused

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
WANG = Actor("wang", "console")


def links_at(store, moments: list[datetime]) -> RequestLinks:
    return RequestLinks(
        store, days=7, throttle_failures=1, throttle_minutes=15, now=lambda: moments[0]
    )


def test_a_link_opens_until_it_expires_or_is_revoked_and_only_its_hash_is_kept(store):
    clock = [T0]
    links = links_at(store, clock)
    token, link = links.issue(WANG, "S1", "hall-01", "10.0.0.5")
    other, _ = links.issue(WANG, "S4", "hall-02", "10.0.0.5")
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert store.request_link(token_hash=link.token_hash) == link
    assert store.request_link(link_id=link.link_id) == link
    assert links.open(token, "10.0.0.9") == link
    assert [lk.staff_id for lk in links.live("hall-01")] == ["S1"]
    clock[0] = T0 + timedelta(days=7)
    with pytest.raises(LinkRefused) as expired:
        links.open(other, "10.0.0.9")
    assert expired.value.why == "expired" and links.live("hall-02") == []
    clock[0] = T0 + timedelta(days=1)
    links.revoke(WANG, link, "10.0.0.5")
    with pytest.raises(Refused):
        links.revoke(WANG, link, "10.0.0.5")  # once revoked it stays so
    with pytest.raises(LinkRefused) as revoked:
        links.open(token, "10.0.0.8")
    assert revoked.value.why == "revoked" and links.live("hall-01") == []
    assert store.request_link(link_id=link.link_id).revoked_by == "wang"
    trail = [(a.what, a.who, a.detail) for a in store.console_audit()]
    assert trail == [
        ("link_add", "wang", "staff=S1 site=hall-01"),
        ("link_add", "wang", "staff=S4 site=hall-02"),
        ("link_refused", "S4", "expired"),
        ("link_revoke", "wang", "staff=S1"),
        ("link_refused", "S1", "revoked"),
    ]


def test_an_address_with_too_many_refused_links_is_refused_a_good_one_for_a_while(store):
    clock = [T0]
    links = links_at(store, clock)
    token, link = links.issue(WANG, "S1", "hall-01", None)
    for _ in range(4):  # four times throttle_failures, as for sign-ins
        with pytest.raises(LinkRefused):
            links.open("guessed", "10.0.0.66")
    with pytest.raises(LinkRefused) as throttled:
        links.open(token, "10.0.0.66")
    assert (throttled.value.why, throttled.value.minutes) == ("throttled", 15)
    assert links.open(token, "10.0.0.67") == link  # another address is not held up
    clock[0] = T0 + timedelta(minutes=16)
    assert links.open(token, "10.0.0.66") == link
