"""`mockgw record` end to end: real processes on 127.0.0.1, real sockets, `mockgw serve` as the upstream."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from loadtests.bench import record_fidelity as fidelity
from loadtests.bench.servers import RunningServer, start_server
from mockgw.contract import load_library
from tests.conftest import REPO, TIMEOUT_FACTOR

pytestmark = pytest.mark.slow


def _files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


def _recorder(upstream: str, out: Path, *args: str) -> RunningServer:
    argv = ["-m", "mockgw", "record", "--upstream", upstream, "--port", "0", "--out", str(out), *args]
    return start_server("record", argv, cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR)


def _mock(*args: str) -> RunningServer:
    return start_server(
        "mockgw", ["-m", "mockgw", "serve", "--port", "0", *args], cwd=REPO, timeout_s=15 * TIMEOUT_FACTOR
    )


def test_known_sessions_replay_with_the_recorded_wire_and_timing(tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    result, summary, recorded, replayed = fidelity.measure_fidelity(out)
    print(f"\nrecord → replay: {result}")  # the figures, for the report (-s)
    assert result.differences == [] and result.equal
    assert recorded.closes == {"concurrent": 1000, "agent": 1000, "closing": 1011}
    assert len(recorded.frames) == 18 and all(recorded.frames[rid] for rid in ("agent", "error", "tc14"))
    assert recorded.rest["rest"][0] == 200 and replayed.rest["rest"][1] == recorded.rest["rest"][1]
    assert result.replay_items == result.imported == 12
    assert summary["profile"] == "2.6.2" and summary["warnings"] == []
    assert "2.x/agent-who-is-alice.json" in summary["files"] and "2.x/datasets.json" in summary["files"]
    # Generous on a shared machine: offsets are ~0.5–3 s apart, so a broken clock would be off by far more.
    assert result.offset_p99_ms < 250 * TIMEOUT_FACTOR
    # Not late as a whole: counting the mux's start spacing twice (in the recorded at_s, then again by the
    # replaying mock) put the 15 concurrent streams 0–140 ms late, the median frame ~60 ms.
    assert abs(result.shift_p50_ms) < 25 * TIMEOUT_FACTOR, result
    library = load_library(out)
    assert len(library.contracts) == summary["contracts"] == 19
    closing = next(c for c in library.contracts if c.id == "recorded/2.x/agent-close-now")
    assert closing.fault is not None and closing.fault.code == 1011
    files = _files(out)
    assert not any("client-secret" in text for text in files.values())  # the auth frame's token is redacted
    auth = [
        json.loads(e["text"])
        for e in map(json.loads, files["capture.jsonl"].splitlines())
        if "auth" in e.get("text", "")
    ]
    assert auth and all(frame["token"] == "[REDACTED]" for frame in auth if frame.get("type") == "auth")


def test_ctrl_c_writes_what_was_recorded_with_handshake_tokens_redacted(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with (
        _mock("--profile", "1.7", "--token", "s3cret", "--speed", "20") as upstream,
        _recorder(upstream.url, out) as proxy,
    ):
        socket = "ws" + proxy.url.removeprefix("http") + "/api/v1/socket"

        async def play() -> list[dict[str, object]]:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await websockets.connect(socket + "?token=wrong")
            assert refused.value.response.status_code == 401  # the upstream's refusal, relayed before the upgrade
            frames = []
            async with websockets.connect(socket + "?token=s3cret") as ws:
                request = {
                    "id": "q1",
                    "service": "graph-rag",
                    "flow": "default",
                    "request": {"query": "Alice?", "streaming": True},
                }
                await ws.send(json.dumps(request))
                while not (frame := json.loads(await ws.recv())).get("complete"):
                    frames.append(frame)
            return frames

        frames = asyncio.run(play())
        assert frames and all(f["id"] == "q1" and "chunk" in f["response"] for f in frames)
        rest = urllib.request.Request(
            proxy.url + "/api/v1/flow/default/service/text-completion",
            json.dumps({"system": "", "prompt": "hello"}).encode(),
            {"authorization": "Bearer s3cret", "content-type": "application/json"},
        )
        with urllib.request.urlopen(rest, timeout=10) as answer:
            assert json.loads(answer.read())["response"]
        deadline = time.monotonic() + 5 * TIMEOUT_FACTOR
        while "recorded: 2 requests" not in proxy.stderr_path.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)  # the progress line is printed once a second while something changes
        assert "recorded: 2 requests" in proxy.stderr_path.read_text()
        proxy.process.send_signal(signal.SIGINT)
        assert proxy.process.wait(20 * TIMEOUT_FACTOR) == 0
    files = _files(out)
    assert not any("s3cret" in text for text in files.values())
    assert "token=%5BREDACTED%5D" in files["capture.jsonl"] or "token=[REDACTED]" in files["capture.jsonl"]
    assert "Bearer [REDACTED]" in files["capture.jsonl"]
    rag = json.loads(files["1.x/graph-rag-alice.json"])
    assert rag["profiles"] == ["1.7"]  # guessed: RAG frames keyed `chunk`
    assert [f["response"] for f in rag["contracts"][0]["response"]["frames"]][:-1] == [f["response"] for f in frames]
    assert "1.x/text-completion-hello.json" in files
    load_library(out)


def test_first_frame_auth_gets_the_proxy_token_and_a_drop_is_recorded_as_a_drop(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with (
        _mock("--profile", "2.4.5", "--token", "upstream-key") as upstream,
        _recorder(upstream.url, out, "--token", "upstream-key") as proxy,
    ):
        socket = "ws" + proxy.url.removeprefix("http") + "/api/v1/socket"

        async def play() -> tuple[dict[str, object], object]:
            async with websockets.connect(socket) as ws:
                await ws.send(json.dumps({"type": "auth", "token": "client-does-not-know"}))
                ok = json.loads(await ws.recv())
                await ws.send(
                    json.dumps({"id": 1, "service": "agent", "flow": "default", "request": {"question": "[drop] x"}})
                )
                with pytest.raises(websockets.ConnectionClosedError) as closed:
                    await asyncio.wait_for(ws.recv(), 10 * TIMEOUT_FACTOR)
                return ok, closed.value.rcvd

        ok, received_close = asyncio.run(play())
        assert ok == {"type": "auth-ok", "workspace": "default"}
        assert received_close is None  # no close frame: the TCP connection was dropped, through the proxy too
        with urllib.request.urlopen(urllib.request.Request(proxy.url + "/__admin/record/stop", b""), timeout=30) as r:
            summary = json.loads(r.read())
        proxy.process.wait(20 * TIMEOUT_FACTOR)
    assert summary["profile"] == "2.4.5"
    (contract,) = json.loads(_files(out)["2.x/agent-drop-x.json"])["contracts"]
    assert contract["response"]["fault"] == {"kind": "drop", "after_frame": 0}
    assert not any("client-does-not-know" in t or "upstream-key" in t for t in _files(out).values())


def test_rebuild_from_the_journal_with_looser_matchers(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    with _mock("--speed", "20") as upstream, _recorder(upstream.url, out) as proxy:
        for prompt in ("one", "two"):
            request = urllib.request.Request(
                proxy.url + "/api/v1/flow/default/service/text-completion",
                json.dumps({"system": "", "prompt": prompt}).encode(),
                {"content-type": "application/json"},
            )
            urllib.request.urlopen(request, timeout=10).close()
        urllib.request.urlopen(urllib.request.Request(proxy.url + "/__admin/record/stop", b""), timeout=30).close()
        proxy.process.wait(20 * TIMEOUT_FACTOR)
    assert sorted(p for p in _files(out) if p.endswith(".json")) == [
        "2.x/text-completion-one.json",
        "2.x/text-completion-two.json",
    ]
    loose = tmp_path / "loose"
    argv = [sys.executable, "-m", "mockgw", "record", "--rebuild", str(out / "capture.jsonl"), "--match", "service"]
    done = subprocess.run([*argv, "--out", str(loose)], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (only,) = [json.loads(t) for p, t in _files(loose).items() if p.endswith(".json")]
    first, second = only["contracts"]
    assert first["match"] == second["match"] == {"service": "text-completion", "flow": "default"}
    assert (first["scenario"]["when_state"], second["scenario"]["when_state"]) == ("Started", "after-1")
    # served, the two answers come in the recorded order
    with _mock("--contracts", str(loose)) as replay:
        answers = []
        for prompt in ("anything", "else"):
            request = urllib.request.Request(
                replay.url + "/api/v1/flow/default/service/text-completion",
                json.dumps({"system": "", "prompt": prompt}).encode(),
                {"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                answers.append(json.loads(answer.read())["response"])
    assert answers[0].endswith("one") and answers[1].endswith("two")


def test_bad_options_are_named(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "mockgw", "record", *args]
        return subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)

    assert "--upstream" in run("--out", str(tmp_path)).stderr
    assert "--match='loose'" in run("--upstream", "http://127.0.0.1:9", "--match", "loose").stderr
    assert "--redact" in run("--upstream", "http://127.0.0.1:9", "--redact", "$.a[").stderr
    assert "--profile='2.6'" in run("--upstream", "http://127.0.0.1:9", "--profile", "2.6").stderr
    assert "ftp://x" in run("--upstream", "ftp://x").stderr
    assert "--log-level='loud'" in run("--upstream", "http://127.0.0.1:9", "--log-level", "loud").stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "Nope"}\n')
    assert "bad.jsonl line 1" in run("--rebuild", str(bad)).stderr


def test_an_export_stream_is_replayed_with_its_pacing(tmp_path: Path) -> None:
    triple = {"s": {"t": "i", "i": "http://ex/a"}, "p": {"t": "i", "i": "http://ex/p"}, "o": {"t": "l", "v": "x"}}
    paced = [{"at_s": 0.3, "items": 2}, {"at_s": 0.9, "items": 1}]
    upstream_dir = tmp_path / "upstream"
    upstream_dir.mkdir()
    dataset = {
        "kind": "triples",
        "collection": "c",
        "items": [triple] * 3,
        "on_export": "replay",
        "export_frames": paced,
    }
    (upstream_dir / "data.json").write_text(json.dumps({"profiles": ["*"], "contracts": [], "datasets": [dataset]}))

    async def export(url: str) -> list[tuple[float, int]]:
        loop = asyncio.get_running_loop()
        got = []
        path = "/api/v1/flow/default/export/triples?token=tg_any-key"  # 2.4.5+ wants one even when open
        async with websockets.connect("ws" + url.removeprefix("http") + path) as ws:
            opened = loop.time()
            async for text in ws:
                got.append((loop.time() - opened, len(json.loads(text)["triples"])))
        return got

    out = tmp_path / "rec"
    with _mock("--contracts", str(upstream_dir)) as upstream, _recorder(upstream.url, out) as proxy:
        through_proxy = asyncio.run(export(proxy.url))
        urllib.request.urlopen(urllib.request.Request(proxy.url + "/__admin/record/stop", b""), timeout=30).close()
        proxy.process.wait(20 * TIMEOUT_FACTOR)
    (written,) = json.loads(_files(out)["2.x/datasets.json"])["datasets"]
    assert written["on_export"] == "replay" and [f["items"] for f in written["export_frames"]] == [2, 1]
    with _mock("--contracts", str(out)) as replay:
        replayed = asyncio.run(export(replay.url))
    slack = 0.15 * TIMEOUT_FACTOR
    for seen in (through_proxy, replayed):
        assert [n for _, n in seen] == [2, 1]
        assert abs(seen[0][0] - 0.3) < slack and abs(seen[1][0] - 0.9) < slack  # paced, not all at once
    recorded_at = [f["at_s"] for f in written["export_frames"]]
    assert abs(recorded_at[0] - 0.3) < slack and abs(recorded_at[1] - 0.9) < slack


def test_a_metrics_query_through_the_proxy_is_replayed_as_it_was_answered(tmp_path: Path) -> None:
    def query(url: str) -> tuple[int, str, bytes]:
        with urllib.request.urlopen(url + "/api/metrics/query?query=up", timeout=10 * TIMEOUT_FACTOR) as answer:
            return answer.status, answer.headers.get("content-type"), answer.read()

    out = tmp_path / "rec"
    with _mock("--profile", "2.6.2") as upstream, _recorder(upstream.url, out) as proxy:
        direct, through_proxy = query(upstream.url), query(proxy.url)
        urllib.request.urlopen(urllib.request.Request(proxy.url + "/__admin/record/stop", b""), timeout=30).close()
        proxy.process.wait(20 * TIMEOUT_FACTOR)
    assert through_proxy == direct and direct[0] == 200 and b"result" in direct[2]
    (contract,) = load_library(out).contracts
    assert contract.id == "recorded/2.x/metrics-query-up" and contract.frames[0].body == direct[2].decode()
    with _mock("--profile", "2.6.2", "--contracts", str(out)) as replay:
        assert query(replay.url) == direct
        answered = [m for m in fidelity.journal_messages(replay.url, "frame") if m["direction"] == "out"]
    assert [m["contract_id"] for m in answered] == [contract.id]  # by the recording, not the bundled library
