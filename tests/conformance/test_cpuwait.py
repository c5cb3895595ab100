"""The kit's measure of a client's wait for a CPU, on real processes: two kept busy on one core, one asleep."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cpuwait import CpuWaitSampler, run_delay_s

from ..conftest import TIMEOUT_FACTOR

pytestmark = pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="Linux scheduler statistics")

BUSY = "import os, sys; os.sched_setaffinity(0, {int(sys.argv[1])}); print(flush=True)\nwhile True: pass"


def _started(code: str, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "\n"  # pinned and running
    return process


def test_a_process_sharing_its_core_is_seen_waiting_and_a_sleeping_one_is_not() -> None:
    core = str(min(os.sched_getaffinity(0)))
    busy = [_started(BUSY, core) for _ in range(2)]
    sleeper = _started("import time; print(flush=True); time.sleep(60)")
    try:
        samplers = [CpuWaitSampler(busy[0].pid).start(), CpuWaitSampler(sleeper.pid).start()]
        began = time.time()
        time.sleep(0.6)
        ended = time.time()
        shared, asleep = (s.stop() for s in samplers)
    finally:
        for process in (*busy, sleeper):
            process.kill()  # by the pid we started
            process.communicate()
    # Two spinning processes on one core: each waits about half the time (more if others use that core too).
    assert 0.15 < shared.between(began, ended) <= (ended - began) * 1.5 * TIMEOUT_FACTOR
    assert asleep.between(began, ended) < 0.05 * TIMEOUT_FACTOR
    assert list(shared.times) == sorted(shared.times) and list(shared.waited) == sorted(shared.waited)


def test_a_process_that_is_gone_reads_as_unmeasured() -> None:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    assert run_delay_s(process.pid) is None
    assert isinstance(run_delay_s(os.getpid()), float)
