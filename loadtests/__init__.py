"""Load tests, performance gate and benchmarks for mockgw (and any TrustGraph-compatible gateway).

    loadtests/
      streams.py        pure: a stream's receive timeline -> TTFT, inter-chunk gaps (the definitions)
      mux_client.py     a blocking mux-socket client for gevent (websocket-client + a reader greenlet)
      options.py        the extra locust command-line options and the run-time guard
      users.py          locust User classes: RestUser, MuxUser, StreamingUser, BulkImportUser
      locustfile*.py    one per surface, plus locustfile.py with all of them
      gate.py           thresholds file + stats -> breaches; locust `quitting` hook and a CSV CLI
      bench/            bare baselines and `python -m loadtests.bench`, the mock-vs-bare benchmark

Nothing in here talks to anything but the ``--host`` it is given; the benchmark only to 127.0.0.1.
"""
