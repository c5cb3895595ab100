"""The benchmark client's framing and statistics, as pure functions."""

from __future__ import annotations

import struct

from loadtests.bench.load import percentiles_ms
from loadtests.bench.runner import Row, lateness_rows, throughput_row
from loadtests.bench.wire import ZERO_MASK, encode_text_frame, split_frames


def server_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    if n < 126:
        return struct.pack("!BB", 0x80 | opcode, n) + payload
    if n < 1 << 16:
        return struct.pack("!BBH", 0x80 | opcode, 126, n) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, n) + payload


def test_client_frames_are_masked_text_frames_with_the_payload_as_is() -> None:
    assert encode_text_frame(b"hi") == b"\x81\x82" + ZERO_MASK + b"hi"
    assert encode_text_frame(b"x" * 200)[:4] == b"\x81\xfe\x00\xc8"
    assert encode_text_frame(b"x" * 70000)[:10] == b"\x81\xff" + struct.pack("!Q", 70000)


def test_split_frames_returns_whole_frames_and_leaves_a_partial_one() -> None:
    data = bytearray(server_frame(b"a") + server_frame(b"b" * 300) + server_frame(b"c" * 70000)[:50])
    frames, used = split_frames(data)
    assert frames == [(1, b"a"), (1, b"b" * 300)]
    assert used == 3 + 304


def test_split_frames_needs_the_whole_extended_length_header() -> None:
    assert split_frames(bytearray(b"\x81\x7f\x00")) == ([], 0)


def test_percentiles_are_nearest_rank_in_milliseconds() -> None:
    values = [i / 1000 for i in range(1, 101)]  # 1 .. 100 ms
    assert percentiles_ms(values) == {"p50_ms": 50.0, "p99_ms": 99.0, "max_ms": 100.0}
    assert percentiles_ms([]) == {"p50_ms": None, "p99_ms": None, "max_ms": None}


def test_throughput_keeps_each_sides_best_round_and_judges_the_ratio() -> None:
    row = throughput_row("REST", "req/s", [{"per_s": 900.0}, {"per_s": 1000.0}], [{"per_s": 790.0}], "bare")
    assert (row.bare, row.mock, row.verdict) == (1000.0, 790.0, "BELOW TARGET")
    assert round(row.ratio or 0, 3) == 0.79


def test_lateness_rows_report_beyond_capacity_instead_of_hiding_it() -> None:
    def result(p99: float, incomplete: int = 0) -> dict[str, object]:
        return {"lateness": {"p50_ms": 1.0, "p99_ms": p99, "max_ms": p99}, "streams_incomplete": incomplete}

    rows: list[Row] = lateness_rows(100, 20, result(10.0), result(8.0, incomplete=3))
    p99 = rows[1]
    assert (p99.target, p99.verdict) == ("<= bare", "INCOMPLETE; mock: 3 streams incomplete")
    assert rows[2].verdict == "measured; mock: 3 streams incomplete"
    assert lateness_rows(1, 20, result(1.0), result(2.5))[1].verdict == "ABOVE TARGET"
