"""What the conformance contracts script, and the contract documents built from it (pure).

Every case asks the mock for a session whose content and timing the kit knows:
a stream with known chunk times, a service error, an error frame mid-stream, a
close and a drop mid-stream, four streams that finish in reverse order, a
long head request followed by short ones. The frames are shaped per gateway
profile from the fields of `mockgw.profiles.Profile`, so one script serves
every generation.

`python -m conformance.scripts` rewrites conformance/contracts/<profile>.json;
tests/conformance/test_scripts.py checks the files are up to date.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockgw.profiles import PROFILES, Profile, RagStyle

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"

# The value every case puts in the request's key field (question / query / prompt / id).
KEY_STREAM = "cf-stream"
KEY_RESULT = "cf-result"
KEY_MUX = "cf-mux"
KEY_ORDER = "cf-order"
KEY_LIMIT = "cf-limit"
KEY_SERVICE_ERROR = "cf-service-error"
KEY_ERROR_FRAME = "cf-error-frame"
KEY_CLOSE = "cf-close"
KEY_DROP = "cf-drop"
KEY_STALL = "cf-stall"
KEY_MALFORMED = "cf-malformed-"  # + the kind of MALFORMED_FRAMES

# The kit's mocks run with `serve --timeout STALL_TIMEOUT_S`: a stalled session ends with the gateway's
# backend `Timeout` that much after it stalls (upstream's default is 600 s).
STALL_TIMEOUT_S = 3.0

# Global services: what the state round trips write and read back (the fakes keep state, as the gateway).
GLOBAL_SERVICES = ("config", "flow", "librarian", "knowledge", "collection-management")
CF_CONFIG = {"type": "cf", "key": "cf-key", "value": "cf-value"}
CF_FLOW = "cf-flow"
CF_DOCUMENT = "cf-doc"
CF_CORE = "cf-core"  # seeded by the contracts' state; the knowledge round trip deletes it
CF_COLLECTION = "cf-collection"

MISSING_FLOW = "cf-no-such-flow"
MISSING_WORKSPACE = "cf-no-such-workspace"

SERVICE_ERROR_TYPE = "llm-error"
SERVICE_ERROR_MESSAGE = "cf: model rate limited"
ERROR_FRAME_MESSAGE = "cf: backend failed mid-stream"

STREAMING_SERVICES = ("agent", "graph-rag", "document-rag", "text-completion", "prompt")
# Every flow service the driver protocol names, with a scripted non-streaming answer. "rows" stands for the
# profile's structured-query service (`objects` before 2.x): see `service_name`.
RESULT_SERVICES = (
    "agent",
    "text-completion",
    "prompt",
    "graph-rag",
    "document-rag",
    "embeddings",
    "graph-embeddings",
    "document-embeddings",
    "triples",
    "rows",
    "mcp-tool",
)
KEY_FIELD = {
    "agent": "question",
    "graph-rag": "query",
    "document-rag": "query",
    "text-completion": "prompt",
    "prompt": "id",
    "mcp-tool": "name",
}


@dataclass(frozen=True, slots=True)
class Chunk:
    at_s: float
    text: str


# The timing stream: a first chunk after 0.30 s, then every 0.20 s, with two
# chunks due at the same instant (a reorder that costs no time shows there).
STREAM = (
    Chunk(0.30, "Alice "),
    Chunk(0.50, "knows "),
    Chunk(0.70, "Bob, "),
    Chunk(0.90, "Bob "),
    Chunk(0.90, "knows "),
    Chunk(1.10, "Carol."),
)
# Long enough that 15 or 17 started together overlap for certain.
MUX_STREAM = (Chunk(0.20, "one "), Chunk(0.60, "two "), Chunk(1.00, "three."))
# Four requests, answered by arrival order; the first to arrive finishes last.
ORDER_STREAMS = tuple(
    tuple(Chunk(round(end_s * (i + 1) / 3, 3), f"{label}{i} ") for i in range(3))
    for label, end_s in (("A", 1.2), ("B", 0.9), ("C", 0.6), ("D", 0.3))
)
LIMIT_HEAD = (Chunk(0.10, "head "), Chunk(2.00, "done."))  # holds the mux's head for 2 s
LIMIT_SHORT = (Chunk(0.10, "short "), Chunk(0.30, "done."))
BROKEN_PREFIX = (Chunk(0.10, "partial "), Chunk(0.20, "answer "))

# Malformed frames from the gateway: two chunks, then the bad frame at MALFORMED_AT_S, then the last chunk.
MALFORMED_AT_S = 0.30
MALFORMED_LAST = Chunk(0.50, "done.")
STRAY_TEXT = "cf: stray "  # the chunk text of the frame addressed to a request id nobody sent
STRAY_ID = "cf-not-a-request"
# kind -> (contract frame, a client may raise on it). Only a frame for another id must never fail the call: a
# multiplexing client routes by id, and trustgraph-base drops it ("Ignore messages for unknown request IDs").
MALFORMED_FRAMES: dict[str, tuple[dict[str, Any], bool]] = {
    "non-json": ({"raw": "cf: this frame is not JSON {"}, True),
    "binary": ({"binary": "AP/+Y2Y6IGJpbmFyeQ=="}, True),  # b"\x00\xff\xfecf: binary": not UTF-8, not JSON
    "no-response": ({"raw": '{"id": "${id}", "complete": false}'}, True),
    "unknown-id": ({}, False),  # built per profile: a whole, complete answer frame for STRAY_ID
}

# Non-streaming answers: the values a client must hand back unchanged.
RESULT_TEXT = "Paris is the capital of France."
RESULT_VECTORS = [[0.25, -0.5, 0.125]]
RESULT_ENTITY = "http://example.org/alice"
RESULT_LABEL = "Alice Liddell"
RESULT_TRIPLES_LIMIT = 10
RESULT_CHUNK = "urn:cf:chunk:paris"
RESULT_THOUGHT = "cf: looking it up"  # the first message of the agent's two-message answer
ROWS_QUERY = "{ cf_result { name } }"


# What Prometheus answers an instant query for `up`, relayed by the gateway as text.
METRICS_UP = (
    '{"status":"success","data":{"resultType":"vector",'
    '"result":[{"metric":{"__name__":"up","job":"cf"},"value":[1700000000,"1"]}]}}'
)


def service_name(service: str, profile: Profile) -> str:
    """The wire name of a catalogue service on `profile` (rows is `objects` before 2.x)."""
    return profile.rows_service if service == "rows" else service


def stream_text(chunks: tuple[Chunk, ...]) -> str:
    return "".join(c.text for c in chunks)


# --------------------------------------------------------------------------
# Frame shapes per profile


def chunk_response(service: str, profile: Profile, text: str, last: bool) -> dict[str, Any]:
    """The inner response of one streamed chunk of `service`, as `profile` shapes it."""
    if service == "agent":
        return {profile.agent_kind_key: "answer", "content": text, "end_of_message": last, "end_of_dialog": last}
    if service in ("graph-rag", "document-rag"):
        if profile.rag_style is RagStyle.CHUNK:
            return {"chunk": text, "end_of_stream": last}
        if profile.rag_style is RagStyle.RESPONSE:
            return {"response": text, "end_of_stream": last}
        return {"message_type": "chunk", "response": text, "end_of_stream": last, "end_of_session": last}
    if service == "text-completion":
        body: dict[str, Any] = {"response": text}
        if profile.completion_end_of_stream:
            body["end_of_stream"] = last
        if last:
            body.update(in_token=12, out_token=6, model="cf-model")
        return body
    if service == "prompt":
        body = {"text": text}
        if profile.completion_end_of_stream:
            body["end_of_stream"] = last
        return body
    raise ValueError(f"{service} is not a streaming service")


def stream_frames(service: str, profile: Profile, chunks: tuple[Chunk, ...]) -> list[dict[str, Any]]:
    last = len(chunks) - 1
    return [
        {"at_s": c.at_s, "response": chunk_response(service, profile, c.text, i == last)} for i, c in enumerate(chunks)
    ]


def term(profile: Profile, iri: str | None = None, literal: str | None = None) -> dict[str, Any]:
    if profile.typed_terms:
        return {"t": "i", "i": iri} if iri is not None else {"t": "l", "v": literal}
    return {"v": iri, "e": True} if iri is not None else {"v": literal, "e": False}


def result_frames(service: str, profile: Profile) -> list[dict[str, Any]]:
    """The non-streaming answer of `service` as frames: one, or the agent's thought then its answer."""
    if service != "agent":
        return [{"at_s": 0.05, "response": result_response(service, profile)}]
    if profile.agent_kind_key == "message_type":
        thought: dict[str, Any] = {"message_type": "thought", "content": RESULT_THOUGHT}
        answer: dict[str, Any] = {"message_type": "answer", "content": RESULT_TEXT}
    else:  # the legacy non-streaming shape; 2.x adds the end flags
        thought, answer = {"thought": RESULT_THOUGHT}, {"answer": RESULT_TEXT}
    if profile.agent_kind_key == "message_type" or profile.typed_terms:
        thought.update(end_of_message=True, end_of_dialog=False)
        answer.update(end_of_message=True, end_of_dialog=True)
    return [{"at_s": 0.05, "response": thought}, {"at_s": 0.15, "response": answer}]


