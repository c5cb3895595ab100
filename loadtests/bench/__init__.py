"""Benchmarks of the mock against bare baselines measured in the same run (``python -m loadtests.bench``).

    bench/
      bare_rest.py     bare starlette app under uvicorn, same route and body shape as the mock's REST
      bare_echo.py     bare websockets echo server (mux round-trip and idle-memory baseline)
      bare_stream.py   bare websockets server playing each request's frames on per-stream deadlines
      wire.py          raw asyncio HTTP/1.1 and WebSocket client protocols: cheap enough not to be the bottleneck
      load.py          the load generator process: rest | mux | replay | idle -> one JSON line
      servers.py       start a server process, read its URL, measure its RSS, stop it by pid
      runner.py        runs baseline and mock alternately, prints the table, writes RESULTS.md + results.json

Every server and load generator is its own process on 127.0.0.1; every measurement is bounded in time and
count.
"""
