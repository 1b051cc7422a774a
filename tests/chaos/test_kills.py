"""Devices and the rules service SIGKILLed at random points: nothing lost, nothing twice."""

from __future__ import annotations

import random


def test_devices_and_rules_service_killed_at_random_points(hall):
    rng = random.Random(20261124)
    hall.start_rules(wait=True)
    hall.start_devices(pace_s=0.06)
    kills = {"rules": 0, "device": 0}

    def kill_something(rng: random.Random) -> None:
        running = [d for _, d in sorted(hall.devices.items()) if d.running()]
        if not running or sum(kills.values()) % 3 == 2:  # every third time, the centre
            hall.kill_rules()
            kills["rules"] += 1
            hall.start_rules()
            return
        device = rng.choice(running)
        device.kill()
        kills["device"] += 1
        device.start()

    hall.chaos(8, rng, kill_something)
    hall.finish_devices()
    hall.settle()
    found = hall.verify()
    assert kills["rules"] >= 2 and kills["device"] >= 4, kills
    assert found["events"] >= 300 and found["violations"] > 0, found
