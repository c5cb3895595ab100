import json

import pytest

from mockgw.profiles import PROFILES
from mockgw.protocol.auth import (
    auth_frame_permitted,
    bearer_permitted,
    bulk_token_permitted,
    query_token_permitted,
    rest_denial,
    workspace_refusal,
)
from mockgw.protocol.envelope import AuthFrame, BadFrame, Envelope, decode_frame, error_frame

V1_7, V2_2_5, V2_4_5, V2_4_26, V2_6_2 = (PROFILES[n] for n in ("1.7", "2.2.5", "2.4.5", "2.4.26", "2.6.2"))


def test_an_envelope_decodes_with_optional_flow_and_workspace():
    text = json.dumps(
        {"id": "req-7", "service": "graph-rag", "flow": "default", "workspace": "acme", "request": {"query": "Who?"}}
    )
    assert decode_frame(text, V2_6_2) == Envelope("req-7", "graph-rag", {"query": "Who?"}, "default", "acme")
    global_service = json.dumps({"id": 1, "service": "config", "request": {"operation": "list"}})
    assert decode_frame(global_service, V2_6_2).flow is None


def test_auth_frames_exist_only_with_first_frame_auth():
    text = json.dumps({"type": "auth", "token": "tg_1"})
    assert decode_frame(text, V2_4_5) == AuthFrame("tg_1")
    assert isinstance(decode_frame(text, V2_2_5), BadFrame)


def test_error_frames_per_generation():
    assert error_frame(V1_7, "Invalid flow", "req-1") == {"error": "Invalid flow"}
    assert error_frame(V2_2_5, "Invalid flow default/x", "req-1") == {
        "id": "req-1",
        "error": {"message": "Invalid flow default/x", "type": "error"},
        "complete": True,
    }
    assert error_frame(V2_6_2, "unknown service", 3, error_type="unknown-service")["error"]["type"] == "unknown-service"


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("Bearer s3cret", True),
        ("Bearer wrong", False),
        ("bearer s3cret", False),
        ("Token s3cret", False),
        ("Bearer", False),
        (None, False),
    ],
)
def test_bearer_must_be_exact(header, allowed):
    assert bearer_permitted(header, "s3cret") is allowed


def test_no_configured_token_means_an_open_gateway():
    assert bearer_permitted(None, None) and query_token_permitted(None, None)
    assert not query_token_permitted("x", "y") and query_token_permitted("y", "y")


PRESENTED = (None, "", "tg_any-key", "s3cret")  # missing, empty, any, the configured one


@pytest.mark.parametrize("name", [name for name, p in PROFILES.items() if p.bulk_token_required])
def test_bulk_sockets_from_2_4_5_want_a_non_empty_token_even_on_an_open_gateway(name):
    profile = PROFILES[name]
    assert [bulk_token_permitted(profile, t, None) for t in PRESENTED] == [False, False, True, True]
    assert [bulk_token_permitted(profile, t, "s3cret") for t in PRESENTED] == [False, False, False, True]


@pytest.mark.parametrize("name", [name for name, p in PROFILES.items() if not p.bulk_token_required])
def test_bulk_sockets_before_2_4_5_are_open_without_a_secret(name):
    profile = PROFILES[name]
    assert [bulk_token_permitted(profile, t, None) for t in PRESENTED] == [True, True, True, True]
    assert [bulk_token_permitted(profile, t, "s3cret") for t in PRESENTED] == [False, False, False, True]


def test_the_bulk_token_rule_starts_with_the_iam_generation():
    assert [n for n, p in PROFILES.items() if not p.bulk_token_required] == ["1.7", "1.8", "2.2.5", "2.3.1"]
    assert all(p.bulk_token_required == p.rest_auth_json for p in PROFILES.values())


def test_rest_denials_differ_by_generation():
    assert rest_denial(V1_7).body == "401: Unauthorized" and rest_denial(V1_7).media_type == "text/plain"
    assert rest_denial(V2_6_2).body == '{"error":"auth failure"}' and rest_denial(V2_6_2).status == 401


def test_an_empty_auth_token_is_anonymous_only_from_2_4_26_on_an_open_gateway():
    # 2.4.5-2.4.25 refuse an empty first-frame token; 2.4.26 tries it as anonymous (measured on the rig: 2.5.16).
    assert not auth_frame_permitted(V2_4_5, "", None)
    assert auth_frame_permitted(V2_4_26, "", None) and not auth_frame_permitted(V2_4_26, "", "tg_k")
    assert auth_frame_permitted(V2_6_2, "", None)
    assert not auth_frame_permitted(V2_6_2, "", "tg_k")
    assert auth_frame_permitted(V2_6_2, "tg_k", "tg_k") and not auth_frame_permitted(V2_6_2, "tg_x", "tg_k")


def test_workspace_refusals():
    assert workspace_refusal(V2_6_2, "acme", ("default",)) == ("workspace-not-found", "workspace not found")
    assert workspace_refusal(V2_4_5, "acme", ("default",)) == ("access-denied", "access denied")
    assert workspace_refusal(V2_6_2, "default", ("default",)) is None
    assert workspace_refusal(V2_2_5, "acme", ("default",)) is None  # ignored before 2.4
