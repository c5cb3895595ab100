"""SSE encoding, splitting and decoding, without sockets."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockgw.protocol.sse import DONE, SseDecoder, SseEvent, encode_event, split_at, split_points


def test_an_event_with_every_field_and_multiline_data():
    event = SseEvent(data="one\ntwo", event="delta", id="7", retry_ms=3000, comment="hi")
    assert encode_event(event) == b": hi\nevent: delta\nid: 7\nretry: 3000\ndata: one\ndata: two\n\n"


def test_line_endings_are_a_choice():
    assert encode_event(SseEvent(DONE), "\r\n") == b"data: [DONE]\r\n\r\n"
    assert encode_event(SseEvent(DONE), "\r") == b"data: [DONE]\r\r"
    with pytest.raises(ValueError, match="line ending"):
        encode_event(SseEvent(DONE), "\n\r")


def test_a_keep_alive_is_a_comment_alone_and_an_empty_event_is_refused():
    assert encode_event(SseEvent(comment="")) == b":\n\n"
    with pytest.raises(ValueError, match="at least one"):
        encode_event(SseEvent())
    with pytest.raises(ValueError, match="line break"):
        encode_event(SseEvent("x", event="a\nb"))


def test_split_at_cuts_at_the_offsets_given_and_ignores_ones_outside():
    assert split_at(b"data: x\n\n", [0, 3, 3, 20, 6]) == [b"dat", b"a: ", b"x\n\n"]
    rng = random.Random(1)
    points = split_points(20, 4, rng)
    assert len(points) == 3 and points == sorted(points) and all(0 < p < 20 for p in points)
    assert split_points(20, 4, random.Random(1)) == points  # seeded: reproducible


def test_the_decoder_joins_a_line_split_across_chunks_and_a_crlf_split_between_cr_and_lf():
    decoder = SseDecoder()
    assert list(decoder.feed(b'data: {"a"')) == []
    assert decoder.pending == b'data: {"a"'
    assert list(decoder.feed(b": 1}\r")) == []
    assert list(decoder.feed(b"\n\r\n")) == [SseEvent('{"a": 1}')]
    assert list(decoder.feed(b": ping\n\nevent: x\ndata: y\n\n")) == [SseEvent("y", "x")]
    assert decoder.comments == ["ping"]


def test_a_utf8_character_split_between_chunks_arrives_whole():
    encoded = encode_event(SseEvent("héllo ✓"))
    decoder = SseDecoder()
    events = [e for piece in split_at(encoded, range(1, len(encoded))) for e in decoder.feed(piece)]
    assert events == [SseEvent("héllo ✓")]


data_text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n"), max_size=30)


@given(
    st.lists(st.tuples(st.lists(data_text, min_size=1, max_size=3), st.sampled_from(["\n", "\r\n", "\r"])), max_size=6),
    st.lists(st.integers(1, 400), max_size=8),
)
def test_whatever_the_cuts_and_line_endings_the_decoder_gets_every_event_back(events, cuts):
    wire = b"".join(encode_event(SseEvent("\n".join(lines)), ending) for lines, ending in events)
    decoder = SseDecoder()
    decoded = [e.data for piece in split_at(wire, cuts) for e in decoder.feed(piece)]
    assert decoded == ["\n".join(lines) for lines, _ in events]
