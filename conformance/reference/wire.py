"""The scripted backend's log as a mock journal (pure): what `certify --rig` judges from.

The mock journals the client's wire; on the rig the truth the kit can read is the backend's own log of
what it was asked and what it published, when (conformance/reference/backend.py `--journal`). This turns
those lines into the `{"trace", "messages"}` items `/__admin/journal/traces/{id}` returns, so the kit's
verdicts (conformance/observed.py) read both the same way. What the bus cannot show is filled in, and
said so here:

* the transport: the bus does not say whether a request came over REST or the socket, so each request
  is put on the transport the case asked the driver to use (one socket per op, one trace per REST call);
* the gateway's own timeout answer: a stalled session gets the error frame the gateway sends after its
  --timeout of silence (2.9+: per message of a stream, from the last one), marked `inferred`;
* frames are the contract's client-side content in the socket envelope (`{"id", "response",
  "complete"}`), sent when the backend published them (the gateway's forwarding adds a few ms).
"""

from __future__ import annotations

import json
from typing import Any

from ..observed import RIG_LOG_PATH


def read_lines(text: str) -> list[dict[str, Any]]:
    """The backend log's events; a half-written last line (the backend still writing) is left for later."""
    events = []
    for line in text.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def traces_from_log(
    events: list[dict[str, Any]],
    transport: str,
    timeout_s: float,
    timeout_message: str,
    op_index: int = 0,
) -> list[dict[str, Any]]:
    """Journal traces for one op's backend events, as if every request came over `transport`."""
    requests: dict[str, dict[str, Any]] = {}
    frames: dict[str, list[dict[str, Any]]] = {}
    unmatched: list[dict[str, Any]] = []
    for event in events:
        key = str(event.get("id"))
        kind = event.get("event")
        if kind == "request":
            requests[key] = event
            frames.setdefault(key, [])
        elif kind == "frame":
            frames.setdefault(key, []).append(_frame(key, event))
        elif kind == "stall":
            at = float(event["silent_from"]) + timeout_s
            error = {"error": {"type": "gateway-error", "message": timeout_message}, "inferred": True}
            frames.setdefault(key, []).append(_out(key, error, at, at, None))
        elif kind == "unmatched":
            unmatched.append({"kind": "unmatched", "direction": "in", "detail": {"message": event.get("message", "")}})
    if transport == "rest":
        return [
            _rest_trace(f"rig-{op_index}-{n}", r, frames[k], unmatched) for n, (k, r) in enumerate(requests.items())
        ]
    return [_socket_trace(f"rig-{op_index}", requests, frames, unmatched)] if requests or unmatched else []


def _frame(key: str, event: dict[str, Any]) -> dict[str, Any]:
    body = {"id": key, "response": event.get("content"), "complete": bool(event.get("complete"))}
    return _out(key, body, event.get("scheduled"), event.get("sent"), None)


def _out(key: str, data: Any, scheduled: Any, sent: Any, contract_id: str | None) -> dict[str, Any]:
    return {
        "direction": "out",
        "kind": "frame",
        "request_id": key,
        "text": json.dumps(data),
        "scheduled_at": scheduled,
        "sent_at": sent,
        "contract_id": contract_id,
    }


def _trace(trace_id: str, kind: str, opened: float, closed: float | None) -> dict[str, Any]:
    return {"trace_id": trace_id, "kind": kind, "path": RIG_LOG_PATH, "opened_at": opened, "closed_at": closed}


def _rest_trace(
    trace_id: str, request: dict[str, Any], frames: list[dict[str, Any]], unmatched: list[dict[str, Any]]
) -> dict[str, Any]:
    # REST answers with the last message only: its body is that frame's content (or the error) unwrapped.
    out = []
    if frames:
        last = dict(frames[-1])
        data = json.loads(last["text"])
        last["text"] = json.dumps(data["response"] if "response" in data else data)
        out = [last]
    messages = [
        {
            "direction": "in",
            "kind": "request",
            "service": request.get("service"),
            "received_at": request.get("arrived"),
            "text": json.dumps(request.get("body")),
        },
        *({**m, "contract_id": request.get("contract_id")} for m in out),
        *unmatched,
    ]
    closed = out[-1]["sent_at"] if out else None
    return {"trace": _trace(trace_id, "rest", request.get("arrived") or 0.0, closed), "messages": messages}


def _socket_trace(
    trace_id: str,
    requests: dict[str, dict[str, Any]],
    frames: dict[str, list[dict[str, Any]]],
    unmatched: list[dict[str, Any]],
) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    for key, request in requests.items():
        at = request.get("arrived")
        body = {"id": key, "service": request.get("service"), "request": request.get("body")}
        messages.append({"direction": "in", "kind": "frame", "text": json.dumps(body), "received_at": at})
        messages.append(
            {
                "direction": "in",
                "kind": "request",
                "request_id": key,
                "service": request.get("service"),
                "received_at": at,
            }
        )
    for key, request in requests.items():
        messages += [{**m, "contract_id": request.get("contract_id")} for m in frames.get(key, [])]
    messages += unmatched
    opened = min((float(r.get("arrived") or 0.0) for r in requests.values()), default=0.0)
    return {"trace": _trace(trace_id, "socket", opened, None), "messages": messages}
