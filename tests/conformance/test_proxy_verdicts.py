"""The proxy kit's verdicts on hand-written timelines."""

from conformance.cpuwait import CpuWait
from conformance.proxykit.verdicts import (
    HIDDEN,
    Delivered,
    Sent,
    auth_caching,
    chunk_filter,
    first_token,
    integrity,
    per_chunk_delay,
    upstream_events,
)

SENT = [Sent("A", 10.0), Sent("B", 10.2), Sent(None, 10.4)]


def delivered(*pairs):
    return [Delivered({"text": text, "done": None}, at) for text, at in pairs]


def test_first_token_and_per_chunk_delay_measure_the_proxy_against_the_upstream():
    prompt = delivered(("A", 10.01), ("B", 10.21), ("", 10.41))
    late = delivered(("A", 10.5), ("B", 10.5), ("", 10.5))
    assert first_token(SENT, prompt, "text", 0.05).status.value == "pass"
    assert first_token(SENT, late, "text", 0.05).measurements["added_s"] == 0.5
    assert per_chunk_delay(SENT, prompt, "text", 0.05).status.value == "pass"
    assert per_chunk_delay(SENT, late, "text", 0.05).measurements["max_delay_s"] == 0.5


def test_a_clients_wait_for_a_cpu_is_taken_out_and_buffering_is_not():
    # Token B reached the caller 90 ms after it was sent; the client waited 80 ms of that for a CPU.
    slow = delivered(("A", 10.005), ("B", 10.29), ("", 10.41))
    wait = CpuWait((9.9, 10.19, 10.3, 11.0), (0.0, 0.001, 0.081, 0.081))
    assert per_chunk_delay(SENT, slow, "text", 0.05).status.value == "fail"
    verdict = per_chunk_delay(SENT, slow, "text", 0.05, wait)
    assert verdict.status.value == "pass", verdict.reason
    assert verdict.measurements["cpu_wait_s"][1] == 0.08
    assert "not counting 80.0 ms it waited for a CPU" in verdict.reason
    # A buffering client sleeps while it holds the tokens: only the waits booked meanwhile (1 ms) come off.
    held = delivered(("A", 10.5), ("B", 10.5), ("", 10.5))
    buffered = CpuWait((9.9, 10.4, 10.6), (0.0, 0.001, 0.002))
    assert per_chunk_delay(SENT, held, "text", 0.05, buffered).status.value == "fail"
    assert first_token(SENT, held, "text", 0.05, buffered).status.value == "fail"


def test_integrity_names_lost_tokens():
    assert integrity(SENT, delivered(("A", 1), ("B", 2)), "text").status.value == "pass"
    lost = integrity(SENT, delivered(("B", 2)), "text")
    assert lost.status.value == "fail" and "'A'" in lost.reason


def test_the_filter_must_clear_not_drop_or_leak():
    events = [Sent("A", 1), Sent(HIDDEN, 2, "system"), Sent("B", 3), Sent(None, 4)]
    cleared = delivered(("A", 1), ("", 2), ("B", 3), ("", 4))
    assert chunk_filter(events, cleared, "text").status.value == "pass"
    assert "not applied" in chunk_filter(events, delivered(("A", 1), (HIDDEN, 2), ("B", 3), ("", 4)), "text").reason
    assert "dropped" in chunk_filter(events, delivered(("A", 1), ("B", 3), ("", 4)), "text").reason


def test_auth_caching_wants_one_authentication_per_lifetime():
    assert auth_caching([1, 2], [200] * 4, calls_in_lifetime=3).status.value == "pass"
    assert "3 authentications" in auth_caching([3, 4], [200] * 4, calls_in_lifetime=3).reason
    assert "after the token expired" in auth_caching([1, 1], [200] * 4, calls_in_lifetime=3).reason
    assert "401" in auth_caching([1, 1], [200, 200, 200, 401], calls_in_lifetime=3).reason


def test_upstream_events_are_rebuilt_from_split_journal_writes():
    messages = [
        {"direction": "out", "kind": "frame", "text": 'data: {"choices":[{"del', "sent_at": 1.0},
        {"direction": "out", "kind": "frame", "text": 'ta":{"content":"A"}}]}\n\n', "sent_at": 1.01},
        {"direction": "out", "kind": "frame", "text": "data: [DONE]\n\n", "sent_at": 2.0},
    ]
    assert upstream_events(messages) == [Sent("A", 1.01)]
