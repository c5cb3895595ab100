"""Our hand-written fast paths produce exactly the bytes the general ones do."""

import orjson
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from mockgw.protocol.envelope import (
    encode,
    response_frame,
    response_tail,
    response_text,
)
from mockgw.server.ws_extensions import text_frames

# Sizes around the two length-encoding boundaries of RFC 6455 §5.2 (125/126 and 65535/65536 bytes).
BOUNDARY_SIZES = [0, 1, 125, 126, 127, 65535, 65536, 70000]


@given(st.lists(st.one_of(st.text(max_size=300), st.sampled_from(BOUNDARY_SIZES).map(lambda n: "x" * n)), max_size=4))
def test_text_frames_are_the_frames_websockets_would_send(texts):
    expected = b"".join(Frame(Opcode.TEXT, t.encode()).serialize(mask=False, extensions=[]) for t in texts)
    assert b"".join(text_frames(texts)) == expected


def test_multibyte_text_is_framed_by_its_encoded_length():
    text = "é" * 100  # 100 characters, 200 bytes: needs the 16-bit length form
    assert b"".join(text_frames([text]))[:4] == bytes((0x81, 126, 0, 200))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@given(request_id=json_values, response=json_values, complete=st.booleans())
def test_a_response_text_from_its_tail_is_the_encoded_frame(request_id, response, complete):
    text = response_text(request_id, response_tail(response, complete))
    assert text == encode(response_frame(request_id, response, complete))
    assert orjson.loads(text) == {"id": request_id, "response": response, "complete": complete}
