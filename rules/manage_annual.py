"""The annual review (年度考核) and a month's red and black lists (红黑榜) in the management
API: the monthly sheets read from the store (rules/scoring.py `load_sheet`), of one hall or
all, turned into the year's rows and the month's lists (rules/annual.py).

Only months that have ended (in the halls' zones) are scored: the month in progress is
the monthly sheet's, and a month to come has no data (its sheet would read 100 for all).

`AnnualManagement` is a part of `rules.manage.Management` (it uses its store, policy, clock
and directory)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rules.acting import InvalidInput, checked_month
from rules.annual import (
    MONTHS,
    MonthLists,
    PersonYear,
    Sheet,
    WindowYear,
    annual_review,
    month_lists,
)
from rules.directory import Directory
from rules.policy import Policy
from rules.recompute import month_of
from rules.scoring import load_sheet
from rules.store import Store


@dataclass(frozen=True, slots=True)
class YearReview:
    """The annual review of a year, of one hall or all."""

    year: int
    site: str | None
    months: tuple[str, ...]  # the months that have ended (YYYY-MM), those scored
    staff: list[PersonYear]
    windows: list[WindowYear]
    veto_caps_at: str | None  # the rating a vetoed month caps the year at (`[annual]`)
    directory: Directory  # the snapshot it was scored with (names for the reader)


@dataclass(frozen=True, slots=True)
class HallLists:
    """A month's red and black lists, of one hall or all."""

    site: str | None
    lists: MonthLists
    directory: Directory


def checked_year(year: int) -> int:
    """`year` if it is a plausible year of a hall's records."""
    if not 2000 <= year <= 2999:
        raise InvalidInput(f"{year} is not a year of the records (for example 2026)")
    return year


class AnnualManagement:
    store: Store
    policy: Policy
    now: Callable[[], datetime]

    def directory(self) -> Directory: ...  # Management's

    def annual_review(self, year: int, *, site: str | None = None) -> YearReview:
        """Per person and per window: the twelve months, their mean, the months vetoed and
        the year's rating (`[annual]`), of the months that have ended."""
        directory = self.directory()
        zones = {self.policy.zone(s) for s in ([site] if site else self._sites(directory))}
        zones = zones or {self.policy.default_site.zone}
        current = min(month_of(self.now().astimezone(zone).date()) for zone in zones)
        months = [f"{checked_year(year)}-{n:02d}" for n in MONTHS]
        months = [m for m in months if m < current]
        sheets = {m: self._sheet(directory, m, site) for m in months}
        staff, windows = annual_review(self.policy.annual, sheets)
        caps = self.policy.annual.veto_caps_at
        return YearReview(year, site, tuple(months), staff, windows, caps, directory)

    def month_lists(self, month: str, *, site: str | None = None) -> HallLists:
        """The month's red and black lists (`[lists]`) of people and of windows."""
        directory = self.directory()
        sheet = self._sheet(directory, checked_month(month), site)
        return HallLists(site, month_lists(self.policy.lists, month, sheet), directory)

    def _sites(self, directory: Directory) -> set[str]:
        return {*directory.sites, *(w.site for w in directory.windows)}

    def _sheet(self, directory: Directory, month: str, site: str | None) -> Sheet:
        """The month's sheet, of one hall or all."""
        people, windows = load_sheet(self.store, self.policy, directory, month)
        return (
            [p for p in people if site in (None, p.site)],
            [w for w in windows if site in (None, w.site)],
        )