def result_response(service: str, profile: Profile) -> dict[str, Any]:
    """The single, complete non-streaming answer of `service`."""
    if service == "prompt":
        body = {"text": RESULT_TEXT}
        if profile.completion_end_of_stream:
            body["end_of_stream"] = True
        return body
    if service == "mcp-tool":
        return {"text": RESULT_TEXT}
    if service == "graph-embeddings":
        entity = term(profile, iri=RESULT_ENTITY)
        return {"entities": [{"entity": entity, "score": 0.91} if profile.embeddings_query_scored else entity]}
    if service == "document-embeddings":
        key = profile.document_chunk_key
        return {"chunks": [{key: RESULT_CHUNK, "score": 0.87} if profile.embeddings_query_scored else RESULT_CHUNK]}
    if service == "rows":
        return {"data": {"cf_result": [{"name": RESULT_LABEL}]}}
    if service == "text-completion":
        body: dict[str, Any] = {"response": RESULT_TEXT, "in_token": 9, "out_token": 7, "model": "cf-model"}
        if profile.completion_end_of_stream:
            body["end_of_stream"] = True
        return body
    if service in ("graph-rag", "document-rag"):
        if profile.rag_style is RagStyle.CHUNK:
            return {"response": RESULT_TEXT}
        if profile.rag_style is RagStyle.RESPONSE:
            return {"response": RESULT_TEXT, "end_of_stream": True}
        return {"message_type": "chunk", "response": RESULT_TEXT, "end_of_stream": True, "end_of_session": True}
    if service == "embeddings":
        return {"vectors": RESULT_VECTORS}
    if service == "triples":
        label = "http://www.w3.org/2000/01/rdf-schema#label"
        return {
            "response": [
                {
                    "s": term(profile, iri=RESULT_ENTITY),
                    "p": term(profile, iri=label),
                    "o": term(profile, literal=RESULT_LABEL),
                }
            ]
        }
    raise ValueError(f"no scripted result for {service}")


