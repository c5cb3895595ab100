"""Verdicts: pure functions of (driver run, mock journal, expectation, tolerances) -> Verdict.

No sockets, no clock, no subprocess: every function here is unit-tested on
hand-written timelines (tests/conformance/test_verdict.py). Each verdict is
pass / fail / unsupported / informational with a one-line reason and the
measurements it was based on.

One module a group of cases: model (Status, Verdict), preconditions (shared by every case), streams,
results (non-streaming), multiplexing (the mux socket), errors_auth (errors, auth, disconnects), bulk, metrics.
"""

from .bulk import judge_bulk_export, judge_bulk_import
from .errors_auth import (
    judge_auth_accepted,
    judge_auth_refused,
    judge_disconnect,
    judge_error,
    judge_malformed,
    judge_round_trip,
    judge_token_refresh,
)
from .metrics import judge_metrics
from .model import Status, Verdict, failed, informational, passed, unsupported
from .multiplexing import judge_concurrency, judge_limit, judge_out_of_order
from .preconditions import driver_problem
from .results import judge_result
from .streams import judge_first_chunk, judge_incremental, judge_inter_chunk, judge_stream_integrity, match_chunks

__all__ = [
    "Status",
    "Verdict",
    "driver_problem",
    "failed",
    "informational",
    "judge_auth_accepted",
    "judge_auth_refused",
    "judge_bulk_export",
    "judge_bulk_import",
    "judge_concurrency",
    "judge_disconnect",
    "judge_error",
    "judge_first_chunk",
    "judge_incremental",
    "judge_inter_chunk",
    "judge_limit",
    "judge_malformed",
    "judge_metrics",
    "judge_out_of_order",
    "judge_result",
    "judge_round_trip",
    "judge_stream_integrity",
    "judge_token_refresh",
    "match_chunks",
    "passed",
    "unsupported",
]
