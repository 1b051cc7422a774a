"""The annual review (年度考核) and the red and black lists (红黑榜): rules/annual.py, pure,
from monthly sheets built by hand; and the policy's `[annual]` and `[lists]`."""

from __future__ import annotations

import pydantic
import pytest

from rules.annual import annual_review, month_lists
from rules.policy import Annual, Lists, Policy
from rules.scoring import PersonScore, WindowScore


def person(staff: str, score: float, vetoed: bool = False, window: str = "W1") -> PersonScore:
    return PersonScore(
        0, staff, window, "hall-01", 100 - score, score, vetoed, "", 0, int(vetoed), 0,
        ("v-1",) if vetoed else (),
    )  # fmt: skip


def window(name: str, score: float, vetoed: bool = False, staff: int = 1) -> WindowScore:
    return WindowScore(0, name, "hall-01", staff, score, vetoed, "", ())


def sheets(*people: tuple[str, dict[int, tuple[float, bool]]]) -> dict:
    """Per month (2026-MM), the people scored that month."""
    months: dict[str, tuple[list, list]] = {}
    for staff, scores in people:
        for month, (score, vetoed) in scores.items():
            months.setdefault(f"2026-{month:02d}", ([], []))[0].append(person(staff, score, vetoed))
    return months


def test_the_year_is_the_mean_of_the_months_scored_and_the_rest_are_not_scored():
    year = sheets(("S1", {m: (100.0, False) for m in range(1, 13)}), ("S2", {1: (90.0, False)}))
    [s1, s2], _ = annual_review(Annual(), year)
    assert (s1.staff_id, s1.mean, s1.rating, s1.rank) == ("S1", 100.0, "excellent", 1)
    assert s2.months == (90.0, *[None] * 11)  # not 100, not 0
    assert (s2.mean, s2.rating, s2.vetoed_months) == (90.0, "pass", ())


def test_a_mid_year_joiner_counts_only_the_months_in_service():
    joined = {m: (96.0, False) for m in range(6, 13)}
    [row], _ = annual_review(Annual(), sheets(("S9", joined)))
    assert row.months[:5] == (None,) * 5 and row.months[5:] == (96.0,) * 7
    assert (row.mean, row.rating) == (96.0, "excellent")


def test_a_vetoed_month_caps_the_year_at_the_configured_rating():
    months = {m: (100.0, False) for m in range(1, 13)} | {3: (88.0, True)}
    [row], _ = annual_review(Annual(), sheets(("S1", months)))
    assert row.mean == 99.0 and row.vetoed_months == (3,)
    assert row.rating == "basic_pass"  # 优秀 by its mean, capped at 基本合格
    [failed], _ = annual_review(Annual(veto_caps_at="fail"), sheets(("S1", months)))
    assert failed.rating == "fail"
    [uncapped], _ = annual_review(Annual(veto_caps_at=None), sheets(("S1", months)))
    assert uncapped.rating == "excellent"


def test_a_cap_never_raises_a_rating():
    months = {1: (60.0, True), 2: (70.0, False)}  # mean 65: below every band
    [row], _ = annual_review(Annual(), sheets(("S1", months)))
    assert row.rating == "fail"


@pytest.mark.parametrize(
    ("mean", "rating"),
    [(100, "excellent"), (95, "excellent"), (94.99, "pass"), (80, "pass"),
     (79.99, "basic_pass"), (70, "basic_pass"), (69.99, "fail"), (0, "fail")],
)  # fmt: skip
def test_the_bands_at_their_boundaries(mean, rating):
    assert Annual().rating(mean, 0) == rating


def test_the_cap_must_be_one_of_the_ratings():
    with pytest.raises(pydantic.ValidationError, match="none of the ratings"):
        Annual(veto_caps_at="good")
    policy = Policy.model_validate({"annual": {"veto_caps_at": "fail"}})
    assert policy.annual.veto_caps_at == "fail"


def test_ties_share_a_rank_and_a_vetoed_year_ranks_after_every_clean_one():
    year = sheets(
        ("S1", {1: (98.0, False)}),
        ("S2", {1: (99.0, True)}),
        ("S3", {1: (98.0, False)}),
        ("S4", {1: (90.0, False)}),
    )
    people, _ = annual_review(Annual(), year)
    assert [(p.rank, p.staff_id) for p in people] == [(1, "S1"), (1, "S3"), (3, "S4"), (4, "S2")]


def test_a_window_month_without_anyone_judged_is_not_scored():
    year = {
        "2026-01": ([], [window("W1", 97.0), window("W2", 100.0, staff=0)]),
        "2026-02": ([], [window("W1", 91.0, vetoed=True)]),
    }
    _, [w1] = annual_review(Annual(), year)
    assert (w1.window, w1.months[:3], w1.mean) == ("W1", (97.0, 91.0, None), 94.0)
    assert (w1.vetoed_months, w1.rating) == ((2,), "basic_pass")


def test_an_empty_year_has_nobody():
    assert annual_review(Annual(), {}) == ([], [])


def test_the_red_list_is_the_best_without_a_veto_ties_included():
    staff = [person("S1", 100), person("S2", 100, True), person("S3", 99), person("S4", 99),
             person("S5", 98), person("S6", 90)]  # fmt: skip
    lists = month_lists(Lists(red_size=2), "2026-11", (staff, []))
    assert [(p.rank, p.staff_id) for p in lists.red_staff] == [(1, "S1"), (2, "S3"), (2, "S4")]
    assert Lists().red_size == 3 and Lists().red_min_score == 95


def test_the_red_list_needs_its_minimum_score():
    lists = month_lists(Lists(red_min_score=99.5), "2026-11", ([person("S1", 99)], []))
    assert lists.red_staff == []


def test_the_black_list_is_every_vetoed_one_and_the_worst_of_those_who_lost_points():
    staff = [person("S1", 100), person("S2", 100, True), person("S3", 99), person("S4", 97),
             person("S5", 90), person("S6", 90), person("S7", 100)]  # fmt: skip
    lists = month_lists(Lists(red_size=1, black_size=2), "2026-11", (staff, []))
    assert [p.staff_id for p in lists.red_staff] == ["S1", "S7"]  # tied first
    # worst first: the vetoed, then the two worst (a tie) of those below 100
    assert [(p.rank, p.staff_id) for p in lists.black_staff] == [(7, "S2"), (5, "S5"), (5, "S6")]


def test_a_month_without_fault_blacklists_nobody():
    staff = [person(f"S{i}", 100) for i in range(6)]
    lists = month_lists(Lists(red_size=0), "2026-11", (staff, []))
    assert lists.red_staff == [] and lists.black_staff == []


def test_only_the_vetoed_with_a_black_size_of_zero():
    staff = [person("S1", 50), person("S2", 99, True)]
    lists = month_lists(Lists(black_size=0), "2026-11", (staff, []))
    assert [p.staff_id for p in lists.black_staff] == ["S2"]


def test_nobody_is_on_both_lists():
    staff = [person("S1", 98), person("S2", 97)]  # both red, both below 100
    lists = month_lists(Lists(), "2026-11", (staff, []))
    assert [p.staff_id for p in lists.red_staff] == ["S1", "S2"] and lists.black_staff == []


def test_windows_are_listed_alike_and_an_empty_window_is_on_neither_list():
    windows = [window("W1", 99), window("W2", 80), window("W3", 100, staff=0),
               window("W4", 95, vetoed=True)]  # fmt: skip
    lists = month_lists(Lists(), "2026-11", ([], windows))
    assert [w.window for w in lists.red_windows] == ["W1"]
    assert [w.window for w in lists.black_windows] == ["W4", "W2"]
