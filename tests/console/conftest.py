"""The console's tests run a real console in Debian's chromium (tests/support/browser.py)."""

from tests.support.browser import (  # noqa: F401  (fixtures)
    browser,
    browser_page,
    console_server,
    screenshot,
    signed_in,
)
