"""The extra command-line options every locustfile here understands, and the guard that bounds a run.

Registered on import (``loadtests.users`` imports this module); they are accepted on the command line and in
``loadtests/locust.conf``, and a master passes them to its workers. Each also reads an environment variable
(locust's ``env_var``), e.g. ``LOCUST_TOKEN``.
"""

from __future__ import annotations

import logging
from typing import Any

from locust import events
from locust.env import Environment

log = logging.getLogger("loadtests")

#: a headless run without --run-time gets this many seconds; every load loop stops by itself.
DEFAULT_RUN_TIME_S = 60


@events.init_command_line_parser.add_listener
def add_options(parser: Any, **_kwargs: Any) -> None:
    group = parser.add_argument_group("mockgw load tests")
    group.add_argument(
        "--token",
        default="",
        env_var="LOCUST_TOKEN",
        help="gateway token: REST Bearer header, socket auth frame or ?token=",
    )
    group.add_argument("--flow", default="default", env_var="LOCUST_FLOW", help="flow id in paths and envelopes")
    group.add_argument(
        "--socket-auth",
        choices=["frame", "query", "none"],
        default="frame",
        env_var="LOCUST_SOCKET_AUTH",
        help="mux socket auth: first frame (gateway 2.4.5+), ?token= (1.x-2.4.4) or none",
    )
    group.add_argument(
        "--services",
        default="text-completion",
        env_var="LOCUST_SERVICES",
        help="comma-separated services to call, round robin (text-completion, agent, graph-rag, document-rag, prompt)",
    )
    group.add_argument(
        "--in-flight",
        type=int,
        default=1,
        env_var="LOCUST_IN_FLIGHT",
        help="socket users: requests in flight per connection (the gateway runs 16 at most)",
    )
    group.add_argument(
        "--bulk-batch", type=int, default=100, env_var="LOCUST_BULK_BATCH", help="bulk users: items per frame"
    )
    group.add_argument(
        "--bulk-kinds",
        default="triples",
        env_var="LOCUST_BULK_KINDS",
        help="bulk users: comma-separated kinds, in turn (triples, graph-embeddings, document-embeddings, "
        "entity-contexts, rows; export: all but rows)",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        env_var="LOCUST_REQUEST_TIMEOUT",
        help="seconds a request may take before it counts as failed",
    )
    group.add_argument(
        "--max-iterations",
        type=int,
        default=100_000,
        env_var="LOCUST_MAX_ITERATIONS",
        help="each user stops after this many task iterations",
    )
    group.add_argument(
        "--thresholds",
        default="",
        env_var="LOCUST_THRESHOLDS",
        help="gate file (loadtests/thresholds.json); checked when the run ends, exit 3 on a breach",
    )
    group.add_argument(
        "--gate-scale",
        type=float,
        default=1.0,
        env_var="LOCUST_GATE_SCALE",
        help="tighten (<1) or loosen (>1) every threshold: max limits x scale, min limits / scale",
    )


@events.init.add_listener
def bound_the_run(environment: Environment, **_kwargs: Any) -> None:
    options = environment.parsed_options
    if options is None or getattr(options, "worker", False):
        return
    if options.headless and not options.run_time:
        log.warning("no --run-time given: stopping after %s s", DEFAULT_RUN_TIME_S)
        options.run_time = DEFAULT_RUN_TIME_S
