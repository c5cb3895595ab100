"""Streaming over the mux socket: STREAM <service> (send to complete), TTFT <service>, GAP <service>.

    locust -f loadtests/locustfile_streaming.py --host http://127.0.0.1:8088 --headless -u 20 -r 20 \
        --run-time 30s --services text-completion,agent --thresholds loadtests/thresholds.json

TTFT and GAP are defined in loadtests/streams.py (and loadtests/README.md).
"""

from loadtests.users import StreamingUser

__all__ = ["StreamingUser"]
