"""Webhook delivery against a receiver that fails 30 % of requests (500, timeout, reset) while
the server is SIGKILLed twice and restarted: nothing lost, and every webhook-id received more
than once carried the same body each time. A small version of bench/reliability.py."""

from bench.reliability import run


def test_flaky_receiver_and_sigkills_lose_nothing(tmp_path):
    messages = []
    result = run(tmp_path, alerts=100, kills=2, fail_rate=0.3, seed=7, timeout=60,
                 kill_window=(0.5, 1.5), log=messages.append)
    assert result["problems"] == [], (result, messages)
    assert result["alerts"] == 100
    assert result["unique_processed"] == 100 and result["lost"] == 0
    assert result["inconsistent"] == 0
    assert result["statuses"] == {"delivered": 100}
    kinds = result["kinds"]
    assert kinds.get("500") and kinds.get("timeout") and kinds.get("reset"), kinds
    assert len(result["killed_at"]) == 2
