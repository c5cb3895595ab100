"""Mux socket round trips: non-streaming requests, --in-flight per connection (entries MUX <service>).

    locust -f loadtests/locustfile_socket.py --host http://127.0.0.1:8088 --headless -u 20 -r 20 --run-time 30s \
        --in-flight 15
"""

from loadtests.users import MuxUser

__all__ = ["MuxUser"]
