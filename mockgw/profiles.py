"""Gateway protocol generations, as one table.

Every wire difference between TrustGraph gateway versions that the mock
reproduces lives in `PROFILES`; transports and shapers read fields of a
`Profile` and never compare version strings. Facts and the version in which
each changed: docs/PROTOCOL.md §0 and §5.4.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass, replace

from .errors import SettingsError


class SocketAuth(enum.Enum):
    HANDSHAKE_TOKEN = "handshake-token"  # ?token= checked before the upgrade (≤ 2.4.4)
    FIRST_FRAME = "first-frame"  # {"type":"auth"} -> auth-ok / auth-failed (2.4.5+)


class ErrorStyle(enum.Enum):
    BARE = "bare"  # {"error": "<str>"}, no id, no complete (≤ 2.2.4)
    OBJECT = "object"  # {"id"?, "error": {"message", "type"}, "complete": true} (2.2.5+)


class RagStyle(enum.Enum):
    CHUNK = "chunk"  # {"chunk", "end_of_stream"}; non-streaming {"response"} (≤ 1.7.x)
    RESPONSE = "response"  # {"response", "end_of_stream"} (1.8.0 – 2.1.17)
    SESSION = "session"  # + message_type, end_of_session; complete = end_of_session (2.1.18+)


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    describes: str
    socket_auth: SocketAuth
    rest_auth_json: bool  # False: aiohttp's text "401: Unauthorized"
    error_style: ErrorStyle
    agent_kind_key: str  # "chunk_type" (≤ 2.3.0) or "message_type"
    rag_style: RagStyle
    completion_end_of_stream: bool  # 2.x puts end_of_stream in text-completion frames
    tenancy_key: str  # "user" or "workspace"
    typed_terms: bool  # {"t":"i","i":…} (2.0+) instead of {"v","e"}
    rows_service: str  # "objects" (1.x) or "rows" (2.1+)
    flow_naming: str  # "class" (1.x) or "blueprint"
    embedding_vector_key: str  # bulk items: "vectors" (list of vectors, ≤ 2.2) or "vector"
    query_vector_key: str  # graph-/document-embeddings query request: "vectors" (1.x) or "vector" (2.1.6+)
    embeddings_request_key: str  # "text" (≤ 2.2) or "texts"
    auth_ok_workspace_key: str | None  # None: no auth-ok frame in this generation
    error_types: frozenset[str]  # envelope error types beyond "error"
    invalid_flow_names_workspace: bool  # "Invalid flow default/nope" (2.x) vs "Invalid flow"
    empty_token_is_anonymous: bool  # first-frame auth: "" tried as anonymous (2.4.26+) or refused
    # REST flow services check a body `workspace` against the known ones (up to profile 2.4.5); with the registry
    # (2.4.10+) the resource comes from the URL, which names none, so the dispatcher answers
    # `Invalid flow <ws>/<flow>` (rig: 2.11.1, 2.6.2 and 2.5.16).
    rest_flow_workspace_checked: bool
    rest_registry_errors: bool  # 2.4.5+: JSON 4xx for unknown kind / missing operation
    # 2.4.5+: a bulk socket's `?token=` must be non-empty even on a gateway that admits anonymous callers
    # elsewhere (checked before any anonymous identity is tried); before, an open gateway takes any socket.
    bulk_token_required: bool
    flow_services: frozenset[str]  # services under /api/v1/flow/{flow}/service/{kind}
    global_services: frozenset[str]  # services under /api/v1/{kind}; envelopes without flow
    # Bulk sockets and stored data (docs/PROTOCOL.md §3, §4.2).
    bulk_import_kinds: frozenset[str]  # /api/v1/flow/{flow}/import/{kind}; objects → rows in 2.1
    bulk_export_kinds: frozenset[str]  # /api/v1/flow/{flow}/export/{kind}
    document_chunk_key: str  # document-embeddings item: "chunk" text (≤ 2.1) or "chunk_id" (2.2+)
    bulk_metadata_subgraph: bool  # 1.x: metadata.metadata (subgraph) is a required key
    bulk_metadata_root: bool  # 2.2+: metadata carries `root`
    # 1.x's Pulsar records check field types: a non-string metadata field raises (frame lost, socket closed);
    # 2.x's dataclasses take it and pass it on, and the store cannot file the frame (lost, socket open).
    bulk_metadata_type_checked: bool
    embeddings_query_scored: bool  # 2.x: {"entity"|"chunk_id", "score"} instead of bare terms
    triples_streaming: bool  # 2.x: triples query with streaming answers in batch-size frames
    knowledge_de_cores: bool  # 2.x knowledge service: list/get/put/delete-de-core
    # What the requestor says when the backend is silent past --timeout: "Timeout" (≤ 2.8.0), then str() of
    # asyncio's TimeoutError, "" (2.8.1+, its RequestResponseClient). Reference rig: 2.3.1, 2.8.1, 2.10.6, 2.11.1.
    timeout_message: str
    # A backend's `error` reaches the client whatever the service (≤ 2.10.5: the requestor checks it before
    # translating), or only through translators that copy it (2.10.6+). Reference rig: 2.3.1 and 2.11.1.
    forwards_backend_errors: bool
    # text-completion's request translator indexes `system` and `prompt` (≤ 2.10.7: KeyError without them) or
    # takes both with .get() (2.10.8+, when `operation: list-models` came). Reference rig: 2.3.1 and 2.11.1.
    completion_fields_required: bool
    # Global-service answers carry every schema field the translator emits (empty lists, maps, strings): 2.3.1+,
    # whose schema is dataclasses with empty defaults (reference rig: 2.3.1, 2.11.1; mockgw/state/services/wire.py).
    global_answers_every_field: bool = False
    # "kind:operation" of the global services the REST registry knows (2.4.6+): anything else is 400
    # `unknown operation` before dispatch. Empty: no registry, the service answers.
    registry_operations: frozenset[str] = frozenset()
    # The knowledge schema's forward references cannot be resolved (2.10.0+): a streamed core part fails in the
    # translator with a gateway-error (reference rig: 2.11.1). 2.10.0–2.10.5 are in profile 2.8.1, which lacks it.
    knowledge_cores_unreadable: bool = False
    # import-core reads library tuples ("lm", "lb") besides "t" and "ge" (2.5.10+, core_import.py; profile 2.4.5
    # also covers 2.4.5-2.5.9, which skip them: either way nothing is stored, only the requestor's wait differs).
    core_import_library: bool = False

    @property
    def first_frame_auth(self) -> bool:
        return self.socket_auth is SocketAuth.FIRST_FRAME


_COMMON_FLOW_SERVICES = frozenset(
    {
        "agent",
        "text-completion",
        "prompt",
        "mcp-tool",
        "graph-rag",
        "document-rag",
        "embeddings",
        "graph-embeddings",
        "triples",
        "nlp-query",
        "structured-query",
        "structured-diag",
        "text-load",
        "document-load",
    }
)
# A profile offers a flow service only if every release it covers dispatches it (dispatch/manager.py), so a
# client never passes against the mock where its gateway would refuse: `sparql` from 2.3.0, `reranker` from
# 2.6.4 and `image-to-text` from 2.7.5 (docs/PROTOCOL.md §0.5), so both only from profile 2.8.1.
_V2_FLOW_SERVICES = _COMMON_FLOW_SERVICES | {"rows", "document-embeddings", "row-embeddings"}
_V2_3_FLOW_SERVICES = _V2_FLOW_SERVICES | {"sparql"}
_V2_8_FLOW_SERVICES = _V2_3_FLOW_SERVICES | {"reranker", "image-to-text"}
_GLOBAL_SERVICES = frozenset({"config", "flow", "librarian", "knowledge", "collection-management"})
# The global services scoped to a workspace (dispatch/manager.py workspace_dispatchers); iam is system-wide.
WORKSPACE_SERVICES = _GLOBAL_SERVICES
_BULK_KINDS = frozenset({"triples", "graph-embeddings", "document-embeddings", "entity-contexts"})


def _ops(kind: str, *operations: str) -> frozenset[str]:
    return frozenset(f"{kind}:{op}" for op in operations)


# gateway/registry.py: the same table from 2.6.2 to 2.11.1; 2.4.6 lacks the document-embedding cores.
_REGISTRY_2_4 = (
    _ops("config", "get", "list", "getvalues", "getvalues-all-ws", "config", "put", "delete")
    | _ops("flow", "list-blueprints", "get-blueprint", "list-flows", "get-flow")
    | _ops("flow", "put-blueprint", "delete-blueprint", "start-flow", "stop-flow")
    | _ops(
        "librarian",
        "get-document-metadata",
        "get-document-content",
        "stream-document",
        "list-documents",
        "list-processing",
        "get-upload-status",
        "list-uploads",
        "add-document",
        "remove-document",
        "update-document",
        "add-processing",
        "remove-processing",
        "begin-upload",
        "upload-chunk",
        "complete-upload",
        "abort-upload",
    )
    | _ops("knowledge", "get-kg-core", "list-kg-cores", "put-kg-core", "delete-kg-core", "load-kg-core")
    | _ops("knowledge", "unload-kg-core")
    | _ops("collection-management", "list-collections", "update-collection", "delete-collection")
)
# IAM operations are registered by bare name; /api/v1/iam and the socket's `iam` look the body's operation up
# (2.11.1's registry; older tables not read, so only profile 2.11.0 checks them).
_IAM_2_11 = _ops(
    "iam",
    *"""add-group-grant add-group-member add-user-grant bootstrap bootstrap-status change-password create-api-key
    create-group create-user create-workspace delete-group delete-user disable-user disable-workspace enable-user
    get-group get-user get-workspace list-api-keys list-group-grants list-group-members list-groups
    list-my-workspaces list-user-grants list-users list-workspaces login mint-token remove-group-grant
    remove-group-member remove-user-grant reset-password resolve-effective-permissions revoke-api-key
    rotate-signing-key update-group update-user update-workspace whoami""".split(),
)
_REGISTRY_2_6 = _REGISTRY_2_4 | _ops(
    "knowledge", "get-de-core", "list-de-cores", "put-de-core", "delete-de-core", "load-de-core"
)
# registry.py 2.6.1-2.8.x: 2.11.1's IAM operations but `mint-token`; measured on the rig (2.6.2: an unknown or
# missing IAM operation is REST 400 `unknown operation`, the socket's unknown-service, as on 2.11.1).
_IAM_2_6 = _IAM_2_11 - _ops("iam", "mint-token")
# registry.py 2.5.16 (the rig's release for profile 2.4.26): no enterprise group/grant operations yet (2.6.1 adds
# them); 2.4.26 itself also lacks list-my-workspaces (coarse).
_IAM_2_5 = _IAM_2_6 - _ops(
    "iam",
    *"""add-group-grant add-group-member add-user-grant create-group delete-group get-group list-group-grants
    list-group-members list-groups list-user-grants remove-group-grant remove-group-member remove-user-grant
    resolve-effective-permissions update-group""".split(),
)

_V1_7 = Profile(
    name="1.7",
    describes="gateway 1.6.x–1.7.x; clients trustgraph-base 1.6 (REST only) and 1.7",
    socket_auth=SocketAuth.HANDSHAKE_TOKEN,
    rest_auth_json=False,
    error_style=ErrorStyle.BARE,
    agent_kind_key="chunk_type",
    rag_style=RagStyle.CHUNK,
    completion_end_of_stream=False,
    tenancy_key="user",
    typed_terms=False,
    rows_service="objects",
    flow_naming="class",
    embedding_vector_key="vectors",
    query_vector_key="vectors",
    embeddings_request_key="text",
    auth_ok_workspace_key=None,
    error_types=frozenset(),
    invalid_flow_names_workspace=False,
    empty_token_is_anonymous=False,
    rest_flow_workspace_checked=True,
    rest_registry_errors=False,
    bulk_token_required=False,
    flow_services=_COMMON_FLOW_SERVICES | {"objects"},
    global_services=_GLOBAL_SERVICES,
    bulk_import_kinds=_BULK_KINDS | {"objects"},
    bulk_export_kinds=_BULK_KINDS,
    document_chunk_key="chunk",
    bulk_metadata_subgraph=True,
    bulk_metadata_root=False,
    bulk_metadata_type_checked=True,
    embeddings_query_scored=False,
    triples_streaming=False,
    knowledge_de_cores=False,
    timeout_message="Timeout",
    forwards_backend_errors=True,
    completion_fields_required=True,
)

_V1_8 = replace(
    _V1_7,
    name="1.8",
    describes="gateway 1.8.x–1.9.x: RAG frames carry `response` instead of `chunk`",
    rag_style=RagStyle.RESPONSE,
)
_V2_2_5 = replace(
    _V1_8,
    name="2.2.5",
    describes="gateway 2.2.5–2.3.0: typed terms, rows, blueprints, end_of_session, "
    "error frames become objects with an id",
    error_style=ErrorStyle.OBJECT,
    rag_style=RagStyle.SESSION,
    completion_end_of_stream=True,
    typed_terms=True,
    rows_service="rows",
    flow_naming="blueprint",
    invalid_flow_names_workspace=False,  # "Invalid flow" until workspaces (2.4.5); 2.3.1 checked on the rig
    query_vector_key="vector",  # embeddings queries take one `vector` since 2.1.6, and `texts` since 2.1.5 (#668)
    embeddings_request_key="texts",
    flow_services=_V2_FLOW_SERVICES,
    bulk_import_kinds=_BULK_KINDS | {"rows"},
    document_chunk_key="chunk_id",
    bulk_metadata_subgraph=False,
    bulk_metadata_root=True,
    bulk_metadata_type_checked=False,
    embeddings_query_scored=True,
    triples_streaming=True,
    knowledge_de_cores=True,
)
_V2_3_1 = replace(
    _V2_2_5,
    name="2.3.1",
    describes="gateway 2.3.1–2.4.4: agent `message_type`; bulk embeddings carry one `vector`",
    agent_kind_key="message_type",
    embedding_vector_key="vector",
    flow_services=_V2_3_FLOW_SERVICES,
    global_answers_every_field=True,
)
_V2_4_5 = replace(
    _V2_3_1,
    name="2.4.5",
    describes="gateway 2.4.5–2.4.25: IAM, first-frame socket auth, JSON 401/403, workspace",
    socket_auth=SocketAuth.FIRST_FRAME,
    rest_auth_json=True,
    tenancy_key="workspace",
    invalid_flow_names_workspace=True,  # "Invalid flow default/nope" (dispatch/manager.py 2.4.5; rig: 2.11.1)
    auth_ok_workspace_key="workspace",
    rest_registry_errors=True,
    bulk_token_required=True,
    error_types=frozenset({"auth-required", "access-denied"}),
    global_services=_GLOBAL_SERVICES | {"iam"},
    registry_operations=_REGISTRY_2_4,  # from 2.4.6 (2.4.5 itself has no registry)
)
# 2.4.26 let anonymous callers in (gateway/auth.py: no Bearer, or an empty one, asks IAM's
# authenticate-anonymous; dispatch/mux.py passes an empty first-frame token through). Measured on the rig:
# 2.5.16 answers `{"type": "auth", "token": ""}` with auth-ok, where profile 2.4.5 refused it, and its mux
# answers an unknown or missing service `unknown-service` (registry lookup, from 2.4.6; workspace-not-found
# from 2.4.11), where profile 2.4.5 sent 2.4.5's own "This kind not supported by flow" and `'service'`.
_V2_4_26 = replace(
    _V2_4_5,
    name="2.4.26",
    describes="gateway 2.4.26–2.6.1 (reference rig: 2.5.16): as 2.4.5, plus anonymous callers (an empty "
    "first-frame token is tried as anonymous), unknown-service and workspace-not-found errors; REST checks no "
    "body workspace",
    empty_token_is_anonymous=True,
    error_types=frozenset({"auth-required", "access-denied", "unknown-service", "workspace-not-found"}),
    rest_flow_workspace_checked=False,  # certify --rig 2.5.16: errors/workspace/rest got `Invalid flow <ws>/default`
    registry_operations=_REGISTRY_2_6 | _IAM_2_5,  # registry.py 2.4.26 and 2.5.16 have the de-cores, as 2.6.2
)
_V2_6_2 = replace(
    _V2_4_26,
    name="2.6.2",
    describes="gateway 2.6.2–2.8.0: auth-ok.default_workspace",
    auth_ok_workspace_key="default_workspace",
    registry_operations=_REGISTRY_2_6 | _IAM_2_6,
    core_import_library=True,  # lm/lb records (2.5.10; within 2.4.26's range, where nothing is stored anyway)
)

_V2_8_1 = replace(
    _V2_6_2,
    name="2.8.1",
    describes="gateway 2.8.1–2.10.5: a backend timeout answers gateway-error with an empty message; "
    "reranker and image-to-text",
    timeout_message="",
    flow_services=_V2_8_FLOW_SERVICES,
    registry_operations=_REGISTRY_2_6,  # its IAM table (the same as 2.6.2's in the sources) is not rig-checked yet
)
# The wire envelope is the same from here on; what changed is what reaches it, so these two differ in their
# contracts: from 2.10.6 the requestor no longer forwards a backend `error` itself, only translators that copy
# it do (not text-completion, prompt or embeddings; the agent translator reads error.code, which the schema's
# Error lacks, so an agent error becomes a gateway-error); from 2.10.8 text-completion has `list-models`.
_V2_10_6 = replace(
    _V2_8_1,
    name="2.10.6",
    describes="gateway 2.10.6–2.10.7: backend errors reach clients only through translators that copy them",
    forwards_backend_errors=False,
    knowledge_cores_unreadable=True,
)
_V2_10_8 = replace(
    _V2_10_6,
    name="2.10.8",
    describes="gateway 2.10.8–2.10.x: as 2.10.6, plus text-completion `list-models`; `system` and `prompt` optional",
    completion_fields_required=False,
)
# 2.11.0 dispatches three new flow services (dispatch/manager.py; absent in 2.10.8, whose profile keeps
# the releases without them). Their translators copy a backend `error`, so it reaches the client.
_V2_11_0 = replace(
    _V2_10_8,
    name="2.11.0",
    describes="gateway 2.11.0–2.11.x (reference rig: 2.11.1): as 2.10.8, plus the cloze, decision-scoring and "
    "field-extraction flow services",
    flow_services=_V2_8_FLOW_SERVICES | {"cloze", "decision-scoring", "field-extraction"},
    registry_operations=_REGISTRY_2_6 | _IAM_2_11,
)

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (_V1_7, _V1_8, _V2_2_5, _V2_3_1, _V2_4_5, _V2_4_26, _V2_6_2, _V2_8_1, _V2_10_6, _V2_10_8, _V2_11_0)
}

# Names users reach for: a generation, or the newest of it.
# `2.x`/`latest` follow the newest profile (CHANGELOG); `serve` without --profile stays on DEFAULT_PROFILE.
ALIASES: dict[str, str] = {"1.x": "1.7", "1.6": "1.7", "1.9": "1.8", "2.x": "2.11.0", "latest": "2.11.0"}

DEFAULT_PROFILE = "2.6.2"


def resolve_profile(name: str) -> Profile:
    """The profile called `name` (or an alias of it); SettingsError names the choices."""
    key = ALIASES.get(name, name)
    if key in PROFILES:
        return PROFILES[key]
    choices = sorted(PROFILES) + sorted(ALIASES)
    close = difflib.get_close_matches(name, choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise SettingsError("profile", name, f"one of {', '.join(choices)}.{hint}")


def known_services(profile: Profile) -> frozenset[str]:
    return profile.flow_services | profile.global_services


ALL_SERVICES: frozenset[str] = frozenset().union(*(known_services(p) for p in PROFILES.values()))
