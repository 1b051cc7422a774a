"""Feedback at the station: text on a console or a small attached display, and a tone.

A notice is what the person must see in under a second: who, what, when, or what to do.
"""

from __future__ import annotations

import io
import logging
import math
import shutil
import struct
import subprocess
import sys
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TextIO

log = logging.getLogger(__name__)

NoticeKind = Literal["ok", "fail", "info"]

# CJK-capable fonts, first found wins (Debian: fonts-wqy-microhei, fonts-noto-cjk).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    title: str
    detail: str = ""


class Feedback(Protocol):
    def show(self, notice: Notice) -> None: ...


class ConsoleFeedback:
    """One line per notice on a terminal; the terminal bell for success and failure."""

    MARKS = {"ok": "✔", "fail": "✘", "info": "·"}

    def __init__(self, stream: TextIO | None = None, bell: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.bell = bell

    def show(self, notice: Notice) -> None:
        detail = f"  {notice.detail}" if notice.detail else ""
        ring = "\a" if self.bell and notice.kind != "info" else ""
        self.stream.write(f"{self.MARKS[notice.kind]} {notice.title}{detail}{ring}\n")
        self.stream.flush()


class DisplayFeedback:
    """Renders each notice for a small display and writes it to a framebuffer or a PNG.

    `target` is a framebuffer device (`/dev/fb1`, e.g. a 320x240 SPI panel) or a `.png`
    path (a display emulator for trials and tests).
    """

    COLOURS = {"ok": (0, 140, 60), "fail": (190, 30, 30), "info": (30, 60, 120)}

    def __init__(
        self, target: str | Path, size: tuple[int, int] = (320, 240), font: str | None = None
    ) -> None:
        from PIL import ImageFont

        self.target = Path(target)
        self.size = size
        font_path = font or next((f for f in FONT_CANDIDATES if Path(f).exists()), None)
        if font_path is None:
            raise FileNotFoundError("no CJK font found: install Debian's fonts-wqy-microhei")
        self.title_font = ImageFont.truetype(font_path, size[1] // 7)
        self.detail_font = ImageFont.truetype(font_path, size[1] // 11)

    def render(self, notice: Notice):
        from PIL import Image, ImageDraw

        image = Image.new("RGB", self.size, self.COLOURS[notice.kind])
        draw = ImageDraw.Draw(image)
        w, h = self.size
        draw.multiline_text(
            (w // 2, h // 3),
            notice.title,
            font=self.title_font,
            fill="white",
            anchor="mm",
            align="center",
        )
        if notice.detail:
            draw.multiline_text(
                (w // 2, 2 * h // 3),
                _wrap(notice.detail, 22),
                font=self.detail_font,
                fill="white",
                anchor="mm",
                align="center",
            )
        return image

    def show(self, notice: Notice) -> None:
        image = self.render(notice)
        if self.target.suffix == ".png":
            image.save(self.target)
        else:
            _write_framebuffer(image, self.target)


def _wrap(text: str, width: int) -> str:
    return "\n".join(text[i : i + width] for i in range(0, len(text), width))


def _write_framebuffer(image, device: Path) -> None:
    import numpy as np

    bpp_file = Path("/sys/class/graphics") / device.name / "bits_per_pixel"
    bpp = int(bpp_file.read_text()) if bpp_file.exists() else 16
    rgb = np.asarray(image, dtype=np.uint16)
    if bpp == 16:  # RGB565, the usual small SPI panel
        data = (
            ((rgb[..., 0] >> 3) << 11 | (rgb[..., 1] >> 2) << 5 | rgb[..., 2] >> 3)
            .astype("<u2")
            .tobytes()
        )
    else:  # 32-bit BGRA
        bgra = np.dstack(
            [rgb[..., 2], rgb[..., 1], rgb[..., 0], np.full(rgb.shape[:2], 255)]
        ).astype(np.uint8)
        data = bgra.tobytes()
    with device.open("wb") as fb:
        fb.write(data)


def tone(kind: NoticeKind, rate: int = 16_000) -> bytes:
    """A short WAV: a rising two-note chime for success, a low buzz for failure."""
    notes = {"ok": [(880, 0.09), (1320, 0.12)], "fail": [(220, 0.35)], "info": [(660, 0.06)]}[kind]
    samples = bytearray()
    for freq, seconds in notes:
        n = int(rate * seconds)
        for i in range(n):
            fade = min(1.0, (n - i) / (0.02 * rate))  # no click at the end of a note
            samples += struct.pack(
                "<h", int(12_000 * fade * math.sin(2 * math.pi * freq * i / rate))
            )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(bytes(samples))
    return buffer.getvalue()


class ToneSound:
    """Plays `tone()` through ALSA's aplay without blocking the station."""

    def __init__(self, player: str = "aplay") -> None:
        self.player = shutil.which(player)
        if self.player is None:
            log.warning("%s not found: the station will be silent", player)

    def show(self, notice: Notice) -> None:
        if self.player is None or notice.kind == "info":
            return
        proc = subprocess.Popen(
            [self.player, "-q", "-"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        if proc.stdin is not None:
            proc.stdin.write(tone(notice.kind))
            proc.stdin.close()


class MultiFeedback:
    """Several outputs at once (a display and a speaker)."""

    def __init__(self, *outputs: Feedback) -> None:
        self.outputs = outputs

    def show(self, notice: Notice) -> None:
        for output in self.outputs:
            try:
                output.show(notice)
            except OSError:
                log.exception("feedback output %s failed", type(output).__name__)
