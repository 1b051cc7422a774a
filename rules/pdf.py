"""Printing an HTML page to PDF with Debian's headless Chromium (package `chromium`)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from base.errors import HallwatchError

CHROMIUM = "/usr/bin/chromium"
# A fresh profile, nothing fetched from the network, no headers the page did not ask for.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-pdf-header-footer",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class PdfUnavailable(HallwatchError):
    """No browser to print with, or it failed."""


def chromium() -> str:
    """The Chromium to print with, or a clear error saying how to install it."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        raise PdfUnavailable(
            "printing to PDF needs Chromium: install it (apt-get install chromium "
            "fonts-wqy-microhei), or write --html FILE and print that from a browser"
        )
    return found


def print_pdf(html: str, pdf: Path, timeout_s: float = 120.0) -> Path:
    """Print `html` (a whole document) to the file `pdf`."""
    browser = chromium()
    with tempfile.TemporaryDirectory(prefix="hallwatch-pdf-") as work:
        page = Path(work) / "report.html"
        page.write_text(html, encoding="utf-8")
        out = Path(work) / "report.pdf"
        command = [
            browser,
            *FLAGS,
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--print-to-pdf={out}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable(f"Chromium did not print {pdf} within {timeout_s:g} s") from None
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            raise PdfUnavailable(
                f"Chromium could not print {pdf} (exit {done.returncode}): {done.stderr[-500:]}"
            )
        shutil.move(out, pdf)
    return pdf
