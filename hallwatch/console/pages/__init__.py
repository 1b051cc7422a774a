"""The console's pages: each module has `routes` (Starlette routes whose handlers are
under `web.requires`), and `NAV` lists the navigation bar in order.

To add a page: see the package docstring of hallwatch.console.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from hallwatch.console.pages import hall, home, people, sign_in
from hallwatch.console.web import NavItem

# The navigation bar; an entry whose page is not built yet leads to 404 until it is.
NAV = [
    NavItem("nav.home", "/"),
    NavItem("nav.live", "/hall"),
    NavItem("nav.inspection", "/inspection"),
    NavItem("nav.violations", "/violations"),
    NavItem("nav.assessment", "/assessment"),
    NavItem("nav.directory", "/people"),
]

ROUTES: list[BaseRoute] = [*sign_in.routes, *home.routes, *hall.routes, *people.routes]
