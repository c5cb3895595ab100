"""Tokens masked wherever the mock writes something down (mockgw/protocol/redact.py)."""

import json

from hypothesis import given
from hypothesis import strategies as st

from mockgw.protocol.redact import MASK, redact_frame, redact_headers, redact_query, redact_text, redact_value


def test_an_auth_frame_keeps_its_shape_and_loses_its_token():
    masked = redact_frame('{"type": "auth", "token": "s3cret"}')
    assert json.loads(masked) == {"type": "auth", "token": MASK}


def test_frames_without_a_top_level_token_are_returned_as_they_came():
    frame = '{"id": "r1", "service": "agent", "request": {"question": "what is a \\"token\\"?"}}'
    assert redact_frame(frame) is frame
    nested = '{"id": "r1", "request": {"token": "not an auth field"}}'
    assert redact_frame(nested) == nested


def test_a_frame_that_is_not_json_still_loses_what_looks_like_a_token():
    assert redact_frame('{"type": "auth", "token": "s3cret"') == '{"type": "auth", "token": "***"'


def test_query_tokens_are_masked_wherever_they_sit():
    assert redact_query("token=abc") == "token=***"
    assert redact_query("a=1&token=abc&b=2") == "a=1&token=***&b=2"
    assert redact_query("/api/v1/socket?token=abc") == "/api/v1/socket?token=***"
    assert redact_query("mytoken=abc") == "mytoken=abc"  # another parameter, not a token


def test_headers_and_free_text():
    assert redact_headers({"Authorization": "Bearer x", "accept": "y"}) == {"Authorization": MASK, "accept": "y"}
    line = "GET /x?token=a HTTP/1.1 Authorization: Bearer b {'query_string': b'token=c'} and dd-1"
    assert (
        redact_text(line, ("dd-1",))
        == "GET /x?token=*** HTTP/1.1 Authorization: Bearer *** {'query_string': b'token=***'} and ***"
    )


def test_json_values_lose_token_keys_and_secrets_at_any_depth():
    value = {"token": "a", "list": ["Bearer b", {"token": "c"}], "n": 1, "s": "has zz inside"}
    assert redact_value(value, ("zz",)) == {
        "token": MASK,
        "list": ["Bearer ***", {"token": MASK}],
        "n": 1,
        "s": "has *** inside",
    }


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_no_auth_frame_token_survives(token):
    frame = json.dumps({"type": "auth", "token": token})
    assert json.loads(redact_frame(frame))["token"] == MASK


def test_provider_credentials_in_a_query_are_masked_too():
    assert redact_query("/oauth/token?grant_type=x&client_secret=s3&api_key=k1") == (
        "/oauth/token?grant_type=x&client_secret=***&api_key=***"
    )
    assert redact_query("/v1?Access_Token=abc&keyword=kept") == "/v1?Access_Token=***&keyword=kept"


def test_tokens_the_fake_provider_issued_are_masked_wherever_they_turn_up():
    text = '{"session": "mockgw-at-AbC_12-xyz", "model": "mockgw-model"}'
    assert redact_text(text) == '{"session": "***", "model": "mockgw-model"}'
