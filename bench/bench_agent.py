"""CPU and memory of the workstation agent over a run at its default sampling interval.

Starts a real X session (Xvfb + openbox + two X clients whose focus alternates), runs
`hallwatch agent` against the local broker, and samples the agent's CPU time and
resident memory with psutil. A bare Python interpreter, idle, is measured alongside as
the reference. Budget (issue 7): under 1% of a core, under 50 MB resident.

    .venv/bin/python bench/bench_agent.py [--seconds 60] [--interval 5]
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.xsession import XSession  # noqa: E402

CPU_BUDGET_PCT = 1.0
RSS_BUDGET_MB = 50.0
WARMUP_S = 5.0  # imports and connection: reported, but not part of the steady state


def measure(process: psutil.Process, seconds: float, on_tick) -> dict[str, float]:
    start = time.monotonic()
    peak_rss = 0
    cpu_at_warmup = None
    while (elapsed := time.monotonic() - start) < seconds:
        on_tick(elapsed)
        times = process.cpu_times()
        peak_rss = max(peak_rss, process.memory_info().rss)
        if cpu_at_warmup is None and elapsed >= WARMUP_S:
            cpu_at_warmup = (elapsed, times.user + times.system)
        time.sleep(1.0)
    times = process.cpu_times()
    total_cpu = times.user + times.system
    elapsed = time.monotonic() - start
    warm_elapsed, warm_cpu = cpu_at_warmup or (0.0, 0.0)
    return {
        "cpu_total_s": total_cpu,
        "cpu_pct_overall": 100 * total_cpu / elapsed,
        "cpu_pct_steady": 100 * (total_cpu - warm_cpu) / max(elapsed - warm_elapsed, 1e-9),
        "rss_mb_peak": peak_rss / 2**20,
        "rss_mb_end": process.memory_info().rss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=5.0, help="sampling interval (s)")
    args = parser.parse_args()
    site = f"bench-{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as tmp, XSession(Path(tmp)) as x:
        config = Path(tmp) / "activity.toml"
        config.write_text(
            f'site = "{site}"\ndevice = "ws-01"\njournal = "{tmp}/activity.db"\n'
            f"interval_s = {args.interval}\n"
        )
        _, editor = x.app("soffice")
        _, game = x.app("minesweeper")
        windows = [editor, game]
        hallwatch = str(Path(sys.executable).with_name("hallwatch"))
        agent = subprocess.Popen(
            [hallwatch, "agent", "--config", str(config), "--quiet"],
            env=x.env,
            stderr=subprocess.DEVNULL,
        )
        reference = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1e6)"])
        switches = [0]

        def switch_focus(elapsed: float) -> None:
            # A new foreground app every 12 s: intervals close and get published.
            if elapsed >= 12 * switches[0]:
                x.activate(windows[switches[0] % 2])
                switches[0] += 1

        try:
            ref_process = psutil.Process(reference.pid)
            figures = measure(psutil.Process(agent.pid), args.seconds, switch_focus)
            ref_rss = ref_process.memory_info().rss / 2**20
        finally:
            reference.kill()
            reference.wait()
            agent.terminate()
            agent.wait(30)
    print(
        f"agent over {args.seconds:.0f} s at a {args.interval:g} s interval ({switches[0]} focus changes):"
    )
    print(
        f"  CPU  {figures['cpu_total_s']:.2f} s total = {figures['cpu_pct_overall']:.2f}% of a core "
        f"overall, {figures['cpu_pct_steady']:.3f}% after the {WARMUP_S:.0f} s start-up"
    )
    print(
        f"       steady state / budget ({CPU_BUDGET_PCT:.0f}%) = "
        f"{figures['cpu_pct_steady'] / CPU_BUDGET_PCT:.3f}"
    )
    print(
        f"  RSS  peak {figures['rss_mb_peak']:.1f} MB, end {figures['rss_mb_end']:.1f} MB; "
        f"idle bare interpreter (reference, same run) {ref_rss:.1f} MB; "
        f"ratio {figures['rss_mb_peak'] / ref_rss:.2f}x"
    )
    print(
        f"       peak / budget ({RSS_BUDGET_MB:.0f} MB) = {figures['rss_mb_peak'] / RSS_BUDGET_MB:.3f}"
    )


if __name__ == "__main__":
    main()
