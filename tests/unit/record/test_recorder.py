"""The recorder's capture: frames kept out of the cyclic GC, handed back as events in arrival order."""

from __future__ import annotations

import gc
from pathlib import Path

from mockgw.record.contracts import Options
from mockgw.record.events import ClientFrame, SocketClosed, SocketOpened, UpstreamFrame
from mockgw.record.recorder import Recorder
from mockgw.record.redact import Redaction


def recorder(tmp_path: Path) -> Recorder:
    return Recorder(Redaction.with_extra([]), lambda: 0.0, Options(profile=None, match="fields", source="x"), tmp_path)


def test_frames_are_not_tracked_by_the_gc_so_full_collections_do_not_walk_them(tmp_path: Path) -> None:
    capture = recorder(tmp_path)
    conn = capture.open_socket(0.0, "/api/v1/socket", "mux")
    gc.collect()
    before = len(gc.get_objects())
    for k in range(5000):
        capture.client_frame(conn, k * 0.01, f'{{"id": "r{k}", "service": "agent", "request": {{}}}}')
        capture.upstream_frame(conn, k * 0.01 + 0.001, f'{{"id": "r{k}", "response": {{}}, "complete": false}}')
        capture.upstream_frames(conn, k * 0.01 + 0.002, [f'{{"id": "r{k}", "response": {{}}, "complete": true}}'])
    gc.collect()
    # 15,000 frames stored; a record the GC tracks (a NamedTuple, a dataclass) would add one object each.
    assert len(gc.get_objects()) - before < 100
    assert len(capture.captured) == 1 + 15_000
    assert not any(gc.is_tracked(item) for item in capture.captured[1:])


def test_events_come_back_in_arrival_order_as_named_events(tmp_path: Path) -> None:
    capture = recorder(tmp_path)
    conn = capture.open_socket(0.0, "/api/v1/socket", "mux")
    capture.client_frame(conn, 0.1, '{"id": "a"}')
    capture.upstream_frames(conn, 0.2, ['{"id": "a", "n": 1}', '{"id": "a", "n": 2}'])
    capture.socket_closed(conn, 0.3, "client", 1000)
    capture.upstream_frame(conn, 0.4, "late")
    assert capture.events == [
        SocketOpened(conn, 0.0, "/api/v1/socket", "mux"),
        ClientFrame(conn, 0.1, '{"id": "a"}'),
        UpstreamFrame(conn, 0.2, '{"id": "a", "n": 1}'),
        UpstreamFrame(conn, 0.2, '{"id": "a", "n": 2}'),
        SocketClosed(conn, 0.3, "client", 1000),
        UpstreamFrame(conn, 0.4, "late"),
    ]
    assert [type(e) for e in capture.events][1:4] == [ClientFrame, UpstreamFrame, UpstreamFrame]