# What a client must hand back for each non-streaming service (found anywhere in its value).
EXPECTED_RESULT: dict[str, list[Any]] = {
    "agent": [RESULT_TEXT],
    "text-completion": [RESULT_TEXT],
    "prompt": [RESULT_TEXT],
    "graph-rag": [RESULT_TEXT],
    "document-rag": [RESULT_TEXT],
    "embeddings": [RESULT_VECTORS[0]],
    "graph-embeddings": [RESULT_ENTITY],
    "document-embeddings": [RESULT_CHUNK],
    "triples": [RESULT_ENTITY, RESULT_LABEL],
    "rows": [RESULT_LABEL],
    "mcp-tool": [RESULT_TEXT],
}


# --------------------------------------------------------------------------
# Contract documents


def _contract(
    cid: str,
    service: str,
    key: str | None,
    frames: list[dict[str, Any]],
    *,
    description: str,
    fault: dict[str, Any] | None = None,
    scenario: dict[str, str] | None = None,
    transports: list[str] | None = None,
    priority: int | None = None,
) -> dict[str, Any]:
    match: dict[str, Any] = {"service": service}
    if key is not None:
        match["body"] = {KEY_FIELD.get(service, "prompt"): {"equals": key}}
    response: dict[str, Any] = {"frames": frames}
    if fault is not None:
        response["fault"] = fault
    contract: dict[str, Any] = {"id": cid, "description": description, "match": match, "response": response}
    if scenario is not None:
        contract["scenario"] = scenario
    if transports is not None:
        contract["transports"] = transports
    if priority is not None:
        contract["priority"] = priority
    return contract


