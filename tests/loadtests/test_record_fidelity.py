"""record_fidelity reads the replaying mock's journal page by page (a page holds at most 10,000 messages)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from loadtests.bench import record_fidelity as fidelity
from loadtests.bench.servers import RunningServer


def test_every_frame_is_read_across_pages_oldest_first(mock_gateway: RunningServer) -> None:
    # The mock is the session's: earlier load tests may have journaled more than one page of frames already.
    urllib.request.urlopen(urllib.request.Request(f"{mock_gateway.url}/__admin/reset", method="POST"), timeout=10)
    observed = fidelity.Observed()
    asyncio.run(fidelity.play_mux(mock_gateway.url, "agent", fidelity.AGENT_SOCKET, observed))
    query = f"kind=frame&limit={fidelity.JOURNAL_PAGE}&cursor=0"
    with urllib.request.urlopen(f"{mock_gateway.url}/__admin/journal/messages?{query}", timeout=10) as answer:
        in_one_read = json.loads(answer.read())["messages"]
    assert len(in_one_read) > 3 * 4  # so pages of 4 take more than three reads

    paged = fidelity.journal_messages(mock_gateway.url, "frame", page=4)
    assert [m["message_id"] for m in paged] == [m["message_id"] for m in in_one_read]
    answered = [m for m in paged if m["direction"] == "out" and m["request_id"] == "agent"]
    assert len(answered) >= len(observed.frames["agent"]) >= 5

    with pytest.raises(RuntimeError, match="more than 2 pages"):
        fidelity.journal_messages(mock_gateway.url, "frame", page=4, max_pages=2)


def test_the_process_under_test_runs_on_its_cpu_under_sched_fifo_with_a_cpu_time_bound(tmp_path: Path) -> None:
    probe = "import json, os, sys\n"
    probe += "import resource\n"
    probe += "print(json.dumps([os.sched_getscheduler(0), os.sched_getparam(0).sched_priority,\n"
    probe += "                  sorted(os.sched_getaffinity(0)), sys.argv[1:],\n"
    probe += "                  resource.getrlimit(resource.RLIMIT_RTTIME)]))\n"
    (tmp_path / "sched_probe.py").write_text(probe)
    fifo = "import os, resource; resource.setrlimit(resource.RLIMIT_RTTIME, (1_000_000, 2_000_000)); "
    fifo += "os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))"  # may it? (and exits at once)
    allowed = subprocess.run([sys.executable, "-c", fifo], capture_output=True, timeout=30, check=False).returncode == 0
    cpu = max(os.sched_getaffinity(0))
    argv = fidelity._run_module(["-m", "sched_probe", "--port", "0"], cpu, 7 if allowed else 0)
    done = subprocess.run([sys.executable, *argv], cwd=tmp_path, capture_output=True, text=True, timeout=30, check=True)
    policy, priority, cpus, args, rttime = json.loads(done.stdout)
    assert cpus == [cpu] and args == ["--port", "0"]
    if not allowed:
        pytest.skip("SCHED_FIFO not permitted here (needs CAP_SYS_NICE): only the CPU placement was checked")
    assert (policy, priority) == (os.SCHED_FIFO, 7)
    # A FIFO process that spun would hold the CPU: the kernel stops it after this much CPU without sleeping.
    assert rttime == [limit * 1_000_000 for limit in fidelity.REALTIME_CPU_LIMIT_S]
    assert fidelity._run_module(["-m", "sched_probe"], None, 0) == ["-m", "sched_probe"]  # nothing asked: unchanged


def test_run_queue_wait_is_read_from_schedstat() -> None:
    waited = fidelity.run_queue_wait_s(os.getpid())
    assert waited >= 0.0
    if not Path(f"/proc/{os.getpid()}/task").exists():
        pytest.skip("no /proc (not Linux)")
    assert fidelity.run_queue_wait_s(os.getpid()) >= waited
