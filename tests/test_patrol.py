"""Patrol findings (巡查): the engine judges them like events, the store keeps them on SQLite
and PostgreSQL, the management API records them (with a photo stripped of its metadata),
and `hallwatch findings` is a thin layer over it."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from hallwatch.cli import main
from mqtt.schema import Action
from rules.acting import Actor, InvalidInput, NotFound
from rules.backend import open_store
from rules.engine import PersonEvents, evaluate_person_month, group_by_person
from rules.manage import Management
from rules.manager_actions import ManagerAction
from rules.patrol import PatrolFinding, window_deductions
from rules.photos import clean_photo
from rules.scoring import score_month
from tests.rules_helpers import DAY, SITE, at, clock, directory_of, full_day, policy

MONTH = "2026-11"
INSPECTOR = Actor("zhao", "console")


def hall(**overrides):
    return policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": "2026-09-01"}},
        windows=[{"id": "w1", "site": SITE, "staff": ["S1", "S2"]}],
        **overrides,
    )


def finding(n: int, rule: str, hms: str, *, staff: str | None = "S1", window=None, day=DAY):
    return PatrolFinding(
        f"f-{n:04d}", SITE, staff, window, at(hms, day), rule, "seen", "zhao via console"
    )


def judge(pol, patrol, events=(), actions=()):
    directory = directory_of(pol)
    person = group_by_person(list(events), directory).get("S1")
    return evaluate_person_month(
        pol, directory, "S1", MONTH, person or PersonEvents(), actions, None, patrol=patrol
    )


def void(violation_id: str) -> ManagerAction:
    return ManagerAction("a-1", at("20:00"), "li", "void", violation_id, "appeal upheld")


# -- the engine ----------------------------------------------------------------------------
def test_findings_are_numbered_with_the_other_minor_violations_and_escalate_past_the_allowance():
    pol = hall()
    late = [clock("09:20"), clock("12:01", Action.CLOCK_OUT)]  # late at 09:20 (1/3)
    day = late + full_day()[2:]
    patrol = [
        finding(1, "phone_use", "10:00"),
        finding(2, "dress", "10:30"),
        finding(3, "eating_chatting", "14:00"),
    ]
    records = {v.rule: v for v in judge(pol, patrol, day)}
    assert [
        records[r].correction_no for r in ("late", "phone_use", "dress", "eating_chatting")
    ] == [
        1,
        2,
        3,
        4,
    ]
    assert not records["dress"].escalated
    fourth = records["eating_chatting"]
    assert fourth.escalated and fourth.severity == "serious" and fourth.veto
    assert fourth.violation_id == patrol[2].violation_id  # derived from the finding's id
    assert fourth.evidence == ("f-0003",) and "seen" in fourth.detail
    assert fourth.window == "w1" and fourth.day == DAY


def test_a_serious_finding_vetoes_and_a_void_of_it_lifts_the_veto():
    pol = hall()
    patrol = [finding(1, "complaint_upheld", "11:00")]
    [complaint] = [v for v in judge(pol, patrol, full_day()) if v.rule == "complaint_upheld"]
    assert complaint.severity == "serious" and complaint.veto and complaint.correction_no is None
    judged = judge(pol, patrol, full_day(), [void(complaint.violation_id)])
    [voided] = [v for v in judged if v.rule == "complaint_upheld"]
    assert voided.status == "voided" and not voided.veto and voided.deduction == 0


def test_a_window_finding_deducts_from_the_window_not_the_person():
    pol = hall()
    patrol = [finding(1, "window_untidy", "10:00", staff=None, window="w1")]
    assert not [v for v in judge(pol, patrol, full_day()) if v.day == DAY]  # nobody's
    found = window_deductions(pol, patrol, {})
    people, windows = score_month(pol, directory_of(pol), [], None, found)
    assert {p.staff_id: p.score for p in people} == {"S1": 100, "S2": 100}
    [w1] = windows
    assert w1.score == 100 - pol.penalty("window_untidy").deduction and not w1.vetoed
    # A hall that makes it serious: the window is vetoed (its people are not).
    catalogue = {rule: p.model_dump() for rule, p in pol.catalogue.items()}
    catalogue["window_untidy"] = {"severity": "serious", "deduction": 5, "applies_to": "window"}
    strict = hall(catalogue=catalogue)
    _, [vetoed] = score_month(strict, directory_of(strict), [], None,
                              window_deductions(strict, patrol, {}))  # fmt: skip
    assert vetoed.vetoed and vetoed.score == 95
    # Voided, it deducts nothing.
    assert window_deductions(pol, patrol, {patrol[0].violation_id: void("x")}) == {}


def test_a_finding_on_a_day_the_person_is_not_judged_counts_for_nothing():
    late_start = policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": "2026-11-25"}},
        windows=[{"id": "w1", "site": SITE, "staff": ["S1", "S2"]}],
    )
    judged = judge(late_start, [finding(1, "phone_use", "10:00")])
    assert judged and not [v for v in judged if v.rule == "phone_use"]


def test_a_catalogue_without_the_observed_rules_keeps_their_defaults():
    judged = ("late", "early_departure", "missing_punch", "absence", "outing_overdue",
              "away_from_post", "nonwork_session", "nonwork_day", "spoof")  # fmt: skip
    older = {rule: {"severity": "minor", "deduction": 1} for rule in judged}
    assert hall(catalogue=older).penalty("complaint_upheld").severity == "serious"
    older["late"]["applies_to"] = "window"
    with pytest.raises(ValueError, match="judged from a person's events"):
        hall(catalogue=older)


# -- photos --------------------------------------------------------------------------------
def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (31.0, 14.0, 0.0)  # GPSLatitudeRef, GPSLatitude
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_a_photo_loses_its_exif_and_gps_and_bad_uploads_are_refused_with_a_reason():
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)  # it has GPS
    mime, cleaned = clean_photo(original, 5_000_000)
    assert mime == "image/jpeg"
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif() and "exif" not in image.info
    with pytest.raises(InvalidInput, match="not a JPEG or PNG"):
        clean_photo(b"just some text, renamed photo.jpg", 5_000_000)
    with pytest.raises(InvalidInput, match="too large"):
        clean_photo(original, len(original) - 1)
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, format="GIF")
    with pytest.raises(InvalidInput, match="wrong type"):
        clean_photo(gif.getvalue(), 5_000_000)
    with pytest.raises(InvalidInput, match="not a readable JPEG"):
        clean_photo(original[:40], 5_000_000)


# -- the store and the management API, on SQLite and PostgreSQL ---------------------------
def managed(store) -> Management:
    # S1 alone, live from DAY, a full day worked: nothing but findings deducts.
    pol = policy(
        sites={SITE: {"timezone": "Asia/Shanghai", "go_live": DAY.isoformat()}},
        windows=[{"id": "w1", "site": SITE, "staff": ["S1"]}],
    )
    store.add_events([e for e in full_day()])
    moments = iter(at("17:30") + timedelta(seconds=n) for n in range(1000))
    return Management(store, pol, now=lambda: next(moments))


def test_a_recorded_finding_becomes_a_violation_and_a_recompute_from_the_store_agrees(store):
    manage = managed(store)
    result = manage.add_finding(
        INSPECTOR, site=SITE, staff="S1", rule="phone_use", note="  playing a game  ",
        at=datetime(2026, 11, 24, 10, 15), photo=jpeg_with_gps(),
    )  # fmt: skip
    recorded = result.finding
    assert recorded is not None and recorded.at == at("10:15") and recorded.note == "playing a game"
    assert result.violation is not None and result.violation.rule == "phone_use"
    assert result.violation.correction_no == 1
    [row] = manage.audit()
    assert (row.action, row.target, row.entered_by) == (
        "finding_add",
        recorded.finding_id,
        "zhao via console",
    )
    assert manage.findings(month=MONTH) == [recorded] == store.findings(site=SITE)
    assert store.finding(recorded.finding_id) == recorded
    mime, photo = manage.finding_photo(recorded.photo or "")
    assert mime == "image/jpeg" and not Image.open(io.BytesIO(photo)).getexif()
    [s1] = [p for p in manage.monthly_sheet(MONTH).staff if p.staff_id == "S1"]
    assert s1.score == 100 - manage.policy.penalty("phone_use").deduction
    # Voidable like any violation; a whole-month recompute from the store gives the same.
    manage.void(Actor.cli(), result.violation.violation_id, "misread")
    from rules.recompute import recompute_month

    before = manage.violations(month=MONTH)
    recompute_month(store, manage.policy, manage.directory(), MONTH, manage.now())
    assert manage.violations(month=MONTH) == before
    assert [v.status for v in before] == ["voided"]
    # Photos past their retention are pruned; the finding stays.
    assert store.prune_photos(at("10:16")) == 1
    with pytest.raises(NotFound, match="pruned"):
        manage.finding_photo(recorded.photo or "")
    assert store.finding(recorded.finding_id) == recorded


def test_a_window_finding_lowers_the_windows_score_in_the_sheet(store):
    manage = managed(store)
    manage.add_finding(INSPECTOR, site=SITE, window="w1", rule="window_untidy", note="papers")
    sheet = manage.monthly_sheet(MONTH)
    assert [w.score for w in sheet.windows] == [99]
    assert [p.score for p in sheet.staff] == [100]


def test_bad_findings_are_refused_and_nothing_is_stored(store):
    manage = managed(store)
    cases = [
        ({"staff": "S1", "rule": "late"}, InvalidInput, "not an observed rule"),
        ({"staff": "S1", "window": "w1", "rule": "dress"}, InvalidInput, "one person"),
        ({"window": "w1", "rule": "dress"}, InvalidInput, "give --staff"),
        ({"staff": "S1", "rule": "window_untidy"}, InvalidInput, "give --window"),
        ({"staff": "S9", "rule": "dress"}, NotFound, "S9"),
        ({"staff": "S1", "rule": "dress", "photo": b"GIF89a..."}, InvalidInput, "wrong type"),
        ({"staff": "S1", "rule": "dress", "at": at("09:00") + timedelta(days=2)}, InvalidInput,
         "future"),
    ]  # fmt: skip
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            manage.add_finding(INSPECTOR, site=SITE, note="x", **kwargs)
    assert store.findings() == [] and manage.audit() == []


# -- the command ---------------------------------------------------------------------------
def test_findings_add_and_list_from_the_command_line(tmp_path: Path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        f'[sites.{SITE}]\ntimezone = "Asia/Shanghai"\ngo_live = "2026-09-01"\n'
        f'[[windows]]\nid = "w1"\nsite = "{SITE}"\nstaff = ["S1", "S2"]\n'
    )
    env = {"HALLWATCH_RULES_DB": str(tmp_path / "rules.db"), "HALLWATCH_POLICY": str(policy_file)}
    photo = tmp_path / "p.jpg"
    photo.write_bytes(jpeg_with_gps())
    runner = CliRunner()
    added = runner.invoke(
        main,
        ["findings", "add", "--site", SITE, "--staff", "S1", "--rule", "phone_use", "--note",
         "game on the phone", "--at", "2026-11-24T10:15", "--photo", str(photo)],
        env=env,
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "玩手机" in added.output and "phone_use" not in added.output
    listed = runner.invoke(main, ["findings", "list", "--month", MONTH], env=env)
    assert listed.exit_code == 0, listed.output
    assert "玩手机" in listed.output and "game on the phone" in listed.output
    assert "10:15" in listed.output
    english = runner.invoke(main, ["findings", "list", "--lang", "en", "--json"], env=env)
    assert '"phone_use"' in english.output
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    refused = runner.invoke(
        main,
        ["findings", "add", "--site", SITE, "--staff", "S1", "--rule", "dress", "--note", "x",
         "--photo", str(bad)],
        env=env,
    )  # fmt: skip
    assert refused.exit_code != 0 and "not a JPEG or PNG" in refused.output
    stored = open_store(tmp_path / "rules.db")
    try:
        assert [f.rule for f in stored.findings()] == ["phone_use"]
    finally:
        stored.close()
