"""The console's pages: each module has `routes` (Starlette routes whose handlers are
under `web.requires`), and `NAV` lists the navigation bar in order.

To add a page: see the package docstring of hallwatch.console.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from hallwatch.console.pages import (
    annual,
    assessment,
    duty,
    findings,
    hall,
    home,
    inspection,
    leave,
    people,
    request_link,
    requests,
    sign_in,
    violations,
)
from hallwatch.console.web import NavItem

# The navigation bar, in order.
NAV = [
    NavItem("nav.home", "/"),
    NavItem("nav.live", "/hall"),
    NavItem("nav.inspection", "/inspection"),
    NavItem("nav.violations", "/violations"),
    NavItem("nav.assessment", "/assessment"),
    NavItem("nav.annual", "/annual", "manager"),  # the annual review
    NavItem("nav.leave", "/leave"),
    NavItem("nav.duty", "/duty"),
    # -- requests and appeals (补卡与申诉)
    NavItem("nav.requests", "/requests", "manager"),
    NavItem("nav.findings", "/findings", "inspector"),
    NavItem("nav.directory", "/people"),
]

ROUTES: list[BaseRoute] = [
    *sign_in.routes,
    *home.routes,
    *hall.routes,
    *inspection.routes,
    *violations.routes,
    *leave.routes,
    *duty.routes,
    *findings.routes,
    *assessment.routes,
    *annual.routes,  # the annual review
    *people.routes,
    # -- requests and appeals (补卡与申诉); the person's own page needs no account
    *requests.routes,
    *request_link.routes,
]
