"""The real trustgraph-base clients from PyPI against the running mock (bundled contracts).

2.11.1 against the 2.x profile and 1.7.9 against the 1.x profile: REST, socket
streaming with chunks arriving one by one near their scripted times, and 15
concurrent async requests with the journal's view of the wire.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ..conftest import TIMEOUT_FACTOR, gateway_process
from .conftest import Driver, journal, of, replayed_frames, reset

pytestmark = pytest.mark.client

QUESTION = "Who is Alice?"


@pytest.fixture(scope="module")
def mock_2x():
    with gateway_process("--profile", "2.6.2") as url:
        yield url


@pytest.fixture(scope="module")
def mock_1x():
    with gateway_process("--profile", "1.7") as url:
        yield url


@pytest.fixture(scope="module")
def driver_2x(python_2x):
    driver = Driver(python_2x)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def driver_1x(python_1x):
    driver = Driver(python_1x)
    yield driver
    driver.close()


def scripted_text_offsets(url: str) -> list[float]:
    """When the mock was told to send each frame that carries text, in seconds after the request arrived.

    Frames without text (explain, provenance, an empty final marker) are not chunks a client yields.
    """
    (detail,) = [d for d in journal(url).values() if any(m["kind"] == "request" for m in d["messages"])]
    request = next(m for m in detail["messages"] if m["kind"] == "request")
    offsets = []
    for m in detail["messages"]:
        if m["kind"] == "frame" and m["direction"] == "out" and m["contract_id"]:
            inner = json.loads(m["text"])["response"]
            text = inner.get("content") or inner.get("response") or inner.get("chunk")
            if isinstance(text, str) and text:
                offsets.append(m["scheduled_at"] - request["received_at"])
    return offsets


def assert_streamed_incrementally(events: list[dict[str, Any]], url: str, min_chunks: int = 3) -> None:
    (sent,) = of(events, "sent")
    chunks = of(events, "chunk")
    assert not of(events, "error"), of(events, "error")
    assert len(chunks) >= min_chunks
    offsets = scripted_text_offsets(url)
    first_seen = chunks[0]["t"] - sent["t"]
    print(
        f"\nfirst chunk: client saw {first_seen:.3f} s, scripted {offsets[0]:.3f} s; "
        f"last chunk: client {chunks[-1]['t'] - sent['t']:.3f} s, scripted {offsets[-1]:.3f} s; "
        f"{len(chunks)} chunks"
    )
    # Near its scripted time...
    assert offsets[0] - 0.05 <= first_seen <= offsets[0] + 0.5 * TIMEOUT_FACTOR
    # ...and not at the end: the client had the first chunk before half the stream was due,
    # and its chunks arrived spread out as scripted, not in one burst.
    span = offsets[-1] - offsets[0]
    assert span >= 0.3, "the contract's stream is too short to tell streaming from buffering"
    assert first_seen < offsets[0] + span / 2
    arrivals = [c["t"] for c in chunks]
    assert arrivals == sorted(arrivals) and arrivals[-1] - arrivals[0] > span / 2


# --- trustgraph-base 2.x against the 2.x profile -------------------------------------------------


def test_2x_rest_graph_rag_returns_the_contracts_answer(driver_2x, mock_2x):
    reset(mock_2x)
    events = driver_2x.run(mock_2x, transport="rest", service="graph-rag", args={"query": QUESTION}, streaming=False)
    (result,) = of(events, "result")
    (sent_frame,) = replayed_frames(mock_2x)
    assert result["data"]["value"]["text"] == json.loads(sent_frame["text"])["response"]
    assert "Alice" in result["data"]["value"]["text"]


def test_2x_rest_agent_fails_as_the_real_client_does_against_a_2x_gateway(driver_2x, mock_2x):
    # trustgraph-base 2.11.1 Flow.agent() reads response["answer"], a field 2.3.1+ gateways no longer send:
    # the mock reproduces the gateway faithfully, so the client's own bug shows.
    reset(mock_2x)
    events = driver_2x.run(mock_2x, transport="rest", service="agent", args={"question": QUESTION}, streaming=False)
    (error,) = of(events, "error")
    assert (error["error_type"], error["message"]) == ("KeyError", "'answer'")
    (sent_frame,) = replayed_frames(mock_2x)
    assert '"message_type":"answer"' in sent_frame["text"] and '"answer":' not in sent_frame["text"]


@pytest.mark.parametrize(
    ("service", "args"),
    [
        ("agent", {"question": QUESTION}),
        ("graph-rag", {"query": QUESTION}),
        ("text-completion", {"system": "You are terse.", "prompt": "Tell me about Alice."}),
    ],
)
def test_2x_socket_streams_arrive_chunk_by_chunk(driver_2x, mock_2x, service, args):
    reset(mock_2x)
    events = driver_2x.run(mock_2x, transport="socket", service=service, args=args, streaming=True)
    assert_streamed_incrementally(events, mock_2x)


def fifteen_async_agent_calls(driver, url):
    """15 streaming agent calls at once on one async client; the events, and the sockets the journal saw."""
    reset(url)
    events = driver.run(
        url,
        transport="socket",
        mode="async",
        service="agent",
        args={"question": QUESTION},
        streaming=True,
        concurrency=15,
    )
    results = of(events, "result")
    assert len(results) == 15 and not of(events, "error")
    assert len({r["data"]["text"] for r in results}) == 1  # every call got the whole, same answer
    connections = [d["trace"] for d in journal(url).values() if d["trace"]["kind"] == "socket"]
    print(
        f"\njournal: {len(connections)} connection(s), max in-flight "
        f"{sorted({c['stats']['max_in_flight'] for c in connections})}, requests "
        f"{sum(c['stats']['requests'] for c in connections)}"
    )
    return events, connections


def test_2x_fifteen_async_requests_share_one_connection(driver_2x, mock_2x):
    events, connections = fifteen_async_agent_calls(driver_2x, mock_2x)
    assert len(connections) == 1
    assert connections[0]["stats"]["requests"] == 15
    assert connections[0]["stats"]["max_in_flight"] == 15
    # Each call's chunks came in order while the others streamed alongside.
    for call in range(15):
        indexes = [c["index"] for c in of(events, "chunk") if c["call"] == call]
        assert indexes == sorted(indexes) and len(indexes) >= 3


# --- trustgraph-base 1.7.x against the 1.x profile -----------------------------------------------


def test_1x_rest_agent_and_graph_rag_return_the_contracts_answers(driver_1x, mock_1x):
    reset(mock_1x)
    agent = driver_1x.run(mock_1x, transport="rest", service="agent", args={"question": QUESTION}, streaming=False)
    rag = driver_1x.run(mock_1x, transport="rest", service="graph-rag", args={"query": QUESTION}, streaming=False)
    (agent_result,) = of(agent, "result")
    (rag_result,) = of(rag, "result")
    agent_frame, rag_frame = replayed_frames(mock_1x)
    assert agent_result["data"]["value"] == json.loads(agent_frame["text"])["answer"]
    assert rag_result["data"]["value"] == json.loads(rag_frame["text"])["response"]


@pytest.mark.parametrize(
    ("service", "args"),
    [
        ("agent", {"question": QUESTION}),
        ("text-completion", {"system": "You are terse.", "prompt": "Tell me about Alice."}),
    ],
)
def test_1x_socket_streams_arrive_chunk_by_chunk(driver_1x, mock_1x, service, args):
    reset(mock_1x)
    events = driver_1x.run(mock_1x, transport="socket", service=service, args=args, streaming=True)
    assert_streamed_incrementally(events, mock_1x)


def test_1x_socket_graph_rag_sends_question_and_gets_the_gateways_keyerror(driver_1x, mock_1x):
    # trustgraph-base 1.7.9's socket graph_rag sends "question"; the gateway reads "query".
    reset(mock_1x)
    events = driver_1x.run(mock_1x, transport="socket", service="graph-rag", args={"query": QUESTION}, streaming=True)
    (error,) = of(events, "error")
    assert error["message"] == "'query'"


def test_1x_fifteen_async_requests_open_fifteen_connections(driver_1x, mock_1x):
    _, connections = fifteen_async_agent_calls(driver_1x, mock_1x)
    assert len(connections) == 15  # 1.7.x opens a connection per call
    assert all(c["stats"]["max_in_flight"] == 1 for c in connections)


# --- the global services, through each client's REST APIs --------------------------------------------------------


@pytest.mark.parametrize("generation", ["2x", "1x"])
def test_the_driver_writes_and_reads_back_config_through_the_real_clients_global_api(generation, request):
    driver, mock = request.getfixturevalue(f"driver_{generation}"), request.getfixturevalue(f"mock_{generation}")
    reset(mock)
    value = {"type": "cf", "key": f"k-{generation}", "value": f"written by {generation}"}
    put = driver.run(mock, transport="rest", service="config", args={"operation": "put", "values": [value]})
    assert not of(put, "error"), of(put, "error")
    get = {"operation": "get", "keys": [{"type": "cf", "key": value["key"]}]}
    (result,) = of(driver.run(mock, transport="rest", service="config", args=get), "result")
    assert value["value"] in json.dumps(result["data"]["value"])  # what the client's config().get() returned
    paths = [m.get("path") for detail in journal(mock).values() for m in [detail["trace"]]]
    assert "/api/v1/config" in paths  # the client's own REST call, not a flow service
    (refused,) = of(driver.run(mock, transport="socket", service="config", args=get), "unsupported")
    assert "REST only" in refused["reason"]
