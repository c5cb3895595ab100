"""record_fidelity reads the replaying mock's journal page by page (a page holds at most 10,000 messages)."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest

from loadtests.bench import record_fidelity as fidelity
from loadtests.bench.servers import RunningServer


def test_every_frame_is_read_across_pages_oldest_first(mock_gateway: RunningServer) -> None:
    # The mock is the session's: earlier load tests may have journaled more than one page of frames already.
    urllib.request.urlopen(urllib.request.Request(f"{mock_gateway.url}/__admin/reset", method="POST"), timeout=10)
    observed = fidelity.Observed()
    asyncio.run(fidelity.play_mux(mock_gateway.url, "agent", fidelity.AGENT_SOCKET, observed))
    query = f"kind=frame&limit={fidelity.JOURNAL_PAGE}&cursor=0"
    with urllib.request.urlopen(f"{mock_gateway.url}/__admin/journal/messages?{query}", timeout=10) as answer:
        in_one_read = json.loads(answer.read())["messages"]
    assert len(in_one_read) > 3 * 4  # so pages of 4 take more than three reads

    paged = fidelity.journal_messages(mock_gateway.url, "frame", page=4)
    assert [m["message_id"] for m in paged] == [m["message_id"] for m in in_one_read]
    answered = [m for m in paged if m["direction"] == "out" and m["request_id"] == "agent"]
    assert len(answered) >= len(observed.frames["agent"]) >= 5

    with pytest.raises(RuntimeError, match="more than 2 pages"):
        fidelity.journal_messages(mock_gateway.url, "frame", page=4, max_pages=2)
