"""Health from the loops' heartbeats: up, down, stale."""

from __future__ import annotations


def test_health_is_down_while_a_loop_backs_off_or_goes_quiet() -> None:
    from service.runtime.metrics import Metrics

    m = Metrics()
    assert m.health(60) == (False, {"inbox": "down", "sender": "down", "scheduler": "down"})
    for loop in ("inbox", "sender", "scheduler"):
        m.beat(loop)
    assert m.health(60)[0]
    m.beat("sender", up=False)  # e.g. the database went away
    assert m.health(60) == (False, {"inbox": "up", "sender": "down", "scheduler": "up"})
    m.beat("sender")
    assert m.health(-1)[1]["inbox"] == "stale"  # nobody reported within the bound