def service_error_service(profile: Profile) -> str:
    """The service the service-error cases call: one whose backend errors reach the client in this generation.

    From 2.10.6 the gateway forwards a backend error only through translators that copy it, and the
    text-completion translator does not (reference rig, 2.11.1): there the case asks graph-rag instead, so it
    still judges whether the client raises on an error it is sent.
    """
    return "text-completion" if profile.forwards_backend_errors else "graph-rag"


def contracts_for(profile: Profile) -> dict[str, Any]:
    """The conformance contract document for one gateway profile."""
    p = profile.name
    contracts: list[dict[str, Any]] = []
    for service in STREAMING_SERVICES:
        contracts.append(
            _contract(
                f"cf/{p}/stream/{service}",
                service,
                KEY_STREAM,
                stream_frames(service, profile, STREAM),
                description="timing stream: chunks at known offsets",
            )
        )
    for service in ("agent", "text-completion", "prompt", "graph-rag", "document-rag", "mcp-tool"):
        contracts.append(
            _contract(
                f"cf/{p}/result/{service}",
                service,
                KEY_RESULT,
                result_frames(service, profile),
                description="the agent's thought, then its answer"
                if service == "agent"
                else "one complete non-streaming answer",
            )
        )
    for service in ("graph-embeddings", "document-embeddings"):
        contracts.append(
            _contract(
                f"cf/{p}/result/{service}",
                service,
                None,
                result_frames(service, profile),
                description="one complete non-streaming answer (the query vector is the client's own)",
                priority=9,
            )
        )
    rows = _contract(
        f"cf/{p}/result/rows",
        profile.rows_service,
        None,
        result_frames("rows", profile),
        description="one complete GraphQL answer",
    )
    rows["match"]["body"] = {"query": {"regex": "cf_result"}}
    contracts.append(rows)
    contracts.append(
        _contract(
            f"cf/{p}/result/embeddings",
            "embeddings",
            None,
            [{"at_s": 0.05, "response": result_response("embeddings", profile)}],
            description="one complete non-streaming answer",
            priority=9,
        )
    )
    triples = _contract(
        f"cf/{p}/result/triples",
        "triples",
        None,
        [{"at_s": 0.05, "response": result_response("triples", profile)}],
        description="one complete non-streaming answer (other limits are answered from imported data)",
    )
    triples["match"]["body"] = {"limit": {"equals": RESULT_TRIPLES_LIMIT}}
    contracts.append(triples)
    contracts.append(
        _contract(
            f"cf/{p}/mux/agent",
            "agent",
            KEY_MUX,
            stream_frames("agent", profile, MUX_STREAM),
            description="a 1 s stream, for requests that must overlap",
        )
    )
    states = ["Started", "a", "b", "c", "d"]
    for i, chunks in enumerate(ORDER_STREAMS):
        contracts.append(
            _contract(
                f"cf/{p}/order/{i}",
                "agent",
                KEY_ORDER,
                stream_frames("agent", profile, chunks),
                description=f"arrival {i + 1} of 4; later arrivals finish sooner",
                scenario={"name": "cf-order", "when_state": states[i], "set_state": states[i + 1]},
            )
        )
    contracts.append(
        _contract(
            f"cf/{p}/limit/head",
            "agent",
            KEY_LIMIT,
            stream_frames("agent", profile, LIMIT_HEAD),
            description="the first request holds the mux's head for 2 s",
            scenario={"name": "cf-limit", "when_state": "Started", "set_state": "head-running"},
            priority=4,
        )
    )
    contracts.append(
        _contract(
            f"cf/{p}/limit/short",
            "agent",
            KEY_LIMIT,
            stream_frames("agent", profile, LIMIT_SHORT),
            description="every later request is short",
        )
    )
    error_service = service_error_service(profile)
    error_response: dict[str, Any] = {"error": {"type": SERVICE_ERROR_TYPE, "message": SERVICE_ERROR_MESSAGE}}
    if error_service != "text-completion":
        # A RAG translator copies the error; the real service ends the session with it.
        error_response.update({"end_of_stream": True, "end_of_session": True})
    contracts.append(
        _contract(
            f"cf/{p}/error/service",
            error_service,
            KEY_SERVICE_ERROR,
            [{"at_s": 0.10, "response": error_response}],
            description="the backend answers with a service error",
        )
    )
    error_prefix = stream_frames("agent", profile, BROKEN_PREFIX)
    for frame in error_prefix:
        frame["complete"] = False
        frame["response"]["end_of_message"] = frame["response"]["end_of_dialog"] = False
    contracts.append(
        _contract(
            f"cf/{p}/error/frame",
            "agent",
            KEY_ERROR_FRAME,
            [*error_prefix, {"at_s": 0.30, "error": {"message": ERROR_FRAME_MESSAGE}}],
            description="two chunks, then the profile's envelope error frame",
            transports=["socket"],
        )
    )
    for key, fault in (
        (KEY_CLOSE, {"kind": "close", "after_frame": 2, "code": 1011, "reason": "cf: gone"}),
        (KEY_DROP, {"kind": "drop", "after_frame": 2}),
    ):
        frames = stream_frames("agent", profile, (*BROKEN_PREFIX, Chunk(0.30, "never sent.")))
        contracts.append(
            _contract(
                f"cf/{p}/disconnect/{fault['kind']}",
                "agent",
                key,
                frames,
                description=f"two chunks, then the connection {fault['kind']}s",
                fault=fault,
                transports=["socket"],
            )
        )
    contracts.append(
        _contract(
            f"cf/{p}/stall/text-completion",
            "text-completion",
            KEY_STALL,
            [{"at_s": 0.05, "response": result_response("text-completion", profile)}],
            description="nothing is ever sent: the gateway's backend timeout answers `Timeout`",
            fault={"kind": "stall", "after_frame": 0},
        )
    )
    contracts.extend(malformed_contracts(profile))
    stalled = stream_frames("agent", profile, (*BROKEN_PREFIX, Chunk(0.30, "never sent.")))
    contracts.append(
        _contract(
            f"cf/{p}/stall/agent",
            "agent",
            KEY_STALL,
            stalled,
            description="two chunks, then nothing: the gateway's backend timeout answers `Timeout`",
            fault={"kind": "stall", "after_frame": 2},
        )
    )
    contracts.append(
        {
            "id": f"cf/{p}/metrics/query",
            "description": "the Prometheus proxy's instant query: one `up` series",
            "transports": ["rest"],
            "match": {"service": "metrics", "path": {"regex": "^/api/metrics/query$"}},
            "response": {"frames": [{"at_s": 0.01, "raw": METRICS_UP}]},
        }
    )
    return {
        "description": f"mockgw conformance kit, gateway profile {p}. Generated by "
        f"`python -m conformance.scripts`; do not edit.",
        "profiles": [p],
        "contracts": contracts,
        "state": {"knowledge": {CF_CORE: {"triples": [{"s": RESULT_ENTITY, "p": "http://ex/p", "o": RESULT_LABEL}]}}},
    }


