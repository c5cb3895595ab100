"""The upstream's WebSocket frames as bytes (RFC 6455 §5.2), scanned without websockets' parser.

The proxy relays the gateway's server-to-client frames to its client unchanged: a final, unmasked text
frame with no extension bits is, byte for byte, the frame the client must get. So the common case needs
no parse at all — only each frame's length (to find where it ends) and its UTF-8 text (to record it).
Everything else (control frames, binary, fragments, masked or oversized frames, bad UTF-8) is left to
websockets, whole frame by whole frame, so its protocol state stays exact.
"""

from __future__ import annotations

FINAL_TEXT = 0x81  # FIN set, no RSV bits, opcode 1


def frame_size(data: bytes | bytearray, pos: int = 0) -> int | None:
    """Bytes the frame starting at `pos` takes (header, mask key, payload), or None until its header is in."""
    have = len(data) - pos
    if have < 2:
        return None
    second = data[pos + 1]
    length = second & 0x7F
    head = 2
    if length == 126:
        head = 4
        if have < head:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
    elif length == 127:
        head = 10
        if have < head:
            return None
        length = int.from_bytes(data[pos + 2 : pos + 10], "big")
    if second & 0x80:
        head += 4  # a mask key (a server must not mask: websockets refuses it)
    return head + length


def take_text_frames(data: bytes, start: int, max_size: int | None) -> tuple[int, list[str]]:
    """The whole final unmasked text frames in `data` from `start` on: (where they end, their texts).

    Stops at the first frame that is not one, is not all in `data`, carries more than `max_size` bytes, or
    is not UTF-8 — that frame and what follows it are the caller's (websockets') to handle.
    """
    texts: list[str] = []
    pos, size = start, len(data)
    while size - pos >= 2 and data[pos] == FINAL_TEXT:
        length = data[pos + 1]
        if length < 126:
            head = 2
        elif length == 126:
            if size - pos < 4:
                break
            length, head = (data[pos + 2] << 8) | data[pos + 3], 4
        elif length == 127:
            if size - pos < 10:
                break
            length, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        else:
            break  # masked
        end = pos + head + length
        if end > size or (max_size is not None and length > max_size):
            break
        try:
            texts.append(data[pos + head : end].decode())
        except UnicodeDecodeError:
            break
        pos = end
    return pos, texts
