"""The home page: who is signed in, their role and halls, and the way to each page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hallwatch.console.accounts import Session
from hallwatch.console.web import render, requires


@requires("viewer")
async def home(request: Request, who: Session) -> Response:
    return render(request, "home.html", who)


routes = [Route("/", home, methods=["GET"])]
