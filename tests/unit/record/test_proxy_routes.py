"""The proxy's pure helpers: which route is which service, and where --token goes upstream."""

from __future__ import annotations

import json

import pytest

from mockgw.record.proxy import Upstream, _service_of, _socket_role


def test_routes_name_their_service_and_flow() -> None:
    assert _service_of("POST", "/api/v1/flow/research/service/graph-rag") == ("graph-rag", "research")
    assert _service_of("POST", "/api/v1/config") == ("config", None)
    assert _service_of("GET", "/api/metrics/query") == ("metrics", None)
    assert _service_of("GET", "/api/v1/config") == (None, None)  # passed through, not a contract
    assert _socket_role("/api/v1/socket") == ("mux", None, None)
    assert _socket_role("/api/v1/flow/default/export/triples") == ("export", "default", "triples")
    assert _socket_role("/api/v1/elsewhere") == ("other", None, None)


def test_the_upstream_token_replaces_the_clients_everywhere() -> None:
    upstream = Upstream("http://127.0.0.1:8088/", "up")
    assert upstream.socket_url("/api/v1/socket", "token=client&workspace=w") == (
        "ws://127.0.0.1:8088/api/v1/socket?workspace=w&token=up"
    )
    assert json.loads(upstream.auth_frame('{"type": "auth", "token": "client"}')) == {"type": "auth", "token": "up"}
    request = '{"id": 1, "type": "auth", "service": "agent", "request": {}}'
    assert upstream.auth_frame(request) == request  # a request is never rewritten
    open_upstream = Upstream("https://gw.example:443", None)
    assert (
        open_upstream.socket_url("/api/v1/socket", "token=client") == "wss://gw.example:443/api/v1/socket?token=client"
    )
    with pytest.raises(ValueError, match="expected http://HOST:PORT"):
        Upstream("gw:8088", None)
