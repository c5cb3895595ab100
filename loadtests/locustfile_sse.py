"""SSE streams from a fake LLM provider (the mock's /v1/chat/completions): SSE, TTFT and GAP entries.

    locust -f loadtests/locustfile_sse.py --host http://127.0.0.1:8088 --headless -u 20 -r 20 --run-time 30s

Each iteration POSTs an OpenAI chat request with ``"stream": true`` and reads the event stream as it
arrives (``loadtests/sse_user.py``). Entries, by the request's model name (``--sse-model``, default
``mockgw-model``): ``SSE <model>`` (request to ``[DONE]``), ``TTFT <model>`` (request to the first token) and
``GAP <model>`` (between consecutive tokens). Contracts need ``"sse"`` in their transports.
"""

from loadtests.sse_user import SseUser

__all__ = ["SseUser"]
