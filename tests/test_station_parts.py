"""The station's pure parts: action inference, debounce, messages, feedback rendering."""

from __future__ import annotations

import io
import wave
from datetime import timedelta

import numpy as np
import pytest

from drivers.feedback import ConsoleFeedback, DisplayFeedback, Notice, tone
from edge.station.inference import LastPunch, infer_action, is_repeat
from edge.station.messages import CATALOG, say
from edge.station.turn import Turn
from mqtt.schema import Action
from tests.schedule_helpers import SESSIONS, at


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [
        (None, at(8, 50), Action.CLOCK_IN),
        (LastPunch(Action.CLOCK_IN, at(8, 50)), at(12, 2), Action.CLOCK_OUT),
        (LastPunch(Action.CLOCK_OUT, at(12, 2)), at(13, 25), Action.CLOCK_IN),
        (LastPunch(Action.CLOCK_IN, at(8, 50)), at(13, 25), Action.CLOCK_IN),  # forgot to clock out
        (LastPunch(Action.LEAVE_OUT, at(10, 0)), at(10, 40), Action.LEAVE_RETURN),
        (LastPunch(Action.LEAVE_RETURN, at(10, 40)), at(11, 58), Action.CLOCK_OUT),
        (LastPunch(Action.CLOCK_OUT, at(17, 5, day=23)), at(8, 55), Action.CLOCK_IN),
        (LastPunch(Action.LEAVE_OUT, at(16, 0, day=23)), at(8, 55), Action.CLOCK_IN),
    ],
)
def test_inferred_action(last, now, expected):
    assert infer_action(SESSIONS, last, now) is expected


def test_debounce():
    last = LastPunch(Action.CLOCK_IN, at(9, 0))
    window = timedelta(seconds=60)
    assert is_repeat(last, at(9, 0) + timedelta(seconds=20), window)
    assert not is_repeat(last, at(9, 0) + timedelta(seconds=61), window)
    assert not is_repeat(last, at(9, 0) + timedelta(seconds=20), window, requested=Action.LEAVE_OUT)
    assert is_repeat(last, at(9, 0) + timedelta(seconds=20), window, requested=Action.CLOCK_IN)
    assert not is_repeat(None, at(9, 0), window)


def test_both_languages_cover_every_message():
    assert CATALOG["zh"].keys() == CATALOG["en"].keys()
    assert say("zh", "back_by", time="10:30") == "预计 10:30 返回"
    assert say("en", "no-such-key") == "no-such-key"


def test_console_feedback():
    out = io.StringIO()
    ConsoleFeedback(out).show(Notice("ok", "上班签到成功", "张伟 09:01"))
    assert out.getvalue() == "✔ 上班签到成功  张伟 09:01\n"


def test_display_renders_chinese_text(tmp_path):
    target = tmp_path / "display.png"
    display = DisplayFeedback(target, size=(320, 240))
    display.show(Notice("ok", "上班签到成功", "张伟 09:01"))
    from PIL import Image

    pixels = np.asarray(Image.open(target))
    assert pixels.shape == (240, 320, 3)
    white = (pixels > 200).all(axis=2)
    assert white.sum() > 500, "no text drawn"
    # Different text gives a different picture (the glyphs are really rendered).
    other = np.asarray(display.render(Notice("ok", "下班签退成功", "张伟 17:02")))
    assert (other != pixels).any()


def test_tones_are_valid_wav_of_the_right_pitch():
    for kind, pitch in (("ok", 880), ("fail", 220)):
        with wave.open(io.BytesIO(tone(kind))) as wav:
            rate = wav.getframerate()
            frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        first = frames[: int(rate * 0.08)].astype(float)
        spectrum = np.abs(np.fft.rfft(first))
        peak = np.fft.rfftfreq(len(first), 1 / rate)[spectrum.argmax()]
        assert abs(peak - pitch) < 20


def test_a_refused_turn_holds_until_the_person_moves_on_or_times_out():
    refusal = Notice("fail", "You are not registered as out", "Press i or o")
    turn = Turn(timeout_s=15, repeat_s=2)
    turn.hold("S1", refusal, now=100.0, by_face=True)
    assert turn.holds("S1", 101.0) and turn.repeat(101.0) is None  # just shown
    assert turn.repeat(102.5) == refusal and turn.repeat(103.0) is None
    assert turn.holds("S1", 115.0)  # seen again within the timeout: still their turn
    assert not turn.holds("S1", 131.0) and turn.staff_id is None  # timed out
    turn.hold("S1", refusal, now=200.0, by_face=True)
    assert not turn.holds("S2", 201.0) and not turn.holds("S1", 201.5)  # someone else came
    turn.hold("S1", refusal, now=300.0, by_face=False)
    turn.face_gone()  # identified by finger: the camera seeing nobody proves nothing
    assert turn.holds("S1", 301.0)
    turn.hold("S1", refusal, now=400.0, by_face=True)
    turn.face_gone()
    assert not turn.holds("S1", 401.0)