def malformed_frame(kind: str, profile: Profile) -> dict[str, Any]:
    """The bad frame of one malformed-frame contract, as the profile's gateway would never send it."""
    if kind == "unknown-id":
        stray = {"id": STRAY_ID, "response": chunk_response("agent", profile, STRAY_TEXT, True), "complete": True}
        return {"raw": json.dumps(stray)}
    return dict(MALFORMED_FRAMES[kind][0])


def malformed_contracts(profile: Profile) -> list[dict[str, Any]]:
    """Per kind of malformed frame: an agent stream of three chunks with that frame before the last one."""
    contracts = []
    for kind in MALFORMED_FRAMES:
        frames = stream_frames("agent", profile, (*BROKEN_PREFIX, MALFORMED_LAST))
        frames.insert(2, {"at_s": MALFORMED_AT_S, **malformed_frame(kind, profile), "complete": False})
        contracts.append(
            _contract(
                f"cf/{profile.name}/malformed/{kind}",
                "agent",
                KEY_MALFORMED + kind,
                frames,
                description=f"two chunks, a {kind} frame, then the last chunk",
                transports=["socket"],
            )
        )
    return contracts


def render_documents() -> dict[str, str]:
    """File name -> JSON text for every profile."""
    return {f"{name}.json": json.dumps(contracts_for(profile), indent=1) + "\n" for name, profile in PROFILES.items()}


def main() -> int:
    CONTRACTS_DIR.mkdir(exist_ok=True)
    for name, text in render_documents().items():
        (CONTRACTS_DIR / name).write_text(text)
        print(f"wrote {CONTRACTS_DIR / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
