"""The proxy's frame scan: which upstream bytes are relayed as they came, and where websockets takes over."""

from __future__ import annotations

import struct

from mockgw.record.wire import frame_size, take_text_frames


def _frame(payload: bytes, first: int = 0x81, mask: bytes | None = None) -> bytes:
    size = len(payload)
    masked = 0x80 if mask is not None else 0
    if size < 126:
        head = bytes((first, masked | size))
    elif size < 65536:
        head = struct.pack("!BBH", first, masked | 126, size)
    else:
        head = struct.pack("!BBQ", first, masked | 127, size)
    if mask is None:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_whole_text_frames_of_every_length_form_are_taken_in_order() -> None:
    texts = ["{}", "é" * 100, "x" * 70_000]  # 7-bit, 16-bit and 64-bit lengths
    data = b"".join(_frame(t.encode()) for t in texts)
    assert take_text_frames(data, 0, None) == (len(data), texts)
    second = len(_frame(texts[0].encode()))
    assert take_text_frames(data, second, None) == (len(data), texts[1:])


def test_the_scan_stops_at_the_first_frame_websockets_must_handle() -> None:
    text = _frame(b'{"id": 1}')
    for other in (
        _frame(b"hi", first=0x89),  # ping
        _frame(b"\x00\x01", first=0x82),  # binary
        _frame(b"par", first=0x01),  # the first fragment of a message
        _frame(b"x", mask=b"abcd"),  # masked: a server must not mask
        _frame(b"x", first=0xC1),  # RSV1 (compression) that nobody negotiated
        _frame(b"\xff\xfe"),  # not UTF-8
    ):
        assert take_text_frames(text + other + text, 0, None) == (len(text), ['{"id": 1}']), other


def test_a_frame_not_all_read_or_too_big_is_left() -> None:
    whole = _frame(b"y" * 300)
    assert take_text_frames(whole[:-1], 0, None) == (0, [])
    assert take_text_frames(whole[:3], 0, None) == (0, [])  # its 16-bit length not in yet
    assert take_text_frames(whole, 0, 299) == (0, [])
    assert take_text_frames(whole, 0, 300) == (len(whole), ["y" * 300])


def test_frame_size_counts_header_mask_and_payload_once_the_header_is_in() -> None:
    assert frame_size(_frame(b"abc")) == 5
    assert frame_size(_frame(b"abc", mask=b"abcd")) == 9
    big = _frame(b"z" * 70_000)
    assert frame_size(big[:9]) is None and frame_size(big[:10]) == 70_010
    assert frame_size(b"\x88") is None
    two = _frame(b"a") + _frame(b"b" * 200)
    assert frame_size(two, 3) == 204
